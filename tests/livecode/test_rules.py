"""The live code's rules, tested without HTTP."""

from datetime import datetime, timedelta

import pytest
from helpers import (
    checked_qr,
    make_campaign,
    make_channel,
    make_group,
    shanghai,
    stored_group,
    stored_groups,
)

from miniapp_api.i18n import speaking
from miniapp_api.livecode import rules as livecode
from miniapp_api.livecode.rules import SetupError, record_scan
from miniapp_api.models import AddressQuota, Campaign, Group, Visit, utcnow


def scan(campaign, visitor="visitor-0000000000000000000001", agent="wechat", **kw):
    return record_scan(campaign.id, None, visitor, agent, "iphash", **kw)


def sent_counts(campaign):
    return [g.sent for g in stored_groups(campaign.groups).order_by(Group.position)]


def test_first_open_group_is_shown_and_counted(app):
    campaign = make_campaign()
    first = make_group(campaign, "一群")
    make_group(campaign, "二群")
    # 17:00 UTC is 01:00 the next day in Shanghai: the day counted is the local one.
    now = utcnow().replace(hour=17, minute=0, second=0, microsecond=0)
    result = scan(campaign, now=now)
    assert result.outcome == "sent"
    assert result.group.id == first.id
    assert sent_counts(campaign) == [1, 0]
    visit = Visit.get_by_id(result.visit_id)
    assert (visit.group_id, visit.outcome, visit.counted_day) == (
        first.id,
        "sent",
        now.date() + timedelta(days=1),
    )


def test_switches_to_next_group_at_its_cutoff(app):
    campaign = make_campaign()
    make_group(campaign, "一群", cutoff=2)
    second = make_group(campaign, "二群", cutoff=2)
    outcomes = [scan(campaign, visitor=f"visitor-{i:024d}") for i in range(4)]
    assert [r.group.name for r in outcomes] == ["一群", "一群", "二群", "二群"]
    assert sent_counts(campaign) == [2, 2]
    assert scan(campaign, visitor="visitor-x" * 3).outcome == "full"
    assert stored_group(second.id).sent == 2


@pytest.mark.parametrize(
    ("qr_age", "overrides"),
    [
        (timedelta(days=7, seconds=1), {}),  # QR expired
        (timedelta(days=7), {}),  # expires exactly now: already unusable
        (None, {}),  # no QR uploaded yet
        (timedelta(days=1), {"active": False}),  # switched off by staff
        (timedelta(days=1), {"sent": 200}),  # at its cut-off
    ],
)
def test_groups_that_cannot_take_people_are_skipped(app, qr_age, overrides):
    campaign = make_campaign()
    now = utcnow()
    skipped = make_group(campaign, "一群", qr_age=None, **overrides)
    if qr_age is not None:
        stored, digest, _ = checked_qr()
        Group.update(qr_image=stored, qr_digest=digest, qr_generated_at=now - qr_age).where(
            Group.id == skipped.id
        ).execute()
    make_group(campaign, "二群")
    result = scan(campaign, now=now)
    assert result.group.name == "二群"
    assert stored_group(skipped.id).sent == overrides.get("sent", 0)


def test_same_visitor_same_day_sees_same_group_and_counts_once(app):
    campaign = make_campaign()
    make_group(campaign, "一群", cutoff=1)
    make_group(campaign, "二群")
    first = scan(campaign)
    again = scan(campaign)
    assert again.outcome == "repeat"
    assert again.group.id == first.group.id  # still theirs, though the group is now at cut-off
    assert sent_counts(campaign) == [1, 0]
    assert Visit.select().count() == 2


def test_same_visitor_next_local_day_counts_again(app):
    campaign = make_campaign()
    make_group(campaign)
    # 23:30 and 00:30 Beijing time are different days, though the same UTC day.
    late = datetime(2026, 11, 20, 15, 30)
    scan(campaign, now=late)
    assert scan(campaign, now=late + timedelta(hours=1)).outcome == "sent"
    assert sent_counts(campaign) == [2]


