"""Referral fission (裂变), the rules: members, their codes, two-level attribution, reward
tiers and the anti-cheating rules.

Plain functions over the models; the referrals and console blueprints and the CLI call them.
Every count is changed in the same transaction as the referral it counts, after locking the
member it is credited to, so concurrent sign-ups cannot lose or double a count or a reward.
"""

import io
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from peewee import IntegrityError
from PIL import ImageOps

from miniapp_api.db import db, write_transaction
from miniapp_api.i18n import _, lazy_gettext
from miniapp_api.models import (
    Campaign,
    Member,
    Referral,
    ReferralProgram,
    Reward,
    RewardTier,
    Staff,
    Visit,
    utcnow,
)
from miniapp_api.text import is_blank
from miniapp_api.uploads import InvalidUpload, read_image
from miniapp_api.visitors import HUMAN_AGENTS, normalise_phone

CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread from a poster
MEMBER_CODE = re.compile(rf"^[{CODE_ALPHABET}]{{8}}$")
MAX_NICKNAME = 20
# A photo straight from a phone's album: 12 MB covers today's cameras (the request limit is 16).
AVATAR_BYTES = 12 * 1024 * 1024
AVATAR_SIDE = 256

# Why a referral was refused or held, or what flags a counted one; shown to staff.
REASONS = {
    "self": lazy_gettext("自己推荐自己"),
    "repeat": lazy_gettext("这个人已经算过了"),
    "member": lazy_gettext("已经是会员，不再算作新朋友"),
    "bot": lazy_gettext("机器人或链接预览"),
    "velocity": lazy_gettext("一小时内推荐太多，等工作人员确认"),
    "daily": lazy_gettext("24 小时内推荐超过每日上限，等工作人员确认"),
    "same_device": lazy_gettext("和推荐人是同一台设备（可能是本人清了缓存再来），等工作人员确认"),
    "not_joined": lazy_gettext("朋友还没被活码送进群，进群后才计入"),
    "shared_ip": lazy_gettext("与推荐人同一网络（只提示，照常计数）"),
    "staff": lazy_gettext("工作人员拒绝"),
}


class ReferralError(ValueError):
    """Input a member or staff gave that cannot be used; the message says what to do."""


@dataclass(frozen=True)
class SignUp:
    member: Member
    created: bool
    # What became of the referral this sign-up carried: counted, held, refused, or None.
    status: str | None = None
    reason: str = ""


# ---------------------------------------------------------------- input


def clean_nickname(text: str | None) -> str:
    nickname = " ".join((text or "").split())
    if is_blank(nickname):  # zero-width characters alone print nothing on the poster
        raise ReferralError(_("请填写昵称：它会印在你的专属海报上。"))
    if len(nickname) > MAX_NICKNAME:
        raise ReferralError(
            _(
                "昵称最多 %(limit)s 个字，现在有 %(count)s 个。",
                limit=MAX_NICKNAME,
                count=len(nickname),
            )
        )
    return nickname


def clean_phone(text: str | None) -> str | None:
    """A mainland mobile number as 11 digits (see normalise_phone); None when left empty."""
    try:
        return normalise_phone(text)
    except ValueError:
        raise ReferralError(
            _("手机号要是 11 位中国大陆手机号，例如 13800138000；也可以不填。")
        ) from None


def clean_avatar(data: bytes | None) -> bytes | None:
    """A square JPEG of at most 256 px, re-encoded so nothing hidden in the upload is kept."""
    if not data:
        return None
    try:
        image = read_image(data, _("头像图片"), AVATAR_BYTES, shrink_to=AVATAR_SIDE)
    except InvalidUpload:
        raise ReferralError(_("头像要是 12 MB 以内的 JPEG 或 PNG 图片；也可以不传。")) from None
    image = ImageOps.exif_transpose(image).convert("RGB")
    image = ImageOps.fit(image, (AVATAR_SIDE, AVATAR_SIDE))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def mask_nickname(nickname: str) -> str:
    """阿*花, 小*: enough for friends to recognise, not enough to identify a stranger."""
    if len(nickname) <= 1:
        return "*"
    if len(nickname) == 2:
        return nickname[0] + "*"
    return nickname[0] + "*" * (len(nickname) - 2) + nickname[-1]


