"""VIP invitations (the VIP weekly-sale playbook): choose customers by rule, invite each by a
personal link, and follow every invitation from created to accepted or declined.

Plain functions over the models; the invitations and console blueprints and the CLI call
them. State changes are conditional UPDATEs, so a double click or two tabs never count twice.
"""

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from peewee import SQL, Case, IntegrityError, fn

from miniapp_api.checkins import events
from miniapp_api.db import db
from miniapp_api.i18n import _, lazy_gettext
from miniapp_api.models import Customer, Invitation, VipProgram, utcnow

# Purchase bands for the conversion table, in fen: the retrospective asks which bands answer.
BANDS = (
    (0, lazy_gettext("1000 元以下")),
    (100_000, lazy_gettext("1000–5000 元")),
    (500_000, lazy_gettext("5000–20000 元")),
    (2_000_000, lazy_gettext("20000 元以上")),
)


class VipError(ValueError):
    """Input staff gave that cannot be used; the message says what to do."""


@dataclass(frozen=True)
class Selection:
    """The source's three rules: spent enough, active lately, in (or not in) these regions."""

    min_purchase_fen: int = 0
    active_within_days: int | None = None
    regions_in: tuple[str, ...] = ()
    regions_out: tuple[str, ...] = ()


def parse_regions(text: str | None) -> tuple[str, ...]:
    # What staff type between regions, full- or half-width.
    separators = "，、 "  # i18n: content
    parts = (text or "").translate({ord(c): "," for c in separators}).split(",")
    return tuple(sorted({p.strip() for p in parts if p.strip()}))


def selection_query(selection: Selection, today: date):
    query = Customer.select().where(Customer.purchase_total >= selection.min_purchase_fen)
    if selection.active_within_days is not None:
        since = today - timedelta(days=selection.active_within_days)
        query = query.where(Customer.last_active >= since)
    if selection.regions_in:
        query = query.where(Customer.region.in_(selection.regions_in))
    if selection.regions_out:
        query = query.where(Customer.region.not_in(selection.regions_out))
    return query


def preview(campaign_id: int, selection: Selection, today: date) -> dict:
    """How many customers the rules select, and how many of them have no invitation yet."""
    chosen = selection_query(selection, today)
    invited = Invitation.select(Invitation.customer).where(Invitation.campaign == campaign_id)
    return {
        "selected": chosen.count(),
        "new": chosen.where(Customer.id.not_in(invited)).count(),
    }


def invite(campaign_id: int, selection: Selection, today: date, now: datetime | None = None):
    """One invitation per selected customer who has none for this campaign; returns how many
    were created. The unique (campaign, customer) index keeps a second run from doubling."""
    now = now or utcnow()
    program = program_of(campaign_id)
    if program is None:
        raise VipError(_("先保存邀请设置（权益、优惠链接、有效天数），再发邀请。"))
    invited = Invitation.select(Invitation.customer).where(Invitation.campaign == campaign_id)
    ids = [c.id for c in selection_query(selection, today).where(Customer.id.not_in(invited))]
    expires = now + timedelta(days=program.valid_days)
    created = 0
    for start in range(0, len(ids), 500):
        rows = [
            {
                "campaign": campaign_id,
                "customer": customer_id,
                "token": secrets.token_urlsafe(24),
                "created_at": now,
                "expires_at": expires,
            }
            for customer_id in ids[start : start + 500]
        ]
        with db.atomic():
            # Ignored, not failed, when a concurrent run invited the same customer first.
            created += Invitation.insert_many(rows).on_conflict_ignore().as_rowcount().execute()
    return created


def program_of(campaign_id: int) -> VipProgram | None:
    return VipProgram.get_or_none(VipProgram.campaign == campaign_id)


def set_up_program(campaign, *, rights: str, offer_url: str, offer_label: str, valid_days: int):
    offer_url = (offer_url or "").strip()
    if offer_url and not offer_url.startswith(("https://", "http://")):
        raise VipError(_("优惠链接要以 https:// 开头，例如商城的活动页地址。"))
    if len(offer_url) > 300 or len(offer_label or "") > 40 or len(rights or "") > 4000:
        raise VipError(_("优惠链接最多 300 字符，按钮文字 40 字，权益说明 4000 字。"))
    if not isinstance(valid_days, int) or not 1 <= valid_days <= 365:
        raise VipError(_("邀请有效天数要是 1–365 的整数。"))
    fields = {
        "rights": (rights or "").strip(),
        "offer_url": offer_url,
        "offer_label": (offer_label or "").strip() or "去看专属优惠",  # i18n: content
        "valid_days": valid_days,
    }
    with db.atomic():
        try:
            with db.atomic():
                VipProgram.create(campaign=campaign, **fields)
        except IntegrityError:
            VipProgram.update(**fields).where(VipProgram.campaign == campaign).execute()
    return program_of(campaign.id)


