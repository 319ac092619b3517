"""The suite's privacy grep (issue 16): after the whole suite, no database the tests left and no
log the servers wrote holds a raw IP address or phone number the tests use, and no log holds an
invitation or ticket token.

- The needles: every IPv4 literal in tests/**/*.py (but 127.0.0.1, 0.0.0.0 and 255.*) and every
  mainland mobile number (1[3-9] and 9 more digits, written with +86, spaces or dashes as the
  tests write them; kept as its 11 digits); for the logs also every token the invitation and
  ticket tables held, read from the databases themselves (so tokens the app made count too).
- The haystacks, under pytest's basetemp (each xdist worker's popen-gw*/ included): every
  SQLite database, dumped with iterdump() (the rows it holds, not free pages); every PostgreSQL
  test schema, dumped by helpers.PostgresSchema before it drops it (trail/postgres/*.jsonl);
  every log: the LiveServers' access and error output and every log record of the test
  processes (trail/logs/, written because conftest sets TRAIL_ENV), and any *.log a test wrote.

conftest runs it once, in the controller, at the end of the session; a needle found fails the
run with where it was and a snippet around it. Plain functions, no pytest:
tests/test_privacy_grep.py shows each kind of finding.
"""

import ipaddress
import json
import os
import re
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from psycopg2 import sql

# Where the test processes leave their trail (logs, PostgreSQL dumps): <worker basetemp>/trail.
TRAIL_ENV = "QB_TEST_TRAIL"

IPV4 = re.compile(r"(?<![\w.])(\d{1,3}(?:\.\d{1,3}){3})(?![\w.])")
NOT_PERSONAL_IPS = {"127.0.0.1", "0.0.0.0"}  # noqa: S104 (addresses sought, not bound)
PHONE = re.compile(r"(?<![\w+])(?:\+?86[ -]?)?(1[3-9]\d(?:[ -]?\d){8})(?!\d)")
# Digits a space or a dash apart, as a phone number is written: removed before the search.
DIGIT_SEPARATOR = re.compile(r"(?<=\d)[ -](?=\d)")
# Invitation and ticket tokens are secrets.token_urlsafe(24): 32 of these characters. A log
# may glue one to other such characters (a percent-encoded "/" is "%2F"), so every window of
# a longer run is looked up.
TOKEN_RUN = re.compile(r"[A-Za-z0-9_-]{32,}")
TOKEN_LENGTH = 32
TOKEN_TABLES = ("invitation", "ticket")
SQLITE_HEADER = b"SQLite format 3\x00"
SNIPPET = 60


@dataclass
class Needles:
    ips: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)


@dataclass
class Finding:
    where: str
    kind: str  # "IP address", "phone number", "token"
    needle: str
    snippet: str

    def __str__(self):
        return f"{self.where}: {self.kind} {self.needle!r} in …{self.snippet}…"


@dataclass
class Scanned:
    databases: int = 0
    postgres_schemas: int = 0
    logs: int = 0
    tokens: int = 0
    findings: list[Finding] = field(default_factory=list)


def needles_in(text: str) -> Needles:
    """The IP addresses and phone numbers written in one source text."""
    found = Needles()
    for match in IPV4.finditer(text):
        ip = match.group(1)
        try:
            ipaddress.IPv4Address(ip)
        except ValueError:
            continue  # 999.1.2.3: not an address (a version would be "v1.2.3.4": \w before)
        if ip not in NOT_PERSONAL_IPS and not ip.startswith("255."):
            found.ips.add(ip)
    for match in PHONE.finditer(text):
        found.phones.add(re.sub(r"\D", "", match.group(1)))
    return found


def needles_of_tests(tests_dir: Path) -> Needles:
    """Every IP address and phone number the tests write, from tests/**/*.py."""
    needles = Needles()
    for path in sorted(tests_dir.rglob("*.py")):
        if path.name in ("privacy_grep.py", "test_privacy_grep.py"):
            continue  # the grep's own examples: no test of the app uses them
        found = needles_in(path.read_text(encoding="utf-8"))
        needles.ips |= found.ips
        needles.phones |= found.phones
    return needles


def _snippet(text: str, start: int, end: int) -> str:
    return text[max(0, start - SNIPPET) : end + SNIPPET].replace("\n", "⏎")


