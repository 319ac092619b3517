"""Referrals that resist farming: a friend counts once sent to a group, a member gets at most
her daily limit without staff, and the referrer's own device coming back is held."""

import re
from datetime import timedelta

from helpers import make_campaign, make_group, make_staff, sent_to_group, shanghai

from miniapp_api.livecode.rules import record_scan
from miniapp_api.models import Member, Referral, Reward
from miniapp_api.referrals import rules as referrals
from miniapp_api.referrals.rules import Signals

NOW = shanghai(1, 10)
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) MicroMessenger/8.0.50 NetType/WIFI"
HER_PHONE = "Mozilla/5.0 (Linux; Android 14; V2309A) MicroMessenger/8.0.49 NetType/4G"


def make_program(**settings):
    campaign = make_campaign(slug="fission", title="老带新")
    make_group(campaign, "老带新1群", cutoff=10_000, qr_generated_at=NOW - timedelta(hours=1))
    settings.setdefault("max_per_hour", 1000)
    referrals.set_up_program(campaign, tiers=[(3, "9 折券"), (10, "帆布袋")], **settings)
    return campaign


def referrer(campaign, *, device="她的手机", ip="她家", at=NOW - timedelta(days=3)):
    return referrals.sign_up(
        campaign.id,
        nickname="阿花",
        visitor="amy",
        agent="wechat",
        ip_hash=ip,
        device_hash=device,
        now=at,
    ).member


def friend(campaign, amy, n, *, device=None, ip=None, now=NOW, sent=True):
    visitor = f"friend-{n}"
    if sent:
        sent_to_group(campaign.id, visitor, now)
    return referrals.sign_up(
        campaign.id,
        nickname=f"朋友{n}",
        visitor=visitor,
        agent="wechat",
        ip_hash=ip or f"网络{n}",
        device_hash=device or f"手机{n}",
        referrer_code=amy.code,
        now=now,
    )


def test_a_friend_who_only_signed_up_waits_until_the_live_code_sends_them(app):
    campaign = make_program()
    amy = referrer(campaign)
    joined = friend(campaign, amy, 1, sent=False)
    assert (joined.status, joined.reason) == ("pending", "not_joined")
    assert Member.get_by_id(amy.id).referrals == 0
    assert referrals.progress(joined.member)["waiting_for_group"]

    # The friend scans the poster: the live code sends them, and the referral counts now.
    scan = record_scan(campaign.id, None, "friend-1", "wechat", "网络1", now=NOW)
    assert scan.outcome == "sent"
    settled = referrals.settle_pending(campaign.id, "friend-1", "wechat", Signals("网络1", "手机1"))
    assert settled == ("counted", "")
    assert Member.get_by_id(amy.id).referrals == 1
    assert Member.get_by_id(joined.member.id).referrer_id == amy.id
    assert not referrals.progress(joined.member)["waiting_for_group"]
    # Settled once: a second call finds nothing waiting.
    assert referrals.settle_pending(campaign.id, "friend-1", "wechat", Signals()) is None
    assert Referral.select().where(Referral.level == 1).count() == 1


def test_a_member_gets_her_daily_limit_and_the_rest_waits_for_staff(app):
    campaign = make_program(max_per_day=3)
    amy = referrer(campaign)
    statuses = [friend(campaign, amy, n, now=NOW + timedelta(hours=n)).status for n in range(5)]
    assert statuses == ["counted"] * 3 + ["held"] * 2
    held = Referral.select().where(Referral.status == "held", Referral.level == 1)
    assert {r.reason for r in held} == {"daily"}
    # 24 hours after the first ones, the window has moved on.
    assert friend(campaign, amy, 9, now=NOW + timedelta(hours=25)).status == "counted"
    assert Member.get_by_id(amy.id).referrals == 4


def test_the_referrer_coming_back_without_her_cookie_is_held(app):
    campaign = make_program()
    amy = referrer(campaign, at=NOW - timedelta(hours=2))
    # Her own phone, another address, two hours after she signed up: held, with the reason.
    back = friend(campaign, amy, 1, device="她的手机", ip="地铁站")
    assert (back.status, back.reason) == ("held", "same_device")
    # Her phone at home three days later: held too (the same device on the same network).
    later = friend(campaign, amy, 2, device="她的手机", ip="她家", now=NOW + timedelta(days=3))
    assert (later.status, later.reason) == ("held", "same_device")
    # Another phone on her home Wi-Fi (her husband): counted, flagged.
    family = friend(campaign, amy, 3, device="他的手机", ip="她家")
    assert (family.status, family.reason) == ("counted", "shared_ip")
    assert Member.get_by_id(amy.id).referrals == 1


