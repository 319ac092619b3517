"""A campaign's visits counted once, so its figures cost the same at a million visits as at a
hundred: per complete UTC hour and channel (VisitHour), the distinct people among them
(VisitPerson), up to `through` (VisitRollup). A figure is then the rollup's rows plus a count
of the visits since `through` — at most an hour and GRACE of them — read through the visits'
(campaign, created_at) index.

The read side keeps it (`roll_up`, called before a figure is read, and `qunbook roll-up` from
cron to have it ready): the scan path writes a visit and nothing more. An hour is counted once
it ended GRACE ago: a visit is stored within seconds of its created_at (the scan's own clock),
and nothing stores a visit dated earlier, so an hour counted is never changed afterwards.
Visits are deleted with their campaign, which takes its rollup rows with it, and by `qunbook
purge` once older than their retention period (retention.py), only those before `through`: the
figures stay as they were.
"""

from collections import namedtuple
from datetime import datetime, timedelta

from peewee import SQL, Case, Select, fn

from miniapp_api.db import db, is_sqlite, write_transaction
from miniapp_api.models import Campaign, Visit, VisitHour, VisitPerson, VisitRollup, utcnow
from miniapp_api.visitors import HUMAN_AGENTS

GRACE = timedelta(minutes=10)
# Counted a day at a time: on SQLite each span holds the write lock, which scans wait for,
# only while that day's visits are read.
SPAN = timedelta(days=1)

Counted = namedtuple("Counted", "through people")
Counted.__doc__ = """Every visit before `through` is in the rollup, `people` distinct people;
through is None when nothing is counted yet (then every visit is read as it is)."""


def count(condition):
    """How many rows meet `condition`, as a SUM both databases run the same way."""
    return fn.COALESCE(fn.SUM(Case(None, [(condition, 1)], 0)), 0)


def human():
    return Visit.agent.in_(HUMAN_AGENTS)


def hour_of(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def _hour_sql():
    """A visit's hour in SQL, in the form a DateTimeField holds on each database. Literal SQL:
    PostgreSQL would not see two copies of a parameterised expression as one GROUP BY key."""
    if is_sqlite():
        return fn.strftime(SQL("'%Y-%m-%d %H:00:00'"), Visit.created_at)
    return fn.date_trunc(SQL("'hour'"), Visit.created_at)


def roll_up(campaign_id: int, now: datetime | None = None) -> Counted:
    """Count the campaign's complete hours not counted yet, and say how far it is counted.
    One SELECT when nothing is due; each day due is one short transaction of writes."""
    due = hour_of((now or utcnow()) - GRACE)
    state = VisitRollup.select().where(VisitRollup.campaign == campaign_id)
    row = db.execute(
        Select(
            columns=[
                state.select(VisitRollup.through),
                state.select(VisitRollup.people),
                Visit.select(fn.MIN(Visit.created_at)).where(Visit.campaign == campaign_id),
            ]
        )
    ).fetchone()
    through, people, first_at = (_datetime(row[0]), row[1], _datetime(row[2]))
    if through is None:
        if first_at is None or hour_of(first_at) >= due:
            return Counted(None, 0)
        through, people = hour_of(first_at), 0
        VisitRollup.insert(
            campaign=campaign_id, through=through, people=0
        ).on_conflict_ignore().execute()
    while through < due:
        end = min(through + SPAN, due)
        counted = _count_span(campaign_id, through, end, people)
        if counted is None:
            # Another process counted this span first: start again from where it got to.
            state_now = VisitRollup.get(VisitRollup.campaign == campaign_id)
            through, people = state_now.through, state_now.people
            continue
        through, people = end, counted
    return Counted(through, people)


def _datetime(value):
    """A timestamp read through raw SQL: SQLite gives text."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def _count_span(campaign_id: int, start: datetime, end: datetime, people: int) -> int | None:
    """Count the visits of [start, end) into the rollup; the new number of people, or None
    when another process had moved `through` on from start already."""
    span = (Visit.campaign == campaign_id) & (Visit.created_at >= start) & (Visit.created_at < end)
    # On SQLite, through the same queue as the scans' writes (thread lock, file lock, BEGIN
    # IMMEDIATE): a scan then waits its turn behind a count instead of spending its busy
    # timeout on SQLite's lock.
    with write_transaction():
        # The conditional UPDATE claims the span: of two processes counting it, the second
        # waits for the first's row lock (or SQLite's write lock) and then changes nothing.
        claimed = (
            VisitRollup.update(through=end)
            .where((VisitRollup.campaign == campaign_id) & (VisitRollup.through == start))
            .execute()
        )
        if claimed != 1:
            return None
        hours = (
            Visit.select(
                Visit.campaign,
                _hour_sql(),
                Visit.channel,
                count(human()),
                count(Visit.outcome == "sent"),
                count(Visit.outcome == "full"),
                count(~human()),
            )
            .where(span)
            .group_by(SQL("1"), SQL("2"), SQL("3"))
        )
        VisitHour.insert_from(
            hours,
            [
                VisitHour.campaign,
                VisitHour.hour,
                VisitHour.channel,
                VisitHour.scans,
                VisitHour.sent,
                VisitHour.full,
                VisitHour.bots,
            ],
        ).as_rowcount().execute()
        new_people = (
            VisitPerson.insert_from(
                Visit.select(Visit.campaign, Visit.visitor).where(span & human()).distinct(),
                [VisitPerson.campaign, VisitPerson.visitor],
            )
            .on_conflict_ignore()
            .as_rowcount()
            .execute()
        )
        people += new_people
        VisitRollup.update(people=people).where(VisitRollup.campaign == campaign_id).execute()
    return people


def roll_up_all(now: datetime | None = None) -> int:
    """Bring every campaign's rollup up to date (`qunbook roll-up`, from cron); returns how
    many campaigns have visits counted."""
    now = now or utcnow()
    return sum(
        roll_up(campaign_id, now).through is not None
        for (campaign_id,) in Campaign.select(Campaign.id).tuples()
    )
