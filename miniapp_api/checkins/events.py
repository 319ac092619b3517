"""Offline events and their door check-in, the rules: an event is an activity (kind "event"),
a ticket is a member's or a VIP guest's place at it, and a door check-in is a response that
carries the ticket. A ticket checks in once: the unique index on the response's ticket decides.

Plain functions over the models; the check-in blueprint, the console, the API and the demo
call them.
"""

import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from peewee import JOIN, IntegrityError, fn

from miniapp_api.db import db, write_transaction
from miniapp_api.i18n import _, lazy_gettext
from miniapp_api.models import Activity, Customer, Invitation, Member, Response, Ticket, utcnow
from miniapp_api.referrals import rules as referrals
from miniapp_api.referrals.rules import CODE_ALPHABET
from miniapp_api.text import is_blank

MAX_TITLE = 60
MAX_PLACE = 120
MAX_HOLDER = 40
MAX_CAPACITY = 100_000
# A ticket's URL token, as secrets.token_urlsafe(24) makes it: 32 characters.
TOKEN = re.compile(r"^[A-Za-z0-9_-]{32}$")
# The short code read out at the door: six letters and digits nobody misreads.
CODE_LENGTH = 6
SHORT_CODE = re.compile(rf"^[{CODE_ALPHABET}]{{{CODE_LENGTH}}}$")
# An event stays the one members sign up for until this long after it starts.
STILL_ON = timedelta(hours=6)
# Members may check themselves in at the door poster from this long before the start.
DOORS_OPEN = timedelta(hours=2)


FULL = lazy_gettext("名额已满：可以在群里留言排队，有人退出会通知你。")


class EventError(ValueError):
    """Input that cannot be used; the message says what to do."""


@dataclass(frozen=True)
class DoorCheck:
    status: str  # checked_in, already, refused
    message: str
    ticket: Ticket | None = None
    at: datetime | None = None  # when it was checked in (now, or the first time)


# ---------------------------------------------------------------- events


def events_of(campaign_id: int) -> list[Activity]:
    return list(
        Activity.select()
        .where((Activity.campaign == campaign_id) & (Activity.kind == "event"))
        .order_by(Activity.starts_at, Activity.id)
    )


def event_of(campaign_id: int, event_id: int) -> Activity | None:
    return Activity.get_or_none(
        (Activity.id == event_id) & (Activity.campaign == campaign_id) & (Activity.kind == "event")
    )


def next_event(campaign_id: int, now: datetime | None = None) -> Activity | None:
    """The campaign's event members sign up for: the first one that is not over (it started
    less than STILL_ON ago, or starts later)."""
    since = (now or utcnow()) - STILL_ON
    return (
        Activity.select()
        .where(
            (Activity.campaign == campaign_id)
            & (Activity.kind == "event")
            & (Activity.starts_at >= since)
        )
        .order_by(Activity.starts_at, Activity.id)
        .first()
    )


def is_full(event: Activity) -> bool:
    """Whether every place is taken, as stored now (issue_ticket re-checks it as it counts)."""
    fresh = Activity.get_by_id(event.id)
    return fresh.capacity is not None and fresh.tickets >= fresh.capacity


def ticket_url(public_url: str, token: str) -> str:
    """What a ticket's QR holds: its own page."""
    return f"{public_url.rstrip('/')}/t/{token}"


def here_url(public_url: str, slug: str, event_id: int) -> str:
    """What the door poster's QR holds: the page where a member checks themselves in."""
    return f"{public_url.rstrip('/')}/c/{slug}/events/{event_id}/here"


def _event_fields(title, starts_at, place, capacity) -> dict:
    title = " ".join((title or "").split())
    if is_blank(title) or len(title) > MAX_TITLE or "\x00" in title:
        raise EventError(_("活动名称要写，最多 %(limit)s 个字。", limit=MAX_TITLE))
    if not isinstance(starts_at, datetime):
        raise EventError(_("开始时间要写成 2026-12-20 14:00 这样的日期和时间。"))
    place = " ".join((place or "").split())
    if len(place) > MAX_PLACE or "\x00" in place:
        raise EventError(_("地点最多 %(limit)s 个字。", limit=MAX_PLACE))
    if capacity is not None and (
        not isinstance(capacity, int)
        or isinstance(capacity, bool)
        or not 1 <= capacity <= MAX_CAPACITY
    ):
        raise EventError(_("人数上限要是 1–%(max)s 的整数；不限人数就留空。", max=MAX_CAPACITY))
    return {"title": title, "starts_at": starts_at, "place": place, "capacity": capacity}


def create_event(campaign, *, title, starts_at, place="", capacity=None) -> Activity:
    """An event; starts_at is naive UTC (the caller converts what staff typed)."""
    fields = _event_fields(title, starts_at, place, capacity)
    return Activity.create(campaign=campaign.id, kind="event", **fields)


