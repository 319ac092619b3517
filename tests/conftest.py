"""Fixtures in the manner of flaskr's: an app on a temp database, a client, a CLI runner.

Every test that takes `app` runs twice: on a SQLite file and on PostgreSQL (a schema of its
own per test). Set QUNBOOK_TEST_POSTGRES_URL to point at another server; without one
reachable the PostgreSQL leg is skipped, unless QUNBOOK_TEST_REQUIRE_ALL=1 (as in CI).
"""

import os
import secrets
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import psycopg2
import pytest
from helpers import POSTGRES_URL, REQUIRE_ALL, StaffActions, make_config, make_staff

from miniapp_api import create_app
from miniapp_api.db import db
from miniapp_api.migrations import migrate


def _unavailable(what: str, why: str):
    if REQUIRE_ALL:
        pytest.fail(f"{what} is required here (QUNBOOK_TEST_REQUIRE_ALL=1): {why}")
    pytest.skip(f"{what} not available: {why}")


class PostgresSchema:
    """A throw-away schema, so PostgreSQL tests never see each other's rows."""

    def __init__(self):
        self.name = f"t_{secrets.token_hex(6)}"

    def __enter__(self):
        try:
            conn = psycopg2.connect(POSTGRES_URL, connect_timeout=3)
        except psycopg2.OperationalError as error:
            _unavailable("PostgreSQL", str(error).strip())
        conn.autocommit = True
        conn.cursor().execute(f"CREATE SCHEMA {self.name}")
        conn.close()
        sep = "&" if "?" in POSTGRES_URL else "?"
        return f"{POSTGRES_URL}{sep}options={quote(f'-csearch_path={self.name}')}"

    def __exit__(self, *exc):
        if db.obj is not None:
            db.close_all() if hasattr(db.obj, "close_all") else None
        conn = psycopg2.connect(POSTGRES_URL)
        conn.autocommit = True
        conn.cursor().execute(f"DROP SCHEMA IF EXISTS {self.name} CASCADE")
        conn.close()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'qunbook.sqlite3'}"
        if db.obj is not None:
            db.close_all()
        return
    with PostgresSchema() as url:
        yield url


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app(make_config(database_url, tmp_path))
    with db.connection_context():
        migrate()
    # No app context held open: each request must get its own, as in production (g is per
    # request there, and a shared one would leak between a test's requests).
    yield app


@pytest.fixture
def client(app):
    return app.test_client()


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
