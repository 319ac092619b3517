"""Concurrent scans against a live multi-process server never overfill a group."""

import threading

import pytest
from helpers import make_campaign, make_channel, make_group, sent_to_group, stored_groups
from liveserver import LiveServer, scan_many

from miniapp_api.models import Group, Visit

PHONE = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Mobile Safari/537.36"
SCANS, CLIENTS, CUTOFF = 400, 16, 100


@pytest.mark.slow
def test_concurrent_scans_fill_groups_exactly_to_their_cutoffs(app, database_url):
    campaign = make_campaign(slug="rush")
    channel = make_channel(campaign, "live", "直播间")
    for n in range(3):
        make_group(campaign, f"抢购{n + 1}群", cutoff=CUTOFF)

    config = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "s",
        "HASH_KEY": "h",
        "PUBLIC_URL": "https://qun.example.cn",
        # Every scan here comes from one address: this test is about the groups' cut-offs,
        # tests/livecode/test_drain.py about the per-address limit.
        "PLACES_PER_ADDRESS": 0,
    }
    with LiveServer(config) as base_url:
        results = scan_many(base_url, "/j/rush?c=live", SCANS, CLIENTS, agent=PHONE)

    statuses = [status for status, _ in results]
    assert len(results) == SCANS
    assert all(status < 500 for status in statuses), sorted(set(statuses))
    assert set(statuses) == {200}
    assert sorted(g.sent for g in stored_groups()) == [CUTOFF] * 3
    full_pages = sum("群已满员" in body for _, body in results)
    assert full_pages == SCANS - 3 * CUTOFF
    assert Visit.select().where(Visit.campaign == campaign).count() == SCANS
    assert Visit.select().where(Visit.channel == channel).count() == SCANS
    counted = Visit.select().where(Visit.counted_day.is_null(False))
    assert counted.count() == 3 * CUTOFF
    per_group = {g.id: g.visits.where(Visit.outcome == "sent").count() for g in Group.select()}
    assert sorted(per_group.values()) == [CUTOFF] * 3


FRIENDS = 50


@pytest.mark.slow
def test_fifty_friends_signing_up_at_once_cross_a_tier_exactly_once(app, database_url):
    """50 friends of one member sign up at the same moment, across two processes: the count
    is exact at both levels and each tier's reward is issued exactly once."""
    import re

    import requests

    from miniapp_api.models import Member, Referral, Reward
    from miniapp_api.referrals import rules as referrals

    campaign = make_campaign(slug="fission")
    make_group(campaign, "老带新1群", cutoff=500)
    referrals.set_up_program(
        campaign, tiers=[(25, "9 折券"), (FRIENDS, "帆布袋"), (FRIENDS + 1, "不该发")],
        max_per_hour=1000,
        max_per_day=1000,
    )  # fmt: skip
    root = referrals.sign_up(campaign.id, nickname="陈店长", visitor="root", agent="wechat").member
    sent_to_group(campaign.id, "amy")  # she counts for root once the live code sent her
    member = referrals.sign_up(
        campaign.id, nickname="阿花", visitor="amy", agent="wechat", referrer_code=root.code
    ).member

    config = {"DATABASE_URL": database_url, "SECRET_KEY": "s", "HASH_KEY": "h"}
    with LiveServer(config) as base_url:
        friends = []
        for n in range(FRIENDS):  # each friend opens the poster's link first, as on a phone
            session = requests.Session()
            session.headers["User-Agent"] = PHONE
            page = session.get(f"{base_url}/j/fission?r={member.code}", timeout=30).text
            token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
            # Its kept-alive connection would idle past gunicorn's keep-alive (2 s) while the
            # others load, and a POST sent as the server closes it is reset, not retried.
            session.close()
            friends.append(
                (session, {"csrf_token": token, "nickname": f"朋友{n}", "r": member.code})
            )
        start = threading.Barrier(FRIENDS)
        statuses = []

        def sign_up(session, form):
            start.wait(timeout=60)
            response = session.post(
                f"{base_url}/r/fission/join", data=form, allow_redirects=False, timeout=60
            )
            statuses.append(response.status_code)

        threads = [threading.Thread(target=sign_up, args=friend) for friend in friends]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)

    assert sorted(statuses) == [303] * FRIENDS
    assert Member.get_by_id(member.id).referrals == FRIENDS
    assert Member.get_by_id(root.id).second_level == FRIENDS
    level_one = Referral.select().where((Referral.referrer == member.id) & (Referral.level == 1))
    assert level_one.count() == FRIENDS
    assert {r.status for r in level_one} == {"counted"}
    keys = sorted(r.key for r in Reward.select().where(Reward.member == member.id))
    assert keys == ["tier:25", f"tier:{FRIENDS}"]