def update_event(event: Activity, *, title, starts_at, place="", capacity=None) -> Activity:
    fields = _event_fields(title, starts_at, place, capacity)
    if capacity is not None:
        # Lowering the cap below the tickets already out would strand people holding one.
        changed = (
            Activity.update(**fields)
            .where((Activity.id == event.id) & (Activity.tickets <= capacity))
            .execute()
        )
        if not changed:
            raise EventError(
                _(
                    "已经发出 %(n)s 张票，人数上限不能比这更少。",
                    n=Activity.get_by_id(event.id).tickets,
                )
            )
    else:
        Activity.update(**fields).where(Activity.id == event.id).execute()
    return Activity.get_by_id(event.id)


# ---------------------------------------------------------------- tickets


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def issue_ticket(
    event: Activity,
    *,
    holder: str,
    member: Member | None = None,
    invitation: Invitation | None = None,
    group_id: int | None = None,
    visitor: str = "",
    over_capacity: bool = False,
    now: datetime | None = None,
) -> Ticket:
    """A ticket for a member or an invited guest, or the one they already hold (a second
    sign-up is not a second place). Refused when the event is full, unless staff add a
    walk-in at the door (over_capacity)."""
    holder = " ".join((holder or "").split())[:MAX_HOLDER] or "来宾"  # i18n: content
    with write_transaction():
        existing = _held(event, member, invitation)
        if existing:
            return existing
        room = Activity.id == event.id
        if not over_capacity:
            # The database re-checks the cap on the row it updates: no check-then-insert.
            room &= Activity.capacity.is_null() | (Activity.tickets < Activity.capacity)
        if not Activity.update(tickets=Activity.tickets + 1).where(room).execute():
            raise EventError(str(FULL))
        for _attempt in range(10):  # a short-code collision within one event is rare: retried
            try:
                with db.atomic():
                    return Ticket.create(
                        activity=event.id,
                        token=secrets.token_urlsafe(24),
                        code=_new_code(),
                        holder=holder,
                        member=member.id if member else None,
                        invitation=invitation.id if invitation else None,
                        group=group_id,
                        visitor=visitor,
                        created_at=now or utcnow(),
                    )
            except IntegrityError:
                existing = _held(event, member, invitation)
                if existing:  # the same person, in a concurrent request
                    raise EventError(_("你已经有票了：刷新页面就能看到。")) from None
        raise RuntimeError("could not find a free ticket code")


def _held(event, member, invitation) -> Ticket | None:
    if member is not None:
        return Ticket.get_or_none((Ticket.activity == event.id) & (Ticket.member == member.id))
    if invitation is not None:
        return Ticket.get_or_none(Ticket.invitation == invitation.id)
    return None


def revoke_ticket(event: Activity, ticket_id: int, now: datetime | None = None) -> bool:
    """Revoke a ticket and give its place back; False when it was revoked already. A ticket
    that has checked in stays: its holder came, and the attendance figure counts them."""
    with write_transaction():
        changed = (
            Ticket.update(revoked_at=now or utcnow())
            .where(
                (Ticket.id == ticket_id)
                & (Ticket.activity == event.id)
                & Ticket.revoked_at.is_null()
                & Ticket.id.not_in(
                    Response.select(Response.ticket).where(Response.ticket == ticket_id)
                )
            )
            .execute()
        )
        if not changed and Response.get_or_none(Response.ticket == ticket_id):
            raise EventError(_("这张票已经签到了，不能作废：人已经到场，到场率要算上。"))
        if changed:
            Activity.update(tickets=Activity.tickets - 1).where(
                (Activity.id == event.id) & (Activity.tickets > 0)
            ).execute()
        elif not Ticket.get_or_none((Ticket.id == ticket_id) & (Ticket.activity == event.id)):
            raise EventError(_("没有这张票：刷新列表再试。"))
    return bool(changed)


def ticket_by_token(token: str | None) -> Ticket | None:
    if not token or not TOKEN.match(token):
        return None
    return Ticket.get_or_none(Ticket.token == token)


def held_ticket(event: Activity, visitor: str) -> Ticket | None:
    """The ticket this browser's member holds (in any state), or one it signed up or
    accepted with that is not revoked."""
    if not visitor:
        return None
    member = referrals.member_for(event.campaign_id, visitor)
    return (member and _held(event, member, None)) or ticket_for_visitor(event, visitor)


def ticket_for_visitor(event: Activity, visitor: str) -> Ticket | None:
    """The ticket this browser signed up or accepted with, if any (the door poster)."""
    if not visitor:
        return None
    return (
        Ticket.select()
        .where(
            (Ticket.activity == event.id)
            & (Ticket.visitor == visitor)
            & Ticket.revoked_at.is_null()
        )
        .first()
    )


