"""Backup, restore and upgrade (issue 16): a copy taken while the kit writes holds every row
acknowledged before it began; a restore checks the file and never replaces data unasked."""

import secrets
import shutil
import sqlite3
import subprocess
import threading
from contextlib import contextmanager, nullcontext
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import pytest
from helpers import (
    POSTGRES_URL,
    PostgresSchema,
    make_campaign,
    make_channel,
    make_config,
    make_group,
    unavailable,
)

from miniapp_api import backup, create_app
from miniapp_api.db import db, is_sqlite
from miniapp_api.invitations.customers import import_customers
from miniapp_api.livecode.rules import record_scan
from miniapp_api.migrations import LATEST, current_version, migrate
from miniapp_api.models import Campaign, Customer, Visit

WRITERS = 4  # two scanning, two importing customers
BEFORE = 300  # rows acknowledged before the backup begins, at least


@pytest.fixture(autouse=True)
def pg_tools(database_url):
    if not database_url.startswith("sqlite") and not shutil.which("pg_dump"):
        unavailable("pg_dump", "apt-get install postgresql-client")


def sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


@contextmanager
def fresh_instance(database_url, tmp_path, name="fresh"):
    """An app on a new, empty database of this test's kind. On PostgreSQL that is a new
    database with the same search_path: pg_restore puts tables back in the schema they were
    dumped from."""
    db.close_all()
    if is_sqlite():
        url, drop = f"sqlite:///{tmp_path / name}.sqlite3", None
    else:
        database = f"qunbook_restore_{secrets.token_hex(4)}"
        admin = psycopg2.connect(POSTGRES_URL)
        admin.autocommit = True
        admin.cursor().execute(f'CREATE DATABASE "{database}"')
        parts = urlsplit(database_url)
        url = urlunsplit(parts._replace(path=f"/{database}"))

        def drop():
            admin.cursor().execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            admin.close()

    app = create_app(make_config(url, tmp_path / name))
    try:
        yield app
    finally:
        db.close_all()
        if drop:
            drop()


def test_a_backup_during_a_write_burst_holds_every_row_acknowledged_before_it(
    app, runner, database_url, tmp_path
):
    with db.connection_context():
        campaign = make_campaign(slug="kuaizhao")
        channel = make_channel(campaign, "counter", "门店前台")
        make_group(campaign, "快照1群", cutoff=1_000_000)
    acknowledged: list[tuple[str, str]] = []  # appended once the rule has returned
    lock = threading.Lock()
    stop = threading.Event()
    failures: list[BaseException] = []

    def scans(n):
        for i in range(1_000_000):
            if stop.is_set():
                return
            key = f"访客{n}-{i}"
            record_scan(campaign.id, channel.id, key, "wechat", "地址散列")
            with lock:
                acknowledged.append(("visit", key))

    def customers(n):
        for i in range(1_000_000):
            if stop.is_set():
                return
            ids = [f"K{n}-{i}-{j}" for j in range(20)]
            sheet = "客户编号,姓名,地区,累计消费\n" + "".join(
                f"{cid},王小{j},上海,{100 + j}\n" for j, cid in enumerate(ids)
            )
            report = import_customers(sheet.encode(), lambda phone: phone)
            assert report.created == len(ids)
            with lock:
                acknowledged.extend(("customer", cid) for cid in ids)

    def writer(work, n):
        try:
            with db.connection_context():
                work(n)
        except BaseException as error:
            failures.append(error)
            stop.set()

    threads = [
        threading.Thread(target=writer, args=(scans if n % 2 else customers, n))
        for n in range(WRITERS)
    ]
    for t in threads:
        t.start()
    while len(acknowledged) < BEFORE and not failures:
        stop.wait(0.01)
    with lock:
        before = list(acknowledged)
    copy = tmp_path / "during.backup"
    done = runner.invoke(args=["backup", str(copy)])
    stop.set()
    for t in threads:
        t.join(timeout=120)
    assert not failures, failures
    assert done.exit_code == 0, done.output
    assert str(copy) in done.output and copy.stat().st_size > 0

    with fresh_instance(database_url, tmp_path) as fresh:
        restored = fresh.test_cli_runner().invoke(args=["restore-backup", str(copy)])
        assert restored.exit_code == 0, restored.output
        if is_sqlite():
            path = sqlite_path(fresh.config["DATABASE_URL"])
            assert backup.sqlite_problem(path) is None
        with db.connection_context():
            assert current_version() == LATEST
            visits = {v.visitor for v in Visit.select(Visit.visitor)}
            customers_stored = {c.external_id for c in Customer.select(Customer.external_id)}
            assert Campaign.get(Campaign.slug == "kuaizhao").title == "门店会员群"
    missing = [
        (kind, key)
        for kind, key in before
        if key not in (visits if kind == "visit" else customers_stored)
    ]
    assert not missing, f"{len(missing)} of {len(before)} acknowledged rows missing"
    assert {kind for kind, _ in before} == {"visit", "customer"}