def search(text: str, where: str, needles: Needles, tokens: Iterable[str] = ()) -> list[Finding]:
    """Where the needles (and the tokens, if given) appear in one text."""
    findings = []
    for ip in needles.ips:
        start = text.find(ip)
        while start != -1:
            end = start + len(ip)
            # 192.168.1.5 is not 192.168.1.50 (nor 1.192.168.1.5's tail: a dot before).
            after = text[end : end + 1]
            before = text[start - 1 : start] if start else ""
            if not (after.isdigit() or before == "."):
                findings.append(Finding(where, "IP address", ip, _snippet(text, start, end)))
                break
            start = text.find(ip, start + 1)
    if needles.phones:
        joined = DIGIT_SEPARATOR.sub("", text)
        for phone in needles.phones:
            start = joined.find(phone)
            if start != -1:
                snippet = _snippet(joined, start, start + len(phone))
                findings.append(Finding(where, "phone number", phone, snippet))
    tokens = set(tokens)
    if tokens:
        seen = set()
        for run in TOKEN_RUN.finditer(text):
            value = run.group()
            for i in range(len(value) - TOKEN_LENGTH + 1):
                window = value[i : i + TOKEN_LENGTH]
                if window in tokens and window not in seen:
                    seen.add(window)
                    snippet = _snippet(text, run.start() + i, run.start() + i + TOKEN_LENGTH)
                    findings.append(Finding(where, "token", window, snippet))
    return findings


def _files(root: Path) -> Iterator[Path]:
    for folder, _dirs, names in os.walk(root):
        for name in names:
            path = Path(folder) / name
            if path.is_file() and not path.is_symlink():
                yield path


def is_sqlite(path: Path) -> bool:
    if path.name.endswith(("-wal", "-shm", "-journal")):
        return False
    try:
        with path.open("rb") as f:
            return f.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError:
        return False


def dump_sqlite(path: Path) -> tuple[str, set[str]]:
    """(the database's dump, the invitation and ticket tokens it holds). A file SQLite cannot
    read (a test's deliberately damaged copy) is searched as raw text instead."""
    try:
        conn = sqlite3.connect(path)
        try:
            dump = "\n".join(conn.iterdump())
            tokens = set()
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
            for table in TOKEN_TABLES:
                if table in tables:
                    query = f"SELECT token FROM {table}"  # noqa: S608 (TOKEN_TABLES' names)
                    tokens |= {row[0] for row in conn.execute(query)}
            return dump, {t for t in tokens if t}
        finally:
            conn.close()
    except sqlite3.Error:
        return path.read_bytes().decode("utf-8", "replace"), set()


def postgres_tokens(dump: str) -> set[str]:
    """The tokens in a trail/postgres/*.jsonl dump (lines of table, tab, row as JSON)."""
    tokens = set()
    for line in dump.splitlines():
        table, _, row = line.partition("\t")
        if table in TOKEN_TABLES:
            token = json.loads(row).get("token")
            if token:
                tokens.add(token)
    return tokens


def scan(basetemp: Path, needles: Needles) -> Scanned:
    """Search everything the suite left under basetemp."""
    result = Scanned()
    tokens: set[str] = set()
    logs: list[Path] = []
    for path in _files(basetemp):
        relative = str(path.relative_to(basetemp))
        if path.parent.name == "postgres" and path.parent.parent.name == "trail":
            dump = path.read_text(encoding="utf-8")
            result.postgres_schemas += 1
            tokens |= postgres_tokens(dump)
            result.findings += search(dump, f"PostgreSQL schema {path.stem}", needles)
        elif path.suffix == ".log" or (
            path.parent.name == "logs" and path.parent.parent.name == "trail"
        ):
            logs.append(path)
        elif is_sqlite(path):
            dump, held = dump_sqlite(path)
            result.databases += 1
            tokens |= held
            result.findings += search(dump, f"SQLite {relative}", needles)
    result.tokens = len(tokens)
    for path in logs:
        text = path.read_bytes().decode("utf-8", "replace")
        result.logs += 1
        where = f"log {path.relative_to(basetemp)}"
        result.findings += search(text, where, needles, tokens)
    return result


def write_postgres_dump(cursor, schema: str, target: Path) -> None:
    """Every row of every table of the app's (miniapp_api.models.MODELS) that one PostgreSQL
    schema has, as lines of table, tab, row as JSON, into target: what helpers.PostgresSchema
    runs before it drops the schema. Two queries, each a few milliseconds: the tables are
    looked up by name (to_regclass, an index lookup), since listing a schema's tables scans
    pg_class, which a suite that creates and drops a schema per test bloats (60 ms a test
    here). A table no model names (an old step's, in the migrations' tests) is not dumped."""
    from miniapp_api.models import MODELS

    names = sorted(m._meta.table_name for m in MODELS)
    cursor.execute(
        "SELECT name FROM unnest(%s::text[]) AS name"
        " WHERE to_regclass(format('%%I.%%I', %s::text, name)) IS NOT NULL ORDER BY name",
        (names, schema),
    )
    tables = [row[0] for row in cursor.fetchall()]
    lines = []
    if tables:
        one = sql.SQL("SELECT {}, row_to_json(t)::text FROM {}.{} t")
        cursor.execute(
            sql.SQL(" UNION ALL ").join(
                one.format(sql.Literal(table), sql.Identifier(schema), sql.Identifier(table))
                for table in tables
            )
        )
        lines = [f"{table}\t{row}" for table, row in cursor.fetchall()]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
