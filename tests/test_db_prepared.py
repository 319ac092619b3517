"""execute_prepared(): the scan path's statements, prepared once per PostgreSQL connection and
prepared again once their plan is REPLAN_AFTER seconds old."""

import pytest
from helpers import make_campaign

from miniapp_api import db as database
from miniapp_api.db import REPLAN_AFTER, db, execute_prepared, is_sqlite
from miniapp_api.livecode import rules as livecode
from miniapp_api.models import Visit, utcnow

# The planner's view of a new schema's tables (an emptied one keeps its statistics).
pytestmark = pytest.mark.fresh_schema


@pytest.fixture
def clock(monkeypatch):
    """The clock execute_prepared reads, moved by the test: clock.now += seconds."""

    class Clock:
        now = 1000.0

    monkeypatch.setattr(database, "_clock", lambda: Clock.now)
    return Clock


@pytest.fixture
def postgres(app):
    if is_sqlite():
        pytest.skip("SQLite's driver keeps its own compiled statements; nothing is named")


def echo_sql() -> str:
    p = db.obj.param  # the driver's placeholder, as the scan path's statements use it
    return f"SELECT {p} || '·' || {p}"


def prepared() -> dict[str, int]:
    """Each prepared statement of this connection: how many times it was planned or run on
    a plan it kept (both counters start again when it is prepared again)."""
    rows = db.execute_sql("SELECT name, generic_plans + custom_plans FROM pg_prepared_statements")
    return dict(rows.fetchall())


def test_a_statement_answers_alike_every_time(app, clock):
    with db.connection_context():
        for word in ("群", "活码", "群"):
            assert execute_prepared("echo", echo_sql(), (word, "码")).fetchone() == (f"{word}·码",)
            clock.now += REPLAN_AFTER / 2


def test_postgresql_prepares_a_statement_once_per_connection(postgres, clock):
    with db.connection_context():
        execute_prepared("echo", echo_sql(), ("一", "二"))
        execute_prepared("echo", echo_sql(), ("三", "四"))
        assert prepared() == {"echo": 2}
        # A rolled-back transaction keeps it: the next run does not prepare it again.
        with db.atomic() as transaction:
            execute_prepared("echo_twice", echo_sql(), ("五", "六"))
            transaction.rollback()
        assert execute_prepared("echo_twice", echo_sql(), ("七", "八")).fetchone() == ("七·八",)
        assert prepared() == {"echo": 2, "echo_twice": 2}
    # Another connection prepares its own.
    db.close_all()
    with db.connection_context():
        assert prepared() == {}
        assert execute_prepared("echo", echo_sql(), ("九", "十")).fetchone() == ("九·十",)


def test_a_plan_is_made_again_once_it_is_old(postgres, clock):
    with db.connection_context():
        for _ in range(3):
            execute_prepared("echo", echo_sql(), ("一", "二"))
        clock.now += REPLAN_AFTER - 0.001
        execute_prepared("echo", echo_sql(), ("一", "二"))
        assert prepared() == {"echo": 4}
        clock.now += 0.001
        assert execute_prepared("echo", echo_sql(), ("三", "四")).fetchone() == ("三·四",)
        assert prepared() == {"echo": 1}


def visit_index_of_the_lookup(campaign, now) -> str:
    """The index the live code's prepared lookup reads a visitor's count today through."""
    # The channel, the visitor (for their membership, then their count), the day.
    args = ("counter", "v" * 22, "v" * 22, livecode.local_day(now, "Asia/Shanghai"))
    plan = db.execute_sql(
        "EXPLAIN EXECUTE scan_live_code (%s, %s, %s, %s, %s, %s)",
        (*args, now - livecode.QR_LIFETIME, campaign.slug),
    ).fetchall()
    (line,) = [row[0] for row in plan if " on visit v" in row[0]]
    return line.split(" using ")[1].split(" on ")[0]


def test_the_lookup_planned_on_an_empty_table_is_planned_again_as_it_grows(postgres, clock):
    """A new database: the first scans plan the lookup while `visit` is empty, then a rush
    fills it before ANALYZE ever runs. The plan made again reads one visitor's row through
    the unique index, not every visit of the campaign."""
    now = utcnow()
    with db.connection_context():
        campaign = make_campaign()
        for _ in range(8):  # past PostgreSQL's five custom plans: it keeps a generic one
            livecode.find_live_code(campaign.slug, "counter", "v" * 22, now)
        day = livecode.local_day(now, "Asia/Shanghai")
        Visit.insert_many(
            [
                {"campaign": campaign.id, "visitor": f"访客{n:05d}", "agent": "wechat",
                 "ip_hash": "", "outcome": "sent", "counted_day": day, "created_at": now}
                for n in range(20_000)
            ]
        ).execute()  # fmt: skip
        clock.now += REPLAN_AFTER
        livecode.find_live_code(campaign.slug, "counter", "v" * 22, now)
        assert visit_index_of_the_lookup(campaign, now) == "visit_campaign_id_visitor_counted_day"
