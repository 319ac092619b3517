"""A person's rights over their data, the rules: find a person, export every row held about
them, erase them.

A person is found by a member code, a customer id or a phone number (kept only as a keyed
hash, so the number given is hashed the way sign-up and the customer import hash it). From
there, everything tied to them is gathered: memberships and customer records with the same
phone hash, memberships and tickets of the same browser (visitor key), their referrals,
rewards, check-ins, tickets, invitations and visits.

Erasing removes their own rows and personal fields, in one transaction, and leaves the counts
others earned as they were: a referrer keeps the referral that friend brought (the row stays,
with the friend's member, visitor key and hashes replaced by an anonymous key), visits stay in
the campaign's figures under an anonymous key. Running it twice changes nothing more.

Plain functions over the models; the console and the CLI call them.
"""

import base64
import re
import secrets
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from miniapp_api.accounts.rules import audit
from miniapp_api.db import write_transaction
from miniapp_api.i18n import _, lazy_gettext
from miniapp_api.invitations.customers import EXTERNAL_ID
from miniapp_api.models import (
    Activity,
    Campaign,
    Customer,
    Invitation,
    Member,
    Participant,
    Referral,
    Response,
    Reward,
    Ticket,
    Visit,
    VisitPerson,
    utcnow,
)
from miniapp_api.posters import render
from miniapp_api.posters.rules import (
    CHECKIN_LAYOUT,
    MEMBER_LAYOUT,
    checkin_content,
    member_content,
)
from miniapp_api.referrals.rules import MEMBER_CODE
from miniapp_api.visitors import normalise_phone

LOOKUPS = ("member", "customer", "phone")
FORMAT = "qunbook-person-export"
FORMAT_VERSION = 1
# What an erased person's visitor key becomes: never a valid cookie value (the dot), so no
# browser can ever be taken for it; one per erased key, so the unique indexes still hold.
ANONYMOUS_PREFIX = "erased."
# The fields of a referral that describe its friend: shown in an export only to the friend.
FRIEND_FIELDS = ("friend_id", "friend_key", "ip_hash", "device_hash")
REFERENCE = re.compile(r"^(?:[mc][0-9]{1,18})(?:\.[mc][0-9]{1,18}){0,199}$")
# The tables an export lists, in this order, each always present (empty or not).
TABLES = (
    "member",
    "referral",
    "reward",
    "participant",
    "ticket",
    "response",
    "customer",
    "invitation",
    "visit",
    "visit_person",
)
# What each table holds, in the words of the console and the command line.
TABLE_LABELS = {
    "member": lazy_gettext("会员资格"),
    "referral": lazy_gettext("推荐记录"),
    "reward": lazy_gettext("奖励"),
    "participant": lazy_gettext("打卡报名"),
    "ticket": lazy_gettext("活动门票"),
    "response": lazy_gettext("打卡和签到"),
    "customer": lazy_gettext("客户记录"),
    "invitation": lazy_gettext("VIP 邀请"),
    "visit": lazy_gettext("扫码记录"),
    "visit_person": lazy_gettext("扫码人数记录"),
}


class PersonError(ValueError):
    """A lookup that cannot be used, or finds nobody; the message says what to do."""


class NotFound(PersonError):
    pass


@dataclass(frozen=True)
class Person:
    """Everything that identifies one person here: their memberships and customer records,
    and the visitor keys (browsers) tied to them."""

    member_ids: frozenset[int]
    customer_ids: frozenset[int]
    visitor_keys: frozenset[str]

    @property
    def reference(self) -> str:
        """A non-personal reference (row ids only), e.g. "m12.c4": for the audit log and the
        console's forms; `by_reference` finds the person again from it."""
        parts = [f"m{i}" for i in sorted(self.member_ids)]
        parts += [f"c{i}" for i in sorted(self.customer_ids)]
        return ".".join(parts)

    @property
    def empty(self) -> bool:
        return not self.member_ids and not self.customer_ids


# ---------------------------------------------------------------- finding a person


