"""A group's places in shares: laid out exactly, corrected by staff, and on PostgreSQL taken
by concurrent scans without queueing on one row."""

import threading

import pytest
from helpers import make_campaign, make_group, stored_group

from miniapp_api.db import db, is_sqlite
from miniapp_api.livecode import places
from miniapp_api.livecode import rules as livecode
from miniapp_api.livecode.rules import record_scan
from miniapp_api.models import PlaceShare


def scan(campaign, n=0):
    return record_scan(campaign.id, None, f"访客-{n:020d}", "wechat", f"ip-{n}")


@pytest.mark.parametrize("cutoff", [1, 2, 7, 8, 9, 15, 16, 17, 199, 200, 500])
def test_a_layout_keeps_the_cutoff_and_the_count(cutoff):
    for sent in sorted({0, 1, cutoff // 2, cutoff - 1, cutoff, cutoff + 3}):
        shares = places.layout(cutoff, max(sent, 0))
        assert len(shares) == places.SHARES
        assert sum(c for c, _ in shares) == cutoff
        assert sum(s for _, s in shares) == sent
        # Room is left only while the count is below the cut-off.
        assert any(s < c for c, s in shares) == (sent < cutoff)
        assert all(s <= c for c, s in shares[1:])


def test_a_group_takes_exactly_its_cutoff_across_its_shares(app):
    campaign = make_campaign()
    first, second = make_group(campaign, "一群", cutoff=11), make_group(campaign, "二群")
    outcomes = [scan(campaign, n) for n in range(12)]
    assert [o.group.id for o in outcomes] == [first.id] * 11 + [second.id]
    assert (stored_group(first.id).sent, stored_group(second.id).sent) == (11, 1)
    shares = PlaceShare.select().where(PlaceShare.group == first.id).order_by(PlaceShare.number)
    assert [(s.cutoff, s.sent) for s in shares] == places.layout(11, 11)


def test_staff_corrections_lay_the_shares_out_again(app):
    campaign = make_campaign()
    group = make_group(campaign, "一群", cutoff=200, sent=150)
    # A lower cut-off than the count: the group is full, whatever share held room before.
    livecode.update_group(group, cutoff=100)
    assert (stored_group(group.id).sent, scan(campaign).outcome) == (150, "full")
    livecode.update_group(group, cutoff=151)
    assert scan(campaign, 1).outcome == "sent"
    assert (stored_group(group.id).sent, scan(campaign, 2).outcome) == (151, "full")
    # The count corrected to what WeChat shows: room again, exactly the difference.
    updated = livecode.update_group(group, sent=149)
    assert updated.sent == 149
    assert [scan(campaign, n).outcome for n in range(3, 6)] == ["sent", "sent", "full"]
    assert stored_group(group.id).sent == 151


def _hold_a_place(campaign, held, release, commit=True):
    """Another scan's transaction: it takes a place and keeps its share locked until told."""

    def run():
        with db.connection_context(), db.atomic() as transaction:
            scan(campaign, 99)
            held.set()
            release.wait(30)
            if not commit:
                transaction.rollback()

    thread = threading.Thread(target=run)
    thread.start()
    assert held.wait(30)
    return thread


@pytest.mark.parametrize(("start", "full", "taken"), [(0, (), 0), (3, (), 3), (7, (7,), 0)])
def test_a_scan_looks_for_room_from_the_share_it_draws(app, monkeypatch, start, full, taken):
    """Concurrent scans start at different shares, so they do not all update one row first;
    past the last share the search wraps round to the first."""
    monkeypatch.setattr(places, "share_start", lambda: start)
    campaign = make_campaign()
    group = make_group(campaign, "一群", cutoff=16)
    PlaceShare.update(sent=PlaceShare.cutoff).where(PlaceShare.number.in_(full)).execute()
    result = scan(campaign)
    assert PlaceShare.get_by_id(result.group.share_id).number == taken
    assert stored_group(group.id).sent == 2 * len(full) + 1


def test_the_share_a_scan_draws_is_any_of_them():
    drawn = {places.share_start() for _ in range(2000)}
    assert drawn == set(range(places.SHARES))


def test_a_share_another_scan_holds_is_skipped_not_waited_for(app, monkeypatch):
    if is_sqlite():
        pytest.skip("SQLite has one writer at a time: there are no row locks to skip")
    monkeypatch.setattr(places, "share_start", lambda: 0)  # both scans look from share 0
    campaign = make_campaign()
    group = make_group(campaign, "一群", cutoff=16)
    held, release = threading.Event(), threading.Event()
    thread = _hold_a_place(campaign, held, release)
    try:
        # Were the held share waited for, this would fail after the lock timeout.
        db.execute_sql("SET lock_timeout = '5s'")
        result = scan(campaign)
        assert result.outcome == "sent"
        assert PlaceShare.get_by_id(result.group.share_id).number == 1
    finally:
        db.execute_sql("SET lock_timeout = 0")
        release.set()
        thread.join()
    assert stored_group(group.id).sent == 2


@pytest.mark.parametrize(("commit", "outcome"), [(True, "full"), (False, "sent")])
def test_the_last_place_held_by_another_scan_is_waited_for(app, commit, outcome):
    """Every share with room is held: the scan waits and answers from what the other scan
    did, full if it kept the place, sent if it gave it back."""
    if is_sqlite():
        pytest.skip("SQLite has one writer at a time: there are no row locks to wait for")
    campaign = make_campaign()
    group = make_group(campaign, "一群", cutoff=1)
    held, release = threading.Event(), threading.Event()
    thread = _hold_a_place(campaign, held, release, commit=commit)
    results = []

    def waiting_scan():
        with db.connection_context():
            results.append(scan(campaign))

    waiter = threading.Thread(target=waiting_scan)
    waiter.start()
    for _ in range(3000):  # until the scan waits for the held share's lock
        waiting = db.execute_sql(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND datname = current_database()"
        ).fetchone()[0]
        if waiting:
            break
        threading.Event().wait(0.01)
    assert waiting, ("the scan should wait for the held share", results)
    release.set()
    thread.join()
    waiter.join()
    assert [r.outcome for r in results] == [outcome]
    assert stored_group(group.id).sent == 1
