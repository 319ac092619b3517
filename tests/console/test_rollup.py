"""The dashboard's figures from the rollup (complete hours counted once) plus the visits since
are the figures a direct count of every visit gives, on both databases."""

import random
from collections import Counter
from datetime import datetime, timedelta

from helpers import make_campaign, make_channel
from playhouse.test_utils import count_queries

from miniapp_api.console import rollup, stats
from miniapp_api.localtime import to_local
from miniapp_api.models import Campaign, Visit, VisitHour, VisitPerson, VisitRollup
from miniapp_api.visitors import HUMAN_AGENTS

AGENTS = ("wechat", "wechat", "mobile", "desktop", "bot", "preview")
OUTCOMES = ("sent", "sent", "repeat", "full", "bot", "limited")


def add_visits(campaign, channels, start: datetime, hours: int, n: int, seed: int):
    """n visits spread over `hours` from start, by a pool of visitors who come back on other
    days, some as a bot first (a HEAD request is recorded as a bot with the person's key)."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        at = start + timedelta(seconds=rng.randrange(hours * 3600))
        rows.append(
            {
                "campaign": campaign.id,
                "channel": rng.choice([*channels, None]),
                "visitor": f"访客{rng.randrange(n // 2)}",
                "agent": rng.choice(AGENTS),
                "ip_hash": "h",
                "outcome": rng.choice(OUTCOMES),
                "created_at": at,
            }
        )
    for chunk in range(0, len(rows), 100):
        Visit.insert_many(rows[chunk : chunk + 100]).execute()


def direct(campaign, tz: str, days: list[str]) -> dict:
    """The figures counted from every visit, in Python: what the rollup must agree with."""
    visits = list(Visit.select().where(Visit.campaign == campaign.id))
    people = {v.visitor for v in visits if v.agent in HUMAN_AGENTS}
    per_channel: dict = {}
    per_day: dict = {day: Counter() for day in days}
    for v in visits:
        human = v.agent in HUMAN_AGENTS
        row = per_channel.setdefault(v.channel_id, Counter())
        row["scans"] += human
        row["sent"] += v.outcome == "sent"
        row["full"] += v.outcome == "full"
        row["bots"] += not human
        day = to_local(v.created_at, tz).date().isoformat()
        if day in per_day:
            per_day[day]["scans"] += human
            per_day[day]["sent"] += v.outcome == "sent"
            per_day[day]["full"] += v.outcome == "full"
    return {
        "funnel": {
            "scans": sum(r["scans"] for r in per_channel.values()),
            "people": len(people),
            "sent": sum(r["sent"] for r in per_channel.values()),
        },
        "channels": {k: {f: r[f] for f in stats.FIGURES} for k, r in per_channel.items()},
        "days": {d: {f: c[f] for f in stats.DAY_FIGURES} for d, c in per_day.items()},
    }


def shown(campaign, figures) -> dict:
    codes = {c.code: c.id for c in campaign.channels}
    return {
        "funnel": {s["key"]: s["count"] for s in figures["funnel"]},
        "channels": {
            codes.get(c["code"]): {f: c[f] for f in stats.FIGURES}
            for c in figures["channels"]
            if any(c[f] for f in stats.FIGURES)
        },
        "days": {d["day"]: {f: d[f] for f in stats.DAY_FIGURES} for d in figures["days"]},
    }


def check(campaign, tz: str, now: datetime, days: int = 30):
    figures = stats.campaign_stats(campaign, tz, days, now=now)
    expected = direct(campaign, tz, [d["day"] for d in figures["days"]])
    assert shown(campaign, figures) == expected


def test_figures_from_the_rollup_are_a_direct_count(app):
    campaign = make_campaign()
    channels = [make_channel(campaign, f"ch{i}", f"渠道{i}").id for i in range(3)]
    start = datetime(2026, 11, 1, 3, 17)
    add_visits(campaign, channels, start, hours=24 * 12 - 1, n=900, seed=1)  # to 11-13 02:17
    now = datetime(2026, 11, 13, 3, 5)
    check(campaign, "Asia/Shanghai", now)
    counted = VisitRollup.get(VisitRollup.campaign == campaign.id)
    # 02:00–03:00 ended only 5 minutes ago, less than GRACE: its visits are read as they are.
    assert counted.through == datetime(2026, 11, 13, 2)
    assert VisitPerson.select().where(VisitPerson.campaign == campaign.id).count() == (
        counted.people
    )
    # An hour later: visits since, from people seen before and new ones; then a day later.
    add_visits(campaign, channels, now, hours=1, n=300, seed=2)
    check(campaign, "Asia/Shanghai", now + timedelta(hours=1))
    add_visits(campaign, channels, now + timedelta(hours=1), hours=24, n=300, seed=3)
    check(campaign, "Asia/Shanghai", now + timedelta(days=1, hours=1), days=7)
    # The same rollup serves another zone whose midnights fall on whole UTC hours...
    check(campaign, "America/New_York", now + timedelta(days=1, hours=1))
    # ...and one whose midnights do not reads its days' visits as they are.
    check(campaign, "Asia/Kolkata", now + timedelta(days=1, hours=1))


def test_the_rollup_counts_each_hour_once(app):
    campaign = make_campaign()
    start = datetime(2026, 11, 1, 0, 0)
    add_visits(campaign, [], start, hours=48, n=200, seed=4)
    later = start + timedelta(days=3)
    first = rollup.roll_up(campaign.id, later)
    rows = VisitHour.select().where(VisitHour.campaign == campaign.id).count()
    assert rollup.roll_up(campaign.id, later) == first
    assert VisitHour.select().where(VisitHour.campaign == campaign.id).count() == rows
    # A process that read `through` before another moved it on counts nothing twice: its
    # claim of the span finds `through` moved and changes nothing.
    assert rollup._count_span(campaign.id, start, later, 0) is None
    assert VisitRollup.get(VisitRollup.campaign == campaign.id).people == first.people
    assert sum(h.scans + h.bots for h in VisitHour.select()) == 200


def test_a_campaign_without_visits_has_no_rollup_and_zeros(app):
    campaign = make_campaign()
    figures = stats.campaign_stats(campaign, "Asia/Shanghai", 7)
    assert [s["count"] for s in figures["funnel"]] == [0, 0, 0]
    assert VisitRollup.select().count() == 0


def test_the_dashboard_costs_the_same_selects_while_it_counts_hours(app):
    """Counting due hours is writes only: the figures cost the same SELECTs whether the
    rollup had hours to count or not."""
    campaign = make_campaign()
    start = datetime(2026, 11, 1)
    add_visits(campaign, [], start, hours=24 * 5, n=200, seed=5)
    with count_queries(only_select=True) as counting:
        stats.campaign_stats(campaign, "Asia/Shanghai", 7, now=start + timedelta(days=6))
    with count_queries(only_select=True) as counted:
        stats.campaign_stats(campaign, "Asia/Shanghai", 7, now=start + timedelta(days=6))
    assert counting.count == counted.count


def test_deleting_a_campaign_takes_its_rollup(app):
    from miniapp_api.livecode import lifecycle

    campaign = make_campaign()
    add_visits(campaign, [], datetime(2026, 11, 1), hours=24, n=20, seed=6)
    Visit.update(outcome="bot", agent="bot").execute()  # nobody counted: it may be deleted
    rollup.roll_up(campaign.id, datetime(2026, 11, 3))
    assert VisitHour.select().count() > 0
    lifecycle.delete_campaign(Campaign.get_by_id(campaign.id))
    assert (VisitHour.select().count(), VisitRollup.select().count()) == (0, 0)


def test_an_upgrade_counts_the_visits_already_stored(app, runner, monkeypatch):
    """A database upgraded past step 11 has its visits counted by `qunbook init-db`, not by
    the first dashboard view after it."""
    from miniapp_api import cli, migrations
    from miniapp_api.db import db

    campaign = make_campaign()
    add_visits(campaign, [], datetime(2026, 11, 1), hours=24, n=50, seed=7)
    with db.connection_context():
        # As if the database had stopped at step 10: the rollup's tables are new to it (the
        # steps after 10 have run already, so they are stood in for by steps doing nothing).
        db.execute_sql("DELETE FROM schemaversion WHERE version >= 11")
    later = [lambda _db: None] * (migrations.LATEST - 10)
    monkeypatch.setattr(migrations, "STEPS", [*migrations.STEPS[:10], *later])
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    assert f"10 → {migrations.LATEST}" in result.output
    assert VisitRollup.get(VisitRollup.campaign == campaign.id).through > datetime(2026, 11, 2)
    assert cli.ROLLUP_STEP == 11
