"""Check-ins under a live multi-process server: 100 members double-tap 打卡 at the same moment
and 50 make-up requests race for one member's last card. Exactly one check-in per member-day,
no card spent twice, and each finishing reward issued once."""

import re
import threading
from datetime import timedelta

import pytest
import requests
from helpers import make_campaign, make_challenge, make_member
from liveserver import LiveServer

from miniapp_api.checkins import rules as checkins
from miniapp_api.localtime import to_local
from miniapp_api.models import Participant, Response, Reward, utcnow

PHONE = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Mobile Safari/537.36"
MEMBERS, RACERS = 100, 50
TODAY = 10  # the challenge day the server's clock is on
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def browser_of(base_url: str, slug: str, visitor: str) -> tuple[requests.Session, str]:
    """A member's phone: their visitor cookie, and the CSRF token of their challenge page."""
    session = requests.Session()
    session.headers["User-Agent"] = PHONE
    session.cookies.set("qb_v", visitor)
    page = session.get(f"{base_url}/c/{slug}", timeout=60)
    assert page.status_code == 200, page.text[:300]
    return session, CSRF.search(page.text)[1]


def at_once(calls) -> list[int]:
    """Run every (session, url, form) POST at the same moment; their status codes."""
    start = threading.Barrier(len(calls))
    statuses = []
    lock = threading.Lock()

    def post(session, url, form):
        start.wait(timeout=120)
        # A connection of its own per tap: two threads never share a kept-alive socket.
        response = requests.post(
            url,
            data=form,
            cookies=session.cookies,
            headers={"User-Agent": PHONE, "Connection": "close"},
            allow_redirects=False,
            timeout=120,
        )
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=post, args=call) for call in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    return statuses


@pytest.mark.slow
def test_double_taps_and_a_race_for_the_last_card(app, database_url):
    campaign = make_campaign(slug="dk-rush", title="28 天早起打卡")
    now = utcnow()
    # The server reads the wall clock; a zone where it is about noon now keeps the whole test
    # inside one local day, whenever it runs (Etc/GMT-8 is UTC+8: the sign is POSIX's).
    offset = 12 - now.hour
    zone = f"Etc/GMT{-offset:+d}"
    today = to_local(now, zone).date()
    challenge = make_challenge(
        campaign,
        timezone=zone,
        starts_on=today - timedelta(days=TODAY - 1),
        finish_days=TODAY,  # today's check-in finishes the challenge for the first hundred
        makeup_cards=2,
        makeup_window=30,
    )
    finishers, racer = [], None
    for number in range(MEMBERS):
        member = make_member(campaign.id, f"rush-visitor-{number:03d}-" + "v" * 8, f"会员{number}")
        checkins.join(challenge, member, now=now - timedelta(days=TODAY))
        for day in range(1, TODAY):  # days 1..9 done, so today's 打卡 is the tenth
            at = now - timedelta(days=TODAY - day)
            Response.create(
                campaign=campaign.id,
                activity=checkins.day_activity(campaign.id, day).id,
                member=member.id,
                how="button",
                created_at=at,
            )
        Participant.update(done=TODAY - 1).where(Participant.member == member.id).execute()
        finishers.append(member)
    # The racer joined on day 1, has not checked in since, and has spent one of two cards.
    racer = make_member(campaign.id, "rush-racer-" + "r" * 16, "抢补卡的人")
    checkins.join(challenge, racer, now=now - timedelta(days=TODAY))
    Participant.update(cards_used=1).where(Participant.member == racer.id).execute()

    config = {"DATABASE_URL": database_url, "SECRET_KEY": "s", "HASH_KEY": "h"}
    with LiveServer(config, workers=3) as base_url:
        taps = []
        for member in finishers:
            session, token = browser_of(base_url, "dk-rush", member.visitor)
            form = {"csrf_token": token, "note": "双击了打卡按钮"}
            taps += [(session, f"{base_url}/c/dk-rush/checkin", form)] * 2
        tap_statuses = at_once(taps)

        session, token = browser_of(base_url, "dk-rush", racer.visitor)
        races = [
            (session, f"{base_url}/c/dk-rush/makeup", {"csrf_token": token, "day": str(day)})
            for day in [2 + n % (TODAY - 2) for n in range(RACERS)]  # days 2..9, missed
        ]
        race_statuses = at_once(races)

    assert all(status < 500 for status in tap_statuses + race_statuses)
    assert sorted(set(tap_statuses)) == [303, 409], sorted(set(tap_statuses))
    assert tap_statuses.count(303) == MEMBERS
    today_activity = checkins.day_activity(campaign.id, TODAY)
    assert Response.select().where(Response.activity == today_activity.id).count() == MEMBERS
    for member in finishers:
        participant = Participant.get(Participant.member == member.id)
        assert participant.done == TODAY
        rewards = Reward.select().where(Reward.member == member.id)
        assert [r.key for r in rewards] == ["challenge"]

    assert race_statuses.count(303) == 1, sorted(race_statuses)
    participant = Participant.get(Participant.member == racer.id)
    assert (participant.cards_used, participant.done) == (2, 1)
    assert Response.select().where(Response.member == racer.id).count() == 1
