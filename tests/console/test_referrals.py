"""Staff's side of referral fission: settings and tiers, referrals with status and reason,
approving held ones, marking rewards redeemed, CSV exports, and the trainer's read-only view."""

import csv
import io

import pytest
from helpers import make_campaign, sent_to_group
from playhouse.test_utils import count_queries

from miniapp_api.console.views.referrals import parse_tiers
from miniapp_api.models import AuditEntry, Member, Referral, Reward
from miniapp_api.referrals import rules as referrals


def befriend(campaign, root, visitor, nickname, agent="wechat"):
    sent_to_group(campaign.id, visitor)
    return referrals.sign_up(
        campaign.id, nickname=nickname, visitor=visitor, agent=agent, referrer_code=root.code
    )


def seed(max_per_hour=2):
    campaign = make_campaign(slug="fission", title="老带新")
    referrals.set_up_program(campaign, tiers=[(2, "9 折券")], max_per_hour=max_per_hour)
    root = referrals.sign_up(campaign.id, nickname="陈店长", visitor="root", agent="wechat").member
    for i in range(4):  # two count, two are held by the hourly limit
        befriend(campaign, root, f"f{i}", f"朋友{i}")
    befriend(campaign, root, "bot", "爬虫", agent="bot")
    return campaign, root


def test_settings_create_the_programme_and_its_tiers(login_as):
    staff = login_as("operator")
    make_campaign(slug="store")
    response = staff.post(
        "/console/campaigns/store/referrals/settings",
        {
            "count_on": "signup",
            "tiers": "3 9 折券\n10 位：定制帆布袋\n",
            "friend_reward": "新人券",
            "max_per_hour": "5",
            "leaderboard_size": "20",
        },
        page="/console/campaigns/store/referrals",
    )
    assert response.status_code == 302
    program = referrals.ReferralProgram.get()
    assert (program.max_per_hour, program.leaderboard_size, program.friend_reward) == (
        5,
        20,
        "新人券",
    )
    assert [(t.threshold, t.reward) for t in referrals.tiers_of(program.campaign_id)] == [
        (3, "9 折券"),
        (10, "定制帆布袋"),
    ]
    assert AuditEntry.get(AuditEntry.action == "referral.settings").target == "campaign:store"


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"tiers": "三个人 券"}, "第 1 行"),
        ({"tiers": "٣ 券"}, "第 1 行"),  # Arabic-Indic three: not read as 3
        ({"tiers": "3 券\n3 礼"}, "人数相同"),
        ({"count_on": "always"}, "计数方式"),
    ],
)
def test_bad_settings_are_refused_and_nothing_changes(client, login_as, form, message):
    staff = login_as("operator")
    make_campaign(slug="store")
    response = staff.post(
        "/console/campaigns/store/referrals/settings",
        form,
        page="/console/campaigns/store/referrals",
    )
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert "没有保存" in page and message in page
    assert referrals.ReferralProgram.select().count() == 0


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"max_per_hour": "0"}, "「每人每小时最多计入」要填 1 到 10000 之间的整数"),
        ({"max_per_hour": "很多"}, "「每人每小时最多计入」要填 1 到 10000 之间的整数"),
        ({"leaderboard_size": "-1"}, "「排行榜显示前几名」要填 0 到 10000 之间的整数"),
        ({"leaderboard_size": "²"}, "「排行榜显示前几名」要填 0 到 10000 之间的整数"),
    ],
)
def test_a_number_that_is_not_one_is_a_400_page_and_nothing_changes(login_as, form, message):
    staff = login_as("operator")
    make_campaign(slug="store")
    response = staff.post(
        "/console/campaigns/store/referrals/settings",
        {"tiers": "3 九折券", **form},
        page="/console/campaigns/store/referrals",
    )
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert referrals.ReferralProgram.select().count() == 0


def test_the_list_shows_status_and_reason_and_filters(client, login_as):
    login_as("trainer")
    seed()
    page = client.get("/console/campaigns/fission/referrals").get_data(as_text=True)
    assert "已计数 2" in page and "待确认 2" in page and "不计数 1" in page
    assert "一小时内推荐太多" in page and "机器人或链接预览" in page
    assert "计入</button>" not in page  # trainers see, never change
    held = client.get("/console/campaigns/fission/referrals?status=held").get_data(as_text=True)
    assert held.count("data-referral=") == 2


def test_approving_a_held_referral_counts_it_once_and_issues_the_tier(client, login_as):
    staff = login_as("operator")
    _, root = seed()
    held = Referral.select().where((Referral.status == "held") & (Referral.level == 1)).first()
    url = f"/console/campaigns/fission/referrals/{held.id}/decide"
    page = "/console/campaigns/fission/referrals?status=held"
    assert staff.post(url, {"decision": "approve"}, page=page).status_code == 302
    staff.post(url, {"decision": "approve"}, page=page)  # a second click changes nothing
    assert Member.get_by_id(root.id).referrals == 3
    assert Reward.select().where(Reward.member == root.id).count() == 1
    assert AuditEntry.select().where(AuditEntry.action == "referral.approve").count() == 1
    other = Referral.select().where(Referral.status == "held").first()
    staff.post(
        f"/console/campaigns/fission/referrals/{other.id}/decide", {"decision": "reject"}, page=page
    )
    assert Referral.get_by_id(other.id).status == "rejected"
    assert Member.get_by_id(root.id).referrals == 3