def test_staff_can_approve_a_held_referral_and_only_then_the_reward_comes(app):
    campaign = make_program(max_per_day=2)
    amy = referrer(campaign)
    for n in range(3):
        friend(campaign, amy, n)
    assert Reward.select().where(Reward.member == amy.id).count() == 0  # tier 3 not reached
    held = Referral.get((Referral.status == "held") & (Referral.level == 1))
    assert referrals.decide(held.id, True, make_staff())
    assert [r.key for r in Reward.select().where(Reward.member == amy.id)] == ["tier:3"]


WIFI = [f"10.0.{n // 250}.{n % 250 + 1}" for n in range(60)]


def test_the_farming_script_gets_nothing_past_the_limits_without_staff(app):
    """One device, a cleared cookie before each sign-up, a new address each time, the
    referrer herself among them: through the real pages, as a script would."""
    campaign = make_program(max_per_hour=10, max_per_day=20)
    referrals.set_up_program(campaign, friend_reward="新人券")

    def device(address, agent=PHONE):
        client = app.test_client()  # no cookie: cleared before each sign-up
        client.environ_base.update(HTTP_USER_AGENT=agent, REMOTE_ADDR=address)
        return client

    # She signs up on her own phone; the farm is another phone, on a new address each time.
    amy = device("192.168.1.8", HER_PHONE)
    page = amy.get("/j/fission", follow_redirects=True).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
    assert (
        amy.post("/r/fission/join", data={"csrf_token": token, "nickname": "阿花"}).status_code
        == 303
    )
    code = Member.get(Member.nickname == "阿花").code

    sign_ups = [(f"小号{n}", address, PHONE) for n, address in enumerate(WIFI[:30])]
    sign_ups.insert(5, ("阿花本人", "192.168.1.8", HER_PHONE))  # she clears her cookie too
    statuses = []
    for nickname, address, agent in sign_ups:
        fake = device(address, agent)
        # As a browser does: the first answer sets the cookie and redirects, then the live
        # code sends this new person to a group.
        page = fake.get(f"/j/fission?r={code}", follow_redirects=True).get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
        form = {"csrf_token": token, "nickname": nickname, "r": code}
        statuses.append(fake.post("/r/fission/join", data=form).status_code)
    assert set(statuses) == {303}

    rows = list(Referral.select().where(Referral.level == 1).order_by(Referral.id))
    assert len(rows) == len(sign_ups)
    counted = [r for r in rows if r.status == "counted"]
    # The hourly limit of 10 takes held referrals into account too (her own one): the farm's
    # first 9 count, the rest wait for staff.
    assert len(counted) == 9
    assert all(r.reason for r in rows if r.status != "counted"), [
        (r.status, r.reason) for r in rows
    ]
    assert {r.reason for r in rows if r.status == "held"} <= {"same_device", "velocity", "daily"}
    her_own = Referral.get(Referral.friend == Member.get(Member.nickname == "阿花本人"))
    assert (her_own.status, her_own.reason) == ("held", "same_device")
    rewards = Reward.select().join(Member).where(Member.campaign == campaign)
    tiers_issued = [r.key for r in rewards if r.key.startswith("tier:")]
    friend_rewards = [r for r in rewards if r.key == "friend"]
    assert len(friend_rewards) == len(counted)
    assert Member.get_by_id(Member.get(Member.code == code).id).referrals == len(counted)
    assert len(tiers_issued) == sum(t <= len(counted) for t in (3, 10))


def test_farming_over_a_day_counts_at_most_the_daily_limit(app):
    """The same farm, an hour at a time for a whole day, from a device she never used."""
    campaign = make_program(max_per_hour=10, max_per_day=20)
    amy = referrer(campaign)
    for hour in range(24):
        for n in range(10):
            friend(
                campaign, amy, hour * 100 + n, device="农场手机", now=NOW + timedelta(hours=hour)
            )
    level_one = Referral.select().where(Referral.level == 1)
    assert level_one.where(Referral.status == "counted").count() == 20
    assert Member.get_by_id(amy.id).referrals == 20
    assert {r.reason for r in level_one.where(Referral.status == "held")} == {"daily"}
    # The rewards are the two tiers of 20 counted friends, no more.
    assert sorted(r.key for r in Reward.select().where(Reward.member == amy.id)) == [
        "tier:10",
        "tier:3",
    ]