def tickets_of(event: Activity) -> list[Ticket]:
    return list(Ticket.select().where(Ticket.activity == event.id).order_by(Ticket.id))


def checked_in_at(ticket: Ticket) -> datetime | None:
    response = Response.select(Response.created_at).where(Response.ticket == ticket.id).first()
    return response.created_at if response else None


def ticket_list(event: Activity):
    """The event's tickets, newest first, each with `checked_in` (when, or None), in one
    query; the console pages it."""
    return (
        Ticket.select(Ticket, Response.created_at.alias("checked_in"))
        .join(Response, JOIN.LEFT_OUTER, on=(Response.ticket == Ticket.id))
        .where(Ticket.activity == event.id)
        .order_by(Ticket.id.desc())
        .objects()
    )


def recent_check_ins(event: Activity, limit: int = 20) -> list:
    """The last check-ins at the door, newest first: holder, how and when."""
    return list(
        Response.select(Response.created_at, Response.how, Ticket.holder, Ticket.code)
        .join(Ticket, JOIN.LEFT_OUTER, on=(Response.ticket == Ticket.id))
        .where(Response.activity == event.id)
        .order_by(Response.created_at.desc(), Response.id.desc())
        .limit(limit)
        .dicts()
    )


# ---------------------------------------------------------------- members sign up


def clean_holder(text: str | None) -> str:
    """The name a member signs up under: their nickname, by the referral rules."""
    name = " ".join((text or "").split())
    if not name:
        raise EventError(_("请填写称呼：门口的工作人员按它核对你的票。"))
    if any(unicodedata.category(char) == "Cc" for char in name):
        raise EventError(_("称呼里有看不见的控制字符：请重新输入。"))
    try:
        return referrals.clean_nickname(name)
    except referrals.ReferralError as error:
        raise EventError(str(error)) from None


def sign_up(
    event: Activity,
    *,
    nickname: str,
    visitor: str,
    agent: str = "mobile",
    ip_hash: str = "",
    phone_hash: str | None = None,
    group_id: int | None = None,
    now: datetime | None = None,
) -> Ticket:
    """A member's ticket from the event's sign-up form: the member they are (or become, as
    in the referral sign-up when the campaign has a programme) and their ticket. A second
    sign-up gives back the ticket they hold; a full event refuses with nothing stored.
    The phone must already be hashed."""
    nickname = clean_holder(nickname)
    campaign_id = event.campaign_id
    held = held_ticket(event, visitor)
    if held:
        return held
    if is_full(event):
        # Checked first so that a refused sign-up leaves no member behind; the count in
        # issue_ticket still decides a race for the last place.
        raise EventError(str(FULL))
    try:
        if referrals.program_of(campaign_id):
            member = referrals.sign_up(
                campaign_id,
                nickname=nickname,
                visitor=visitor,
                agent=agent,
                ip_hash=ip_hash,
                phone_hash=phone_hash,
                now=now,
            ).member
        else:
            member = referrals.join_without_referrals(
                campaign_id,
                nickname=nickname,
                visitor=visitor,
                ip_hash=ip_hash,
                phone_hash=phone_hash,
                now=now,
            )
    except referrals.ReferralError as error:
        raise EventError(str(error)) from None
    return issue_ticket(
        event, holder=nickname, member=member, group_id=group_id, visitor=visitor, now=now
    )


# ---------------------------------------------------------------- VIP guests


def invitation_ticket(invitation_id: int) -> Ticket | None:
    """The ticket an accepted invitation brought, unless it was revoked."""
    return Ticket.get_or_none((Ticket.invitation == invitation_id) & Ticket.revoked_at.is_null())


def ticket_for_invitation(
    invitation: Invitation, visitor: str = "", now: datetime | None = None
) -> Ticket | None:
    """The ticket of an invitation just accepted, to the campaign's next event; None when
    the campaign has no event coming or it is full (staff see who is left out)."""
    event = next_event(invitation.campaign_id, now)
    if event is None:
        return None
    customer = Customer.get_by_id(invitation.customer_id)
    try:
        return issue_ticket(
            event, holder=customer.name, invitation=invitation, visitor=visitor, now=now
        )
    except EventError:
        return None


def revoke_invitation_ticket(invitation_id: int, now: datetime | None = None) -> bool:
    """A declined or revoked invitation takes its ticket with it."""
    ticket = invitation_ticket(invitation_id)
    if ticket is None:
        return False
    try:
        return revoke_ticket(Activity(id=ticket.activity_id), ticket.id, now)
    except EventError:
        return False  # the guest came already: their check-in stands


def waiting_invitations(event: Activity):
    """The campaign's accepted invitations that never had a ticket (a revoked one counts as
    had), with their customers, in the order they were accepted."""
    return (
        Invitation.select(Invitation, Customer)
        .join(Customer)
        .switch(Invitation)
        .join(Ticket, JOIN.LEFT_OUTER, on=(Ticket.invitation == Invitation.id))
        .where(
            (Invitation.campaign == event.campaign_id)
            & (Invitation.status == "accepted")
            & Ticket.id.is_null()
        )
        .order_by(Invitation.accepted_at, Invitation.id)
    )