def test_redeeming_a_reward_is_recorded_once(client, login_as):
    staff = login_as("operator")
    seed()
    reward = Reward.get()
    url = f"/console/campaigns/fission/rewards/{reward.id}/redeem"
    staff.post(url, page="/console/campaigns/fission/referrals")
    first = Reward.get_by_id(reward.id).redeemed_at
    staff.post(url, page="/console/campaigns/fission/referrals")
    assert first is not None and Reward.get_by_id(reward.id).redeemed_at == first
    assert AuditEntry.select().where(AuditEntry.action == "reward.redeem").count() == 1


def test_other_campaigns_records_are_404(client, login_as):
    staff = login_as("operator")
    seed()
    other = make_campaign(slug="other")
    referrals.set_up_program(other)
    reward, referral = Reward.get(), Referral.get()
    page = "/console/campaigns/other/referrals"
    assert (
        staff.post(f"/console/campaigns/other/rewards/{reward.id}/redeem", page=page).status_code
        == 404
    )
    response = staff.post(
        f"/console/campaigns/other/referrals/{referral.id}/decide",
        {"decision": "approve"},
        page=page,
    )
    assert response.status_code == 404
    assert Reward.get_by_id(reward.id).redeemed_at is None


def test_trainers_cannot_change_anything(client, login_as):
    staff = login_as("trainer")
    seed()
    held = Referral.get(Referral.status == "held")
    page = "/console/campaigns/fission/referrals"
    for url, data in [
        (f"/console/campaigns/fission/referrals/{held.id}/decide", {"decision": "approve"}),
        (f"/console/campaigns/fission/rewards/{Reward.get().id}/redeem", {}),
        ("/console/campaigns/fission/referrals/settings", {"tiers": "1 券"}),
    ]:
        assert staff.post(url, data, page=page).status_code == 403
    assert Referral.get_by_id(held.id).status == "held"


@pytest.mark.parametrize(("role", "shown"), [("trainer", False), ("operator", True)])
def test_reward_codes_are_for_staff_who_hand_rewards_over(client, login_as, role, shown):
    login_as(role)
    seed()
    code = Reward.get().code
    page = client.get("/console/campaigns/fission/referrals").get_data(as_text=True)
    exported = client.get("/console/campaigns/fission/rewards.csv").data.decode("utf-8-sig")
    assert (code in page, code in exported, "兑换码" in exported) == (shown, shown, shown)
    if not shown:
        assert "仅运营可见" in page


def test_csv_exports_carry_nicknames_never_keys_or_hashes(client, login_as):
    login_as("trainer")
    campaign = make_campaign(slug="fission")
    referrals.set_up_program(campaign)
    root = referrals.sign_up(
        campaign.id, nickname="=HYPERLINK(\"x\")", visitor="secret-visitor",
        agent="wechat", ip_hash="secret-ip", phone_hash="secret-phone",
    ).member  # fmt: skip
    sent_to_group(campaign.id, "friend-visitor")
    referrals.sign_up(
        campaign.id, nickname="朋友", visitor="friend-visitor", agent="wechat",
        ip_hash="friend-ip", referrer_code=root.code,
    )  # fmt: skip
    for url in (
        "/console/campaigns/fission/referrals.csv",
        "/console/campaigns/fission/rewards.csv",
    ):
        response = client.get(url)
        assert response.status_code == 200 and response.mimetype == "text/csv"
        text = response.data.decode("utf-8-sig")
        assert response.data.startswith(b"\xef\xbb\xbf")
        for secret in ("secret-visitor", "secret-ip", "secret-phone", "friend-visitor"):
            assert secret not in text
    rows = list(
        csv.reader(
            io.StringIO(
                client.get("/console/campaigns/fission/referrals.csv").data.decode("utf-8-sig")
            )
        )
    )
    assert rows[0] == ["时间", "推荐人", "推荐码", "朋友", "级别", "状态", "原因"]
    assert rows[1][1].startswith("'=HYPERLINK")  # a formula is quoted, never run
    assert rows[1][3:6] == ["朋友", "1", "已计数"]


def test_a_campaign_without_a_programme_offers_to_set_one_up(client, login_as):
    login_as("operator")
    make_campaign(slug="store")
    page = client.get("/console/campaigns/store/referrals").get_data(as_text=True)
    assert "还没有开推荐" in page and 'name="tiers"' in page
    assert client.get("/console/campaigns/store/referrals.csv").status_code == 404


@pytest.mark.parametrize(
    ("text", "tiers"),
    [
        ("3 9 折券", [(3, "9 折券")]),
        ("10 位：帆布袋\n\n3人→券", [(10, "帆布袋"), (3, "券")]),
        ("", []),
    ],
)
def test_tier_lines_are_read_the_way_staff_write_them(text, tiers):
    assert parse_tiers(text) == tiers


def test_the_referral_list_costs_the_same_queries_however_many_rows(client, login_as):
    login_as("operator")
    campaign, root = seed(max_per_hour=1000)
    with count_queries(only_select=True) as small:
        assert client.get("/console/campaigns/fission/referrals").status_code == 200
    for i in range(30):
        befriend(campaign, root, f"n{i}", f"新朋友{i}")
    with count_queries(only_select=True) as large:
        assert client.get("/console/campaigns/fission/referrals").status_code == 200
    assert large.count == small.count


def test_paging_keeps_the_status_filter(client, login_as):
    login_as("operator")
    campaign, root = seed(max_per_hour=1)
    for i in range(60):  # all held: the first page has 50, the second the rest
        befriend(campaign, root, f"n{i}", f"新朋友{i}")
    page = client.get("/console/campaigns/fission/referrals?status=held").get_data(as_text=True)
    assert 'href="/console/campaigns/fission/referrals?status=held&amp;page=2"' in page