# ---------------------------------------------------------------- programme


def program_of(campaign_id: int) -> ReferralProgram | None:
    return ReferralProgram.get_or_none(ReferralProgram.campaign == campaign_id)


def tiers_of(campaign_id: int) -> list[RewardTier]:
    return list(
        RewardTier.select().where(RewardTier.campaign == campaign_id).order_by(RewardTier.threshold)
    )


def set_up_program(campaign, *, tiers=None, **settings) -> ReferralProgram:
    """Create or change a campaign's referral programme. Tiers are (threshold, reward) pairs
    that replace the ones before (rewards already issued stay issued); None keeps them."""
    allowed = {"count_on", "max_per_hour", "max_per_day", "leaderboard_size", "friend_reward"}
    unknown = set(settings) - allowed
    if unknown:
        raise ReferralError(_("不认识的设置：%(names)s", names=", ".join(sorted(unknown))))
    if settings.get("count_on", "signup") not in ("signup", "sent"):
        raise ReferralError(_("计数方式只能是 signup（报名时）或 sent（被送进群时）。"))
    for name in ("max_per_hour", "max_per_day", "leaderboard_size"):
        value = settings.get(name, 1)
        if (
            not isinstance(value, int)
            or value < (0 if name == "leaderboard_size" else 1)
            or value > 10000
        ):
            raise ReferralError(_("每小时、每天上限要是 1–10000 的整数，排行榜人数 0–10000。"))
    settings["friend_reward"] = (settings.get("friend_reward") or "").strip()[:60]
    cleaned = []
    for threshold, reward in tiers or ():
        reward = (reward or "").strip()
        if not isinstance(threshold, int) or not 1 <= threshold <= 10000 or not reward:
            raise ReferralError(_("每档奖励要写人数（1–10000）和奖品，例如「3 人 → 9 折券」。"))
        cleaned.append((threshold, reward[:60]))
    if len({t for t, _ in cleaned}) != len(cleaned):
        raise ReferralError(_("两档奖励的人数相同：每档人数要不一样。"))
    with db.atomic():
        program = program_of(campaign.id)
        if program is None:
            program = ReferralProgram.create(campaign=campaign, **settings)
        elif settings:
            ReferralProgram.update(**settings).where(ReferralProgram.id == program.id).execute()
        if tiers is not None:
            RewardTier.delete().where(RewardTier.campaign == campaign.id).execute()
            for threshold, reward in cleaned:
                RewardTier.create(campaign=campaign, threshold=threshold, reward=reward)
    return ReferralProgram.get_by_id(program.id)


# ---------------------------------------------------------------- sign-up and attribution


def member_for(campaign_id: int, visitor: str) -> Member | None:
    return Member.get_or_none((Member.campaign == campaign_id) & (Member.visitor == visitor))


def member_in_program(slug: str, visitor: str) -> Member | None:
    """The visitor's membership of the referral campaign `slug`, with the columns its poster
    shows (the campaign's among them): one query, for the poster a member's phone asks for
    again and again. Peewee building the SQL took four times as long as running it, so the
    statement is built once per database kind and run with the request's values."""
    row = db.execute_sql(_member_in_program_sql(type(db.obj)), (slug, visitor)).fetchone()
    if row is None:
        return None
    member_id, code, nickname, avatar, campaign_id, title, promise = row
    campaign = Campaign(id=campaign_id, slug=slug, title=title, promise=promise)
    return Member(
        id=member_id,
        code=code,
        nickname=nickname,
        avatar=avatar,
        campaign=campaign,
        visitor=visitor,
    )


