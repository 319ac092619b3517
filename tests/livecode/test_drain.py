"""One client cannot drain a campaign: places per network address per hour, and clients that
do not keep the visitor cookie take no place at all."""

import threading
from collections import Counter
from datetime import timedelta

import pytest
import requests
from helpers import (
    browser,
    make_campaign,
    make_channel,
    make_group,
    shanghai,
    stored_group,
    stored_groups,
)
from liveserver import LiveServer, scan_many

from miniapp_api.console.attention import needs_attention
from miniapp_api.livecode.rules import record_scan
from miniapp_api.models import AddressQuota, Visit

PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) MicroMessenger/8.0.50"
NOON = shanghai(1, 12)


def scan(campaign, n, ip="网络甲", now=NOON, limit=3, **kw):
    return record_scan(
        campaign.id, None, f"visitor-{n:025d}", "wechat", ip, address_limit=limit, now=now, **kw
    )


def test_one_address_takes_at_most_its_places_an_hour(app):
    campaign = make_campaign()
    make_group(campaign, "一群", cutoff=50)
    outcomes = [scan(campaign, n).outcome for n in range(5)]
    assert outcomes == ["sent"] * 3 + ["limited"] * 2
    # A limited scan shows no group and gives nothing back to count: the group holds 3.
    assert stored_group().sent == 3
    quota = AddressQuota.get()
    assert (quota.taken, quota.refused) == (3, 2)
    assert Visit.select().where(Visit.outcome == "limited").count() == 2
    # Another address, and the same address an hour later, have their own places.
    assert scan(campaign, 10, ip="网络乙").outcome == "sent"
    assert scan(campaign, 11, now=NOON + timedelta(hours=1)).outcome == "sent"
    assert stored_group().sent == 5


def test_a_person_counted_today_does_not_use_another_place(app):
    campaign = make_campaign()
    make_group(campaign, "一群", cutoff=50)
    assert scan(campaign, 1, limit=1).outcome == "sent"
    assert scan(campaign, 1, limit=1, now=NOON + timedelta(minutes=5)).outcome == "repeat"
    assert scan(campaign, 2, limit=1).outcome == "limited"
    assert AddressQuota.get().taken == 1


def test_a_full_campaign_uses_no_place_of_the_address(app):
    campaign = make_campaign()
    make_group(campaign, "一群", cutoff=1)
    assert [scan(campaign, n).outcome for n in range(3)] == ["sent", "full", "full"]
    assert AddressQuota.get().taken == 1


def test_no_limit_when_switched_off(app):
    campaign = make_campaign()
    make_group(campaign, "一群", cutoff=50)
    assert {scan(campaign, n, limit=None).outcome for n in range(6)} == {"sent"}
    assert AddressQuota.select().count() == 0


def test_a_client_without_cookies_takes_no_place(app):
    campaign = make_campaign()
    make_group(campaign, "一群", cutoff=50)
    result = scan(campaign, 1, proven=False)
    assert (result.outcome, result.group) == ("unproven", None)
    assert stored_group().sent == 0
    assert Visit.get().outcome == "unproven"


def test_a_head_request_takes_no_place(app):
    campaign = make_campaign(slug="store")
    make_group(campaign, "一群", cutoff=50)
    response = browser(app).head("/j/store", headers={"User-Agent": PHONE})
    assert response.status_code == 200
    assert stored_group().sent == 0 and Visit.get().outcome == "bot"


def test_staff_see_scans_held_back_in_needs_attention(app):
    campaign = make_campaign(slug="store")
    make_group(campaign, "一群", cutoff=50, qr_generated_at=NOON)
    for n in range(5):
        scan(campaign, n)
    items = [i for i in needs_attention(now=NOON) if i["kind"] == "address-limit"]
    assert len(items) == 1
    assert items[0]["campaign"] == "store"
    assert "2 次" in items[0]["message"]
    # A day later the hour is history.
    assert not [
        i for i in needs_attention(now=NOON + timedelta(days=2)) if i["kind"] == "address-limit"
    ]


