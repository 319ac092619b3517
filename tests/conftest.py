"""Fixtures in the manner of flaskr's: an app on a temp database, a client, a CLI runner.

Every test that takes `app` runs twice: on a SQLite file and on PostgreSQL (a schema of its
own per test). Set QUNBOOK_TEST_POSTGRES_URL to point at another server; without one
reachable the PostgreSQL leg is skipped, unless QUNBOOK_TEST_REQUIRE_ALL=1 (as in CI).
"""

import logging
import os
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from helpers import PostgresSchema, StaffActions, browser, make_config, make_staff
from privacy_grep import TRAIL_ENV, needles_of_tests, scan
from werkzeug.routing import Rule

from miniapp_api import create_app
from miniapp_api.accounts import rules as accounts_rules
from miniapp_api.db import db, open_database
from miniapp_api.migrations import migrate

# argon2id at the production profile (64 MiB, t=3) costs a good fraction of a second per hash;
# tests only need a real argon2id hash, so they use the cheapest one. The production hasher is
# kept for test_production_password_hashing (tests/accounts/test_login.py).
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


# The longest modules (pytest --durations, 20 to 65 s a test), run first: the two workers
# then end together instead of one finishing a minute-long test while the other waits.
LONGEST_FIRST = (
    "tests/web/test_anonymous_state.py",
    "tests/api/test_schema.py",
    "tests/test_crash_safety.py",
    "tests/web/test_hostile_input.py",
    "tests/test_xss_browser.py",
    "tests/livecode/test_drain.py",
    "tests/console/test_phone_browser.py",
    "tests/accounts/test_login_proxy.py",
)


def pytest_collection_modifyitems(items):
    # A stable sort: each module keeps its own order (and its module-scoped fixtures).
    def rank(item) -> int:
        found = (i for i, module in enumerate(LONGEST_FIRST) if item.nodeid.startswith(module))
        return next(found, len(LONGEST_FIRST))

    items.sort(key=rank)


