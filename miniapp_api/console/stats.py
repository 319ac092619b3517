"""A campaign's figures: the funnel, per channel and per local day.

Plain functions over the visits; the console's dashboard, the API and the CLI call them.
Each figure is one grouped query, however many channels, days or visits there are.
"""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from peewee import SQL, Case, fn

from miniapp_api.i18n import _
from miniapp_api.localtime import to_local
from miniapp_api.models import Campaign, Member, Referral, ReferralProgram, Visit, utcnow
from miniapp_api.visitors import HUMAN_AGENTS

MAX_DAYS = 90
UTC = ZoneInfo("UTC")


def _count(condition):
    return fn.COALESCE(fn.SUM(Case(None, [(condition, 1)], 0)), 0)


def _human():
    return Visit.agent.in_(HUMAN_AGENTS)


def funnel(campaign: Campaign) -> list[dict]:
    """Scans by people → the people who scanned → places given in a group, and for a
    campaign with a referral programme → members signed up → members a friend brought.

    A person counted on two days holds two places, so "sent" can exceed "people"; the
    handbook's metrics page says so.
    """
    row = (
        Visit.select(
            _count(_human()).alias("scans"),
            fn.COUNT(Case(None, [(_human(), Visit.visitor)], None).distinct()).alias("people"),
            _count(Visit.outcome == "sent").alias("sent"),
        )
        .where(Visit.campaign == campaign)
        .dicts()
        .get()
    )
    steps = (("scans", _("扫码次数")), ("people", _("扫码的人")), ("sent", _("送进群")))
    result = [{"key": key, "label": label, "count": int(row[key] or 0)} for key, label in steps]
    if ReferralProgram.select().where(ReferralProgram.campaign == campaign).exists():
        members = Member.select().where(Member.campaign == campaign).count()
        friends = (
            Referral.select()
            .where(
                (Referral.campaign == campaign)
                & (Referral.level == 1)
                & (Referral.status == "counted")
            )
            .count()
        )
        result += [
            {"key": "members", "label": _("报名（会员）"), "count": members},
            {"key": "referred", "label": _("朋友带来的会员"), "count": friends},
        ]
    return result


def channel_stats(campaign: Campaign) -> list[dict]:
    """Per channel (the last row: scans without one): people's scans, people sent to a group
    for the first time that day, scans that found every group full, and bot or preview
    visits."""
    rows = (
        Visit.select(
            Visit.channel,
            _count(_human()).alias("scans"),
            _count(Visit.outcome == "sent").alias("sent"),
            _count(Visit.outcome == "full").alias("full"),
            _count(~_human()).alias("bots"),
        )
        .where(Visit.campaign == campaign)
        .group_by(Visit.channel)
        .dicts()
    )
    labels = {c.id: (c.code, c.label) for c in campaign.channels}
    by_channel = {row["channel"]: row for row in rows}
    result = []
    for channel_id in [*labels, None]:
        row = by_channel.get(channel_id, {})
        code, label = labels.get(channel_id, ("", _("（无渠道）")))
        result.append(
            {
                "code": code,
                "label": label,
                **{k: int(row.get(k) or 0) for k in ("scans", "sent", "full", "bots")},
            }
        )
    return result


def local_midnights(first: date, last: date, tz: str) -> list[datetime]:
    """The naive-UTC instants at which each local day from `first` to `last` begins, plus
    the end of `last`: the bounds a visit's stored time is compared with. Worked out per day
    so that a zone with summer time still gets days of 23 or 25 hours."""
    zone = ZoneInfo(tz)
    days = (last - first).days + 1
    starts = (datetime.combine(first + timedelta(days=i), time(), zone) for i in range(days + 1))
    return [start.astimezone(UTC).replace(tzinfo=None) for start in starts]


def daily_stats(
    campaign: Campaign, tz: str, days: int = 30, now: datetime | None = None
) -> list[dict]:
    """The last `days` local days up to today, oldest first, each with people's scans,
    people sent to a group and scans that found every group full; days without visits
    are there with zeros.

    The day of a visit is found by comparing its stored UTC time with each local
    midnight, in SQL both databases run the same way; neither SQLite's date functions nor
    PostgreSQL's AT TIME ZONE would give one query for both.
    """
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be 1–{MAX_DAYS}")
    now = now or utcnow()
    today = to_local(now, tz).date()
    first = today - timedelta(days=days - 1)
    bounds = local_midnights(first, today, tz)
    bucket = Case(None, [(Visit.created_at < end, i) for i, end in enumerate(bounds[1:])], None)
    rows = (
        Visit.select(
            bucket.alias("bucket"),
            _count(_human()).alias("scans"),
            _count(Visit.outcome == "sent").alias("sent"),
            _count(Visit.outcome == "full").alias("full"),
        )
        .where(
            (Visit.campaign == campaign)
            & (Visit.created_at >= bounds[0])
            & (Visit.created_at < bounds[-1])
        )
        # By position: PostgreSQL would not see two copies of a parameterised CASE as equal.
        .group_by(SQL("1"))
        .dicts()
    )
    by_bucket = {row["bucket"]: row for row in rows}
    result = []
    for i in range(days):
        row = by_bucket.get(i, {})
        result.append(
            {
                "day": (first + timedelta(days=i)).isoformat(),
                **{k: int(row.get(k) or 0) for k in ("scans", "sent", "full")},
            }
        )
    return result


def campaign_stats(campaign: Campaign, tz: str, days: int = 30, now=None) -> dict:
    """Everything the dashboard and the API show, as plain values."""
    return {
        "funnel": funnel(campaign),
        "channels": channel_stats(campaign),
        "days": daily_stats(campaign, tz, days, now),
    }
