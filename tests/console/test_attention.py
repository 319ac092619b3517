"""Needs attention: the list behind the console page and `qunbook attention` (fit for cron)."""

from datetime import timedelta

import pytest
from helpers import make_campaign, make_group
from playhouse.test_utils import count_queries

from miniapp_api.console.attention import count_by_campaign, group_state, needs_attention
from miniapp_api.models import Campaign, Group, utcnow


def _kinds(**kw):
    return {(a["kind"], a["campaign"], a["group"]) for a in needs_attention(**kw)}


def test_each_kind_is_listed_and_a_healthy_campaign_is_not(app):
    ok = make_campaign(slug="ok")
    make_group(ok, "正常群")
    store = make_campaign(slug="store")
    make_group(store, "快过期", qr_age=timedelta(days=6, hours=1))
    make_group(store, "没码", qr_age=None)
    make_group(store, "快满", sent=185)
    full = make_campaign(slug="full")
    make_group(full, "过期", qr_age=timedelta(days=8))
    items = needs_attention()
    assert {(a["kind"], a["campaign"], a["group"]) for a in items} == {
        ("qr-expiring", "store", "快过期"),
        ("no-qr", "store", "没码"),
        ("near-cutoff", "store", "快满"),
        ("qr-expired", "full", "过期"),
        ("no-open-group", "full", ""),
    }
    assert all(
        set(a) == {"kind", "campaign", "group", "message", "cause"} and a["message"] for a in items
    )
    assert [a["campaign"] for a in items] == sorted(a["campaign"] for a in items)
    assert count_by_campaign(items)["store"] == {"qr-expiring": 1, "no-qr": 1, "near-cutoff": 1}


@pytest.mark.parametrize(
    ("age", "listed"),
    [
        (timedelta(days=4, hours=23), False),  # expires in 49 hours
        (timedelta(days=5), True),  # exactly 48 hours left
        (timedelta(days=6, hours=23), True),
        (timedelta(days=7), False),  # expired: listed as qr-expired instead
    ],
)
def test_expiry_warning_starts_48_hours_before(app, age, listed):
    now = utcnow()
    make_group(make_campaign(slug="store"), "群", qr_age=age, now=now)
    assert (("qr-expiring", "store", "群") in _kinds(now=now)) is listed


def test_now_decides_what_is_expiring(app):
    now = utcnow()
    make_group(make_campaign(slug="store"), "群", qr_age=timedelta(days=1), now=now)
    assert _kinds(now=now) == set()
    assert _kinds(now=now + timedelta(days=4) - timedelta(microseconds=1)) == set()
    assert ("qr-expiring", "store", "群") in _kinds(now=now + timedelta(days=4))  # 48 h left
    later = _kinds(now=now + timedelta(days=6))  # the QR's seventh day is over
    assert {("qr-expired", "store", "群"), ("no-open-group", "store", "")} <= later


@pytest.mark.parametrize(
    ("sent", "listed", "word"), [(179, False, ""), (180, True, "快满了"), (200, True, "已满")]
)
def test_groups_at_90_percent_of_their_cutoff(app, sent, listed, word):
    campaign = make_campaign(slug="store")
    make_group(campaign, "一群", sent=sent)
    make_group(campaign, "二群")  # keeps the campaign open
    near = [a for a in needs_attention() if a["kind"] == "near-cutoff"]
    assert bool(near) is listed
    if listed:
        assert near[0]["group"] == "一群" and f"{sent}/200" in near[0]["message"]
        assert word in near[0]["message"]


def test_switched_off_groups_are_not_nagged_about_but_leave_no_open_group(app):
    campaign = make_campaign(slug="store")
    make_group(campaign, "停用群", qr_age=None, active=False, sent=200)
    assert _kinds() == {("no-open-group", "store", "")}


def test_campaign_without_groups_or_flagged_full_needs_attention(app):
    make_campaign(slug="empty")
    reopened = make_campaign(slug="reopened")
    make_group(reopened, "新群")
    Campaign.update(all_full_since=utcnow() - timedelta(hours=2)).where(
        Campaign.slug == "reopened"
    ).execute()
    items = {a["campaign"]: a for a in needs_attention()}
    assert items["empty"]["kind"] == "no-open-group"
    assert items["reopened"]["kind"] == "no-open-group"
    assert "满员" in items["reopened"]["message"]


def test_group_state_words(app):
    campaign = make_campaign(slug="store")
    now = utcnow()
    cases = {
        "开着": make_group(campaign, "a", qr_age=timedelta(days=7, microseconds=-1), now=now),
        "已满": make_group(campaign, "b", sent=200, now=now),
        "没有二维码": make_group(campaign, "c", qr_age=None),
        "二维码已过期": make_group(campaign, "d", qr_age=timedelta(days=7), now=now),
        "停用": make_group(campaign, "e", active=False, now=now),
    }
    assert {state: group_state(g, now) for state, g in cases.items()} == {s: s for s in cases}


def test_six_queries_however_many_campaigns_and_groups(app):
    make_group(make_campaign(slug="a"), "群", qr_age=None)
    with count_queries() as small:
        needs_attention()
    for i in range(5):
        campaign = make_campaign(slug=f"more-{i}")
        for j in range(3):
            make_group(campaign, f"群{j}", qr_age=timedelta(days=6, hours=j))
    with count_queries() as large:
        assert len(needs_attention()) >= 15
    # groups, open groups, campaigns, addresses, events, rewards
    assert small.count == large.count == 6


# ---------------------------------------------------------------- CLI


def test_attention_command_exit_code_fits_cron(runner):
    make_group(make_campaign(slug="ok"))
    result = runner.invoke(args=["attention"])
    assert result.exit_code == 0
    assert "Nothing needs attention." in result.output
    make_group(make_campaign(slug="store"), "没码", qr_age=None)
    result = runner.invoke(args=["attention"])
    assert result.exit_code == 1
    # The command line speaks its locale's language (English in the suite); the group's name
    # is content and stays as written.
    assert "[no-qr] store 没码: No group QR code uploaded yet" in result.output
    Group.update(active=False).where(Group.name == "没码").execute()
    result = runner.invoke(args=["attention"])
    assert result.exit_code == 1
    assert "[no-open-group] store:" in result.output


# ---------------------------------------------------------------- console page


def test_console_page_lists_items_for_any_role(client, login_as):
    make_group(make_campaign(slug="store"), "没码", qr_age=None)
    login_as("trainer")
    page = client.get("/console/attention").get_data(as_text=True)
    assert "没码" in page and "没有二维码" in page and 'href="/console/campaigns/store"' in page
    assert "qunbook attention" in page


def test_console_page_says_when_all_is_well(client, login_as):
    make_group(make_campaign(slug="store"))
    login_as("operator")
    assert "一切正常" in client.get("/console/attention").get_data(as_text=True)