@pytest.fixture(scope="session", autouse=True)
def privacy_trail(tmp_path_factory):
    """<basetemp>/trail (each xdist worker's own): LiveServer keeps its servers' logs there,
    PostgresSchema its schemas' dumps, and every log record of this process (INFO and above)
    goes to trail/logs/records-<pid>.log, as a server's log would keep it. The privacy grep
    reads them all at the end of the session (pytest_sessionfinish below)."""
    trail = tmp_path_factory.getbasetemp() / "trail"
    (trail / "logs").mkdir(parents=True, exist_ok=True)
    os.environ[TRAIL_ENV] = str(trail)
    handler = logging.FileHandler(trail / "logs" / f"records-{os.getpid()}.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    # What a deployment logs: not peewee's debug log of each query and its parameters (a
    # developer's switch, which a test may leave on).
    handler.setLevel(logging.INFO)
    logging.getLogger().addHandler(handler)
    yield trail
    logging.getLogger().removeHandler(handler)
    handler.close()
    del os.environ[TRAIL_ENV]


def pytest_sessionfinish(session, exitstatus):
    """The privacy grep (issue 16), once, in the controller, over everything the session's
    tests left under basetemp (every worker's included): no raw IP address or phone number of
    the tests in a database or a log, no invitation or ticket token in a log. A finding fails
    the run."""
    if hasattr(session.config, "workerinput") or session.config.option.collectonly:
        return
    if not session.testscollected:
        return
    started = time.monotonic()
    basetemp = session.config._tmp_path_factory.getbasetemp()
    needles = needles_of_tests(Path(__file__).resolve().parent)
    result = scan(basetemp, needles)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    summary = (
        f"privacy grep: {len(needles.ips)} IP addresses, {len(needles.phones)} phone numbers"
        f" and {result.tokens} tokens sought in {result.databases} SQLite databases,"
        f" {result.postgres_schemas} PostgreSQL schemas and {result.logs} logs under"
        f" {basetemp} ({time.monotonic() - started:.1f} s)"
    )
    if not result.findings:
        if reporter:
            reporter.write_line(f"{summary}: none found")
        return
    lines = [f"{summary}: {len(result.findings)} found.", *map(str, result.findings)]
    if reporter:
        reporter.section("privacy grep", sep="=", red=True, bold=True)
        for line in lines:
            reporter.write_line(line)
    else:
        print("\n".join(lines), file=sys.stderr)
    if session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing():
    production = accounts_rules._hasher
    accounts_rules._hasher = CHEAP_HASHER
    accounts_rules._dummy_hash.cache_clear()
    yield production
    accounts_rules._hasher = production
    accounts_rules._dummy_hash.cache_clear()


@pytest.fixture(scope="session", autouse=True)
def url_builders_made_once():
    """Nearly all of create_app's time (40 of 45 ms, in every test that takes `app`) went to
    Werkzeug making each URL rule's two builder functions again: an ast built, walked and
    compiled per rule (Rule._compile_builder). A builder's code depends only on its rule's
    text and parts (Rule._trace), the names of its defaults and whether it appends unknown
    arguments, unless a default fills a part of the path; so the suite keeps the first one
    Werkzeug makes for each such rule and gives it to the rule's next instances. Checked
    against Werkzeug 3.1's code; with another version the suite makes them as before."""
    if not version("werkzeug").startswith("3.1."):
        yield
        return
    make = Rule._compile_builder
    made = {}

    def made_once(rule, append_unknown=True):
        defaults = rule.defaults or {}
        if any(dynamic and part in defaults for dynamic, part in rule._trace):
            return make(rule, append_unknown)  # the default's text is compiled in
        key = (rule.rule, tuple(rule._trace), tuple(defaults), append_unknown)
        if key not in made:
            made[key] = make(rule, append_unknown)
        return made[key]

    Rule._compile_builder = made_once
    yield
    Rule._compile_builder = make


@pytest.fixture(autouse=True)
def english_command_line(monkeypatch):
    """The command line follows the locale (LANGUAGE first, as gettext reads it): the suite
    speaks English there whatever the machine's locale, and subprocesses inherit it. Tests of
    the Chinese command line set their own."""
    monkeypatch.setenv("LANGUAGE", "en")


@pytest.fixture
def production_hasher(cheap_password_hashing):
    """The hasher miniapp_api.accounts.rules uses outside the tests."""
    return cheap_password_hashing


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory) -> bytes:
    """A SQLite database migrated once per session (per xdist worker), as the bytes of its
    file: a test that takes `app` starts from a copy instead of running every step again.
    tests/test_migrations.py checks the copy has a migrated database's catalog. (PostgreSQL
    cannot copy a schema: a schema rebuilt from pg_dump's text differs from a migrated one in
    how it stores `x IN (...)` checks, and CREATE DATABASE ... TEMPLATE was slower than the
    steps on this machine's disk. Its migrated schemas are emptied and used again instead:
    helpers.PostgresSchema.)"""
    path = tmp_path_factory.mktemp("template") / "migrated.sqlite3"
    db.initialize(open_database(f"sqlite:///{path}"))
    with db.connection_context():
        migrate()
    db.close_all()
    # Closing the last connection moved the WAL into the file and deleted it: the file alone
    # is the whole database.
    assert not path.with_name(f"{path.name}-wal").exists()
    return path.read_bytes()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path, migrated_sqlite):
    """The test's database, empty; when the test takes `app`, a migrated one instead (not for
    the steps' own tests, marked `migrate`): on SQLite a copy of the session's, on PostgreSQL
    a migrated schema of this process's that an earlier test left as migrated, emptied (not
    for tests marked `fresh_schema` either)."""
    if request.param == "sqlite":
        path = tmp_path / "qunbook.sqlite3"
        if "app" in request.fixturenames and not request.node.get_closest_marker("migrate"):
            path.write_bytes(migrated_sqlite)
        yield f"sqlite:///{path}"
        if db.obj is not None:
            db.close_all()
        return
    fresh = request.node.get_closest_marker("fresh_schema") or request.node.get_closest_marker(
        "migrate"
    )
    with PostgresSchema(migrated="app" in request.fixturenames and not fresh) as url:
        yield url


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app(make_config(database_url, tmp_path))
    with db.connection_context():
        migrate()  # every step on an empty database; nothing to do on a copy
    # No app context held open: each request must get its own, as in production (g is per
    # request there, and a shared one would leak between a test's requests).
    yield app


@pytest.fixture
def client(app):
    return browser(app)


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """The handbook, built once per test run: (site folder, mkdocs' completed process)."""
    site = tmp_path_factory.mktemp("handbook")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=300,
    )
    return site, result


@pytest.fixture
def staff_actions(client):
    return StaffActions(client)


@pytest.fixture
def login_as(staff_actions):
    """login_as("trainer") creates that staff member, logs the client in, returns the actions."""

    def login(role="operator", username=None):
        username = username or f"{role}-1"
        make_staff(username, role)
        response = staff_actions.login(username)
        assert response.status_code == 302, response.get_data(as_text=True)
        return staff_actions

    return login
