"""The live code (活码): which group a scan is sent to, and the campaign set-up it relies on.

Plain functions over the models; the join blueprint and the CLI call them.
"""

import functools
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from peewee import DataError, IntegrityError

from miniapp_api.db import db, execute_prepared, group_write, is_sqlite, write_transaction
from miniapp_api.i18n import _, gettext, lazy_gettext
from miniapp_api.livecode import places
from miniapp_api.localtime import to_local
from miniapp_api.models import AddressQuota, Campaign, Channel, Group, PlaceShare, Visit, utcnow
from miniapp_api.posters.render import describe, undrawable
from miniapp_api.text import is_blank
from miniapp_api.visitors import HUMAN_AGENTS

# A WeChat group's own QR stops working 7 days after it is generated.
QR_LIFETIME = timedelta(days=7)
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
CHANNEL_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
# A refusal names this many unprintable characters at most, then says how many there are.
NAMED_CHARS = 10


class SetupError(ValueError):
    """Campaign set-up input that cannot be stored; the message says what to do."""


# Outcomes that held a person back for the campaign's sake, not because the groups are full:
# "unproven", a client that does not keep the cookie that would make it one person; "limited",
# one network address past its places for the hour. Both are recorded and shown to staff.
HELD_BACK = ("unproven", "limited")


class Refused(SetupError):
    """A set-up refusal: one message, translated when it is raised, in the language of whoever
    asked (the console's reader, the API's English, the command line's locale). `code` is a
    stable machine code the API sends beside it."""

    code = "refused"


class UnprintableText(Refused):
    """Poster text (a campaign's title or promise, a channel's label) holding characters the
    poster font cannot draw. `label` names the field: translated already, or its Chinese
    msgid (a table of labels such as the playbooks'), translated here."""

    code = "unprintable_text"

    def __init__(self, label: str, field: str, chars: list[str]):
        label = gettext(str(label))
        named = describe(chars[:NAMED_CHARS], _("、"))
        if len(chars) > NAMED_CHARS:
            message = _(
                "%(label)s里有海报印不出的字符：%(chars)s 等 %(count)s 个。"
                "请删掉，或换成文字（如把 🎁 写成“礼物”）再保存。",
                label=label,
                chars=named,
                count=len(chars),
            )
        else:
            message = _(
                "%(label)s里有海报印不出的字符：%(chars)s。"
                "请删掉，或换成文字（如把 🎁 写成“礼物”）再保存。",
                label=label,
                chars=named,
            )
        super().__init__(message)
        self.field, self.chars = field, chars


def check_printable(text: str, label: str, field: str) -> str:
    """`text` if every character of it prints on a poster; else UnprintableText naming them.
    Old rows may still hold such text: the renderer marks it, the console's campaign page
    lists it."""
    chars = undrawable(text or "")
    if chars:
        raise UnprintableText(label, field, chars)
    return text


@dataclass(frozen=True)
class Scan:
    visit_id: int
    outcome: str  # sent, repeat, moved, full, bot, unproven, limited
    group: Group | None


# A visit's stored codes as staff read them: who came (visitors.classify_agent) and what came
# of it (Scan.outcome), in one table for every export and page. "bot" is both.
VISIT_LABELS = {
    "wechat": lazy_gettext("微信"),
    "mobile": lazy_gettext("手机浏览器"),
    "desktop": lazy_gettext("电脑浏览器"),
    "preview": lazy_gettext("链接预览"),
    "bot": lazy_gettext("机器人"),
    "sent": lazy_gettext("已进群"),
    "repeat": lazy_gettext("重复扫码"),
    "moved": lazy_gettext("原群失效，换群"),
    "full": lazy_gettext("群都满了"),
    "unproven": lazy_gettext("未确认（没带 Cookie）"),
    "limited": lazy_gettext("同一网络太多，未放行"),
}


def qr_expires_at(group: Group) -> datetime | None:
    return group.qr_generated_at + QR_LIFETIME if group.qr_generated_at else None


