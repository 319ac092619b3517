"""group_write(): concurrent writers committed together, each answered after its own commit.

The batching tests hold the write lock themselves, so who joins which batch does not depend
on timing: writers queue behind it, and the lock's release starts one batch of all of them.
"""

import multiprocessing
import os
import sqlite3
import threading
import time

import pytest
from helpers import make_config
from peewee import ForeignKeyField, IntegerField, IntegrityError, Model

from miniapp_api import create_app
from miniapp_api import db as database
from miniapp_api.db import db, group_write, is_sqlite, write_transaction


class Mark(Model):
    """A scratch table: one row per write, saying which writer made it."""

    who = IntegerField()
    n = IntegerField()
    # Checked only at COMMIT: a way to make a real COMMIT fail.
    parent = ForeignKeyField("self", null=True, backref="children", deferrable="INITIALLY DEFERRED")

    class Meta:
        database = db
        table_name = "groupcommit_mark"


@pytest.fixture
def marks(app):
    with db.connection_context():
        Mark.create_table()


@pytest.fixture
def sqlite_marks(tmp_path):
    create_app(make_config(f"sqlite:///{tmp_path / 'qunbook.sqlite3'}", tmp_path))
    with db.connection_context():
        Mark.create_table()
    yield
    db.close_all()


@pytest.fixture
def batches(monkeypatch):
    """The size of every batch committed in this process, in order."""
    sizes = []
    run_batch = database._run_batch

    def counted(batch):
        sizes.append(len(batch))
        run_batch(batch)

    monkeypatch.setattr(database, "_run_batch", counted)
    return sizes


def insert(who, n, parent=None):
    return Mark.insert(who=who, n=n, parent=parent).execute()


def stored() -> list[tuple[int, int]]:
    with db.connection_context():
        return sorted((m.who, m.n) for m in Mark.select())


def wait_until(condition):
    """Polls until `condition()`; the deadline only turns a hang into a failure."""
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


class Writers:
    """Threads that each make one group_write(), started one after another, each only once the
    one before is queued, so their arrival order is the order they were started in."""

    def __init__(self):
        self.threads, self.outcomes = [], {}

    def start(self, who, work):
        def write():
            with db.connection_context():
                try:
                    self.outcomes[who] = ("returned", group_write(work))
                except Exception as error:  # handed to the test, which asserts on it
                    self.outcomes[who] = ("raised", error)

        queued = len(database._writers)
        thread = threading.Thread(target=write)
        thread.start()
        self.threads.append(thread)
        wait_until(lambda: len(database._writers) == queued + 1)

    def join(self):
        for thread in self.threads:
            thread.join(timeout=60)
        assert not any(t.is_alive() for t in self.threads)
        return self.outcomes


THREADS, EACH = 16, 50


