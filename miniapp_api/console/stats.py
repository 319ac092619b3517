"""A campaign's figures: the funnel, per channel and per local day.

Plain functions over the visits; the console's dashboard, the API and the CLI call them.
Each figure is the rollup's rows (console/rollup.py: complete hours, counted once) plus the
visits since, in a few grouped queries, however many channels, days or visits there are.
"""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from peewee import SQL, Case, fn

from miniapp_api.console import rollup
from miniapp_api.i18n import _
from miniapp_api.localtime import to_local
from miniapp_api.models import (
    Campaign,
    Member,
    Referral,
    ReferralProgram,
    Visit,
    VisitHour,
    VisitPerson,
    utcnow,
)

MAX_DAYS = 90
UTC = ZoneInfo("UTC")


def _count(condition):
    return rollup.count(condition)


def _human():
    return rollup.human()


def _since(campaign: Campaign, counted: rollup.Counted):
    """The campaign's visits the rollup does not hold yet."""
    where = Visit.campaign == campaign.id
    return where if counted.through is None else where & (Visit.created_at >= counted.through)


def funnel(
    campaign: Campaign, counted: rollup.Counted | None = None, by_channel: dict | None = None
) -> list[dict]:
    """Scans by people → the people who scanned → places given in a group, and for a
    campaign with a referral programme → members signed up → members a friend brought.

    A person counted on two days holds two places, so "sent" can exceed "people"; the
    handbook's metrics page says so.
    """
    counted = counted or rollup.roll_up(campaign.id)
    totals = {"scans": 0, "sent": 0}
    if by_channel is None:
        by_channel = _by_channel(campaign, counted)
    for row in by_channel.values():
        totals["scans"] += row["scans"]
        totals["sent"] += row["sent"]
    # People who scanned since the rollup and not before it: the rollup holds the others.
    known = VisitPerson.select(SQL("1")).where(
        (VisitPerson.campaign == campaign.id) & (VisitPerson.visitor == Visit.visitor)
    )
    new_people = (
        Visit.select(fn.COUNT(Visit.visitor.distinct()))
        .where(_since(campaign, counted) & _human() & ~fn.EXISTS(known))
        .scalar()
    )
    totals["people"] = counted.people + (new_people or 0)
    steps = (("scans", _("扫码次数")), ("people", _("扫码的人")), ("sent", _("送进群")))
    result = [{"key": key, "label": label, "count": totals[key]} for key, label in steps]
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


FIGURES = ("scans", "sent", "full", "bots")


def _by_channel(campaign: Campaign, counted: rollup.Counted) -> dict:
    """{channel id or None: {scans, sent, full, bots}}: the rollup's hours plus the visits
    since (two grouped queries)."""
    rolled = (
        VisitHour.select(
            VisitHour.channel,
            *(fn.SUM(getattr(VisitHour, k)).alias(k) for k in FIGURES),
        )
        .where(VisitHour.campaign == campaign.id)
        .group_by(VisitHour.channel)
        .dicts()
    )
    live = (
        Visit.select(
            # Grouped by an expression, not the bare column: grouped by channel_id, SQLite
            # walks the whole channel index (every visit, in channel order) to skip a sort,
            # rather than the few visits since in the (campaign, created_at) index.
            fn.COALESCE(Visit.channel, 0).alias("channel"),
            _count(_human()).alias("scans"),
            _count(Visit.outcome == "sent").alias("sent"),
            _count(Visit.outcome == "full").alias("full"),
            _count(~_human()).alias("bots"),
        )
        .where(_since(campaign, counted))
        .group_by(SQL("1"))
        .dicts()
    )
    found: dict = {}
    # Without a rollup there are no rows to read; read anyway, so that a page costs the same
    # queries before the first hour is counted as after.
    for row in [*rolled, *live]:
        channel = row["channel"] or None  # 0: no channel (ids start at 1)
        into = found.setdefault(channel, dict.fromkeys(FIGURES, 0))
        for k in FIGURES:
            into[k] += int(row[k] or 0)
    return found