def open_groups_query(campaign_id: int, now: datetime):
    """Groups a person can be sent to now, in the campaign's order."""
    return (
        Group.select(Group.id, Group.name, Group.qr_digest)
        .where((Group.campaign == campaign_id) & open_condition(now))
        .order_by(Group.position, Group.id)
    )


def open_condition(now: datetime):
    """The condition a group must meet to take one more person now."""
    return Group.active & (Group.qr_generated_at > now - QR_LIFETIME) & places.room()


def _showable(group_id: int, now: datetime) -> Group | None:
    """A group someone was already sent to stays theirs while it is active and its QR works,
    even if it has since reached its cut-off: they were counted inside it."""
    return (
        Group.select(Group.id, Group.name, Group.qr_digest)
        .where((Group.id == group_id) & Group.active & (Group.qr_generated_at > now - QR_LIFETIME))
        .first()
    )


def _take_place(campaign_id: int, now: datetime) -> Group | None:
    """Count one more person into the first open group and return it, or None when none is open.

    One UPDATE picks a share of the group's places with room and counts the person into it;
    the database re-checks the share's bound on the row it updates, so concurrent scans cannot
    push a group past its cut-off (livecode/places.py).
    """
    row = _claiming(
        "take_place", (campaign_id, now - QR_LIFETIME, places.share_start()), campaign_id, now
    )
    return row and _placed(row)


def _claiming(statement: str, params: tuple, campaign_id: int, now: datetime):
    """The row of a place-taking `statement`, or None when no group is open.

    On PostgreSQL it first skips the shares other scans hold (SKIP LOCKED), so that they do
    not queue on one row. Finding none, it may be that every share with room is held: the
    "_wait" form then waits for one, and takes it if its scan left room. A retry means
    another scan just took a place, so they are bounded.
    """
    for attempt in range(100):
        row = _run(statement if attempt == 0 else f"{statement}_wait", params).fetchone()
        if row:
            return row
        if not open_groups_query(campaign_id, now).exists():
            return None
    return None


def _placed(row) -> Group:
    """The group of a place-taking statement's row (id, name, qr_digest, share id)."""
    group = Group(id=row[0], name=row[1], qr_digest=row[2])
    group.share_id = row[3]  # what _give_back returns the place to
    return group


def _run(statement: str, params: tuple):
    """One of the scan path's statements (hot_sql), prepared once per connection."""
    return execute_prepared(f"scan_{statement}", hot_sql(db.obj.param)[statement], params)