@lru_cache(maxsize=4)
def _member_in_program_sql(_database_kind: type) -> str:
    # At most one row: slugs are unique, and so is a visitor within a campaign.
    slug, visitor = "\x00slug", "\x00visitor"  # stand-ins, to check where the values go
    query = (
        Member.select(
            Member.id,
            Member.code,
            Member.nickname,
            Member.avatar,
            Campaign.id,
            Campaign.title,
            Campaign.promise,
        )
        .join(Campaign)
        .join(ReferralProgram, on=(ReferralProgram.campaign == Campaign.id))
        .where((Campaign.slug == slug) & (Member.visitor == visitor))
    )
    sql, params = query.sql()
    if params != [slug, visitor]:
        raise RuntimeError(f"unexpected parameters {params!r} in {sql}")
    return sql


@dataclass(frozen=True)
class JoinPageMember:
    """What the live code's join page shows of the visitor's membership (find_live_code
    reads it with the campaign: never the avatar)."""

    id: int
    code: str
    nickname: str


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))


def sign_up(
    campaign_id: int,
    *,
    nickname: str,
    visitor: str,
    agent: str,
    ip_hash: str = "",
    device_hash: str = "",
    phone_hash: str | None = None,
    avatar: bytes | None = None,
    referrer_code: str | None = None,
    now: datetime | None = None,
) -> SignUp:
    """Make the visitor a member of the campaign's referral programme, or give back the
    membership they have (same cookie, or same phone), and settle the referral the sign-up
    carried. Phone and avatar must already be cleaned (hashed, re-encoded)."""
    now = now or utcnow()
    nickname = clean_nickname(nickname)
    program = program_of(campaign_id)
    if program is None:
        raise ReferralError(_("这个活动没有开推荐：直接扫码进群就好。"))
    with write_transaction():
        existing = find_member(campaign_id, visitor, phone_hash)
        referrer = _member_by_code(campaign_id, referrer_code)
        if existing:
            if referrer is None:
                return SignUp(existing, False)
            reason = "self" if referrer.id == existing.id else "member"
            signals = Signals(ip_hash, device_hash)
            _refuse(campaign_id, referrer, visitor, signals, reason, now, friend=existing)
            return SignUp(existing, False, "refused", reason)

        signals = Signals(ip_hash, device_hash)
        member = _create_member(
            campaign_id, nickname, visitor, signals, phone_hash, avatar, now, referrer=None
        )
        if program.count_on == "sent":
            # Friends were counted when the live code sent them to a group; link them up.
            counted = (
                Referral.select()
                .where(
                    (Referral.campaign == campaign_id)
                    & (Referral.friend_key == visitor)
                    & Referral.status.in_(("counted", "held"))
                )
                .order_by(Referral.level)
                .first()
            )
            if counted:
                _link(member, counted.referrer_id, visitor)
                _friend_reward(program, member, counted.status)
                return SignUp(member, True, counted.status, counted.reason)
            return SignUp(member, True)
        if referrer is None:
            return SignUp(member, True)
        if not _sent_to_a_group(campaign_id, visitor):
            # A friend counts once the live code has sent them to a group too: a sign-up
            # alone is one form, which a farm can post as often as it clears its cookie.
            status, reason = _wait_until_sent(
                program, referrer, member, agent, signals, now, phone_hash
            )
            return SignUp(member, True, status, reason)
        status, reason = attribute(
            program, referrer, visitor, agent, signals, now, friend=member, phone_hash=phone_hash
        )
        if status in ("counted", "held"):
            _link(member, referrer.id, visitor)
        _friend_reward(program, member, status)
        return SignUp(member, True, status, reason)


@dataclass(frozen=True)
class Signals:
    """What a request says about the device it came from, as keyed hashes: its network
    address and its browser (User-Agent). Kept with members and referrals, so that a referrer
    coming back without her cookie can be recognised."""

    ip_hash: str = ""
    device_hash: str = ""


