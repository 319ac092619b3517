"""Referral fission: sign-up, two-level attribution, reward tiers and anti-cheating rules."""

from datetime import timedelta

import pytest
from helpers import make_campaign, make_staff, sent_to_group

from miniapp_api.models import Member, Referral, Reward, utcnow
from miniapp_api.referrals import rules as referrals
from miniapp_api.referrals.rules import ReferralError


def make_program(campaign=None, tiers=((3, "9 折券"), (10, "定制帆布袋")), **settings):
    campaign = campaign or make_campaign(slug="fission", title="老带新")
    settings.setdefault("max_per_hour", 1000)
    settings.setdefault("max_per_day", 1000)
    referrals.set_up_program(campaign, tiers=tiers, **settings)
    return campaign


def join(campaign, visitor, code=None, *, nickname=None, agent="wechat", ip="ip-", sent=True, **kw):
    """Sign up as a friend does: sent to a group by the live code first (sent=False: not)."""
    if sent:
        sent_to_group(campaign.id, visitor, kw.get("now"))
    return referrals.sign_up(
        campaign.id,
        nickname=nickname or f"会员{visitor}",
        visitor=visitor,
        agent=agent,
        ip_hash=kw.pop("ip_hash", f"{ip}{visitor}"),
        referrer_code=code,
        **kw,
    )


def fresh(member):
    return Member.get_by_id(member.id)


def test_sign_up_gives_a_personal_code_and_a_returning_member_the_same_membership(app):
    campaign = make_program()
    first = join(campaign, "v-阿花", phone_hash="h-138")
    assert first.created and referrals.MEMBER_CODE.match(first.member.code)
    again = join(campaign, "v-阿花")
    assert (again.member.id, again.created) == (first.member.id, False)
    # A cleared cookie, the same phone: the membership comes back, on this browser now.
    by_phone = join(campaign, "v-new-cookie", phone_hash="h-138")
    assert (by_phone.member.id, by_phone.created) == (first.member.id, False)
    assert fresh(first.member).visitor == "v-new-cookie"
    assert Member.select().count() == 1


def test_friend_counts_for_the_member_and_for_the_members_referrer(app):
    campaign = make_program()
    root = join(campaign, "root").member
    mid = join(campaign, "mid", root.code).member
    leaf = join(campaign, "leaf", mid.code)
    assert leaf.status == "counted"
    assert fresh(mid).referrals == 1 and fresh(mid).second_level == 0
    assert fresh(root).referrals == 1 and fresh(root).second_level == 1
    assert fresh(leaf.member).referrer_id == mid.id
    levels = {(r.referrer_id, r.level) for r in Referral.select()}
    assert levels == {(root.id, 1), (mid.id, 1), (root.id, 2)}


@pytest.mark.parametrize("agent", ["bot", "preview"])
def test_bots_and_link_previews_never_count(app, agent):
    campaign = make_program()
    member = join(campaign, "m").member
    result = join(campaign, "crawler", member.code, agent=agent)
    assert (result.status, result.reason) == ("refused", "bot")
    assert fresh(member).referrals == 0


def test_self_referral_is_refused_by_cookie_and_by_phone(app):
    campaign = make_program()
    member = join(campaign, "me", phone_hash="h-1").member
    assert join(campaign, "me", member.code).reason == "self"
    assert join(campaign, "other-browser", member.code, phone_hash="h-1").reason == "self"
    assert fresh(member).referrals == 0
    assert [r.reason for r in Referral.select()] == ["self", "self"]


def test_an_existing_member_is_never_a_new_friend_so_no_cycle_can_form(app):
    campaign = make_program()
    a = join(campaign, "a").member
    b = join(campaign, "b", a.code).member
    back = join(campaign, "a", b.code)  # a scans b's poster: a was there first
    assert (back.status, back.reason) == ("refused", "member")
    assert fresh(b).referrals == 0 and fresh(a).referrer_id is None


def test_a_person_counts_once_even_through_two_posters(app):
    campaign = make_program()
    a, b = join(campaign, "a").member, join(campaign, "b").member
    friend = join(campaign, "friend", a.code)
    assert friend.status == "counted"
    second = join(campaign, "friend", b.code)
    assert second.reason == "member"
    assert (fresh(a).referrals, fresh(b).referrals) == (1, 0)


def test_each_tier_is_issued_exactly_once(app):
    campaign = make_program(tiers=((2, "券"), (3, "礼")))
    member = join(campaign, "m").member
    for i in range(5):
        join(campaign, f"f{i}", member.code)
    rewards = sorted((r.key, r.name) for r in Reward.select().where(Reward.member == member.id))
    assert rewards == [("tier:2", "券"), ("tier:3", "礼")]
    assert len({r.code for r in Reward.select()}) == 2


