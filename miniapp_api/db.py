"""The database: declared here without a location, initialised by the app factory.

SQLite (a file in WAL mode) is the embedded default; PostgreSQL is the scale-out path.
Connections come from a pool, so pragmas are set once per connection rather than per request.
"""

import fcntl
import os
import threading
from contextlib import contextmanager
from pathlib import Path

from peewee import DatabaseProxy
from playhouse.db_url import parse
from playhouse.pool import PooledPostgresqlDatabase, PooledSqliteDatabase

db = DatabaseProxy()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    # WAL with synchronous=normal is durable across application crashes and fast enough
    # for the scan path; only an OS crash can lose the last transactions.
    "synchronous": "normal",
    "foreign_keys": 1,
    "cache_size": -16 * 1024,
}


class ImproperlyConfigured(RuntimeError):
    """A setting is missing or wrong; the message says which variable to set."""


def open_database(url: str):
    """Build a pooled database from a URL: sqlite:///path or postgresql://user@host/name."""
    scheme = url.split(":", 1)[0].lower()
    if scheme in ("sqlite", "sqlite+pool"):
        kwargs = parse(url.replace("sqlite+pool:", "sqlite:", 1))
        path = kwargs.pop("database")
        if path == ":memory:":
            raise ImproperlyConfigured(
                "An in-memory SQLite database gives every connection its own empty database; "
                "set QUNBOOK_DATABASE_URL to a file, e.g. sqlite:///instance/qunbook.sqlite3."
            )
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return PooledSqliteDatabase(
            path,
            pragmas=SQLITE_PRAGMAS,
            # Concurrent writers wait for the lock instead of failing at once.
            timeout=15,
            max_connections=32,
            stale_timeout=600,
            check_same_thread=False,
        )
    if scheme in ("postgres", "postgresql", "postgresql+pool", "postgres+pool"):
        require_postgres_driver()
        kwargs = parse(url.replace("+pool:", ":", 1))
        return PooledPostgresqlDatabase(
            kwargs.pop("database"), max_connections=32, stale_timeout=600, **kwargs
        )
    raise ImproperlyConfigured(
        f"QUNBOOK_DATABASE_URL has an unsupported scheme {scheme!r}: "
        "use sqlite:///path/to/file.sqlite3 or postgresql://user@host:5432/name."
    )


def require_postgres_driver():
    """The driver is an extra (`qunbook[postgres]`); without it peewee would fail only at the
    first connection, with a message that does not say what to install."""
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        raise ImproperlyConfigured(
            "QUNBOOK_DATABASE_URL points at PostgreSQL, but its driver (psycopg2) is not "
            "installed: pip install 'qunbook[postgres]'."
        ) from None


def is_sqlite() -> bool:
    return isinstance(db.obj, PooledSqliteDatabase)


_thread_lock = threading.Lock()
_lock_files: dict[tuple[int, str], int] = {}


@contextmanager
def write_transaction():
    """A transaction for a short read-then-write, such as counting a scan.

    SQLite has one writer at a time, and its busy handler makes a waiting writer sleep in
    growing steps (1, 2, 5 ... 100 ms) although a scan holds the lock for a fraction of a
    millisecond. So writers queue on locks that wake them at once: a thread lock within the
    process, and an flock shared by every process using the file. BEGIN IMMEDIATE then takes
    SQLite's own lock up front, so a read never has to be upgraded to a write mid-way.
    PostgreSQL's row locks need none of this.
    """
    if not is_sqlite():
        with db.atomic():
            yield
        return
    with _thread_lock:
        fd = _lock_file(db.obj.database)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            with db.atomic("IMMEDIATE"):
                yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)


def _lock_file(database: str) -> int:
    # Opened per process: a descriptor inherited across fork() would share its lock.
    key = (os.getpid(), database)
    if key not in _lock_files:
        _lock_files[key] = os.open(f"{database}-writelock", os.O_RDWR | os.O_CREAT, 0o600)
    return _lock_files[key]