def attribute_scan(
    campaign_id: int,
    referrer_code: str,
    visitor: str,
    agent: str,
    signals: Signals,
    now: datetime | None = None,
):
    """For a programme that counts friends sent to a group: credit the visit the live code
    just counted to the member whose code brought it. Returns (status, reason) or None."""
    program = program_of(campaign_id)
    if program is None or program.count_on != "sent":
        return None
    now = now or utcnow()
    with write_transaction():
        referrer = _member_by_code(campaign_id, referrer_code)
        if referrer is None:
            return None
        if member_for(campaign_id, visitor):
            _refuse(campaign_id, referrer, visitor, signals, "member", now)
            return "refused", "member"
        return attribute(program, referrer, visitor, agent, signals, now)


def settle_pending(
    campaign_id: int, visitor: str, agent: str, signals: Signals, now: datetime | None = None
):
    """The live code has just sent this visitor to a group: a referral waiting for that
    (count_on "signup") is settled now, with the limits as they stand now. Returns
    (status, reason), or None when nothing was waiting."""
    now = now or utcnow()
    with write_transaction():
        waiting = Referral.get_or_none(
            (Referral.campaign == campaign_id)
            & (Referral.friend_key == visitor)
            & (Referral.level == 1)
            & (Referral.status == "pending")
        )
        if waiting is None:
            return None
        # The conditional DELETE decides who settles it, should two requests try at once.
        if (
            not Referral.delete()
            .where((Referral.id == waiting.id) & (Referral.status == "pending"))
            .execute()
        ):
            return None
        program = program_of(campaign_id)
        referrer = Member.get_by_id(waiting.referrer_id)
        friend = Member.get_or_none(Member.id == waiting.friend_id) if waiting.friend_id else None
        status, reason = attribute(program, referrer, visitor, agent, signals, now, friend=friend)
        if friend and status in ("counted", "held"):
            _link(friend, referrer.id, visitor)
        if friend:
            _friend_reward(program, friend, status)
        return status, reason


def _sent_to_a_group(campaign_id: int, visitor: str) -> bool:
    return (
        Visit.select()
        .where(
            (Visit.campaign == campaign_id)
            & (Visit.visitor == visitor)
            & Visit.counted_day.is_null(False)
        )
        .exists()
    )


def _wait_until_sent(program, referrer, friend, agent, signals, now, phone_hash):
    """Refuse at once what will never count; otherwise keep the referral pending."""
    campaign_id = program.campaign_id
    if agent not in HUMAN_AGENTS:
        return _refuse(campaign_id, referrer, friend.visitor, signals, "bot", now, friend)
    if referrer.visitor == friend.visitor or (phone_hash and referrer.phone_hash == phone_hash):
        return _refuse(campaign_id, referrer, friend.visitor, signals, "self", now, friend)
    attempt = {
        "campaign": campaign_id,
        "friend": friend,
        "friend_key": friend.visitor,
        "status": "pending",
        "reason": "not_joined",
        "ip_hash": signals.ip_hash,
        "device_hash": signals.device_hash,
        "created_at": now,
    }
    if _record(attempt, referrer.id, level=1) is None:
        return _refuse(campaign_id, referrer, friend.visitor, signals, "repeat", now, friend)
    return "pending", "not_joined"


def find_member(campaign_id: int, visitor: str, phone_hash: str | None) -> Member | None:
    """The campaign's member this browser (or this phone) already is. Call inside a write
    transaction: a member found by phone is moved to this browser."""
    existing = member_for(campaign_id, visitor)
    if existing is None and phone_hash:
        existing = Member.get_or_none(
            (Member.campaign == campaign_id) & (Member.phone_hash == phone_hash)
        )
        if existing:
            # The same person on a new phone or a cleared cookie: this browser is theirs now.
            Member.update(visitor=visitor).where(Member.id == existing.id).execute()
            existing.visitor = visitor
    return existing


def join_without_referrals(
    campaign_id: int,
    *,
    nickname: str,
    visitor: str,
    ip_hash: str = "",
    phone_hash: str | None = None,
    avatar: bytes | None = None,
    now: datetime | None = None,
) -> Member:
    """The visitor as a member of a campaign without a referral programme (a challenge or an
    event needs members too): the membership they have, or a new one."""
    signals = Signals(ip_hash)
    nickname = clean_nickname(nickname)
    with write_transaction():
        existing = find_member(campaign_id, visitor, phone_hash)
        if existing:
            return existing
        return _create_member(
            campaign_id, nickname, visitor, signals, phone_hash, avatar, now or utcnow(), None
        )


