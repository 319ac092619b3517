"""The app factory: configuration, secrets, and the database it sets up."""

import json
import re
import sys

import pytest
from helpers import make_config

from miniapp_api import create_app
from miniapp_api.db import ImproperlyConfigured, db, is_sqlite


def test_testing_config_and_prefixed_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("QUNBOOK_PUBLIC_URL", "https://qun.example.cn/")
    monkeypatch.setenv("QUNBOOK_TIMEZONE", "Asia/Urumqi")
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "a", "HASH_KEY": "b"})
    assert app.config["PUBLIC_URL"] == "https://qun.example.cn"
    assert app.config["TIMEZONE"] == "Asia/Urumqi"
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert not app.testing


def test_external_database_without_secrets_stops_startup_with_a_clear_message(monkeypatch):
    monkeypatch.delenv("QUNBOOK_SECRET_KEY", raising=False)
    monkeypatch.delenv("QUNBOOK_HASH_KEY", raising=False)
    with pytest.raises(ImproperlyConfigured, match="QUNBOOK_SECRET_KEY and QUNBOOK_HASH_KEY"):
        create_app({"DATABASE_URL": "postgresql://postgres@127.0.0.1/test"})


def test_embedded_kit_keeps_generated_secrets_in_instance_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("QUNBOOK_SECRET_KEY", raising=False)
    monkeypatch.delenv("QUNBOOK_HASH_KEY", raising=False)
    monkeypatch.delenv("QUNBOOK_DATABASE_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("QUNBOOK_INSTANCE_DIR", str(tmp_path))
    first = create_app()
    app = create_app()
    assert app.config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'qunbook.sqlite3'}"
    stored = json.loads((tmp_path / "secrets.json").read_text())
    assert (tmp_path / "secrets.json").stat().st_mode & 0o077 == 0
    assert app.config["SECRET_KEY"] == stored["SECRET_KEY"] == first.config["SECRET_KEY"]
    assert len(stored["HASH_KEY"]) == 64 and stored["HASH_KEY"] != stored["SECRET_KEY"]


def test_the_instance_folder_is_the_current_directorys_never_the_packages(monkeypatch, tmp_path):
    """An installed kit must not write its database into site-packages or the venv."""
    monkeypatch.delenv("QUNBOOK_INSTANCE_DIR", raising=False)
    monkeypatch.delenv("QUNBOOK_DATABASE_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    app = create_app({"SECRET_KEY": "a", "HASH_KEY": "b"})
    assert app.instance_path == str(tmp_path / "instance")
    assert app.config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'instance' / 'qunbook.sqlite3'}"
    assert app.config["POSTER_CACHE_DIR"] == str(tmp_path / "instance" / "poster-cache")


def test_postgresql_without_its_driver_names_the_extra_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg2", None)  # as if psycopg2 were not installed
    with pytest.raises(ImproperlyConfigured, match=re.escape("pip install 'qunbook[postgres]'")):
        url = "postgresql://postgres@127.0.0.1/test"
        create_app({"DATABASE_URL": url, "SECRET_KEY": "a", "HASH_KEY": "b"})


@pytest.mark.parametrize(
    ("url", "message"),
    [("mysql://root@localhost/x", "unsupported scheme"), ("sqlite:///:memory:", "in-memory")],
)
def test_unsupported_database_urls_are_refused(url, message, tmp_path):
    with pytest.raises(ImproperlyConfigured, match=message):
        create_app(make_config(url, tmp_path))


def test_sqlite_runs_in_wal_mode_and_connections_are_reused(app, client):
    if not is_sqlite():
        pytest.skip("SQLite only")
    assert db.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close_all()
    client.get("/j/none")
    client.get("/j/none")
    # Teardown handed the first request's connection back, and the second reused it.
    assert len(db.obj._connections) == 1
    assert not db.obj._in_use