def find(by: str, text: str | None, hash_phone: Callable[[str], str]) -> Person:
    """The person a member code, customer id or phone number (`by`) belongs to. Raises
    PersonError for input that cannot be one, NotFound when nobody here has it."""
    value = unicodedata.normalize("NFKC", text or "").strip()
    if by == "member":
        code = value.lower()
        if not MEMBER_CODE.match(code):
            raise PersonError(
                _("会员码是海报上的 8 位推荐码（小写字母和数字，例如 ab3cd4ef）：请核对后重试。")
            )
        members = [m.id for m in Member.select(Member.id).where(Member.code == code)]
        customers = []
    elif by == "customer":
        if not EXTERNAL_ID.match(value):
            raise PersonError(
                _("客户编号要和导入表格里的「客户编号」一致：字母、数字、. _ -，最长 64 位。")
            )
        members = []
        customers = [
            c.id for c in Customer.select(Customer.id).where(Customer.external_id == value)
        ]
    elif by == "phone":
        try:
            number = normalise_phone(value)
        except ValueError:
            number = None
        if number is None:
            raise PersonError(_("手机号要是 11 位中国大陆手机号，例如 13800138000。"))
        digest = hash_phone(number)
        members = [m.id for m in Member.select(Member.id).where(Member.phone_hash == digest)]
        customers = [
            c.id for c in Customer.select(Customer.id).where(Customer.phone_hash == digest)
        ]
    else:
        raise PersonError(_("请选择按会员码、客户编号还是手机号查找。"))
    person = gather(members, customers)
    if person.empty:
        raise NotFound(
            _("没有找到这个人：可能输错了，也可能数据已经删除过（删除不可恢复，也不用再删）。")
        )
    return person


def by_reference(reference: str | None) -> Person:
    """The person a reference (Person.reference) names, gathered again from what is stored
    now; NotFound once they are erased."""
    if not reference or not REFERENCE.match(reference):
        raise PersonError(_("查找结果已失效：请重新查找这个人。"))
    parts = reference.split(".")
    person = gather(
        [int(p[1:]) for p in parts if p[0] == "m"], [int(p[1:]) for p in parts if p[0] == "c"]
    )
    if person.empty:
        raise NotFound(_("这个人的数据已经不在了（可能刚被删除）：请重新查找。"))
    return person


def gather(member_ids, customer_ids) -> Person:
    """Everything tied to these memberships and customer records: the same phone hash, the
    same browser (a membership's or a ticket's visitor key), the visitor keys their referrals
    were counted under; repeated until nothing new turns up."""
    members = {m.id for m in Member.select(Member.id).where(Member.id.in_(list(member_ids)))}
    customers = {
        c.id for c in Customer.select(Customer.id).where(Customer.id.in_(list(customer_ids)))
    }
    keys: set[str] = set()
    phones: set[str] = set()
    for _round in range(20):  # each round can only grow the sets; a person has a few rows
        before = (len(members), len(customers), len(keys), len(phones))
        for m in Member.select(Member.id, Member.visitor, Member.phone_hash).where(
            Member.id.in_(list(members))
            | Member.visitor.in_(list(keys))
            | Member.phone_hash.in_(list(phones))
        ):
            members.add(m.id)
            keys.add(m.visitor)
            if m.phone_hash:
                phones.add(m.phone_hash)
        for c in Customer.select(Customer.id, Customer.phone_hash).where(
            Customer.id.in_(list(customers)) | Customer.phone_hash.in_(list(phones))
        ):
            customers.add(c.id)
            if c.phone_hash:
                phones.add(c.phone_hash)
        for t in Ticket.select(Ticket.visitor).where(_tickets_of(members, customers)):
            keys.add(t.visitor)
        for r in Referral.select(Referral.friend_key).where(Referral.friend.in_(list(members))):
            keys.add(r.friend_key)
        keys = {k for k in keys if k and not k.startswith(ANONYMOUS_PREFIX)}
        if (len(members), len(customers), len(keys), len(phones)) == before:
            break
    return Person(frozenset(members), frozenset(customers), frozenset(keys))


def _tickets_of(members, customers):
    invitations = Invitation.select(Invitation.id).where(Invitation.customer.in_(list(customers)))
    return Ticket.member.in_(list(members)) | Ticket.invitation.in_(invitations)


# ---------------------------------------------------------------- what is held