def _member_by_code(campaign_id: int, code: str | None) -> Member | None:
    if not code or not MEMBER_CODE.match(code):
        return None
    return Member.get_or_none((Member.campaign == campaign_id) & (Member.code == code))


def _create_member(campaign_id, nickname, visitor, signals, phone_hash, avatar, now, referrer):
    for _attempt in range(5):  # a code collision is ~1 in 10^14: retried, never reused
        try:
            with db.atomic():
                return Member.create(
                    campaign=campaign_id,
                    code=_new_code(),
                    nickname=nickname,
                    visitor=visitor,
                    ip_hash=signals.ip_hash,
                    device_hash=signals.device_hash,
                    phone_hash=phone_hash,
                    avatar=avatar,
                    referrer=referrer,
                    created_at=now,
                )
        except IntegrityError:
            # The same visitor or phone signed up in a concurrent request: that one is theirs.
            if member_for(campaign_id, visitor) or (
                phone_hash
                and Member.get_or_none(
                    (Member.campaign == campaign_id) & (Member.phone_hash == phone_hash)
                )
            ):
                raise ReferralError(_("你已经报过名了：刷新页面就能看到你的海报。")) from None
    raise RuntimeError("could not find a free member code")


def _link(member: Member, referrer_id: int, visitor: str) -> None:
    """Record who brought the member, once: the referrer is set at creation time only,
    so nobody can become their own ancestor (no referral cycle)."""
    Member.update(referrer=referrer_id).where(
        (Member.id == member.id) & Member.referrer.is_null()
    ).execute()
    Referral.update(friend=member.id).where(
        (Referral.campaign == member.campaign_id) & (Referral.friend_key == visitor)
    ).execute()
    member.referrer_id = referrer_id


def attribute(program, referrer, friend_key, agent, signals, now, friend=None, phone_hash=None):
    """Settle one friend's referral to `referrer` (level 1) and to the referrer's own referrer
    (level 2). Returns (status, reason). Call inside a write transaction."""
    campaign_id = program.campaign_id
    if agent not in HUMAN_AGENTS:
        return _refuse(campaign_id, referrer, friend_key, signals, "bot", now, friend)
    if referrer.visitor == friend_key or (phone_hash and referrer.phone_hash == phone_hash):
        return _refuse(campaign_id, referrer, friend_key, signals, "self", now, friend)
    # Lock the referrer's row first: this member's counts, velocity and rewards are then
    # decided one sign-up at a time (PostgreSQL holds the lock until commit; SQLite's
    # write transaction is already exclusive). Chains only point to earlier members, so
    # locks are always taken descendant first and cannot deadlock.
    Member.update(referrals=Member.referrals).where(Member.id == referrer.id).execute()
    status, reason = "held", _hold_reason(program, referrer, signals, now)
    if not reason:
        status = "counted"
        if signals.ip_hash and signals.ip_hash == referrer.ip_hash:
            reason = "shared_ip"  # households and offices share addresses: flag, never block
    attempt = {
        "campaign": campaign_id,
        "friend": friend,
        "friend_key": friend_key,
        "status": status,
        "reason": reason,
        "ip_hash": signals.ip_hash,
        "device_hash": signals.device_hash,
        "created_at": now,
    }
    row = _record(attempt, referrer.id, level=1)
    if row is None:
        return _refuse(campaign_id, referrer, friend_key, signals, "repeat", now, friend)
    second = Member.get_by_id(referrer.id).referrer_id
    if second:
        # None when this person already counts at level 2 for someone: once per campaign.
        _record(attempt, second, level=2)
    if status == "counted":
        _credit(row)
    return status, reason


# A referrer's own device coming back within this time of her sign-up is taken for her.
SAME_DEVICE_WINDOW = timedelta(hours=24)