def test_visitor_whose_group_expired_today_is_moved_not_lost(app):
    campaign = make_campaign()
    # A fixed clock: 10:00 in Shanghai, so two hours later is still the same local day (the
    # real clock failed this between 22:00 and midnight there).
    now = shanghai(1, 10)
    old = make_group(campaign, "一群", qr_age=timedelta(days=6, hours=23), now=now)
    make_group(campaign, "二群", now=now)
    scan(campaign, now=now)
    later = scan(campaign, now=now + timedelta(hours=2))
    assert later.outcome == "moved"
    assert later.group.name == "二群"
    assert stored_group(old.id).sent == 1
    # Counted once as a person (one counted_day row), sent to two groups.
    assert Visit.select().where(Visit.counted_day.is_null(False)).count() == 1


@pytest.mark.parametrize("agent", ["bot", "preview"])
def test_bots_and_previews_are_recorded_not_counted(app, agent):
    campaign = make_campaign()
    group = make_group(campaign)
    result = scan(campaign, agent=agent)
    assert result.outcome == "bot"
    assert result.group.id == group.id
    assert stored_group(group.id).sent == 0
    visit = Visit.get_by_id(result.visit_id)
    assert (visit.agent, visit.counted_day) == (agent, None)


def test_no_open_group_flags_campaign_once_and_fresh_qr_clears_it(app):
    campaign = make_campaign()
    now = utcnow()
    group = make_group(campaign, cutoff=1, now=now)
    scan(campaign, visitor="visitor-aaaaaaaaaaaaaaaaaaaaaa", now=now)
    first_full = scan(campaign, visitor="visitor-bbbbbbbbbbbbbbbbbbbbbb", now=now)
    assert first_full.outcome == "full" and first_full.group is None
    assert Campaign.get_by_id(campaign.id).all_full_since == now
    scan(campaign, visitor="visitor-cccccccccccccccccccccc", now=now + timedelta(minutes=5))
    assert Campaign.get_by_id(campaign.id).all_full_since == now  # flagged once, not moved
    stored, digest, payload = checked_qr()
    livecode.set_group_qr(group, stored, digest, payload, utcnow())
    assert Campaign.get_by_id(campaign.id).all_full_since is None


def test_race_on_same_visitor_gives_the_place_back(app, monkeypatch):
    """Two requests from one visitor: the loser of the unique index must not keep a place."""
    campaign = make_campaign()
    group = make_group(campaign)
    first = scan(campaign, address_limit=5)
    # Make the second request miss the counted visit, as a concurrent request would.
    monkeypatch.setattr(livecode, "_counted_today_showable", lambda *args: (False, None))
    second = scan(campaign, address_limit=5)
    assert second.outcome == "repeat"
    assert second.group.id == first.group.id
    assert stored_group(group.id).sent == 1
    assert [v.outcome for v in Visit.select().order_by(Visit.id)] == ["sent", "repeat"]
    assert AddressQuota.get().taken == 1  # nor a place of its address


@pytest.fixture
def transactions(monkeypatch):
    """How many transactions the database was asked to begin."""
    from miniapp_api.db import db

    begun = []
    begin = db.obj.begin
    monkeypatch.setattr(db.obj, "begin", lambda *a, **k: begun.append(1) or begin(*a, **k))
    return begun


def test_a_new_person_is_counted_without_a_transaction_unless_a_step_is_undone(app, transactions):
    """PostgreSQL counts a new person in one statement (no BEGIN, no COMMIT); one whose count
    must be undone goes through the transaction that undoes it step by step, and the stopped
    statement left nothing behind."""
    from miniapp_api.db import is_sqlite

    campaign = make_campaign()
    group = make_group(campaign)
    transactions.clear()
    first = scan(campaign, visitor="visitor-一号" + "0" * 20, address_limit=1)
    assert first.outcome == "sent" and stored_group(group.id).sent == 1
    assert len(transactions) == (1 if is_sqlite() else 0)
    limited = scan(campaign, visitor="visitor-二号" + "0" * 20, address_limit=1)
    assert limited.outcome == "limited" and stored_group(group.id).sent == 1
    assert len(transactions) == (2 if is_sqlite() else 1)
    quota = AddressQuota.get()
    assert (quota.taken, quota.refused) == (1, 1)
    assert [v.outcome for v in Visit.select().order_by(Visit.id)] == ["sent", "limited"]