@functools.cache
def hot_sql(p: str) -> dict[str, str]:
    """The scan path's statements, written out once per placeholder style ("?" or "%s").

    Measured: building these with Peewee's query builder on every scan cost more than
    running them, so the busiest path keeps them as plain SQL. The open-group condition is
    the one in open_condition(); the tests run these statements on SQLite and PostgreSQL.
    """
    # Only the driver's placeholder is interpolated; every value is a bound parameter.
    if p not in ("?", "%s"):
        raise ValueError(f"unexpected placeholder style {p!r}")
    # A share with room of the campaign's first open group (open_condition()): the first
    # from a share number the scan draws (share_start()), wrapping round. Scans starting at
    # one share would all update it first; on PostgreSQL each update leaves a row version
    # that every later scan walks past until the page is pruned (measured: a scan's
    # PostgreSQL time grew 4x under 8 clients), so they are spread over the group's shares.
    pick_share = (
        "SELECT s.id FROM place_share s JOIN wechat_group g ON g.id = s.group_id"  # noqa: S608
        f" WHERE g.campaign_id = {p} AND g.active AND g.qr_generated_at > {p}"
        f" AND s.sent < s.cutoff ORDER BY g.position, g.id, s.number < {p}, s.number LIMIT 1"
    )
    sql = {
        "live_code": (
            "SELECT c.id, c.slug, c.title, c.description, c.rules, c.promise, c.staff_contact,"  # noqa: S608
            " ch.id, rp.count_on, EXISTS (SELECT 1 FROM activity a"
            " WHERE a.campaign_id = c.id AND a.kind = 'event'),"
            " EXISTS (SELECT 1 FROM challenge x WHERE x.campaign_id = c.id AND NOT x.hidden),"
            " c.archived_at, ch.archived_at, v.id, g.id, g.name, g.qr_digest,"
            " m.id, m.code, m.nickname"
            " FROM campaign c LEFT JOIN channel ch"
            f" ON ch.campaign_id = c.id AND ch.code = {p}"
            " LEFT JOIN referralprogram rp ON rp.campaign_id = c.id"
            # The visitor's membership (referral campaigns' join page), in the same trip.
            f" LEFT JOIN member m ON m.campaign_id = c.id AND m.visitor = {p}"
            # The visitor's count today, and the group it sent them to while it still takes
            # them (counted_today's read, in the same round trip).
            f" LEFT JOIN visit v ON v.campaign_id = c.id AND v.visitor = {p}"
            f" AND v.counted_day = {p}"
            " LEFT JOIN wechat_group g"
            f" ON g.id = v.group_id AND g.active AND g.qr_generated_at > {p}"
            f" WHERE c.slug = {p}"
        ),
        # SQLite has no UPDATE in WITH: the group's fields come back through RETURNING.
        "take_place": (
            "{place} RETURNING group_id,"
            " (SELECT name FROM wechat_group WHERE id = place_share.group_id),"
            " (SELECT qr_digest FROM wechat_group WHERE id = place_share.group_id), id"
        ),
        # One new place for this address in this hour, unless it has had its limit: no row
        # comes back then. The row is made by the first place, so the limit holds from the
        # first scan on, and concurrent scans are serialised on it.
        "address_take": (
            "INSERT INTO address_quota (campaign_id, ip_hash, window_start, taken, refused)"  # noqa: S608
            f" VALUES ({p}, {p}, {p}, 1, 0) ON CONFLICT (campaign_id, ip_hash, window_start)"
            " DO UPDATE SET taken = address_quota.taken + 1"
            f" WHERE address_quota.taken < {p} RETURNING taken"
        ),
        "address_refused": (
            "UPDATE address_quota SET refused = refused + 1"  # noqa: S608
            f" WHERE campaign_id = {p} AND ip_hash = {p} AND window_start = {p}"
        ),
        "counted_today": (
            "SELECT g.id, g.name, g.qr_digest FROM visit v LEFT JOIN wechat_group g"  # noqa: S608
            f" ON g.id = v.group_id AND g.active AND g.qr_generated_at > {p}"
            f" WHERE v.campaign_id = {p} AND v.visitor = {p} AND v.counted_day = {p}"
        ),
        "record": (
            "INSERT INTO visit (campaign_id, channel_id, group_id, visitor, agent, ip_hash,"  # noqa: S608
            " outcome, counted_day, created_at)"
            f" VALUES ({', '.join([p] * 9)}) RETURNING id"
        ),
    }
    # _count_person's statement: a place, then the address's place, then the counted visit,
    # each only if the one before it came back (PostgreSQL: data-modifying WITH).
    counted_visit = (
        "INSERT INTO visit (campaign_id, channel_id, group_id, visitor, agent, ip_hash,"  # noqa: S608
        " outcome, counted_day, created_at)"
        f" SELECT {p}, {p}, place.group_id, {p}, {p}, {p}, 'sent', {p}, {p} FROM place"
    )
    sql["count_person"] = (
        "WITH place AS ({place} RETURNING id, group_id),"  # noqa: S608
        " quota AS (INSERT INTO address_quota (campaign_id, ip_hash, window_start, taken, refused)"
        f" SELECT {p}, {p}, {p}, 1, 0 FROM place"
        " ON CONFLICT (campaign_id, ip_hash, window_start)"
        " DO UPDATE SET taken = address_quota.taken + 1"
        f" WHERE address_quota.taken < {p} RETURNING taken),"
        f" counted AS ({counted_visit}, quota ON CONFLICT DO NOTHING RETURNING id)"
        " SELECT g.id, g.name, g.qr_digest, place.id, EXISTS (SELECT 1 FROM quota),"
        " (SELECT id FROM counted) FROM place JOIN wechat_group g ON g.id = place.group_id"
    )
    sql["count_person_free"] = (
        "WITH place AS ({place} RETURNING id, group_id),"  # noqa: S608
        f" counted AS ({counted_visit} ON CONFLICT DO NOTHING RETURNING id)"
        " SELECT g.id, g.name, g.qr_digest, place.id, TRUE, (SELECT id FROM counted)"
        " FROM place JOIN wechat_group g ON g.id = place.group_id"
    )
    # Each place-taking statement in two forms: PostgreSQL skipping the shares concurrent
    # scans hold, or ("_wait") waiting for them; SQLite has one writer, so no row locks.
    for name in ("take_place", "count_person", "count_person_free"):
        template = sql[name]
        for suffix, lock in (("", " FOR UPDATE OF s SKIP LOCKED"), ("_wait", " FOR UPDATE OF s")):
            place = (
                "UPDATE place_share SET sent = sent + 1"  # noqa: S608
                f" WHERE id = ({pick_share}{'' if p == '?' else lock}) AND sent < cutoff"
            )
            sql[name + suffix] = template.replace("{place}", place)
    # The same, as one statement outside a transaction (PostgreSQL): a statement is atomic,
    # so a person counted this way costs no BEGIN and no COMMIT. When a step would have to
    # be undone (the address had its limit, or the visitor was counted meanwhile) its last
    # column divides by zero: the error makes PostgreSQL undo the whole statement, and
    # _count_person_at_once hands over to the transaction that undoes step by step.
    counted_then = "(SELECT id FROM counted) FROM place"
    for name, clean in (
        ("count_person", "EXISTS (SELECT 1 FROM quota) AND EXISTS (SELECT 1 FROM counted)"),
        ("count_person_free", "EXISTS (SELECT 1 FROM counted)"),
    ):
        guard = f"(SELECT id FROM counted), 1 / CASE WHEN {clean} THEN 1 ELSE 0 END FROM place"  # noqa: S608
        for suffix in ("", "_wait"):
            sql[f"{name}_once{suffix}"] = sql[name + suffix].replace(counted_then, guard)
    sql["record_counted"] = sql["record"].replace(
        " RETURNING id", " ON CONFLICT DO NOTHING RETURNING id"
    )
    return sql