def _queries(person: Person) -> dict:
    """Each table's rows about the person, as a query per table."""
    members, customers, keys = (
        list(person.member_ids),
        list(person.customer_ids),
        list(person.visitor_keys),
    )
    tickets = Ticket.select(Ticket.id).where(_tickets_of(members, customers))
    return {
        "member": Member.select().where(Member.id.in_(members)),
        # Their own (they brought the friend), and those that counted them for someone else.
        "referral": Referral.select().where(
            Referral.referrer.in_(members)
            | Referral.friend.in_(members)
            | Referral.friend_key.in_(keys)
        ),
        "reward": Reward.select().where(Reward.member.in_(members)),
        "participant": Participant.select().where(Participant.member.in_(members)),
        "ticket": Ticket.select().where(_tickets_of(members, customers)),
        "response": Response.select().where(
            Response.member.in_(members) | Response.ticket.in_(tickets)
        ),
        "customer": Customer.select().where(Customer.id.in_(customers)),
        "invitation": Invitation.select().where(Invitation.customer.in_(customers)),
        "visit": Visit.select().where(Visit.visitor.in_(keys)),
        "visit_person": VisitPerson.select().where(VisitPerson.visitor.in_(keys)),
    }


def _value(value):
    if isinstance(value, datetime):  # every datetime column holds naive UTC
        return value.replace(tzinfo=UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def _row(row) -> dict:
    return {f.column_name: _value(row.__data__.get(f.name)) for f in type(row)._meta.sorted_fields}


def export(person: Person, now: datetime | None = None) -> dict:
    """Every row held about the person, every field, by table; datetimes in ISO 8601 (UTC),
    pictures in base64. A referral they brought names its friend, another person: the
    friend's fields are withheld (null), and `withheld` says which."""
    tables = {}
    for name, query in _queries(person).items():
        rows = []
        for row in query.order_by(query.model._meta.primary_key):
            data = _row(row)
            brought = name == "referral" and data["referrer_id"] in person.member_ids
            if brought and data["friend_id"] not in person.member_ids:
                data.update(dict.fromkeys(FRIEND_FIELDS))
            rows.append(data)
        tables[name] = rows
    campaign_ids = {
        row["campaign_id"] for rows in tables.values() for row in rows if "campaign_id" in row
    }
    campaigns = [
        {"id": c.id, "slug": c.slug, "title": c.title}
        for c in Campaign.select().where(Campaign.id.in_(list(campaign_ids))).order_by(Campaign.id)
    ]
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "exported_at": _value(now or utcnow()),
        "person": {
            "reference": person.reference,
            "member_ids": sorted(person.member_ids),
            "customer_ids": sorted(person.customer_ids),
        },
        "campaigns": campaigns,
        "tables": {name: tables[name] for name in TABLES},
        "withheld": {
            "referral": {
                "fields": list(FRIEND_FIELDS),
                "why": "the friend a referral brought is another person",
            }
        },
    }


@dataclass(frozen=True)
class Plan:
    """What erasing a person does: rows removed and rows kept anonymously, by table."""

    removed: dict[str, int]
    anonymised: dict[str, int]
    # Cached poster images showing them (nickname, avatar, code), deleted after the erase.
    files: int = field(default=0, compare=False)

    @property
    def total(self) -> int:
        return sum(self.removed.values()) + sum(self.anonymised.values())


def _referral_kept(person: Person):
    """Referrals that counted the person for someone else: the referrer's, kept anonymous."""
    members, keys = list(person.member_ids), list(person.visitor_keys)
    return ~Referral.referrer.in_(members) & (
        Referral.friend.in_(members) | Referral.friend_key.in_(keys)
    )


def plan(person: Person) -> Plan:
    """What erase(person) would remove and anonymise, changing nothing."""
    queries = _queries(person)
    kept = Referral.select().where(_referral_kept(person)).count()
    removed = {
        name: query.count()
        for name, query in queries.items()
        if name not in ("visit", "visit_person")
    }
    removed["referral"] -= kept
    anonymised = {
        "referral": kept,
        "visit": queries["visit"].count(),
        "visit_person": queries["visit_person"].count(),
    }
    return Plan(removed, anonymised)


# ---------------------------------------------------------------- erasing


