"""The privacy grep's own tests (tests/privacy_grep.py): which needles it takes from the tests'
text, and that it finds each one in each kind of haystack the suite leaves (a SQLite database,
a PostgreSQL schema's dump, a log), but not in what a database no longer holds."""

import json
import sqlite3
import tempfile
from pathlib import Path

import psycopg2
import pytest
from helpers import PostgresSchema
from privacy_grep import TRAIL_ENV, Needles, needles_in, needles_of_tests, scan, search

IP = "198.51.100.23"
PHONE = "15098765432"
TOKEN = "Zx9_-" + "a" * 27  # as secrets.token_urlsafe(24): 32 characters


def test_the_needles_are_the_addresses_and_mobile_numbers_written_in_the_text():
    text = """
        client = "192.168.1.5"; proxy = "127.0.0.1"; everyone = "0.0.0.0"
        mask = "255.255.255.0"; version = "v1.2.3.4"; nonsense = "999.1.2.3"
        phones = ["+86 139-1234-5678", "86 139 1234 5679", "13912345670", "139 1234 5671"]
        not_a_mobile = "12812345678"; id_number = "320102198001011234"; long = "139123456789"
    """
    found = needles_in(text)
    assert found.ips == {"192.168.1.5"}
    assert found.phones == {"13912345678", "13912345679", "13912345670", "13912345671"}


def test_the_suites_needles_include_the_phone_and_the_addresses_the_tests_use():
    needles = needles_of_tests(Path(__file__).resolve().parent)
    assert "13800138000" in needles.phones
    assert {"203.0.113.7", "192.168.1.5"} <= needles.ips
    assert IP not in needles.ips and PHONE not in needles.phones  # this file's are left out


@pytest.fixture
def outside():
    """A folder outside pytest's basetemp: the made-up findings here are not the suite's, and
    the grep at the end of the session must not see them."""
    with tempfile.TemporaryDirectory(prefix="privacy-grep-") as folder:
        yield Path(folder)


def database(path: Path, *rows: str, deleted: str | None = None):
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA secure_delete = OFF")  # a deleted row's bytes stay in a free page
    conn.execute("CREATE TABLE visit (id INTEGER PRIMARY KEY, note TEXT)")
    conn.execute("CREATE TABLE invitation (id INTEGER PRIMARY KEY, token TEXT)")
    conn.execute("INSERT INTO invitation (token) VALUES (?)", (TOKEN,))
    for row in rows:
        conn.execute("INSERT INTO visit (note) VALUES (?)", (row,))
    if deleted:
        conn.execute("INSERT INTO visit (note) VALUES (?)", (deleted,))
        conn.commit()
        conn.execute("DELETE FROM visit WHERE note = ?", (deleted,))
    conn.commit()
    conn.close()


def test_a_clean_trail_has_no_finding(outside):
    database(outside / "a.sqlite3", "ip_hash=ab12")
    (outside / "trail" / "logs").mkdir(parents=True)
    (outside / "trail" / "logs" / "access.log").write_text("ab12 GET /vip/*** 200\n")
    result = scan(outside, Needles({IP}, {PHONE}))
    assert result.findings == []
    assert (result.databases, result.logs, result.tokens) == (1, 1, 1)


def test_a_raw_address_or_phone_held_by_a_database_is_found_with_where_it_is(outside):
    (outside / "popen-gw1" / "test_x0").mkdir(parents=True)
    database(
        outside / "popen-gw1" / "test_x0" / "qunbook.sqlite3", f"from {IP}", "+86 150 9876 5432"
    )
    findings = scan(outside, Needles({IP}, {PHONE})).findings
    assert [(f.where, f.kind, f.needle) for f in findings] == [
        ("SQLite popen-gw1/test_x0/qunbook.sqlite3", "IP address", IP),
        ("SQLite popen-gw1/test_x0/qunbook.sqlite3", "phone number", PHONE),
    ]
    assert f"from {IP}" in findings[0].snippet


def test_a_deleted_row_is_not_held_though_its_bytes_stay_in_the_file(outside):
    path = outside / "q.sqlite3"
    database(path, deleted=f"from {IP}")
    assert IP.encode() in path.read_bytes()  # in a free page
    assert scan(outside, Needles({IP}, set())).findings == []


def test_a_postgresql_schemas_dump_is_searched_and_gives_its_tokens(outside):
    dumps = outside / "popen-gw0" / "trail" / "postgres"
    dumps.mkdir(parents=True)
    rows = [("member", {"id": 1, "phone": PHONE}), ("ticket", {"id": 1, "token": TOKEN})]
    (dumps / "t_abc.jsonl").write_text("".join(f"{t}\t{json.dumps(r)}\n" for t, r in rows))
    (outside / "popen-gw0" / "trail" / "logs").mkdir()
    (outside / "popen-gw0" / "trail" / "logs" / "records-1.log").write_text(
        f"GET /console/login?next=%2Ft%2F{TOKEN} 302\n"
    )
    result = scan(outside, Needles(set(), {PHONE}))
    assert [(f.where, f.kind, f.needle) for f in result.findings] == [
        ("PostgreSQL schema t_abc", "phone number", PHONE),
        ("log popen-gw0/trail/logs/records-1.log", "token", TOKEN),
    ]


def test_a_log_with_an_address_a_phone_or_a_token_is_found(outside):
    database(outside / "q.sqlite3")
    (outside / "server.log").write_text(f"{IP} - GET /vip/{TOKEN}?p=150-9876-5432 200\n")
    findings = scan(outside, Needles({IP}, {PHONE})).findings
    assert {(f.where, f.kind) for f in findings} == {
        ("log server.log", "IP address"),
        ("log server.log", "phone number"),
        ("log server.log", "token"),
    }


def test_an_address_is_not_found_inside_a_longer_one():
    needles = Needles({"192.168.1.5"}, set())
    assert search("from 192.168.1.50 and 10.192.168.1.5", "x", needles) == []
    assert len(search("from 192.168.1.5:443", "x", needles)) == 1


def test_a_postgresql_test_schema_leaves_its_rows_in_the_trail_before_it_is_dropped(
    outside, monkeypatch
):
    monkeypatch.setenv(TRAIL_ENV, str(outside / "trail"))
    schema = PostgresSchema()
    with schema as url:
        conn = psycopg2.connect(url)  # its search_path is the schema
        conn.autocommit = True
        cursor = conn.cursor()
        cursor.execute("CREATE TABLE ticket (id int, token text)")
        cursor.execute("CREATE TABLE member (id int, phone_hash text)")
        cursor.execute("INSERT INTO ticket VALUES (1, %s)", (TOKEN,))
        cursor.execute("INSERT INTO member VALUES (7, %s)", (PHONE,))
        conn.close()
    assert schema.dump.parent == outside / "trail" / "postgres"
    dump = schema.dump.read_text()
    assert dump.splitlines() == [
        f'member\t{{"id":7,"phone_hash":"{PHONE}"}}',
        f'ticket\t{{"id":1,"token":"{TOKEN}"}}',
    ]
    result = scan(outside, Needles(set(), {PHONE}))
    assert (result.postgres_schemas, result.tokens) == (1, 1)
    assert [(f.where, f.needle) for f in result.findings] == [
        (f"PostgreSQL schema {schema.dump.stem}", PHONE)
    ]
