"""What staff see of a campaign's check-ins: the challenge's figures, the wall with its
hidden posts, the events with their door counts, and the rows of the check-in export.

Members see the wall through checkins.rules.wall (hidden posts left out, nicknames masked);
staff see every post with the full nickname, so they can hide one or show it again. Each
function costs a fixed number of queries, however many members or check-ins there are.
"""

from datetime import datetime

from peewee import JOIN, fn

from miniapp_api import metrics
from miniapp_api.checkins import rules
from miniapp_api.i18n import lazy_gettext
from miniapp_api.models import (
    Activity,
    Challenge,
    Member,
    Participant,
    Response,
    Reward,
    Ticket,
    utcnow,
)

POSTS_PAGE = 30

HOW_LABELS = {
    "button": lazy_gettext("打卡"),
    "makeup": lazy_gettext("补卡"),
    "door": lazy_gettext("门口扫码"),
    "self": lazy_gettext("自助签到"),
    "walkin": lazy_gettext("现场登记"),
    "staff": lazy_gettext("工作人员标记"),
}


def challenge_figures(challenge: Challenge, now: datetime | None = None) -> dict:
    """Participants, today's check-ins (today in the challenge's time zone) and finishers."""
    today = rules.today_number(challenge, now or utcnow())
    participants = (
        Participant.select(fn.COUNT(Participant.id))
        .where(Participant.campaign == challenge.campaign_id)
        .scalar()
    )
    checked_in = (
        Response.select(fn.COUNT(Response.id))
        .join(Activity)
        .where(
            (Response.campaign == challenge.campaign_id)
            & (Activity.kind == "day")
            & (Activity.number == today)
        )
        .scalar()
    )
    finishers = rules.finishers(challenge)
    return {
        "today": today,
        "participants": participants,
        "checked_in_today": checked_in,
        "finishers": finishers,
        "finish_rate": metrics.shown(finishers, participants),  # 完成率, as metrics.json says
    }


def posts(campaign_id: int, before: int | None = None, size: int = POSTS_PAGE) -> list[dict]:
    """The console's moderation list: the wall with hidden posts included and marked, whole
    nicknames (one query a page)."""
    return rules.posts(campaign_id, before, size, for_staff=True)


def post_photo(campaign_id: int, response_id: int, digest: str) -> bytes | None:
    """A check-in photo for staff, hidden or not; None when unknown or the digest differs."""
    return rules.photo(campaign_id, response_id, digest, for_staff=True)


def events_with_counts(campaign_id: int) -> list[tuple[Activity, int]]:
    """The campaign's events in order, each with how many have checked in: two queries."""
    counts = dict(
        Response.select(Response.activity, fn.COUNT(Response.id))
        .join(Activity)
        .where((Activity.campaign == campaign_id) & (Activity.kind == "event"))
        .group_by(Response.activity)
        .tuples()
    )
    events = (
        Activity.select()
        .where((Activity.campaign == campaign_id) & (Activity.kind == "event"))
        .order_by(Activity.starts_at, Activity.id)
    )
    return [(event, counts.get(event.id, 0)) for event in events]


def check_in_rows(campaign_id: int):
    """Every check-in of the campaign, oldest first, as (created_at, kind, day number, title,
    name, how, note, has photo, hidden): the member's nickname, or the ticket holder's name
    for a guest without membership. Never a phone hash, a visitor key or photo bytes."""
    return (
        Response.select(
            Response.created_at,
            Activity.kind,
            Activity.number,
            Activity.title,
            fn.COALESCE(Member.nickname, Ticket.holder, ""),
            Response.how,
            Response.note,
            Response.photo_digest.is_null(False),
            Response.hidden,
        )
        .join(Activity)
        .switch(Response)
        .join(Member, JOIN.LEFT_OUTER)
        .switch(Response)
        .join(Ticket, JOIN.LEFT_OUTER, on=(Response.ticket == Ticket.id))
        .where(Response.campaign == campaign_id)
        .order_by(Response.created_at, Response.id)
        .tuples()
        .iterator()
    )


def rewards(challenge: Challenge) -> list[dict]:
    """The finishing rewards issued, with who holds them and whether staff handed them over
    (one query; staff see full nicknames)."""
    rows = (
        Reward.select(
            Reward.id,
            Reward.code,
            Reward.name,
            Reward.issued_at,
            Reward.redeemed_at,
            Member.nickname,
        )
        .join(Member)
        .where((Reward.campaign == challenge.campaign_id) & (Reward.key == rules.REWARD_KEY))
        .order_by(Reward.issued_at, Reward.id)
    )
    return [
        {
            "id": r.id,
            "code": r.code,
            "name": r.name,
            "issued_at": r.issued_at,
            "redeemed": r.redeemed_at is not None,
            "nickname": r.member.nickname,
        }
        for r in rows
    ]