def channel_stats(
    campaign: Campaign, counted: rollup.Counted | None = None, by_channel: dict | None = None
) -> list[dict]:
    """Per channel (the last row: scans without one): people's scans, people sent to a group
    for the first time that day, scans that found every group full, and bot or preview
    visits."""
    counted = counted or rollup.roll_up(campaign.id)
    labels = {c.id: (c.code, c.label) for c in campaign.channels}
    if by_channel is None:
        by_channel = _by_channel(campaign, counted)
    result = []
    for channel_id in [*labels, None]:
        row = by_channel.get(channel_id, {})
        code, label = labels.get(channel_id, ("", _("（无渠道）")))
        result.append(
            {
                "code": code,
                "label": label,
                **{k: int(row.get(k) or 0) for k in FIGURES},
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
    campaign: Campaign,
    tz: str,
    days: int = 30,
    now: datetime | None = None,
    counted: rollup.Counted | None = None,
) -> list[dict]:
    """The last `days` local days up to today, oldest first, each with people's scans,
    people sent to a group and scans that found every group full; days without visits
    are there with zeros.

    The day of a visit (or of a rollup's hour) is found by comparing its stored UTC time with
    each local midnight, in SQL both databases run the same way; neither SQLite's date
    functions nor PostgreSQL's AT TIME ZONE would give one query for both. The rollup's hours
    serve when the zone's midnights fall on whole UTC hours (Asia/Shanghai's do; India's, at
    :30, do not: there the window's visits are read as they are).
    """
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be 1–{MAX_DAYS}")
    now = now or utcnow()
    counted = counted or rollup.roll_up(campaign.id, now)
    today = to_local(now, tz).date()
    first = today - timedelta(days=days - 1)
    bounds = local_midnights(first, today, tz)
    whole_hours = all(b == rollup.hour_of(b) for b in bounds)
    live_from = bounds[0]
    found = []
    if whole_hours:
        live_from = max(bounds[0], counted.through or bounds[0])
        found += _by_bucket(
            VisitHour,
            VisitHour.hour,
            bounds,
            [fn.SUM(getattr(VisitHour, k)) for k in DAY_FIGURES],
            (VisitHour.campaign == campaign.id) & (VisitHour.hour < live_from),
        )
    found += _by_bucket(
        Visit,
        Visit.created_at,
        bounds,
        [_count(_human()), _count(Visit.outcome == "sent"), _count(Visit.outcome == "full")],
        (Visit.campaign == campaign.id) & (Visit.created_at >= live_from),
    )
    by_bucket: dict = {}
    for row in found:
        into = by_bucket.setdefault(row["bucket"], dict.fromkeys(DAY_FIGURES, 0))
        for k in DAY_FIGURES:
            into[k] += int(row[k] or 0)
    result = []
    for i in range(days):
        row = by_bucket.get(i, {})
        result.append(
            {
                "day": (first + timedelta(days=i)).isoformat(),
                **{k: row.get(k, 0) for k in DAY_FIGURES},
            }
        )
    return result


DAY_FIGURES = ("scans", "sent", "full")


def _by_bucket(model, at, bounds: list[datetime], figures: list, where) -> list[dict]:
    """Rows of `model` between the first and last bound, summed per local day (bucket i is
    the day from bounds[i] to bounds[i + 1])."""
    bucket = Case(None, [(at < end, i) for i, end in enumerate(bounds[1:])], None)
    return list(
        model.select(
            bucket.alias("bucket"),
            *(f.alias(k) for f, k in zip(figures, DAY_FIGURES, strict=True)),
        )
        .where(where & (at >= bounds[0]) & (at < bounds[-1]))
        # By position: PostgreSQL would not see two copies of a parameterised CASE as equal.
        .group_by(SQL("1"))
        .dicts()
    )


def campaign_stats(campaign: Campaign, tz: str, days: int = 30, now=None) -> dict:
    """Everything the dashboard and the API show, as plain values."""
    counted = rollup.roll_up(campaign.id, now)
    by_channel = _by_channel(campaign, counted)
    return {
        "funnel": funnel(campaign, counted, by_channel),
        "channels": channel_stats(campaign, counted, by_channel),
        "days": daily_stats(campaign, tz, days, now, counted),
    }