def _hold_reason(program, referrer, signals, now) -> str:
    """Why this referral waits for staff, or "" when it counts. The referrer's row is locked
    by the caller, so the counts read here cannot be passed by a concurrent sign-up."""
    if (
        signals.device_hash
        and signals.device_hash == referrer.device_hash
        and (signals.ip_hash == referrer.ip_hash or now - referrer.created_at < SAME_DEVICE_WINDOW)
    ):
        return "same_device"
    mine = Referral.select().where(
        (Referral.referrer == referrer.id)
        & (Referral.level == 1)
        & Referral.status.in_(("counted", "held"))
    )
    if mine.where(Referral.created_at > now - timedelta(hours=1)).count() >= program.max_per_hour:
        return "velocity"
    counted_today = mine.where(
        (Referral.status == "counted") & (Referral.created_at > now - timedelta(hours=24))
    )
    if counted_today.count() >= program.max_per_day:
        return "daily"
    return ""


def _record(attempt: dict, referrer_id: int, level: int) -> Referral | None:
    """Store a counted or held referral; None when the partial unique index says this
    person already counts (or waits to count) at this level."""
    try:
        with db.atomic():
            return Referral.create(referrer=referrer_id, level=level, **attempt)
    except IntegrityError:
        return None


def _refuse(campaign_id, referrer, friend_key, signals, reason, now, friend=None):
    Referral.create(
        campaign=campaign_id,
        referrer=referrer.id,
        friend=friend,
        friend_key=friend_key,
        level=1,
        status="refused",
        reason=reason,
        ip_hash=signals.ip_hash,
        device_hash=signals.device_hash,
        created_at=now,
    )
    return "refused", reason


def _credit(level_one: Referral) -> None:
    """Count a level-1 referral that has just become counted, and its level-2 companion.
    The referrer's row is locked by the caller, so the total read back is exact."""
    Member.update(referrals=Member.referrals + 1).where(
        Member.id == level_one.referrer_id
    ).execute()
    total = Member.get_by_id(level_one.referrer_id).referrals
    _issue_tiers(level_one.campaign_id, level_one.referrer_id, total)
    # At most one level-2 row per person counts or waits (the partial unique index).
    companion = Referral.get_or_none(
        (Referral.campaign == level_one.campaign_id)
        & (Referral.friend_key == level_one.friend_key)
        & (Referral.level == 2)
        & (Referral.status == "counted")
    )
    if companion:
        Member.update(second_level=Member.second_level + 1).where(
            Member.id == companion.referrer_id
        ).execute()


def _issue_tiers(campaign_id: int, member_id: int, total: int) -> None:
    for tier in RewardTier.select().where(
        (RewardTier.campaign == campaign_id) & (RewardTier.threshold <= total)
    ):
        issue_reward(campaign_id, member_id, f"tier:{tier.threshold}", tier.reward)


def _friend_reward(program: ReferralProgram, member: Member, status: str | None) -> None:
    if program.friend_reward and status == "counted":
        issue_reward(program.campaign_id, member.id, "friend", program.friend_reward)


def issue_reward(campaign_id: int, member_id: int, key: str, name: str) -> None:
    """Issue the reward once: the unique (member, key) index decides, not a prior check."""
    for _attempt in range(5):
        try:
            with db.atomic():
                Reward.insert(
                    campaign=campaign_id,
                    member=member_id,
                    key=key,
                    name=name,
                    code=_new_code().upper(),
                ).on_conflict(
                    conflict_target=[Reward.member, Reward.key], preserve=[Reward.key]
                ).execute()
            return
        except IntegrityError:
            continue  # only a reward-code collision gets here: draw another code
    raise RuntimeError("could not find a free reward code")


# ---------------------------------------------------------------- staff decisions