def test_double_sided_rewards_go_to_the_friend_who_counts(app):
    campaign = make_program(friend_reward="新人券")
    member = join(campaign, "m").member
    friend = join(campaign, "f", member.code).member
    assert [r.name for r in friend.rewards] == ["新人券"]
    assert list(join(campaign, "bot", member.code, agent="bot").member.rewards) == []


def test_velocity_holds_referrals_until_staff_approve(app):
    campaign = make_program(max_per_hour=2, tiers=((3, "券"),))
    member = join(campaign, "m").member
    statuses = [join(campaign, f"f{i}", member.code).status for i in range(4)]
    assert statuses == ["counted", "counted", "held", "held"]
    assert fresh(member).referrals == 2
    held = list(Referral.select().where((Referral.status == "held") & (Referral.level == 1)))
    assert {r.reason for r in held} == {"velocity"}
    admin = make_staff("admin", "admin")
    referrals.decide(held[0].id, True, admin)
    referrals.decide(held[0].id, True, admin)  # a second click changes nothing
    referrals.decide(held[1].id, False, admin)
    assert fresh(member).referrals == 3
    assert [r.key for r in Reward.select().where(Reward.member == member.id)] == ["tier:3"]
    assert Referral.get_by_id(held[1].id).status == "rejected"


def test_an_hour_later_the_velocity_window_has_moved_on(app):
    campaign = make_program(max_per_hour=1)
    member = join(campaign, "m").member
    start = utcnow()
    assert join(campaign, "f1", member.code, now=start).status == "counted"
    assert join(campaign, "f2", member.code, now=start + timedelta(minutes=30)).status == "held"
    assert join(campaign, "f3", member.code, now=start + timedelta(minutes=91)).status == "counted"


def test_a_shared_address_is_flagged_never_blocked(app):
    campaign = make_program()
    member = join(campaign, "m", ip_hash="same-wifi").member
    result = join(campaign, "f", member.code, ip_hash="same-wifi")
    assert (result.status, result.reason) == ("counted", "shared_ip")
    assert fresh(member).referrals == 1


def test_unknown_or_malformed_codes_just_sign_up(app):
    campaign = make_program()
    for code in ("nope", "ZZZZZZZZ", "' OR 1=1 --", "阿花阿花阿花阿花"):
        result = join(campaign, f"v{code}", code)
        assert result.created and result.status is None
    assert Referral.select().count() == 0


def test_campaign_without_a_programme_has_no_sign_up(app):
    with pytest.raises(ReferralError):
        join(make_campaign(), "v")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("138 0013 8000", "13800138000"), ("+86 138-0013-8000", "13800138000"), ("", None)],
)
def test_phone_numbers_are_normalised(text, expected):
    assert referrals.clean_phone(text) == expected


@pytest.mark.parametrize("text", ["12345", "23800138000", "138001380001", "电话", "1380013800x"])
def test_bad_phone_numbers_are_refused_with_an_example(text):
    with pytest.raises(ReferralError, match="13800138000"):
        referrals.clean_phone(text)


@pytest.mark.parametrize(
    ("name", "masked"),
    [("阿花", "阿*"), ("王小明", "王*明"), ("Z", "*"), ("快乐的小红", "快***红")],
)
def test_leaderboard_names_are_partly_masked(name, masked):
    assert referrals.mask_nickname(name) == masked


def test_leaderboard_ranks_by_counted_referrals(app):
    campaign = make_program()
    a = join(campaign, "a", nickname="王小明").member
    b = join(campaign, "b", nickname="李大红").member
    for i in range(2):
        join(campaign, f"fa{i}", a.code)
    join(campaign, "fb", b.code)
    assert referrals.leaderboard(campaign.id, 10) == [
        {"nickname": "王*明", "referrals": 2},
        {"nickname": "李*红", "referrals": 1},
    ]


def test_the_friend_referral_template_sets_up_its_programme(app):
    from miniapp_api import playbooks

    campaign = playbooks.create_from_template("friend-referral", "laodaixin")
    program = referrals.program_of(campaign.id)
    assert (program.count_on, program.friend_reward, program.max_per_hour) == (
        "signup",
        "新人券",
        10,
    )
    assert [(t.threshold, t.reward) for t in referrals.tiers_of(campaign.id)] == [
        (3, "9 折券"),
        (10, "定制帆布袋"),
    ]


def test_changing_settings_without_tiers_keeps_the_tiers(app):
    campaign = make_program(tiers=((3, "券"),))
    referrals.set_up_program(campaign, leaderboard_size=0)
    assert [(t.threshold, t.reward) for t in referrals.tiers_of(campaign.id)] == [(3, "券")]
    referrals.set_up_program(campaign, tiers=[])
    assert referrals.tiers_of(campaign.id) == []