def erase(
    person: Person, staff=None, *, poster_cache: str | None = None, public_url: str = "", **detail
) -> Plan:
    """Erase the person in one transaction, with its audit entry (by `staff`, None for the
    command line; `detail` added to it): their own rows go; rows that count them for others
    stay, with nothing personal left. With `poster_cache` (and the public URL posters were
    made for), the cached posters that show them are deleted too, once the rows are gone.
    Returns what was done; erasing someone already erased does nothing (an empty plan) and
    writes no entry."""
    with write_transaction():
        # Gathered again inside the transaction: a sign-up since the lookup is included.
        person = gather(person.member_ids, person.customer_ids)
        members, customers = list(person.member_ids), list(person.customer_ids)
        done = plan(person)
        files = poster_files(person, poster_cache, public_url) if poster_cache else []
        ticket_rows = list(
            Ticket.select(Ticket.id, Ticket.activity, Ticket.revoked_at).where(
                _tickets_of(members, customers)
            )
        )
        tickets = [t.id for t in ticket_rows]
        Response.delete().where(
            Response.member.in_(members) | Response.ticket.in_(tickets)
        ).execute()
        # Their tickets' places go back to the events, as a revoked ticket's do.
        for activity_id, count in Counter(
            t.activity_id for t in ticket_rows if t.revoked_at is None
        ).items():
            Activity.update(tickets=Activity.tickets - count).where(
                (Activity.id == activity_id) & (Activity.tickets >= count)
            ).execute()
        Ticket.delete().where(Ticket.id.in_(tickets)).execute()
        Participant.delete().where(Participant.member.in_(members)).execute()
        Reward.delete().where(Reward.member.in_(members)).execute()
        # The friends they brought and the counts those earned them are theirs.
        Referral.delete().where(Referral.referrer.in_(members)).execute()
        # Each visitor key becomes its own anonymous key everywhere it is kept, so the
        # referrals that counted them, and the campaigns' people counts, stay as they were.
        for key in sorted(person.visitor_keys):
            anonymous = ANONYMOUS_PREFIX + secrets.token_hex(16)
            Referral.update(friend_key=anonymous, friend=None, ip_hash="", device_hash="").where(
                Referral.friend_key == key
            ).execute()
            Visit.update(visitor=anonymous, ip_hash="").where(Visit.visitor == key).execute()
            VisitPerson.update(visitor=anonymous).where(VisitPerson.visitor == key).execute()
        Referral.update(friend=None, ip_hash="", device_hash="").where(
            Referral.friend.in_(members)
        ).execute()
        # The members they brought stay members, brought by nobody now.
        Member.update(referrer=None).where(Member.referrer.in_(members)).execute()
        Member.delete().where(Member.id.in_(members)).execute()
        Invitation.delete().where(Invitation.customer.in_(customers)).execute()
        Customer.delete().where(Customer.id.in_(customers)).execute()
        if done.total:
            record(staff, "person.erase", person, done=done, **detail)
    removed = 0
    for path in files:
        if path.exists():
            path.unlink(missing_ok=True)
            removed += 1
    return Plan(done.removed, done.anonymised, removed)


POSTER_FORMATS = ("png", "jpeg")


def poster_files(person: Person, cache_dir: str, public_url: str) -> list[Path]:
    """The poster cache's files that show the person: their referral poster, and every
    check-in share card they could have had (each count of days done so far, each streak).
    A poster's file is named by a hash of what it shows, so these are worked out, not read."""
    members = (
        Member.select(Member, Campaign).join(Campaign).where(Member.id.in_(list(person.member_ids)))
    )
    member_layout, card_layout = (
        render.load_layout(MEMBER_LAYOUT),
        render.load_layout(CHECKIN_LAYOUT),
    )
    done_by_member = {
        p.member_id: p.done
        for p in Participant.select().where(Participant.member.in_(list(person.member_ids)))
    }
    paths = []
    for member in members:
        contents = [(member_layout, member_content(member.campaign, member, public_url))]
        if member.id in done_by_member:
            contents += [
                (
                    card_layout,
                    checkin_content(member.campaign, member, done, streak, public_url, personal),
                )
                for done in range(done_by_member[member.id] + 1)
                for streak in range(done + 1)
                for personal in (True, False)
            ]
        paths += [
            Path(cache_dir) / f"{render.poster_key(layout, content, fmt)}.{fmt}"
            for layout, content in contents
            for fmt in POSTER_FORMATS
        ]
    return paths


def record(staff, action: str, person: Person, done: Plan | None = None, **detail) -> None:
    """The audit entry of an export or an erase: who, when, and which person by its
    non-personal reference (row ids), never a phone, name or code."""
    detail["members"] = sorted(person.member_ids)
    detail["customers"] = sorted(person.customer_ids)
    if done is not None:
        detail["removed"] = {k: v for k, v in done.removed.items() if v}
        detail["anonymised"] = {k: v for k, v in done.anonymised.items() if v}
    audit(staff, action, f"person:{person.reference}", **detail)