def issue_invitation_tickets(event: Activity, now: datetime | None = None) -> tuple[int, int]:
    """Tickets for every accepted invitation of the event's campaign that has none (one was
    never revoked either): (issued, left out because the event is full)."""
    issued = left_out = 0
    for invitation in list(waiting_invitations(event)):
        try:
            issue_ticket(event, holder=invitation.customer.name, invitation=invitation, now=now)
        except EventError:
            left_out += 1
        else:
            issued += 1
    return issued, left_out


# ---------------------------------------------------------------- the door


def find_ticket(event: Activity, text: str | None) -> Ticket | None:
    """A ticket of this event by what the door was given: the URL token from the QR (or the
    whole ticket URL), or the short code typed in. None for anything else."""
    text = (text or "").strip()
    if "/t/" in text:
        text = text.rsplit("/t/", 1)[1].split("?", 1)[0].split("#", 1)[0].strip("/")
    if TOKEN.match(text):
        ticket = Ticket.get_or_none(Ticket.token == text)
    elif SHORT_CODE.match(text.lower()):
        ticket = Ticket.get_or_none((Ticket.activity == event.id) & (Ticket.code == text.lower()))
    else:
        return None
    return ticket


def check_in_ticket(
    event: Activity, text: str | None, how: str = "door", now: datetime | None = None
) -> DoorCheck:
    """Check in the ticket the door was given. Unknown, revoked and other events' tickets
    are refused with nothing stored; a ticket already in says so, and when."""
    now = now or utcnow()
    ticket = find_ticket(event, text)
    if ticket is None:
        return DoorCheck(
            "refused", _("没有这张票：请核对票码（6 位字母和数字），或者当作现场来宾登记。")
        )
    if ticket.activity_id != event.id:
        return DoorCheck("refused", _("这张票不是本场活动的：请对方打开本场的票。"), ticket)
    if ticket.revoked_at is not None:
        return DoorCheck("refused", _("这张票已经作废：请联系工作人员确认。"), ticket)
    return _admit(event, ticket, how, now)


def _admit(event: Activity, ticket: Ticket, how: str, now: datetime) -> DoorCheck:
    try:
        with write_transaction():
            Response.create(
                campaign=event.campaign_id,
                activity=event.id,
                member=ticket.member_id,
                ticket=ticket.id,
                group=ticket.group_id,
                how=how,
                created_at=now,
            )
    except IntegrityError:
        earlier = Response.get_or_none(Response.ticket == ticket.id)
        at = earlier.created_at if earlier else None
        return DoorCheck("already", _("已签到"), ticket, at)
    return DoorCheck("checked_in", _("签到成功：%(holder)s", holder=ticket.holder), ticket, now)


def check_in_visitor(event: Activity, visitor: str, now: datetime | None = None) -> DoorCheck:
    """The door poster: check in the ticket this browser holds, only while the doors are
    open (from DOORS_OPEN before the start until STILL_ON after it): the poster's link is
    easy to pass around, and a ticket holder at home has not come."""
    now = now or utcnow()
    if event.starts_at and not (event.starts_at - DOORS_OPEN <= now <= event.starts_at + STILL_ON):
        return DoorCheck(
            "refused",
            _("现在不是签到时间：活动开始前 2 小时到结束前都可以在门口扫码签到。"),
        )
    ticket = ticket_for_visitor(event, visitor)
    if ticket is None:
        return DoorCheck(
            "refused", _("这个手机上没有本场活动的票：请打开报名时拿到的票，或者找门口的工作人员。")
        )
    return _admit(event, ticket, "self", now)


def walk_in(event: Activity, holder: str, now: datetime | None = None) -> DoorCheck:
    """Someone without a ticket, let in at the door: a ticket for them, checked in at once."""
    holder = " ".join((holder or "").split())
    if is_blank(holder) or len(holder) > MAX_HOLDER or "\x00" in holder:
        raise EventError(
            _("请写来宾的称呼（最多 %(limit)s 个字），例如「王女士」。", limit=MAX_HOLDER)
        )
    ticket = issue_ticket(event, holder=holder, over_capacity=True, now=now)
    return _admit(event, ticket, "walkin", now or utcnow())


def door_count(event: Activity) -> dict:
    """How many are in, against the tickets out and the capacity."""
    checked_in = (
        Response.select(fn.COUNT(Response.id)).where(Response.activity == event.id).scalar()
    )
    fresh = Activity.get_by_id(event.id)
    return {"count": checked_in, "tickets": fresh.tickets, "capacity": fresh.capacity}