def test_the_held_back_page_says_what_to_do(client, app):
    app.config["PLACES_PER_ADDRESS"] = 1
    campaign = make_campaign(slug="store", staff_contact="店长微信 mendian01")
    make_channel(campaign, "counter", "门店前台")
    make_group(campaign, "宝妈一群", cutoff=50)
    first = client.get("/j/store?c=counter", headers={"User-Agent": PHONE})
    assert "宝妈一群" in first.get_data(as_text=True)
    # The test client's address has had its place this hour, and (should the clock pass the
    # hour between the two requests) the next hour's too.
    AddressQuota.update(taken=1).execute()
    next_hour = AddressQuota.get().window_start + timedelta(hours=1)
    AddressQuota.create(
        campaign=campaign, ip_hash=AddressQuota.get().ip_hash, window_start=next_hour, taken=1
    )
    second = browser(app).get("/j/store?c=counter", headers={"User-Agent": PHONE})
    page = second.get_data(as_text=True)
    assert second.status_code == 200
    assert "用手机流量再扫一次" in page and "店长微信 mendian01" in page
    assert "宝妈一群" not in page


SCANS, CLIENTS, BROWSERS, CUTOFF, LIMIT = 2000, 16, 50, 200, 100


@pytest.mark.slow
def test_one_address_cannot_fill_the_groups_but_real_browsers_behind_it_all_count(
    app, database_url
):
    campaign = make_campaign(slug="rush")
    make_channel(campaign, "live", "直播间")
    for n in range(3):
        make_group(campaign, f"抢购{n + 1}群", cutoff=CUTOFF)
    config = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "s",
        "HASH_KEY": "h",
        "PLACES_PER_ADDRESS": LIMIT,
    }
    statuses: list[int] = []
    lock = threading.Lock()

    with LiveServer(config) as base_url:

        def browser():
            session = requests.Session()
            session.headers["User-Agent"] = PHONE
            for _ in range(2):  # a reload counts nobody twice
                response = session.get(f"{base_url}/j/rush?c=live", timeout=30)
                with lock:
                    statuses.append(response.status_code)

        # 2,000 cookie-less requests and 50 real browsers, at once, from one address.
        def cookieless():
            results = scan_many(
                base_url, "/j/rush?c=live", SCANS, CLIENTS, keep_cookie=False, agent=PHONE
            )
            with lock:
                statuses.extend(status for status, _ in results)

        threads = [threading.Thread(target=cookieless)]
        threads += [threading.Thread(target=browser) for _ in range(BROWSERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        browsers_counted = sum(g.sent for g in stored_groups())
        # Then 2,000 that do keep each cookie they are given: the address's limit holds them.
        farm = scan_many(base_url, "/j/rush?c=live", SCANS, CLIENTS, agent=PHONE)
        statuses.extend(status for status, _ in farm)

    assert len(statuses) == 2 * SCANS + 2 * BROWSERS
    assert not [s for s in statuses if s >= 500]
    assert browsers_counted == BROWSERS  # every real browser was counted, once
    taken = sum(g.sent for g in stored_groups())
    # The farm got the rest of the hour's places, no more. (Should the run cross an hour, the
    # next hour has its own places: each hour is held to the limit.)
    hours = list(AddressQuota.select())
    assert all(hour.taken <= LIMIT for hour in hours)
    assert taken == sum(hour.taken for hour in hours) == LIMIT * len(hours)
    counted = Visit.select().where(Visit.counted_day.is_null(False))
    assert counted.count() == taken == len({v.visitor for v in counted})
    outcomes = Counter(v.outcome for v in Visit.select())
    # The rest were recorded and flagged: no cookie kept, or the address past its limit.
    assert outcomes["unproven"] == SCANS
    assert outcomes["limited"] == SCANS - (taken - BROWSERS)
    assert sum(hour.refused for hour in hours) == outcomes["limited"]
