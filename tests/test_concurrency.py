"""Concurrent scans against a live multi-process server never overfill a group."""

import http.client
import threading
from urllib.parse import urlsplit

import pytest
from conftest import make_campaign, make_channel, make_group
from liveserver import LiveServer

from miniapp_api.models import Group, Visit

PHONE = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Mobile Safari/537.36"
SCANS, CLIENTS, CUTOFF = 400, 16, 100


def scan_many(base_url: str, path: str) -> list[tuple[int, str]]:
    """SCANS requests spread over CLIENTS threads, each without a cookie (a new person)."""
    host = urlsplit(base_url).netloc
    results: list[tuple[int, str]] = []
    lock = threading.Lock()
    todo = iter(range(SCANS))

    def client():
        conn = http.client.HTTPConnection(host, timeout=30)
        while True:
            with lock:
                if next(todo, None) is None:
                    break
            conn.request("GET", path, headers={"User-Agent": PHONE})
            response = conn.getresponse()
            body = response.read().decode()
            with lock:
                results.append((response.status, body))
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


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
    }
    with LiveServer(config) as base_url:
        results = scan_many(base_url, "/j/rush?c=live")

    statuses = [status for status, _ in results]
    assert len(results) == SCANS
    assert all(status < 500 for status in statuses), sorted(set(statuses))
    assert set(statuses) == {200}
    assert sorted(g.sent for g in Group.select()) == [CUTOFF] * 3
    full_pages = sum("群已满员" in body for _, body in results)
    assert full_pages == SCANS - 3 * CUTOFF
    assert Visit.select().where(Visit.campaign == campaign).count() == SCANS
    assert Visit.select().where(Visit.channel == channel).count() == SCANS
    counted = Visit.select().where(Visit.counted_day.is_null(False))
    assert counted.count() == 3 * CUTOFF
    per_group = {g.id: g.visits.where(Visit.outcome == "sent").count() for g in Group.select()}
    assert sorted(per_group.values()) == [CUTOFF] * 3