def find_live_code(
    slug: str,
    channel_code: str | None,
    visitor: str | None = None,
    now: datetime | None = None,
    tz: str = "Asia/Shanghai",
) -> tuple[Campaign | None, int | None]:
    """The campaign of a live code and the id of its channel (None if unknown or archived:
    campaign.channel_archived tells which), in one query. An archived campaign is found too,
    with its archived_at set: the caller shows it as closed rather than unknown.

    With a `visitor` (one not new to this request), the same query reads whether they were
    counted today (campaign.counted_today, record_scan's `counted_today`) and their
    membership (campaign.member)."""
    if not SLUG.match(slug):
        return None, None
    code = channel_code if channel_code and CHANNEL_CODE.match(channel_code) else None
    now = now or utcnow()
    day = local_day(now, tz) if visitor else None
    row = _run("live_code", (code, visitor, visitor, day, now - QR_LIFETIME, slug)).fetchone()
    if row is None:
        return None, None
    fields = ("id", "slug", "title", "description", "rules", "promise", "staff_contact")
    campaign = Campaign(**dict(zip(fields, row, strict=False)))
    # What makes a friend count in its referral programme; None: the campaign has none.
    campaign.referral_count_on = row[8]
    # Whether the campaign has events, so that a campaign without any pays no query for them.
    campaign.has_events = bool(row[9])
    # Likewise for a challenge members can see.
    campaign.has_challenge = bool(row[10])
    campaign.archived_at = row[11]
    # An archived channel's poster still leads to the campaign, counted without the channel.
    campaign.channel_archived = row[12] is not None
    campaign.counted_today = (
        (row[13] is not None, _group(row[14:17]) if row[14] else None) if visitor else None
    )
    # (id, code, nickname) of the visitor's membership of the campaign, if any.
    campaign.member = tuple(row[17:20]) if row[17] is not None else None
    return campaign, None if campaign.channel_archived else row[7]


