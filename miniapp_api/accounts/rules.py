"""Staff accounts: passwords, login throttling, API tokens and the audit log.

Plain functions over the models; the console and API blueprints and the CLI call them.
"""

import functools
import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import RFC_9106_LOW_MEMORY
from peewee import IntegrityError

from miniapp_api.accounts.roles import ROLES
from miniapp_api.db import db
from miniapp_api.i18n import _, lazy_gettext
from miniapp_api.models import ApiToken, AuditEntry, LoginAttempt, Staff, StaffSession, utcnow

USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{2,63}$")
MIN_PASSWORD = 10
# argon2id, RFC 9106 low-memory profile (t=3, 64 MiB, p=4), above OWASP's minimum. The tests
# swap in a cheap hasher (tests/conftest.py) and check that this one keeps the profile.
_hasher = PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY)


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the username is unknown, so both cases take the same time. Made
    on first use, not at import: every `qunbook` command would otherwise pay for a hash."""
    return _hasher.hash("not a real password")


# Two limits, each over the last 15 minutes. Per account, from any address: guessing one
# account's password from many addresses is stopped. Per address, over every name: one client
# trying many accounts is stopped, but never a staff member on an address they logged in from
# lately, so one person behind the same proxy or office network cannot lock everyone out.
THROTTLE_WINDOW = timedelta(minutes=15)
MAX_ACCOUNT_FAILURES = 10
MAX_IP_FAILURES = 50
KNOWN_ADDRESS = timedelta(days=30)


class StaffError(ValueError):
    """Staff input that cannot be accepted; the message says what to do, in the language of
    whoever asked (the console's reader, the command line's locale)."""

    def __init__(self, message):
        super().__init__(str(message))


@dataclass(frozen=True)
class LoginRefused(Exception):
    message: str
    throttled: bool = False


def create_staff(username: str, password: str, role: str, display_name: str = "") -> Staff:
    username = (username or "").strip().lower()
    if not USERNAME.match(username):
        raise StaffError(
            lazy_gettext(
                "用户名 %(name)s 不能用：请用 3–64 个小写字母、数字或 . _ -。",
                name=repr(username),
            )
        )
    if role not in ROLES:
        raise StaffError(lazy_gettext("角色只能是 %(roles)s 之一。", roles=", ".join(ROLES)))
    check_password_strength(password)
    try:
        with db.atomic():
            return Staff.create(
                username=username,
                role=role,
                display_name=(display_name or username)[:60],
                password_hash=_hasher.hash(password),
            )
    except IntegrityError:
        raise StaffError(lazy_gettext("员工 %(name)s 已经存在。", name=repr(username))) from None


# The read-only login `qunbook demo --trainer` makes for a class. Its password is printed on
# a projector, so by default it logs in only on the machine serving the kit (see the view).
DEMO_TRAINER = "demo-trainer"


def demo_trainer() -> str:
    """Create the class's read-only trainer login, or give it a new password; returns the
    password (from `secrets`: the last class's one stops working)."""
    password = secrets.token_urlsafe(9)
    staff = Staff.get_or_none(Staff.username == DEMO_TRAINER)
    if staff is None:
        create_staff(DEMO_TRAINER, password, "trainer", "演示带教")  # i18n: content
    else:
        Staff.update(role="trainer", active=True).where(Staff.id == staff.id).execute()
        change_password(staff, password)
    return password


def check_password_strength(password: str) -> None:
    if not password or len(password) < MIN_PASSWORD:
        raise StaffError(lazy_gettext("密码至少要 %(n)s 个字符。", n=MIN_PASSWORD))
    if len(password) > 256:
        raise StaffError(lazy_gettext("密码最多 256 个字符。"))


def authenticate(username: str, password: str, ip_hash: str, now: datetime | None = None):
    """The staff member for these credentials, or LoginRefused. Every attempt is recorded."""
    now = now or utcnow()
    username = (username or "").strip().lower()[:64]
    # The attempt is stored as a failure *before* it is counted and before the slow password
    # check: each of many simultaneous attempts counts every one stored ahead of it, so the
    # database lets at most MAX_ACCOUNT_FAILURES of them reach the check (counting first let
    # 17 of 40 through). A success turns its row into a success, which resets the count.
    attempt = LoginAttempt.create(username=username, ip_hash=ip_hash, succeeded=False, at=now)
    if _throttled(username, ip_hash, now):
        raise LoginRefused(
            _("密码错误次数太多：请等 15 分钟再试，或请管理员检查这个账号。"),
            throttled=True,
        )
    staff = Staff.get_or_none((Staff.username == username) & Staff.active)
    ok = _verify(staff.password_hash if staff else _dummy_hash(), password or "") and bool(staff)
    if not ok:
        raise LoginRefused(_("用户名或密码不对。"))
    LoginAttempt.update(succeeded=True).where(LoginAttempt.id == attempt.id).execute()
    if _hasher.check_needs_rehash(staff.password_hash):
        Staff.update(password_hash=_hasher.hash(password)).where(Staff.id == staff.id).execute()
    return staff


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _throttled(username: str, ip_hash: str, now: datetime) -> bool:
    """Whether the failures in the window, this attempt's own included, are over a limit."""
    since = now - THROTTLE_WINDOW
    last_success = (
        LoginAttempt.select(LoginAttempt.at)
        .where((LoginAttempt.username == username) & LoginAttempt.succeeded)
        .order_by(LoginAttempt.at.desc())
        .first()
    )
    if last_success and last_success.at > since:
        since = last_success.at
    account_failures = (
        LoginAttempt.select()
        .where(
            (LoginAttempt.username == username)
            & ~LoginAttempt.succeeded
            & (LoginAttempt.at > since)
        )
        .count()
    )
    ip_failures = (
        LoginAttempt.select()
        .where(
            (LoginAttempt.ip_hash == ip_hash)
            & ~LoginAttempt.succeeded
            & (LoginAttempt.at > now - THROTTLE_WINDOW)
        )
        .count()
    )
    if account_failures > MAX_ACCOUNT_FAILURES:
        return True
    return ip_failures > MAX_IP_FAILURES and not _known_address(username, ip_hash, now)


def _known_address(username: str, ip_hash: str, now: datetime) -> bool:
    """Whether this account logged in from this address lately."""
    return (
        LoginAttempt.select(LoginAttempt.id)
        .where(
            (LoginAttempt.username == username)
            & (LoginAttempt.ip_hash == ip_hash)
            & LoginAttempt.succeeded
            & (LoginAttempt.at > now - KNOWN_ADDRESS)
        )
        .exists()
    )


def change_password(staff: Staff, new_password: str) -> None:
    """Set a new password and end every session of this staff member, everywhere."""
    check_password_strength(new_password)
    with db.atomic():
        Staff.update(password_hash=_hasher.hash(new_password)).where(Staff.id == staff.id).execute()
        StaffSession.delete().where(StaffSession.staff == staff.id).execute()
        ApiToken.update(revoked_at=utcnow()).where(
            (ApiToken.staff == staff.id) & ApiToken.revoked_at.is_null()
        ).execute()


# ---------------------------------------------------------------- API tokens

TOKEN_PREFIX = "qbk_"  # noqa: S105 -- the public prefix of every token, not a secret


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_api_token(staff: Staff, name: str) -> str:
    """A new API token; only its hash is stored, so it is shown to the staff member once."""
    name = (name or "").strip()[:60] or "API"
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    ApiToken.create(staff=staff, name=name, token_hash=digest(token), prefix=token[:12])
    return token


def staff_for_token(token: str) -> Staff | None:
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    row = (
        ApiToken.select(ApiToken, Staff)
        .join(Staff)
        .where(
            (ApiToken.token_hash == digest(token)) & ApiToken.revoked_at.is_null() & Staff.active
        )
        .first()
    )
    if row is None:
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=5):
        ApiToken.update(last_used_at=now).where(ApiToken.id == row.id).execute()
    return row.staff


# ---------------------------------------------------------------- audit log


def audit(staff: Staff | None, action: str, target: str, **detail) -> AuditEntry:
    return AuditEntry.create(
        staff=staff,
        action=action,
        target=target[:120],
        detail=json.dumps(detail, ensure_ascii=False, default=str),
    )
