"""Retention: how long each kind of personal data is kept, and `qunbook purge`, which removes
what is older.

PERIODS is the one table of periods; config.py reads each one's QUNBOOK_RETAIN_*_DAYS and
`period_days` checks it. The purge deletes in batches of BATCH rows, one short transaction
each (on SQLite through the scans' own write queue, so a scan waits for one batch at most,
never for the whole purge); running it again removes nothing more, so cron may run it daily.

What is not purged here, and why:
- members, customers, accepted or declined invitations, counted referrals, rewards, check-ins
  and tickets: they are what the campaigns are for, and the counts others earned rest on them;
  a person who asks to be removed is erased on request, not by age;
- the rollup (VisitHour, VisitPerson): counts, with a visitor key per person and campaign and
  nothing else, which keep the dashboards' figures once the raw visits are gone;
- alerts: they hold no personal data, and deleting one whose cause still holds would send it
  again;
- the audit log: who did what is kept for accountability (PIPL art. 55–56 asks for records of
  processing to be kept three years).

Plain functions, no web framework: the command line passes the periods and the clock.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from peewee import fn

from miniapp_api.accounts.rules import KNOWN_ADDRESS, audit
from miniapp_api.console import rollup
from miniapp_api.console.attention import HELD_BACK_SHOWN
from miniapp_api.console.stats import MAX_DAYS
from miniapp_api.db import write_transaction
from miniapp_api.i18n import _, lazy_gettext
from miniapp_api.models import (
    AddressQuota,
    Campaign,
    Invitation,
    LoginAttempt,
    Referral,
    StaffSession,
    Visit,
    VisitRollup,
    utcnow,  # noqa: F401  (the clock `qunbook purge` reads; tests replace it)
)
from miniapp_api.numbers import whole_number

# Rows deleted per transaction: a few milliseconds of SQLite's write lock.
BATCH = 2000
# The longest period a setting takes: ten years.
MAX_DAYS_KEPT = 3650


class RetentionError(ValueError):
    """A period setting that cannot be used; the message names the variable to fix."""


@dataclass(frozen=True)
class Kind:
    key: str  # in the setting's name (RETAIN_<KEY>_DAYS) and the audit entry
    label: object  # what the command line calls it, in its reader's language
    days: int  # the default, justified in PERIODS
    minimum: int  # never shorter than what a rule reads back

    @property
    def setting(self) -> str:
        return f"RETAIN_{self.key.upper()}_DAYS"


PERIODS = (
    # Raw visits (visitor key, address hash, device kind) of the live codes: half a year, so
    # a campaign can be compared with the same season's last one from its raw rows and the
    # visits export. Only visits already counted into the hourly rollup go, so every
    # dashboard figure stays as it was. Never shorter than the longest per-day chart
    # (MAX_DAYS) and a day, which zones with midnights off the whole hour read raw.
    Kind("visits", lazy_gettext("原始扫码记录"), 180, MAX_DAYS + 1),
    # Login attempts (username, address hash): a month, exactly as far back as the login
    # throttle reads them (an address this account logged in from in the last 30 days is
    # "known" and never locked out by the per-address limit).
    Kind("login_attempts", lazy_gettext("登录尝试"), KNOWN_ADDRESS.days, KNOWN_ADDRESS.days),
    # Staff sessions: nothing past their expiry (12 hours after the last request); an
    # expired session is never read again. Logging out deletes the row at once.
    Kind("sessions", lazy_gettext("过期的员工登录会话"), 0, 0),
    # Refused (self-referral, bot, same device …) and staff-rejected referrals, with the
    # friend's address and device hashes: a quarter, long enough for staff to review a
    # campaign's cheating and answer a member who asks why a friend did not count.
    Kind("referrals", lazy_gettext("不计数或已拒绝的推荐记录"), 90, 1),
    # VIP invitations never answered, once expired (or revoked): a quarter after the link
    # stopped working, for staff to follow up by phone; the customer can then be invited
    # again. Accepted and declined ones are the campaign's result and stay.
    Kind("invitations", lazy_gettext("过期未答复的 VIP 邀请"), 90, 1),
    # Per-address scan counters (an address hash per campaign and hour): a week; staff see
    # the scans held back in the last 24 hours (HELD_BACK_SHOWN), a week lets them look
    # back at an incident.
    Kind("address_counts", lazy_gettext("每个网络地址的扫码计数"), 7, HELD_BACK_SHOWN.days + 1),
)


def period_days(kind: Kind, value) -> int:
    """The period a setting gives (a whole number of days as the environment or a test
    mapping has it: 180 or "180"), or RetentionError naming the variable."""
    if isinstance(value, bool):  # JSON's true: a number to Python, not to a person
        days = None
    elif isinstance(value, int):
        days = value if kind.minimum <= value <= MAX_DAYS_KEPT else None
    else:
        days = whole_number(str(value), kind.minimum, MAX_DAYS_KEPT)
    if days is None:
        raise RetentionError(
            f"QUNBOOK_{kind.setting} is {value!r}: set it to a whole number of days from "
            f"{kind.minimum} to {MAX_DAYS_KEPT} (default {kind.days}), or unset it."
        )
    return days


@dataclass(frozen=True)
class Outcome:
    kind: Kind
    days: int
    before: datetime  # rows older than this (naive UTC) go
    rows: int  # how many went, or would go on a dry run


def purge(
    periods: dict[str, int], now: datetime, dry_run: bool = False, batch: int = BATCH
) -> list[Outcome]:
    """Delete what is older than its period (`periods`: days by kind key), or only count it
    on a dry run, which changes nothing. One outcome per kind, in PERIODS' order. Writes one
    audit entry when rows went."""
    outcomes = []
    for kind in PERIODS:
        days = periods[kind.key]
        before = now - timedelta(days=days)
        rows = _COUNTS[kind.key](before, now) if dry_run else _PURGES[kind.key](before, now, batch)
        outcomes.append(Outcome(kind, days, before, rows))
    if not dry_run and any(o.rows for o in outcomes):
        audit(
            None,
            "data.purge",
            "retention",
            **{o.kind.key: o.rows for o in outcomes},
            at=now.isoformat(timespec="seconds"),
            via="cli",
        )
    return outcomes


def _in_batches(model, where, batch: int) -> int:
    """Delete the rows `where` selects, `batch` at a time; how many went."""
    total = 0
    while True:
        with write_transaction():
            chosen = model.select(model.id).where(where).limit(batch)
            deleted = model.delete().where(model.id.in_(chosen)).execute()
        total += deleted
        if deleted < batch:
            return total


# Visits: each campaign's counted ones (before its rollup's `through`) older than the period.


def _visits_before(campaign_id: int, before: datetime):
    return (Visit.campaign == campaign_id) & (Visit.created_at < before)


def _count_visits(before: datetime, now: datetime) -> int:
    # Without counting them first: `qunbook purge` brings every rollup up to `now` (less
    # rollup.GRACE, far shorter than any period) before it deletes, so all of these will be
    # counted and go.
    return Visit.select().where(Visit.created_at < before).count()


def _purge_visits(before: datetime, now: datetime, batch: int) -> int:
    total = 0
    for (campaign_id,) in Campaign.select(Campaign.id).order_by(Campaign.id).tuples():
        counted = rollup.roll_up(campaign_id, now)
        if counted.through is None:
            continue
        # Re-read: another process may have counted further; never past what is counted.
        through = VisitRollup.get(VisitRollup.campaign == campaign_id).through
        total += _in_batches(Visit, _visits_before(campaign_id, min(before, through)), batch)
    return total


def _login_attempts(before, now):
    return LoginAttempt.at < before


def _sessions(before, now):
    return StaffSession.expires_at < before


def _referrals(before, now):
    decided = fn.COALESCE(Referral.decided_at, Referral.created_at)
    return Referral.status.in_(("refused", "rejected")) & (decided < before)


def _invitations(before, now):
    # Never answered (so no ticket hangs on it), and its link dead since before `before`.
    return (
        Invitation.accepted_at.is_null()
        & Invitation.declined_at.is_null()
        & Invitation.status.in_(("created", "opened", "revoked"))
        & (Invitation.expires_at < before)
        & (Invitation.revoked_at.is_null() | (Invitation.revoked_at < before))
    )


def _address_counts(before, now):
    return AddressQuota.window_start < before


_WHERE: dict[str, tuple] = {
    "login_attempts": (LoginAttempt, _login_attempts),
    "sessions": (StaffSession, _sessions),
    "referrals": (Referral, _referrals),
    "invitations": (Invitation, _invitations),
    "address_counts": (AddressQuota, _address_counts),
}


def _counter(model, where) -> Callable:
    return lambda before, now: model.select().where(where(before, now)).count()


def _purger(model, where) -> Callable:
    return lambda before, now, batch: _in_batches(model, where(before, now), batch)


_COUNTS = {"visits": _count_visits} | {k: _counter(*v) for k, v in _WHERE.items()}
_PURGES = {"visits": _purge_visits} | {k: _purger(*v) for k, v in _WHERE.items()}


def summary(outcome: Outcome, dry_run: bool, local: Callable[[datetime], datetime]) -> str:
    """One line for the command line: what went (or would), and the rule that chose it."""
    values = {
        "label": outcome.kind.label,
        "rows": outcome.rows,
        "days": outcome.days,
        "before": f"{local(outcome.before):%Y-%m-%d %H:%M}",
    }
    if outcome.kind.key == "sessions":
        if dry_run:
            return _("%(label)s：将删除 %(rows)s 条（%(before)s 前已过期）。", **values)
        return _("%(label)s：已删除 %(rows)s 条（%(before)s 前已过期）。", **values)
    if dry_run:
        return _("%(label)s：将删除 %(rows)s 条（早于 %(before)s，保留 %(days)s 天）。", **values)
    return _("%(label)s：已删除 %(rows)s 条（早于 %(before)s，保留 %(days)s 天）。", **values)