def _group(fields) -> Group:
    group_id, name, qr_digest = fields
    return Group(id=group_id, name=name, qr_digest=qr_digest)


def local_day(now: datetime, tz: str) -> date:
    return to_local(now, tz).date()


def _counted_today(campaign_id: int, visitor: str, day: date) -> Visit | None:
    return (
        Visit.select(Visit.group)
        .where(
            (Visit.campaign == campaign_id)
            & (Visit.visitor == visitor)
            & (Visit.counted_day == day)
        )
        .first()
    )


def _counted_today_showable(
    campaign_id: int, visitor: str, day: date, now: datetime
) -> tuple[bool, Group | None]:
    """Whether the visitor was counted today, and the group they were sent to if it still
    takes them (_showable's condition): one query, the repeat visitor's whole read."""
    row = _run("counted_today", (now - QR_LIFETIME, campaign_id, visitor, day)).fetchone()
    if row is None:
        return False, None
    return True, _group(row) if row[0] else None


def todays_group(campaign_id: int, visitor: str, now: datetime, tz: str) -> Group | None:
    """The group the live code sent this visitor to today, while it still takes them (active,
    its QR working); None when they were not sent today. Shown on pages after the join page."""
    counted = _counted_today(campaign_id, visitor, local_day(now, tz))
    if counted is None or counted.group_id is None:
        return None
    return _showable(counted.group_id, now)


def record_scan(
    campaign_id: int,
    channel_id: int | None,
    visitor: str,
    agent: str,
    ip_hash: str,
    *,
    new_visitor: bool = False,
    counted_today: tuple[bool, Group | None] | None = None,
    proven: bool = True,
    address_limit: int | None = None,
    now: datetime | None = None,
    tz: str = "Asia/Shanghai",
) -> Scan:
    """Record one scan of a live code and decide which group it shows.

    People are counted once per visitor per campaign per local day. Bots and link previews
    are recorded and shown the open group, but never counted. `new_visitor` says the visitor
    key was minted for this request, so there is no earlier visit to look for;
    `counted_today`, that find_live_code read it already (for this `now`). A visitor that
    is not `proven` (its client came back without the cookie it was given) takes no place, and
    one address takes at most `address_limit` new places an hour (None: no limit); both are
    recorded as held back, for staff to see.
    """
    now = now or utcnow()
    visit = {
        "campaign": campaign_id,
        "channel": channel_id,
        "visitor": visitor,
        "agent": agent,
        "ip_hash": ip_hash,
        "created_at": now,
    }
    if agent not in HUMAN_AGENTS:
        group = open_groups_query(campaign_id, now).first()
        return _stored(lambda: _record(visit, "bot", group), one_statement=True)

    if not proven:
        # Each request of a client without cookies would be a new person: it could fill
        # every group alone. It is shown a page that says how to get in.
        return _stored(lambda: _record(visit, "unproven", None), one_statement=True)
    day = local_day(now, tz)
    # A repeat visitor takes no place, so their one read and their visit row need no write
    # lock. Read outside it, the answer can only be missing a count made a moment ago by
    # the same visitor's other request: the unique index on the counted day catches that.
    if new_visitor:
        counted, group = None, None
    elif counted_today is not None:
        counted, group = counted_today
    else:
        counted, group = _counted_today_showable(campaign_id, visitor, day, now)
    if group:
        return _stored(lambda: _record(visit, "repeat", group), one_statement=True)
    if not counted and not is_sqlite() and not db.in_transaction():
        scan = _count_person_at_once(visit, day, address_limit if ip_hash else None, now)
        if scan is not None:
            return scan
    return _stored(lambda: _count(visit, counted, day, address_limit, now))


def _stored(work, *, one_statement: bool = False):
    """Run a scan's writes and return what `work` returns, once they are committed.

    On SQLite the writes of scans arriving together are committed in one transaction (group
    commit, db.group_write): one writer at a time is SQLite's rule, and taking its locks once
    per batch rather than once per scan is what lets scans keep up with the server. On
    PostgreSQL a transaction of its own, or none for a single statement. Inside a caller's
    transaction (the demo's), in it.
    """
    if db.in_transaction() or (one_statement and not is_sqlite()):
        return work()
    return group_write(work)


