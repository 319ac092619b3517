"""Retention: `qunbook purge` removes exactly what is older than its period, keeps the rest and
every dashboard figure, changes nothing on a dry run or a second run, and refuses a bad period
setting with a message; on SQLite and PostgreSQL."""

import secrets
from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner
from helpers import make_campaign, make_channel, make_config, make_invitation, make_member

from miniapp_api import create_app, retention
from miniapp_api.cli import cli
from miniapp_api.console import stats
from miniapp_api.db import db
from miniapp_api.livecode import lifecycle
from miniapp_api.models import (
    MODELS,
    AddressQuota,
    AuditEntry,
    Channel,
    Invitation,
    LoginAttempt,
    Referral,
    StaffSession,
    Visit,
    VisitHour,
)
from miniapp_api.visitors import HUMAN_AGENTS

# The clock every test here runs at (naive UTC).
NOW = datetime(2026, 12, 1, 2, 0)
DAY = timedelta(days=1)
DEFAULTS = {kind.key: kind.days for kind in retention.PERIODS}


@pytest.fixture
def clock(monkeypatch):
    """The clock `qunbook purge` reads, stopped at NOW."""
    monkeypatch.setattr(retention, "utcnow", lambda: NOW)
    return NOW


def add_visits(campaign, channels, days_ago: int, n: int, seed: int):
    """n visits on the day `days_ago` before NOW, by a pool of visitors that return on other
    days (people's, bots', sent, full), in several channels."""
    rows = []
    for i in range(n):
        k = seed * 7919 + i * 104729
        rows.append(
            {
                "campaign": campaign.id,
                "channel": [*channels, None][k % (len(channels) + 1)],
                "visitor": f"访客{k % 13}",
                "agent": ("wechat", "mobile", "bot", "preview")[k % 4],
                "ip_hash": "h",
                "outcome": ("sent", "repeat", "full", "bot")[(k // 3) % 4],
                "created_at": NOW - days_ago * DAY + timedelta(minutes=k % 600),
            }
        )
    Visit.insert_many(rows).execute()


def figures(campaign) -> dict:
    """Everything the dashboard shows, in two zones: one whose midnights fall on whole UTC
    hours (read from the rollup) and one whose do not (the window's visits read raw)."""
    return {
        tz: stats.campaign_stats(campaign, tz, stats.MAX_DAYS, now=NOW)
        for tz in ("Asia/Shanghai", "Asia/Kolkata")
    }


def build_old_and_new():
    """A row of every kind just past its default period and one just inside it; returns
    what must go, by kind, as (model, ids)."""
    campaign = make_campaign()
    channels = [make_channel(campaign).id, make_channel(campaign, "moments", "朋友圈").id]
    add_visits(campaign, channels, 400, 30, seed=1)
    add_visits(campaign, channels, 181, 30, seed=2)
    add_visits(campaign, channels, 179, 30, seed=3)
    add_visits(campaign, channels, 2, 30, seed=4)
    add_visits(campaign, channels, 0, 5, seed=5)  # this very hour: not counted yet
    old_visits = [v.id for v in Visit.select().where(Visit.created_at < NOW - 180 * DAY)]

    attempt = {"username": "chen", "ip_hash": "h", "succeeded": False}
    old_attempt = LoginAttempt.create(**attempt, at=NOW - 30 * DAY - timedelta(seconds=1))
    LoginAttempt.create(**attempt, at=NOW - 29 * DAY)

    session = {"data": "{}", "created_at": NOW - DAY}
    expired = StaffSession.create(token_hash="a" * 64, expires_at=NOW - timedelta(minutes=1))
    StaffSession.create(token_hash="b" * 64, expires_at=NOW + timedelta(hours=11), **session)

    referrer = make_member(campaign.id, nickname="小红")

    def referral(status, days_ago, decided_days_ago=None, level=1):
        return Referral.create(
            campaign=campaign.id,
            referrer=referrer.id,
            friend_key=secrets.token_hex(8),
            level=level,
            status=status,
            reason="self" if status == "refused" else "",
            ip_hash="h",
            device_hash="d",
            created_at=NOW - days_ago * DAY,
            decided_at=None if decided_days_ago is None else NOW - decided_days_ago * DAY,
        )

    old_referrals = [referral("refused", 91).id, referral("rejected", 120, 91).id]
    referral("refused", 89)
    referral("rejected", 120, 89)  # decided lately: its 90 days count from the decision
    referral("counted", 400)
    referral("held", 400, level=2)

    def invitation(expired_days_ago, **fields):
        row = make_invitation(campaign, name=f"客户{secrets.token_hex(2)}")
        fields = {"expires_at": NOW - expired_days_ago * DAY, **fields}
        Invitation.update(**fields).where(Invitation.id == row.id).execute()
        return row.id

    old_invitations = [
        invitation(91),
        invitation(91, status="opened", opened_at=NOW - 100 * DAY),
        invitation(95, status="revoked", revoked_at=NOW - 100 * DAY),
    ]
    invitation(89)
    invitation(91, status="revoked", revoked_at=NOW - 10 * DAY)  # revoked lately
    invitation(200, status="accepted", accepted_at=NOW - 210 * DAY)
    invitation(200, status="declined", declined_at=NOW - 210 * DAY)

    quota = {"campaign": campaign.id, "ip_hash": "h", "taken": 3, "refused": 1}
    old_quota = AddressQuota.create(**quota, window_start=NOW - 7 * DAY - timedelta(hours=1))
    AddressQuota.create(**quota, window_start=NOW - 6 * DAY)
    return campaign, {
        "visits": (Visit, old_visits),
        "login_attempts": (LoginAttempt, [old_attempt.id]),
        "sessions": (StaffSession, [expired.id]),
        "referrals": (Referral, old_referrals),
        "invitations": (Invitation, old_invitations),
        "address_counts": (AddressQuota, [old_quota.id]),
    }


def all_rows() -> dict:
    """Every table's rows, as tuples: what must not change."""
    return {model.__name__: sorted(model.select().tuples()) for model in MODELS}


def test_dry_run_counts_and_changes_nothing(app, clock):
    with app.app_context(), db.connection_context():
        _campaign, doomed = build_old_and_new()
        before = all_rows()
        outcomes = retention.purge(DEFAULTS, NOW, dry_run=True)
        assert {o.kind.key: o.rows for o in outcomes} == {
            key: len(ids) for key, (_model, ids) in doomed.items()
        }
        assert all_rows() == before


def test_purge_removes_exactly_the_old_rows_in_batches_and_again_nothing(app, clock):
    with app.app_context(), db.connection_context():
        campaign, doomed = build_old_and_new()
        kept = {
            key: {i for (i,) in model.select(model.id).tuples()} - set(ids)
            for key, (model, ids) in doomed.items()
        }
        shown = figures(campaign)
        outcomes = retention.purge(DEFAULTS, NOW, batch=7)
        assert {o.kind.key: o.rows for o in outcomes} == {k: len(v[1]) for k, v in doomed.items()}
        for key, (model, _ids) in doomed.items():
            assert {i for (i,) in model.select(model.id).tuples()} == kept[key], key
        # The dashboard, whatever the zone, reads the same from the rollup as from the visits.
        assert figures(campaign) == shown
        entry = AuditEntry.get(AuditEntry.action == "data.purge")
        assert '"visits": 60' in entry.detail and entry.staff_id is None

        after = all_rows()
        again = retention.purge(DEFAULTS, NOW, batch=7)
        assert [o.rows for o in again] == [0] * len(retention.PERIODS)
        assert all_rows() == after  # and no second audit entry


def test_only_visits_counted_into_the_rollup_go(app, clock):
    """A campaign nobody looked at since its visits: the purge counts them first."""
    with app.app_context(), db.connection_context():
        campaign = make_campaign()
        add_visits(campaign, [], 200, 20, seed=9)
        add_visits(campaign, [], 100, 20, seed=10)
        assert not VisitHour.select().exists()
        people_scans = Visit.select().where(Visit.agent.in_(HUMAN_AGENTS)).count()
        sent = Visit.select().where(Visit.outcome == "sent").count()
        retention.purge(DEFAULTS, NOW)
        assert Visit.select().count() == 20
        funnel = {s["key"]: s["count"] for s in stats.funnel(campaign)}
        assert (funnel["scans"], funnel["sent"]) == (people_scans, sent)
        assert people_scans > sent > 0


def test_a_campaign_or_channel_whose_counted_visits_were_purged_is_still_kept(app, clock):
    """Deleting is for what holds no figures: the rollup still holds the purged visits'."""
    with app.app_context(), db.connection_context():
        campaign = make_campaign()
        channel = make_channel(campaign)
        Visit.create(
            campaign=campaign.id,
            channel=channel.id,
            visitor="访客",
            agent="wechat",
            ip_hash="h",
            outcome="sent",
            counted_day=(NOW - 200 * DAY).date(),
            created_at=NOW - 200 * DAY,
        )
        retention.purge(DEFAULTS, NOW)
        assert not Visit.select().exists()
        with pytest.raises(lifecycle.KeepInstead) as refused:
            lifecycle.delete_campaign(campaign)
        assert "计入人数的扫码" in str(refused.value)
        with pytest.raises(lifecycle.KeepInstead):
            lifecycle.delete_channel(Channel.get_by_id(channel.id))


@pytest.fixture
def purge_command(app, clock):
    runner = app.test_cli_runner()

    def run(*args):
        return runner.invoke(args=["purge", *args])

    return run


def test_the_command_says_one_line_per_kind_and_dry_run_first(app, purge_command):
    with app.app_context(), db.connection_context():
        build_old_and_new()
        before = all_rows()
    dry = purge_command("--dry-run")
    assert dry.exit_code == 0, dry.output
    lines = dry.output.splitlines()
    assert len(lines) == len(retention.PERIODS) + 1
    assert "Raw scan records: 60 would be deleted" in lines[0]
    assert "nothing was deleted" in lines[-1]
    with app.app_context(), db.connection_context():
        assert all_rows() == before
    done = purge_command()
    assert done.exit_code == 0, done.output
    assert len(done.output.splitlines()) == len(retention.PERIODS)
    assert "Raw scan records: 60 deleted" in done.output
    again = purge_command()
    assert again.exit_code == 0 and "Raw scan records: 0 deleted" in again.output


def test_the_command_speaks_chinese_under_a_chinese_locale(app, purge_command, monkeypatch):
    monkeypatch.setenv("LANGUAGE", "zh_CN")
    result = purge_command("--dry-run")
    assert result.exit_code == 0
    assert "原始扫码记录：将删除 0 条" in result.output


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("QUNBOOK_RETAIN_VISITS_DAYS", "abc"),
        ("QUNBOOK_RETAIN_VISITS_DAYS", "-5"),
        ("QUNBOOK_RETAIN_VISITS_DAYS", "30"),  # shorter than the 90-day chart reads raw
        ("QUNBOOK_RETAIN_VISITS_DAYS", "1.5"),
        ("QUNBOOK_RETAIN_VISITS_DAYS", "true"),
        ("QUNBOOK_RETAIN_VISITS_DAYS", "٣٠٠"),
        ("QUNBOOK_RETAIN_VISITS_DAYS", "99999"),
        ("QUNBOOK_RETAIN_VISITS_DAYS", ""),
        ("QUNBOOK_RETAIN_LOGIN_ATTEMPTS_DAYS", "7"),  # the throttle reads 30 days back
        ("QUNBOOK_RETAIN_SESSIONS_DAYS", "[1]"),
    ],
)
def test_a_bad_period_setting_is_a_message_and_nonzero_exit(tmp_path, monkeypatch, name, value):
    monkeypatch.setenv("QUNBOOK_INSTANCE_DIR", str(tmp_path))
    monkeypatch.setenv(name, value)
    result = CliRunner().invoke(cli, ["purge", "--dry-run"])
    assert result.exit_code == 1
    assert f"{name} is " in result.output and "whole number of days" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not (tmp_path / "qunbook.sqlite3").exists()  # stopped before touching anything


def test_a_period_set_in_the_environment_is_used(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("QUNBOOK_RETAIN_REFERRALS_DAYS", "30")
    app = create_app(make_config(database_url, tmp_path))
    assert app.config["RETAIN_REFERRALS_DAYS"] == 30
    assert app.config["RETAIN_VISITS_DAYS"] == 180


def test_a_database_error_mid_purge_is_a_message_and_nonzero_exit(app, purge_command, monkeypatch):
    from peewee import OperationalError

    def locked(*args, **kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(retention, "_in_batches", locked)
    result = purge_command()
    assert result.exit_code == 1
    assert "The purge did not finish (database is locked)" in result.output
    assert "run qunbook purge again" in result.output
    assert not isinstance(result.exception, OperationalError)