# ---------------------------------------------------------------- one invitation


def state(invitation: Invitation, now: datetime) -> str:
    """created, opened, accepted, declined, revoked or expired. An answered invitation
    keeps its answer after the expiry date: the member can always come back to it."""
    if invitation.status in ("accepted", "declined", "revoked"):
        return invitation.status
    if invitation.expires_at <= now:
        return "expired"
    return invitation.status


def find(token: str, now: datetime) -> Invitation | None:
    """The invitation a member may see: None for an unknown, revoked or expired token, so all
    three get the same page and nobody learns whether a token ever existed."""
    if not token or len(token) > 64:
        return None
    invitation = Invitation.get_or_none(Invitation.token == token)
    if invitation is None or state(invitation, now) in ("revoked", "expired"):
        return None
    return invitation


def visit_key(invitation: Invitation) -> str:
    """Who the live code counts when an accepted invitation shows its group: the invitation."""
    return f"invitation:{invitation.id}"


def mark_opened(invitation: Invitation, now: datetime) -> None:
    Invitation.update(status="opened", opened_at=now).where(
        (Invitation.id == invitation.id) & (Invitation.status == "created")
    ).execute()


def answer(invitation: Invitation, accept: bool, now: datetime, visitor: str = "") -> str:
    """Accept or decline once; a later answer changes nothing. Returns the settled status.

    Accepting brings a ticket to the campaign's next event, if it has one with room, tied to
    the accepting browser (`visitor`, its cookie key) for the door poster; declining takes
    away any ticket the invitation had."""
    status = "accepted" if accept else "declined"
    stamp = {"accepted_at": now} if accept else {"declined_at": now}
    changed = (
        Invitation.update(status=status, **stamp)
        .where(
            (Invitation.id == invitation.id)
            & Invitation.status.in_(("created", "opened"))
            & (Invitation.expires_at > now)
        )
        .execute()
    )
    settled = Invitation.get_by_id(invitation.id)
    if changed and settled.status == "accepted":
        events.ticket_for_invitation(settled, visitor, now)
    elif settled.status == "declined":
        events.revoke_invitation_ticket(settled.id, now)
    return settled.status


def revoke(invitation_id: int, campaign_id: int, now: datetime) -> bool:
    """Revoke an invitation, and the event ticket it brought."""
    changed = bool(
        Invitation.update(status="revoked", revoked_at=now)
        .where(
            (Invitation.id == invitation_id)
            & (Invitation.campaign == campaign_id)
            & (Invitation.status != "revoked")
        )
        .execute()
    )
    if changed:
        events.revoke_invitation_ticket(invitation_id, now)
    return changed


# ---------------------------------------------------------------- figures


def band_of(fen: int) -> str:
    return next(str(label) for low, label in reversed(BANDS) if fen >= low)


def counts(campaign_id: int, now: datetime) -> dict:
    """Invitations by state, and by region and purchase band with their acceptance rate;
    two grouped queries however many invitations."""
    expired = (Invitation.expires_at <= now) & Invitation.status.in_(("created", "opened"))
    shown = Case(None, [(expired, "expired")], Invitation.status)
    by_state = dict(
        Invitation.select(shown, fn.COUNT(Invitation.id))
        .where(Invitation.campaign == campaign_id)
        .group_by(SQL("1"))
        .tuples()
    )
    # The band's position in BANDS; its label is put in the reader's words below.
    band = Case(
        None,
        [
            (Customer.purchase_total >= low, i)
            for i, (low, _label) in reversed(list(enumerate(BANDS)))
        ],
        0,
    )
    accepted = fn.SUM(Case(None, [(Invitation.status == "accepted", 1)], 0))
    rows = (
        Invitation.select(Customer.region, band.alias("band"), fn.COUNT(Invitation.id), accepted)
        .join(Customer)
        .where(Invitation.campaign == campaign_id)
        # By position: PostgreSQL would not see two copies of a parameterised CASE as equal.
        .group_by(SQL("1"), SQL("2"))
        .tuples()
    )
    by_region: dict[str, list[int]] = {}
    by_band: dict[str, list[int]] = {str(label): [0, 0] for _low, label in BANDS}
    for region, band_index, total, yes in rows:
        for table, key in ((by_region, region), (by_band, str(BANDS[band_index][1]))):
            entry = table.setdefault(key, [0, 0])
            entry[0] += total
            entry[1] += int(yes or 0)
    return {"states": by_state, "regions": by_region, "bands": by_band}