def _count(visit: dict, counted: bool, day: date, address_limit, now: datetime) -> Scan:
    """A person's scan that may take a place (in a write transaction): a new person, or one
    counted earlier today whose group no longer takes them."""
    ip_hash = visit["ip_hash"]
    campaign_id = visit["campaign"]
    if not counted and not is_sqlite():
        return _count_person(visit, day, address_limit if ip_hash else None, now)
    group = _take_place(campaign_id, now)
    if group is None:
        return _all_full(visit, now)
    # A person counted earlier today is not a new place for their address.
    if not counted and address_limit and ip_hash and not _take_address_place(visit, address_limit):
        _give_back(group)
        return _record(visit, "limited", None)
    if counted:
        # Counted earlier today but that group is gone (expired or switched off):
        # they are sent again, to a group that works.
        return _record(visit, "moved", group)
    # The unique index on the counted day says whether this is the visitor's first
    # count today; ON CONFLICT asks it without a SAVEPOINT around the insert.
    scan = _record(visit, "sent", group, counted_day=day, statement="record_counted")
    if scan is None:
        return _counted_meanwhile(visit, group, day, address_limit, now)
    return scan


def _all_full(visit: dict, now: datetime) -> Scan:
    Campaign.update(all_full_since=now).where(
        (Campaign.id == visit["campaign"]) & Campaign.all_full_since.is_null()
    ).execute()
    return _record(visit, "full", None)


def _counted_meanwhile(visit, group, day, address_limit, now) -> Scan:
    """The same visitor was counted by a concurrent request: give the place back (and their
    address's) and show them the group they were counted into."""
    _give_back(group)
    if address_limit and visit["ip_hash"]:
        _give_back_address_place(visit)
    counted = _counted_today(visit["campaign"], visit["visitor"], day)
    group = counted and counted.group_id and _showable(counted.group_id, now)
    return _record(visit, "repeat" if group else "full", group or None)


def _count_person(visit: dict, day: date, address_limit: int | None, now: datetime) -> Scan:
    """PostgreSQL, a person not counted today: take a place, the address's place and store
    the counted visit in one statement, one round trip. Each part runs only if the one before
    it succeeded; the rare refusals are undone in the same transaction, as record_scan does
    step by step."""
    key = _address_key(visit)
    row = _run_count_person("", visit, day, address_limit, now)
    if row is None:
        return _all_full(visit, now)
    group = _placed(row)
    if not row[4]:
        _give_back(group)
        _run("address_refused", key)
        return _record(visit, "limited", None)
    if row[5] is None:
        return _counted_meanwhile(visit, group, day, address_limit, now)
    return Scan(row[5], "sent", group)


def _count_person_at_once(
    visit: dict, day: date, address_limit: int | None, now: datetime
) -> Scan | None:
    """PostgreSQL, a person not counted today, outside a transaction: _count_person's
    statement on its own (hot_sql's "_once" forms), two round trips fewer. None when it
    stored nothing because a step would have had to be undone: the caller then counts the
    person in a transaction, as _count_person does."""
    try:
        row = _run_count_person("_once", visit, day, address_limit, now)
    except DataError as error:
        if getattr(getattr(error, "orig", None), "pgcode", None) == DIVISION_BY_ZERO:
            return None
        raise
    if row is None:
        return _all_full(visit, now)
    return Scan(row[5], "sent", _placed(row))


# SQLSTATE of the "_once" statements' stop (hot_sql).
DIVISION_BY_ZERO = "22012"


def _run_count_person(form: str, visit: dict, day: date, address_limit, now: datetime):
    quota = (*_address_key(visit), address_limit) if address_limit else ()
    fields = ("campaign", "channel", "visitor", "agent", "ip_hash")
    return _claiming(
        ("count_person" if address_limit else "count_person_free") + form,
        (
            visit["campaign"],
            now - QR_LIFETIME,
            places.share_start(),
            *quota,
            *(visit[name] for name in fields),
            day,
            visit["created_at"],
        ),
        visit["campaign"],
        now,
    )


