"""The database: declared here without a location, initialised by the app factory.

SQLite (a file in WAL mode) is the embedded default; PostgreSQL is the scale-out path.
Connections come from a pool, so pragmas are set once per connection rather than per request.
"""

import fcntl
import functools
import os
import re
import sqlite3
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

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
    # No checkpoint inside a commit: the checkpointer thread below makes them (_Checkpointer).
    "wal_autocheckpoint": 0,
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
        return _SqliteDatabase(
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


class _SqliteDatabase(PooledSqliteDatabase):
    """The pool's SQLite database, whose connections leave checkpoints to the checkpointer."""

    def _connect(self):
        connection = super()._connect()
        _checkpointer.watch(self.database)
        return connection

    def close_all(self):
        # Every connection of this process, the checkpointer's too: closing the last one
        # moves the WAL into the file, which is then the whole database (a copy can be taken).
        super().close_all()
        _checkpointer.release(self.database)


class _Checkpointer:
    """Copies the WAL's pages back into the database file from a thread of its own.

    SQLite's default does it in the commit that takes the WAL past 1,000 pages: in a scan's
    group commit, while it holds the write lock, so every writer of every process waited for
    the copy and its fsync (at ~9 pages a scan, about every 110 scans). A PASSIVE checkpoint
    takes no write lock, so here it runs beside the writers, every CHECKPOINT_EVERY seconds.
    A checkpoint moves data from one file to another and never decides what is stored: were
    this thread to stop, the WAL would only grow, and every read and write would still be
    right. One per process, for the database its pool opened last."""

    def __init__(self):
        self.lock = threading.Lock()
        self.path: str | None = None
        self.pid: int | None = None
        self.connection: sqlite3.Connection | None = None
        self.opened: str | None = None

    def watch(self, path: str) -> None:
        # Every connection the pool hands out passes here: once this process's thread runs
        # for `path`, nothing to do, and no wait on the lock a running checkpoint holds.
        if self.path == path and self.pid == os.getpid():
            return
        with self.lock:
            self.path = path
            if self.pid != os.getpid():  # none yet, or a forked child without the thread
                self.pid = os.getpid()
                threading.Thread(target=self._run, name="qunbook-checkpoint", daemon=True).start()

    def _run(self) -> None:
        while True:
            time.sleep(CHECKPOINT_EVERY)
            self.checkpoint()

    def release(self, path: str) -> None:
        """Close the connection to `path` and leave it alone until a pool connects to it."""
        with self.lock:
            if self.path == path:
                self.path = None
            if self.opened == path:
                self._close()

    def checkpoint(self) -> tuple[int, int, int] | None:
        """One PASSIVE checkpoint of the watched database: (busy, pages in the WAL, pages
        copied), or None when it could not run (none watched, another process's checkpoint
        was running, or the file is gone: the next round tries again)."""
        with self.lock:
            path = self.path
            if path is None:
                return None
            try:
                if path != self.opened:
                    self._close()
                    # mode=rw: a database that is gone is not made again, empty.
                    self.connection = sqlite3.connect(
                        f"file:{path}?mode=rw", uri=True, timeout=0, check_same_thread=False
                    )
                    self.opened = path
                result = self.connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                if result[1] > WAL_RESTART_PAGES:
                    result = self._restart(path, result)
                return result
            except sqlite3.Error:
                self._close()
                return None

    def _restart(self, path: str, passive: tuple[int, int, int]) -> tuple[int, int, int]:
        """Copy the rest of the WAL and have the next commit write it from its start.

        Under a steady stream of scans a PASSIVE checkpoint never catches up: some reader
        always holds a snapshot in the WAL, and every commit appends, so the WAL file only
        grows (measured: 138 MB after 5 s of scans). RESTART waits until no reader uses
        the WAL; it runs holding the writers' locks (_sqlite_writer), so writers queue on
        the locks that wake them at once rather than on SQLite's sleeping busy handler,
        and it waits for readers, whose statements are short, at most RESTART_WAIT_MS.
        Busy then, it is tried again next round. It waits as long at most for this
        process's writers' lock too: it holds the checkpointer's own lock meanwhile, which a
        writer connecting to another database would wait for."""
        try:
            with _sqlite_writer(path, wait=RESTART_WAIT_MS / 1000):
                self.connection.execute(f"PRAGMA busy_timeout = {RESTART_WAIT_MS}")
                try:
                    return self.connection.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
                finally:
                    self.connection.execute("PRAGMA busy_timeout = 0")
        except _WritersBusy:
            return (1, *passive[1:])

    def _close(self) -> None:
        if self.connection is not None:
            self.connection.close()
        self.connection, self.opened = None, None


CHECKPOINT_EVERY = 0.5  # seconds
# Past this many pages (4 KiB each: 64 MiB) the WAL is restarted from its start (_restart):
# each restart holds writers up for a moment, so not too often.
WAL_RESTART_PAGES = 16384
RESTART_WAIT_MS = 20
_checkpointer = _Checkpointer()


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


# The statements each PostgreSQL connection has prepared: name -> when (monotonic seconds).
# A connection the pool drops takes its names with it.
_prepared: "weakref.WeakKeyDictionary[Any, dict[str, float]]" = weakref.WeakKeyDictionary()
STATEMENT_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# How long a connection keeps one plan of a statement before preparing it again.
REPLAN_AFTER = 10.0
_clock = time.monotonic  # tests move it instead of waiting


def execute_prepared(name: str, sql: str, params: tuple):
    """Run `sql` (the driver's placeholders, every value a parameter) and return its cursor.

    On PostgreSQL the statement is prepared once per connection, under `name`, and each run
    only binds its values: measured on the scan's lookup, planning took 0.35 ms of its
    0.4 ms on the server, and a prepared run took 70 µs in all where a plain one took
    500 µs. A prepared statement outlives the transaction it was made in (a ROLLBACK keeps
    it). PostgreSQL plans it again by itself once ANALYZE has seen a table change, but a
    table that has never been analysed changes no plan: on a new database the lookup's plan,
    made while `visit` was nearly empty, read a campaign's every visit (2.8 ms a scan at
    20,000 visits, 0.14 ms with the plan made again). So each connection prepares a
    statement again once its plan is REPLAN_AFTER seconds old: one planning in ten seconds
    costs nothing, and no plan outlives the tables it was made for by longer.
    SQLite's driver already keeps each connection's recent statements compiled.
    """
    if is_sqlite():
        return db.execute_sql(sql, params)
    if not STATEMENT_NAME.match(name):
        raise ValueError(f"not a statement name: {name!r}")
    statements = _prepared.setdefault(db.connection(), {})
    now = _clock()
    made = statements.get(name)
    if made is None or now - made >= REPLAN_AFTER:
        if made is not None:
            db.execute_sql(f"DEALLOCATE {name}")
        db.execute_sql(f"PREPARE {name} AS {_numbered(sql)}")
        statements[name] = now
    return db.execute_sql(_execute(name, len(params)), params)


def _numbered(sql: str) -> str:
    """psycopg2's placeholders as PostgreSQL's own: the n-th %s becomes $n."""
    count = iter(range(1, sql.count("%s") + 1))
    return re.sub(r"%s", lambda _: f"${next(count)}", sql)


@functools.cache
def _execute(name: str, count: int) -> str:
    return f"EXECUTE {name} ({', '.join(['%s'] * count)})" if count else f"EXECUTE {name}"


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
    if _batch_thread == threading.get_ident():
        raise RuntimeError("write_transaction() inside a group_write() work function")
    with _sqlite_writer(), db.atomic("IMMEDIATE"):
        yield


class _WritersBusy(Exception):
    """This process's writers' lock was not had within the wait asked for."""


@contextmanager
def _sqlite_writer(database: str | None = None, wait: float = -1):
    """This process's thread lock, then the flock every process shares: write_transaction(),
    group_write() and the checkpointer's restart hold these, so they never interleave.
    `wait`: seconds at most for the thread lock (-1: as long as it takes), else
    _WritersBusy."""
    lock = _thread_lock  # the one taken is the one released, even across a fork
    if not lock.acquire(timeout=wait):
        raise _WritersBusy
    try:
        fd = _lock_file(database or db.obj.database)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        lock.release()


T = TypeVar("T")


class _Write:
    """One caller's work in the queue, and what became of it once its batch was committed."""

    __slots__ = ("done", "error", "result", "work")

    def __init__(self, work: Callable[[], Any]):
        self.work = work
        self.done = False
        self.result: Any = None
        self.error: BaseException | None = None


# Writers waiting in this process, in arrival order. The first one not yet done leads: it
# commits itself and everyone queued behind it at that moment, then wakes them all.
_writers: deque[_Write] = deque()
_queue = threading.Condition()
# The thread running a batch's work, so that a work function calling write_transaction()
# fails at once instead of waiting forever on the lock its own thread holds.
_batch_thread: int | None = None


def group_write(work: Callable[[], T]) -> T:
    """Run `work` in a write transaction shared with the other writers waiting at this moment
    (group commit), and return its result only once that transaction is committed.

    Under load most of a SQLite write section is waiting: for the GIL, for the lock, for the
    COMMIT. One leader runs the queued work functions back to back in one BEGIN IMMEDIATE
    transaction and commits once, so the locks are taken once per batch instead of once per
    scan. Work functions run in arrival order, each in its own SAVEPOINT: one that raises
    rolls back only its own writes, and its caller gets the exception; the others are
    committed. If the COMMIT fails, nothing of the batch is stored and every caller in it
    gets that exception; none is re-run (a work function may have effects outside the
    database, such as ids set on model instances, and a failed COMMIT means a broken disk,
    which a second try would meet again, or a deferred constraint, which a savepoint does
    not check: one work function breaking one fails its whole batch).

    The work runs on the leader's thread, so `db` inside it is the leader's connection:
    `work` must do all its reads and writes through `db` (not through a connection or
    transaction it captured) and must not call group_write() or write_transaction() itself.
    The caller must not be in a transaction: its writes would not be part of the batch, and
    its open transaction could hold the lock the batch waits for.

    PostgreSQL: a plain transaction; its row locks let writers run side by side.
    """
    if not is_sqlite():
        with db.atomic():
            return work()
    if db.in_transaction():
        raise RuntimeError("group_write() called inside a transaction")
    mine = _Write(work)
    with _queue:
        _writers.append(mine)
        while not mine.done and _writers[0] is not mine:
            _queue.wait()
    if not mine.done:
        _lead(mine)
    if mine.error is not None:
        raise mine.error
    return mine.result


def _lead(first: _Write) -> None:
    """Commit every writer queued once the locks are ours, then wake them all."""
    batch = [first]
    try:
        with _sqlite_writer():
            # Taken only now: writers that arrived while the locks were busy join this batch.
            with _queue:
                batch = list(_writers)
            _run_batch(batch)
    except BaseException as error:  # the locks failed: nobody's work ran
        for write in batch:
            write.result, write.error = None, error
    finally:
        with _queue:
            for write in batch:
                _writers.popleft()
                write.done = True
            _queue.notify_all()


def _run_batch(batch: list[_Write]) -> None:
    """One transaction for the batch, a savepoint per work function; results are handed out
    only after the COMMIT.

    The savepoints are issued on the sqlite3 connection itself. Measured with 8 threads x
    2000 INSERTs on a busy 2-core machine (WAL, synchronous=normal; medians of 5 runs):
    write_transaction() ~9,600 a second; group commit with these savepoints ~16,900, with no
    savepoint at all ~15,800 (the same, within the noise); with peewee's db.atomic() per work
    function (a fresh uuid name, two trips through execute_sql) ~8,600, no better than
    write_transaction(). No savepoint, rolling back the batch on an error and running the
    rest again one by one, would be as fast but would run other callers' work twice.
    """
    global _batch_thread
    outcomes: list[tuple[Any, BaseException | None]] = []
    _batch_thread = threading.get_ident()
    try:
        with db.atomic("IMMEDIATE"):
            connection = db.connection()
            for write in batch:
                connection.execute("SAVEPOINT group_write")
                try:
                    result = write.work()
                except Exception as error:
                    if not connection.in_transaction:
                        # Some errors (disk full, I/O) make SQLite roll back the whole
                        # transaction: the work before this one is gone, and the work after
                        # it would be committed alone, so the batch stops here.
                        raise
                    connection.execute("ROLLBACK TO group_write")
                    connection.execute("RELEASE group_write")
                    outcomes.append((None, error))
                else:
                    connection.execute("RELEASE group_write")
                    outcomes.append((result, None))
    except BaseException as error:  # the COMMIT failed, or the leader was interrupted
        outcomes = [(None, error)] * len(batch)
    finally:
        _batch_thread = None
    for write, (result, error) in zip(batch, outcomes, strict=True):
        write.result, write.error = result, error


def _forget_parent_writers() -> None:
    # A child forked while this process's threads were writing must neither run their
    # queued work nor wait for locks their threads held: they do not exist in the child.
    global _thread_lock, _queue, _batch_thread, _checkpointer
    # The checkpointer's thread is not in the child either: its first connection starts one.
    _checkpointer = _Checkpointer()
    _thread_lock = threading.Lock()
    _queue = threading.Condition()
    _writers.clear()
    _batch_thread = None


os.register_at_fork(after_in_child=_forget_parent_writers)


def _lock_file(database: str) -> int:
    # Opened per process: a descriptor inherited across fork() would share its lock.
    key = (os.getpid(), database)
    if key not in _lock_files:
        _lock_files[key] = os.open(f"{database}-writelock", os.O_RDWR | os.O_CREAT, 0o600)
    return _lock_files[key]