def test_backup_never_overwrites_a_file(runner, tmp_path):
    taken = tmp_path / "qunbook.backup"
    taken.write_bytes("别人的文件".encode())
    result = runner.invoke(args=["backup", str(taken)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "already exists" in result.output
    assert taken.read_bytes() == "别人的文件".encode()


def test_backup_goes_to_the_instance_folder_by_default(app, runner, tmp_path):
    app.instance_path = str(tmp_path / "instance")
    first = runner.invoke(args=["backup"])
    second = runner.invoke(args=["backup"])  # within the same second, maybe: a new file
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    made = sorted((tmp_path / "instance" / "backups").iterdir())
    assert len(made) == 2
    assert all(path.name.startswith("qunbook-") for path in made)
    assert all(path.stat().st_mode & 0o077 == 0 for path in made)  # its owner's alone
    assert {path.suffix for path in made} == {".sqlite3" if is_sqlite() else ".dump"}


def test_restore_refuses_to_replace_data_without_force(app, runner, tmp_path):
    with db.connection_context():
        make_campaign(slug="beifen", title="备份之前")
    copy = tmp_path / "qunbook.backup"
    assert runner.invoke(args=["backup", str(copy)]).exit_code == 0
    with db.connection_context():
        make_campaign(slug="houlai", title="备份之后")

    refused = runner.invoke(args=["restore-backup", str(copy)])
    assert refused.exit_code == 1 and "Traceback" not in refused.output
    assert "--force" in refused.output
    with db.connection_context():
        assert {c.slug for c in Campaign.select()} == {"beifen", "houlai"}

    forced = runner.invoke(args=["restore-backup", str(copy), "--force"])
    assert forced.exit_code == 0, forced.output
    with db.connection_context():
        assert {c.slug for c in Campaign.select()} == {"beifen"}
        assert current_version() == LATEST


def not_qunbook(tmp_path: Path) -> Path:
    """A sound database of another program: SQLite, or a pg_dump of a schema without ours."""
    if is_sqlite():
        path = tmp_path / "other.sqlite3"
        with sqlite3.connect(path) as other:
            other.execute("CREATE TABLE note (text TEXT)")
            other.execute("INSERT INTO note VALUES ('别的程序')")
        other.close()
        return path
    path = tmp_path / "other.dump"
    with PostgresSchema() as url:
        connection = psycopg2.connect(url)
        with connection, connection.cursor() as cursor:
            cursor.execute("CREATE TABLE note (text TEXT)")
            cursor.execute("INSERT INTO note VALUES ('别的程序')")
        connection.close()
        dbname, env, schema = backup.pg_connection(url)
        subprocess.run(
            ["pg_dump", "--format=custom", f"--file={path}", f"--dbname={dbname}", "-n", schema],
            env=env,
            check=True,
        )
    return path


@pytest.mark.parametrize("kind", ["junk", "truncated", "not_qunbook", "missing"])
def test_restore_refuses_a_file_that_is_not_a_sound_qunbook_backup(runner, tmp_path, kind):
    with db.connection_context():
        make_campaign(slug="baoliu", title="要留下的活动")
    good = tmp_path / "good.backup"
    assert runner.invoke(args=["backup", str(good)]).exit_code == 0
    if kind == "junk":
        path = tmp_path / "junk.backup"
        path.write_bytes("这不是数据库".encode() * 100)
    elif kind == "truncated":
        path = tmp_path / "truncated.backup"
        data = good.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "not_qunbook":
        path = not_qunbook(tmp_path)
    else:
        path = tmp_path / "nowhere.backup"

    result = runner.invoke(args=["restore-backup", str(path), "--force"])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert str(path) in result.output
    with db.connection_context():
        assert Campaign.get(Campaign.slug == "baoliu").title == "要留下的活动"


def test_without_pg_dump_backup_names_the_package_to_install(
    app, runner, database_url, tmp_path, monkeypatch
):
    if is_sqlite():
        pytest.skip("SQLite backs up without a client program")
    monkeypatch.setattr(backup.shutil, "which", lambda name: None)
    for args in (["backup", str(tmp_path / "x.dump")], ["upgrade"]):
        if args == ["upgrade"]:
            with db.connection_context():
                db.execute_sql("DELETE FROM schemaversion WHERE version = %s", (LATEST,))
        result = runner.invoke(args=args)
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert "pg_dump" in result.output and "postgresql-client" in result.output
    assert not (tmp_path / "x.dump").exists()
    with db.connection_context():
        assert current_version() == LATEST - 1  # no backup, no upgrade


OLDER = 10


def test_upgrade_backs_up_first_then_brings_the_schema_to_this_version(database_url, tmp_path):
    with older_database(database_url, tmp_path) as app:
        runner = app.test_cli_runner()
        result = runner.invoke(args=["upgrade"])
        assert result.exit_code == 0, result.output
        assert f"{OLDER} → {LATEST}" in result.output
        made = list((tmp_path / "older" / "backups").iterdir())
        assert len(made) == 1 and str(made[0]) in result.output
        if is_sqlite():
            assert backup.check_sqlite_backup(made[0]) == OLDER
        else:
            assert backup.check_postgres_backup(made[0], app.config["DATABASE_URL"]) == OLDER
        with db.connection_context():
            assert current_version() == LATEST
            assert db.execute_sql("SELECT slug FROM campaign").fetchall() == [("laoban",)]

        again = runner.invoke(args=["upgrade"])
        assert again.exit_code == 0 and f"already at schema version {LATEST}" in again.output
        assert len(list((tmp_path / "older" / "backups").iterdir())) == 1

        # The backup it took brings the old version back, and says what to run next.
        back = runner.invoke(args=["restore-backup", str(made[0]), "--force"])
        assert back.exit_code == 0, back.output
        assert "run qunbook upgrade" in back.output
        with db.connection_context():
            assert current_version() == OLDER
            assert db.execute_sql("SELECT slug FROM campaign").fetchall() == [("laoban",)]


@contextmanager
def older_database(database_url, tmp_path):
    """An app on a database left at schema version OLDER, holding a campaign."""
    if db.obj is not None:
        db.close_all()
    with PostgresSchema() if not database_url.startswith("sqlite") else nullcontext() as url:
        url = url or f"sqlite:///{tmp_path / 'older.sqlite3'}"
        app = create_app(make_config(url, tmp_path))
        app.instance_path = str(tmp_path / "older")
        with db.connection_context():
            migrate(target=OLDER)
            db.execute_sql(
                "INSERT INTO campaign (slug, title, description, rules, promise, staff_contact,"
                " template, created_at)"
                " VALUES ('laoban', '老版本的活动', '', '', '', '', '', '2026-11-01')"
            )
        try:
            yield app
        finally:
            db.close_all()


def test_the_password_goes_to_pg_dump_in_its_environment_not_on_its_command_line():
    url = "postgresql+pool://qunbook:p%40ss@db.example.cn:5432/qunbook?options=-csearch_path%3Dshop"
    dbname, env, schema = backup.pg_connection(url)
    assert dbname == "postgresql://qunbook@db.example.cn:5432/qunbook?options=-csearch_path%3Dshop"
    assert env["PGPASSWORD"] == "p@ss"
    assert schema == "shop"
    assert backup.pg_connection("postgresql://postgres@127.0.0.1/test")[2] is None
