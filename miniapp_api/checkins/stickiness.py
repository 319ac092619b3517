"""Stickiness (粘性), computed: for every activity of a campaign, the members it was called to,
the members who responded, and the one divided by the other; also per group.

Who an activity calls depends on its kind, and nothing else does:
- a challenge day: the participants who had joined by that day (first_day <= its number);
- an event: the holders of its tickets that are not revoked (walk-ins get one at the door);
- a one-off call: every participant of the campaign's challenge.
A response counts once per member (or ticket) and activity: the unique indexes say so.
Given `now`, an activity that has not started calls nobody yet (called 0, shown "—", left out
of the groups' sums), so the days to come do not pull a challenge's figures down: a challenge
day has started when its local date has come in the challenge's time zone, an event or a call
at its start time, or earlier if someone has already answered it (doors open early).

Each figure costs a fixed number of grouped queries, whatever the number of members or
responses, so the dashboard costs the same with 10 members as with a million responses.
"""

from dataclasses import dataclass
from datetime import datetime

from peewee import fn

from miniapp_api.i18n import _
from miniapp_api.localtime import to_local
from miniapp_api.metrics import stickiness
from miniapp_api.models import Activity, Challenge, Group, Participant, Response, Ticket

NO_GROUP = None  # members the live code never sent to a group (a VIP guest, a walk-in)


@dataclass(frozen=True)
class Figure:
    activity_id: int
    kind: str  # day, event, call
    number: int | None  # a challenge day's number
    title: str
    starts_at: datetime | None
    called: int
    responded: int
    started: bool = True  # False: still to come at the `now` the figures were read at

    @property
    def stickiness(self) -> float | None:
        return stickiness(self.responded, self.called)


def _joined_by_day(campaign_id: int) -> dict:
    """{(group_id, first_day): participants}"""
    rows = (
        Participant.select(Participant.group, Participant.first_day, fn.COUNT(Participant.id))
        .where(Participant.campaign == campaign_id)
        .group_by(Participant.group, Participant.first_day)
        .tuples()
    )
    return {(group, first): count for group, first, count in rows}


def _tickets(campaign_id: int) -> dict:
    """{(activity_id, group_id): unrevoked tickets}"""
    rows = (
        Ticket.select(Ticket.activity, Ticket.group, fn.COUNT(Ticket.id))
        .join(Activity)
        .where((Activity.campaign == campaign_id) & Ticket.revoked_at.is_null())
        .group_by(Ticket.activity, Ticket.group)
        .tuples()
    )
    return {(activity, group): count for activity, group, count in rows}


def _responses(campaign_id: int) -> dict:
    """{(activity_id, group_id): responses}, one grouped scan of the (campaign, activity,
    group) index: each response carries the group it answered with."""
    rows = (
        Response.select(Response.activity, Response.group, fn.COUNT(Response.id))
        .where(Response.campaign == campaign_id)
        .group_by(Response.activity, Response.group)
        .tuples()
    )
    return {(activity, group): count for activity, group, count in rows}


def _activities(campaign_id: int) -> list[Activity]:
    rows = Activity.select(
        Activity.id, Activity.kind, Activity.number, Activity.title, Activity.starts_at
    ).where(Activity.campaign == campaign_id)
    # Challenge days in order first, then events and calls by when they start.
    return sorted(
        rows,
        key=lambda a: (a.kind != "day", a.number or 0, a.starts_at or datetime.min, a.id),
    )


def _called(activity: Activity, group, joined: dict, tickets: dict) -> int:
    """Members the activity called; group None with `everyone` means all groups."""
    if activity.kind == "event":
        return sum(n for (a, g), n in tickets.items() if a == activity.id and _in(g, group))
    last = activity.number if activity.kind == "day" else None
    return sum(
        n for (g, first), n in joined.items() if _in(g, group) and (last is None or first <= last)
    )


_ALL = object()


def _in(group_id, wanted) -> bool:
    return wanted is _ALL or group_id == wanted


def _started(campaign_id: int, activities: list[Activity], responses: dict, now) -> set[int]:
    """The ids of the activities that have called their members by `now` (all without now)."""
    if now is None:
        return {a.id for a in activities}
    answered = {activity for activity, _g in responses}
    challenge = (
        Challenge.select(Challenge.starts_on, Challenge.timezone)
        .where(Challenge.campaign == campaign_id)
        .first()
    )
    today = (
        (to_local(now, challenge.timezone).date() - challenge.starts_on).days + 1
        if challenge
        else 0
    )
    return {
        a.id
        for a in activities
        if a.id in answered
        or (a.kind == "day" and a.number <= today)
        or (a.kind != "day" and a.starts_at is not None and a.starts_at <= now)
    }


def figures(campaign_id: int, now: datetime | None = None) -> list[Figure]:
    """One figure per activity: challenge days in order, then events and calls by time.
    With `now`, those still to come have called nobody yet (see the module's note)."""
    activities = _activities(campaign_id)
    joined, tickets, responses = (
        _joined_by_day(campaign_id),
        _tickets(campaign_id),
        _responses(campaign_id),
    )
    started = _started(campaign_id, activities, responses, now)
    return [
        Figure(
            a.id,
            a.kind,
            a.number,
            a.title,
            a.starts_at,
            _called(a, _ALL, joined, tickets) if a.id in started else 0,
            sum(n for (act, _g), n in responses.items() if act == a.id),
            a.id in started,
        )
        for a in activities
    ]


def by_group(
    campaign_id: int, activity_id: int | None = None, now: datetime | None = None
) -> list[dict]:
    """Per group the live code sent members to: called and responded summed over every
    activity (so a group's figure is answers per call), and the stickiness of that; members
    with no group are one more row. Only groups called or answering have a row. With
    activity_id, the figures of that one activity. With `now`, activities still to come are
    left out (see the module's note)."""
    activities = _activities(campaign_id)
    if activity_id is not None:
        activities = [a for a in activities if a.id == activity_id]
    joined, tickets, responses = (
        _joined_by_day(campaign_id),
        _tickets(campaign_id),
        _responses(campaign_id),
    )
    started = _started(campaign_id, activities, responses, now)
    activities = [a for a in activities if a.id in started]
    if activity_id is not None:
        responses = {(a, g): n for (a, g), n in responses.items() if a == activity_id}
    group_ids = {g for g, _ in joined} | {g for _, g in tickets} | {g for _, g in responses}
    names = dict(
        Group.select(Group.id, Group.name)
        .where(Group.id.in_([g for g in group_ids if g is not None]))
        .tuples()
    )
    rows = []
    for group_id in sorted(group_ids, key=lambda g: (g is None, g or 0)):
        called = sum(_called(a, group_id, joined, tickets) for a in activities)
        responded = sum(n for (_a, g), n in responses.items() if g == group_id)
        if not (called or responded):  # nothing called yet, nothing answered: no row
            continue
        rows.append(
            {
                "group_id": group_id,
                "group": names.get(group_id, _("未进群")) if group_id is not None else _("未进群"),
                "called": called,
                "responded": responded,
                "stickiness": stickiness(responded, called),
            }
        )
    return rows