@pytest.mark.parametrize(
    ("slug", "title", "message"),
    [
        ("门店", "门店会员群", "not usable in a link"),
        ("Store 2026", "门店会员群", "not usable in a link"),
        ("", "门店会员群", "not usable in a link"),
        ("a" * 65, "门店会员群", "not usable in a link"),
        ("store", "", "title of 1–120"),
        ("store", "长" * 121, "title of 1–120"),
    ],
)
def test_campaign_input_is_checked(app, slug, title, message):
    with speaking("en"), pytest.raises(SetupError, match=message):
        livecode.create_campaign(slug, title)
    assert Campaign.select().count() == 0


def test_duplicate_slug_is_refused_by_the_database(app):
    make_campaign(slug="store")
    with speaking("en"), pytest.raises(SetupError, match="exists already"):
        make_campaign(slug="store")
    assert Campaign.select().count() == 1


@pytest.mark.parametrize(
    ("code", "label"),
    [
        ("门店", "门店前台"),
        ("a b", "门店前台"),
        ("x" * 33, "门店前台"),
        ("ok", ""),
        ("ok", "长" * 61),
    ],
)
def test_channel_input_is_checked(app, code, label):
    campaign = make_campaign()
    with pytest.raises(SetupError):
        livecode.add_channel(campaign, code, label)
    assert campaign.channels.count() == 0


def test_duplicate_channel_code_is_refused(app):
    campaign = make_campaign()
    make_channel(campaign, "counter")
    with speaking("en"), pytest.raises(SetupError, match="exists already"):
        make_channel(campaign, "counter", "另一个前台")


@pytest.mark.parametrize("cutoff", [0, -5, "200"])
def test_group_cutoff_must_be_a_positive_whole_number(app, cutoff):
    campaign = make_campaign()
    with speaking("en"), pytest.raises(SetupError, match="cut-off"):
        livecode.add_group(campaign, "宝妈群", cutoff=cutoff)


@pytest.mark.parametrize(
    ("age", "message"),
    [(timedelta(days=8), "more than 7 days old"), (-timedelta(days=1), "in the future")],
)
def test_unusable_qr_dates_are_refused_and_nothing_stored(app, age, message):
    campaign = make_campaign()
    group = make_group(campaign, qr_age=None)
    stored, digest, payload = checked_qr()
    with speaking("en"), pytest.raises(SetupError, match=message):
        livecode.set_group_qr(group, stored, digest, payload, utcnow() - age)
    assert Group.get_by_id(group.id).qr_image is None


def test_join_url_carries_channel():
    assert livecode.join_url("https://a.cn/", "demo", "counter") == "https://a.cn/j/demo?c=counter"
    assert livecode.join_url("https://a.cn", "demo") == "https://a.cn/j/demo"


def test_the_live_code_lookup_reads_a_visitors_count_today(app, monkeypatch):
    """One query for a repeat visitor: the campaign and whether they were counted today,
    with the group that still takes them; record_scan then asks nothing more."""
    campaign = make_campaign(slug="store")
    group = make_group(campaign, "一群")
    amy, ben = "visitor-aaaaaaaaaaaaaaaaaaaaaa", "visitor-bbbbbbbbbbbbbbbbbbbbbb"
    now = utcnow()
    assert livecode.find_live_code("store", None, amy, now)[0].counted_today == (False, None)
    assert livecode.find_live_code("store", None, None, now)[0].counted_today is None
    scan(campaign, visitor=amy, now=now)

    found, _channel = livecode.find_live_code("store", None, amy, now)
    counted, showable = found.counted_today
    assert counted and (showable.id, showable.name) == (group.id, "一群")
    # Another visitor's count is not theirs; the next local day starts afresh.
    assert livecode.find_live_code("store", None, ben, now)[0].counted_today == (False, None)
    tomorrow = now + timedelta(days=1)
    assert livecode.find_live_code("store", None, amy, tomorrow)[0].counted_today == (False, None)
    # Counted, but the group no longer takes them (switched off): moved on their next scan.
    Group.update(active=False).where(Group.id == group.id).execute()
    assert livecode.find_live_code("store", None, amy, now)[0].counted_today == (True, None)
    Group.update(active=True).where(Group.id == group.id).execute()

    def no_second_read(*args):
        raise AssertionError("the count today was read already")

    monkeypatch.setattr(livecode, "_counted_today_showable", no_second_read)
    again = scan(campaign, visitor=amy, now=now, counted_today=found.counted_today)
    assert (again.outcome, again.group.id) == ("repeat", group.id)
    assert stored_group(group.id).sent == 1