def test_every_write_is_stored_and_answered_with_its_own_id(marks, batches):
    start = threading.Barrier(THREADS)
    answers, failures = {}, []

    def writer(who):
        try:
            with db.connection_context():
                start.wait(timeout=60)
                for n in range(EACH):
                    answers[(who, n)] = group_write(lambda: insert(who, n))  # noqa: B023
        except Exception as error:
            failures.append(error)

    threads = [threading.Thread(target=writer, args=(who,)) for who in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    assert failures == []
    assert stored() == sorted(answers)
    with db.connection_context():
        by_id = {m.id: (m.who, m.n) for m in Mark.select()}
    assert {key: by_id[mark_id] for key, mark_id in answers.items()} == {
        key: key for key in answers
    }
    if is_sqlite():
        assert sum(batches) == THREADS * EACH


def test_writers_queued_behind_the_lock_are_committed_in_one_batch_in_arrival_order(
    sqlite_marks, batches
):
    writers = Writers()
    with database._thread_lock:
        for who in range(5):
            writers.start(who, lambda who=who: insert(who, 0))
        assert stored() == []  # queued, not yet run
    outcomes = writers.join()

    assert batches == [5]
    ids = [outcomes[who] for who in range(5)]
    assert all(kind == "returned" for kind, _ in ids)
    # Ids grow with the order the work ran in: the order the writers arrived in.
    assert [mark_id for _, mark_id in ids] == sorted(mark_id for _, mark_id in ids)
    assert stored() == [(who, 0) for who in range(5)]


def test_a_failing_write_is_raised_to_its_own_caller_and_leaves_no_rows(sqlite_marks, batches):
    def insert_then_fail():
        insert(2, 0)
        insert(2, 1)
        raise ValueError("the third writer changed its mind")

    writers = Writers()
    with database._thread_lock:
        for who in range(5):
            writers.start(who, insert_then_fail if who == 2 else lambda who=who: insert(who, 0))
    outcomes = writers.join()

    assert batches == [5]
    kind, error = outcomes[2]
    assert kind == "raised" and str(error) == "the third writer changed its mind"
    assert {who: outcomes[who][0] for who in (0, 1, 3, 4)} == dict.fromkeys(
        (0, 1, 3, 4), "returned"
    )
    assert stored() == [(0, 0), (1, 0), (3, 0), (4, 0)]


def test_a_database_error_in_one_write_leaves_the_batch_going(sqlite_marks, batches):
    with db.connection_context():
        taken = insert(9, 9)

    writers = Writers()
    with database._thread_lock:
        writers.start(0, lambda: insert(0, 0))
        writers.start(1, lambda: Mark.insert(id=taken, who=1, n=0).execute())
        writers.start(2, lambda: insert(2, 0))
    outcomes = writers.join()

    assert batches == [3]
    assert outcomes[1][0] == "raised" and isinstance(outcomes[1][1], IntegrityError)
    assert outcomes[0][0] == outcomes[2][0] == "returned"
    assert stored() == [(0, 0), (2, 0), (9, 9)]


def test_a_failed_commit_is_raised_to_every_writer_in_the_batch(sqlite_marks, batches):
    """A deferred foreign key is checked only at COMMIT: one writer's dangling reference fails
    the whole batch's COMMIT, so nobody in it may be told their rows were stored."""
    writers = Writers()
    with database._thread_lock:
        writers.start(0, lambda: insert(0, 0))
        writers.start(1, lambda: insert(1, 0, parent=424242))
        writers.start(2, lambda: insert(2, 0))
    outcomes = writers.join()

    assert batches == [3]
    assert [kind for kind, _ in outcomes.values()] == ["raised"] * 3
    assert all(isinstance(error, IntegrityError) for _, error in outcomes.values())
    assert stored() == []
    # The lock and the queue are free again: the next writer commits.
    with db.connection_context():
        assert group_write(lambda: insert(3, 0))
    assert stored() == [(3, 0)]


def test_write_transaction_waits_for_a_batch_and_a_batch_for_write_transaction(
    sqlite_marks, batches
):
    writers = Writers()
    with db.connection_context(), write_transaction():
        insert(0, 0)
        writers.start(1, lambda: insert(1, Mark.select().where(Mark.who == 0).count()))
    writers.join()
    # The batch ran after write_transaction() committed, so it saw that row.
    assert stored() == [(0, 0), (1, 1)]


def test_group_write_refuses_to_nest(sqlite_marks):
    with db.connection_context():
        with db.atomic(), pytest.raises(RuntimeError, match="inside a transaction"):
            group_write(lambda: insert(0, 0))
        with pytest.raises(RuntimeError, match="inside a transaction"):
            group_write(lambda: group_write(lambda: insert(0, 0)))

        def nested():
            with write_transaction():
                insert(0, 1)

        with pytest.raises(RuntimeError, match="inside a group_write"):
            group_write(nested)
        assert group_write(lambda: insert(0, 2))
    assert stored() == [(0, 2)]


PROCESSES, PROCESS_THREADS = 2, 8


def write_from_process(process, start):
    """A forked process's writers: exits non-zero if any write failed or was answered wrong."""
    failures = []

    def writer(who):
        try:
            with db.connection_context():
                start.wait(timeout=60)
                for n in range(EACH):
                    mark_id = group_write(lambda: insert(who, n))  # noqa: B023
                    if Mark.get_by_id(mark_id).who != who:
                        failures.append((who, n, mark_id))
        except Exception as error:
            failures.append(error)

    threads = [
        threading.Thread(target=writer, args=(process * PROCESS_THREADS + t,))
        for t in range(PROCESS_THREADS)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    raise SystemExit(1 if failures else 0)


def test_two_processes_writing_at_once_lose_nothing(sqlite_marks):
    # Connections must not cross fork(): each process opens its own.
    db.close_all()
    fork = multiprocessing.get_context("fork")
    start = fork.Barrier(PROCESSES * PROCESS_THREADS)
    processes = [fork.Process(target=write_from_process, args=(p, start)) for p in range(PROCESSES)]
    for p in processes:
        p.start()
    for p in processes:
        p.join(timeout=180)

    assert [p.exitcode for p in processes] == [0] * PROCESSES
    writers = range(PROCESSES * PROCESS_THREADS)
    assert stored() == [(who, n) for who in writers for n in range(EACH)]


def write_once_in_child(who):
    with db.connection_context():
        group_write(lambda: insert(who, 0))


def test_a_process_forked_while_a_writer_waits_runs_only_its_own_writes(sqlite_marks):
    """gunicorn forks before its threads start, but if a fork ever happens while a thread
    waits to write, the child must neither run that thread's work nor wait for its lock."""
    writers = Writers()
    with database._thread_lock:
        writers.start(0, lambda: insert(0, 0))
        db.close_idle()  # the waiting writer's connection stays open, in this process only
        child = multiprocessing.get_context("fork").Process(target=write_once_in_child, args=(1,))
        child.start()
        child.join(timeout=60)
        if child.is_alive():
            child.terminate()
            child.join()
        assert child.exitcode == 0
        assert stored() == [(1, 0)]
    writers.join()
    assert stored() == [(0, 0), (1, 0)]


def test_commits_leave_the_checkpoint_to_the_checkpointer(sqlite_marks):
    """No commit copies the WAL back into the database (in a group commit that held every
    writer up); the checkpointer does, beside them."""
    with db.connection_context():
        assert db.execute_sql("PRAGMA wal_autocheckpoint").fetchone() == (0,)
        for n in range(20):
            with db.atomic():
                Mark.insert_many([{"who": n, "n": i} for i in range(1000)]).execute()
        checkpointer = database._Checkpointer()
        checkpointer.path = db.database
        # The process's own checkpointer may be running at this moment: then ours is busy.
        results = []
        wait_until(lambda: results.append(checkpointer.checkpoint()) or results[-1][0] == 0)
        _busy, pages, copied = results[-1]
        assert pages > 0 and copied == pages
        assert Mark.select().count() == 20_000
    checkpointer.path = str(db.database) + "-gone"
    assert checkpointer.checkpoint() is None  # and no empty database made in its place
    assert not os.path.exists(checkpointer.path)


def wal_pages(path) -> int:
    """Pages the WAL holds now, as a PASSIVE checkpoint of another connection reports."""
    connection = sqlite3.connect(path, timeout=0)
    try:
        return connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1]
    finally:
        connection.close()


def restarting_checkpointer(monkeypatch, bound: int):
    """A checkpointer of the test's own that restarts the WAL past `bound` pages; the
    process's own sits the test out, so the test's makes every checkpoint."""
    monkeypatch.setattr(database, "WAL_RESTART_PAGES", bound)
    monkeypatch.setattr(database._checkpointer, "checkpoint", lambda: None)
    checkpointer = database._Checkpointer()
    checkpointer.path = db.database
    return checkpointer


def test_a_wal_past_its_bound_is_restarted_from_its_start(sqlite_marks, monkeypatch):
    """A PASSIVE checkpoint never lets the WAL shrink while scans keep coming; past
    WAL_RESTART_PAGES the checkpointer restarts it, and the next commit writes from its
    start: the WAL stays bounded, and nothing stored is lost."""
    checkpointer = restarting_checkpointer(monkeypatch, 50)
    with db.connection_context():
        for n in range(20):
            with db.atomic():
                Mark.insert_many([{"who": n, "n": i} for i in range(1000)]).execute()
        assert wal_pages(db.database) > 50
        busy, pages, copied = checkpointer.checkpoint()
        assert busy == 0 and pages == copied
        with db.atomic():
            Mark.insert(who=99, n=0).execute()
        assert wal_pages(db.database) < 10
        assert Mark.select().count() == 20_001


def test_a_reader_holding_the_wal_makes_the_restart_wait_briefly_not_block(
    sqlite_marks, monkeypatch
):
    checkpointer = restarting_checkpointer(monkeypatch, 10)
    with db.connection_context():
        with db.atomic():
            Mark.insert_many([{"who": 0, "n": i} for i in range(2000)]).execute()
        reader = sqlite3.connect(db.database, isolation_level=None)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM groupcommit_mark").fetchone()  # a snapshot in the WAL
        with db.atomic():
            Mark.insert_many([{"who": 1, "n": i} for i in range(2000)]).execute()
        try:
            busy, _pages, _copied = checkpointer.checkpoint()
            assert busy == 1  # the reader still needs the WAL: tried again next round
            with db.atomic():  # and writers were let go
                Mark.insert(who=2, n=0).execute()
        finally:
            reader.close()
        assert checkpointer.checkpoint()[0] == 0
        assert Mark.select().count() == 4001


def test_the_restart_gives_up_for_a_round_when_this_processs_writers_hold_their_lock(
    sqlite_marks, monkeypatch
):
    """The checkpointer waits briefly, never indefinitely, for the writers' lock: it holds
    its own lock meanwhile, which a writer connecting to another database would wait for."""
    checkpointer = restarting_checkpointer(monkeypatch, 10)
    with db.connection_context():
        with db.atomic():
            Mark.insert_many([{"who": 0, "n": i} for i in range(2000)]).execute()
        with database._thread_lock:  # a writer of this process, mid-write
            started = time.monotonic()
            busy, pages, copied = checkpointer.checkpoint()
            assert busy == 1 and time.monotonic() - started < 5
        assert pages > 10 and copied == pages  # the PASSIVE part was done
        assert checkpointer.checkpoint()[0] == 0