def _give_back(group: Group) -> None:
    """Return the place a scan took in this transaction to its share."""
    PlaceShare.update(sent=PlaceShare.sent - 1).where(PlaceShare.id == group.share_id).execute()


def _address_key(visit: dict) -> tuple:
    """The visit's row of address_quota: its campaign, address hash and hour."""
    hour = visit["created_at"].replace(minute=0, second=0, microsecond=0)
    return visit["campaign"], visit["ip_hash"], hour


def _take_address_place(visit: dict, limit: int) -> bool:
    """Count one new place for the visit's address in this hour; False, and the refusal
    counted for staff, when the address has had `limit` already."""
    key = _address_key(visit)
    if _run("address_take", (*key, limit)).fetchone():
        return True
    _run("address_refused", key)
    return False


def _give_back_address_place(visit: dict) -> None:
    campaign, ip_hash, hour = _address_key(visit)
    AddressQuota.update(taken=AddressQuota.taken - 1).where(
        (AddressQuota.campaign == campaign)
        & (AddressQuota.ip_hash == ip_hash)
        & (AddressQuota.window_start == hour)
        & (AddressQuota.taken > 0)
    ).execute()


def _record(
    visit: dict, outcome: str, group: Group | None, counted_day=None, statement="record"
) -> Scan | None:
    """Store the visit; None when `statement` is record_counted and the visitor was already
    counted that day (nothing stored then)."""
    row = _run(
        statement,
        (
            visit["campaign"],
            visit["channel"],
            group.id if group else None,
            visit["visitor"],
            visit["agent"],
            visit["ip_hash"],
            outcome,
            counted_day,
            visit["created_at"],
        ),
    ).fetchone()
    return Scan(row[0], outcome, group) if row else None


# ---------------------------------------------------------------- set-up


def _link_part(value: str, pattern: re.Pattern, refusal: str) -> str:
    """`value` trimmed and lower-cased if a link can carry it; else SetupError(refusal), a
    translated message whose %(value)s placeholder is filled here."""
    value = (value or "").strip().lower()
    if not pattern.match(value):
        raise SetupError(refusal % {"value": repr(value)})
    return value


def _text(value: str, limit: int, refusal: str) -> str:
    value = (value or "").strip()
    if is_blank(value) or len(value) > limit:
        raise SetupError(refusal)
    return value


def _create_once(model, exists_message: str, **fields):
    """Insert a row the database holds unique; its unique index, not a prior check, decides."""
    try:
        with db.atomic():
            return model.create(**fields)
    except IntegrityError:
        raise SetupError(exists_message) from None


def create_campaign(slug: str, title: str, **fields) -> Campaign:
    slug = _link_part(
        slug,
        SLUG,
        _(
            "活动链接名 %(value)s 不能用在链接里：请用 1–64 个小写字母、数字和连字符，"
            "例如 store-2026。"
        ),
    )
    title = _text(title, 120, _("请给活动写一个 1–%(limit)s 个字的标题。", limit=120))
    title = check_printable(title, _("标题"), "title")
    check_printable(fields.get("promise"), _("承诺"), "promise")
    return _create_once(
        Campaign,
        _("已有活动使用链接名 %(slug)s：请换一个。", slug=repr(slug)),
        slug=slug,
        title=title,
        **fields,
    )


def find_campaign(slug: str) -> Campaign:
    campaign = Campaign.get_or_none(Campaign.slug == slug)
    if campaign is None:
        raise SetupError(
            _("没有活动 %(slug)s：用 `qunbook list-groups` 列出所有活动。", slug=repr(slug))
        )
    return campaign


def add_channel(campaign: Campaign, code: str, label: str) -> Channel:
    code = _link_part(
        code,
        CHANNEL_CODE,
        _("渠道代码 %(value)s 不能用在链接里：请用 1–32 个小写字母、数字、- 或 _，例如 counter。"),
    )
    label = _text(label, 60, _("请给渠道写一个 1–%(limit)s 个字的名称。", limit=60))
    label = check_printable(label, _("渠道名称"), "label")
    return _create_once(
        Channel,
        _("活动 %(slug)s 里已有渠道 %(code)s。", code=repr(code), slug=repr(campaign.slug)),
        campaign=campaign,
        code=code,
        label=label,
    )