def decide(referral_id: int, approve: bool, staff: Staff, now: datetime | None = None) -> bool:
    """Approve or reject a held referral (both of its levels); True when this call did.
    A referral that is no longer held is left as it is: a second click, or two staff at
    once, changes nothing."""
    now = now or utcnow()
    with write_transaction():
        row = Referral.get_or_none((Referral.id == referral_id) & (Referral.level == 1))
        if row is None:
            raise ReferralError(_("没有这条推荐记录：刷新列表再试。"))
        Member.update(referrals=Member.referrals).where(Member.id == row.referrer_id).execute()
        changed = (
            Referral.update(
                status="counted" if approve else "rejected",
                reason=row.reason if approve else "staff",
                decided_at=now,
                decided_by=staff,
            )
            .where(
                (Referral.campaign == row.campaign_id)
                & (Referral.friend_key == row.friend_key)
                & (Referral.status == "held")
            )
            .execute()
        )
        row = Referral.get_by_id(row.id)
        if changed and approve:
            _credit(row)
            program = program_of(row.campaign_id)
            if row.friend_id:
                _friend_reward(program, Member.get_by_id(row.friend_id), "counted")
    return bool(changed)


def redeem(reward_id: int, campaign_id: int, staff: Staff, now: datetime | None = None) -> bool:
    """Mark a reward handed over; False when it was already (a second click changes nothing)."""
    changed = (
        Reward.update(redeemed_at=now or utcnow(), redeemed_by=staff)
        .where(
            (Reward.id == reward_id)
            & (Reward.campaign == campaign_id)
            & Reward.redeemed_at.is_null()
        )
        .execute()
    )
    if not changed and not Reward.get_or_none(
        (Reward.id == reward_id) & (Reward.campaign == campaign_id)
    ):
        raise ReferralError(_("没有这份奖励：刷新列表再试。"))
    return bool(changed)


# ---------------------------------------------------------------- what members see


def progress(member: Member) -> dict:
    tiers = tiers_of(member.campaign_id)
    fresh = Member.get_by_id(member.id)
    next_tier = next((t for t in tiers if t.threshold > fresh.referrals), None)
    rewards = list(member.rewards.order_by(Reward.issued_at, Reward.id))
    mine = Referral.select().where(Referral.level == 1)
    return {
        "referrals": fresh.referrals,
        "second_level": fresh.second_level,
        # Friends waiting for staff (a limit or a signal held them): not counted yet.
        "held": mine.where((Referral.referrer == member.id) & (Referral.status == "held")).count(),
        # This member's own sign-up counts for whoever brought them once they are in a group.
        "waiting_for_group": mine.where(
            (Referral.friend == member.id) & (Referral.status == "pending")
        ).exists(),
        "next": {"threshold": next_tier.threshold, "reward": next_tier.reward}
        if next_tier
        else None,
        "tiers": [{"threshold": t.threshold, "reward": t.reward} for t in tiers],
        "rewards": [
            {"name": r.name, "code": r.code, "redeemed": bool(r.redeemed_at)} for r in rewards
        ],
    }


def inviter(campaign_id: int, code: str | None) -> str | None:
    """The nickname of the member whose poster carries `code`: the friend it brought sees who
    invited them (the name is printed on that poster already)."""
    member = _member_by_code(campaign_id, code)
    return member.nickname if member else None


def rank_of(member: Member) -> int | None:
    """The member's place on the leaderboard, in its order (more counted friends first, then
    who joined first); None before her first counted friend."""
    fresh = Member.get_by_id(member.id)
    if fresh.referrals <= 0:
        return None
    ahead = Member.select().where(
        (Member.campaign == fresh.campaign_id)
        & (
            (Member.referrals > fresh.referrals)
            | (
                (Member.referrals == fresh.referrals)
                & (
                    (Member.created_at < fresh.created_at)
                    | ((Member.created_at == fresh.created_at) & (Member.id < fresh.id))
                )
            )
        )
    )
    return ahead.count() + 1


def leaderboard(campaign_id: int, size: int) -> list[dict]:
    rows = (
        Member.select(Member.nickname, Member.referrals)
        .where((Member.campaign == campaign_id) & (Member.referrals > 0))
        .order_by(Member.referrals.desc(), Member.created_at, Member.id)
        .limit(size)
    )
    return [{"nickname": mask_nickname(m.nickname), "referrals": m.referrals} for m in rows]