def add_group(campaign: Campaign, name: str, cutoff: int = 200, position: int | None = None):
    name = _text(name, 60, _("请写群在微信里的名字，1–%(limit)s 个字。", limit=60))
    if not isinstance(cutoff, int) or cutoff < 1:
        raise SetupError(_cutoff_refusal())
    if position is None:
        last = Group.select(Group.position).where(Group.campaign == campaign)
        position = max((g.position for g in last), default=0) + 1
    with db.atomic():
        group = Group.create(campaign=campaign, name=name, cutoff=cutoff, position=position)
        places.create(group.id, cutoff)
    group.sent = 0
    return group


def set_group_qr(group: Group, image: bytes, digest: str, payload: str, generated_at: datetime):
    """Store a checked QR image; a fresh QR also reopens the campaign if it was all full."""
    now = utcnow()
    if generated_at > now + timedelta(minutes=5):
        raise SetupError(_("二维码的生成时间在未来：请填写微信上显示的日期。"))
    if generated_at + QR_LIFETIME <= now:
        raise SetupError(
            _(
                "这个二维码已经超过 7 天，不能再用了：请在微信里重新生成（群聊 → 群二维码），"
                "再上传新的。"
            )
        )
    with db.atomic():
        Group.update(
            qr_image=image, qr_digest=digest, qr_payload=payload, qr_generated_at=generated_at
        ).where(Group.id == group.id).execute()
        Campaign.update(all_full_since=None).where(Campaign.id == group.campaign_id).execute()


def _cutoff_refusal() -> str:
    return _("截止人数要是 1 或更大的整数（例如 200）。")


def join_url(
    public_url: str, slug: str, channel_code: str | None = None, member_code: str | None = None
) -> str:
    """The permanent link a poster prints; the channel says where it was scanned, the
    member code whose personal poster it was."""
    url = f"{public_url.rstrip('/')}/j/{slug}"
    query = [f"c={channel_code}" if channel_code else "", f"r={member_code}" if member_code else ""]
    query = "&".join(part for part in query if part)
    return f"{url}?{query}" if query else url


def update_group(
    group: Group,
    *,
    cutoff: int | None = None,
    sent: int | None = None,
    active: bool | None = None,
    position: int | None = None,
) -> Group:
    """Change a group's settings; `sent` corrects the count to what staff see in WeChat."""
    changes = {}
    if cutoff is not None:
        if cutoff < 1:
            raise SetupError(_cutoff_refusal())
        changes["cutoff"] = cutoff
    if sent is not None and sent < 0:
        raise SetupError(_("人数不能是负数：请填写群里的实际人数。"))
    if active is not None:
        changes["active"] = active
    if position is not None:
        changes["position"] = position
    if not changes and sent is None:
        raise SetupError(
            _("没有要改的：请给出 --cutoff、--count、--active/--inactive 或 --position。")
        )
    with write_transaction():
        if changes:
            Group.update(**changes).where(Group.id == group.id).execute()
        if cutoff is not None or sent is not None:
            places.lay_out(group.id, sent)
        # Room may have opened up; the next scan that finds none flags the campaign again.
        Campaign.update(all_full_since=None).where(Campaign.id == group.campaign_id).execute()
    return group_with_count(group.id)


def group_with_count(group_id: int) -> Group:
    """The group, with how many were sent to it as .sent."""
    return places.with_sent(Group.select()).where(Group.id == group_id).get()


def group_of(campaign_id: int, visitor: str) -> int | None:
    """The group the live code last sent this visitor to in the campaign (None if never):
    members are tied to it for stickiness per group."""
    visit = (
        Visit.select(Visit.group)
        .where(
            (Visit.campaign == campaign_id)
            & (Visit.visitor == visitor)
            & Visit.outcome.in_(("sent", "moved"))
            & Visit.group.is_null(False)
        )
        .order_by(Visit.created_at.desc(), Visit.id.desc())
        .first()
    )
    return visit.group_id if visit else None
