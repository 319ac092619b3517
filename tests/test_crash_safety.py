"""Crash safety (issue 16): the server killed with SIGKILL (its whole process group, as a crash
or the OOM killer would) in the middle of a burst of scans, sign-ups, check-ins and invitation
answers, twenty times, restarting each time, loses no write it acknowledged, and the SQLite
file stays sound."""

import os
import random
import re
import secrets
import signal
import threading
from datetime import timedelta

import pytest
import requests
from helpers import make_campaign, make_channel, make_group
from liveserver import LiveServer

from miniapp_api.checkins import rules as checkins
from miniapp_api.db import db, is_sqlite
from miniapp_api.invitations import rules as vip
from miniapp_api.localtime import to_local
from miniapp_api.models import Customer, Invitation, Member, Participant, Response, Visit, utcnow
from miniapp_api.referrals import rules as referrals

KILLS = 20
CLIENTS = 6
INVITATIONS = 600
WECHAT = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) MicroMessenger/8.0.50"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Burst:
    """Clients acting as new people, each doing one thing end to end; what the server
    answered 2xx or 3xx is written down as acknowledged, the rest (a reset connection, no
    answer) is not."""

    def __init__(self, root_code: str, tokens: list[str]):
        self.base, self.root_code, self.tokens = "", root_code, tokens
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.answered = 0
        self.ack: dict[str, set[str]] = {k: set() for k in ("scan", "signup", "join", "checkin")}
        self.ack["accept"] = set()

    def person(self) -> requests.Session:
        session = requests.Session()
        session.headers["User-Agent"] = WECHAT
        session.cookies.set("qb_v", secrets.token_urlsafe(16))
        return session

    def ok(self, response) -> bool:
        with self.lock:
            self.answered += 1
        return 200 <= response.status_code < 400

    def acknowledge(self, kind: str, key: str) -> None:
        with self.lock:
            self.ack[kind].add(key)

    def get(self, session, path):
        return session.get(self.base + path, allow_redirects=False, timeout=10)

    def post(self, session, path, data):
        return session.post(self.base + path, data=data, allow_redirects=False, timeout=10)

    def scan(self, name):
        session = self.person()
        if self.ok(self.get(session, "/j/bengkui?c=counter")):
            self.acknowledge("scan", session.cookies["qb_v"])

    def sign_up(self, name):
        session = self.person()
        page = self.get(session, f"/r/bengkui/join?r={self.root_code}")
        if not self.ok(page):
            return
        form = {"csrf_token": CSRF.search(page.text)[1], "nickname": name, "r": self.root_code}
        if self.ok(self.post(session, "/r/bengkui/join", form)):
            self.acknowledge("signup", name)

    def check_in(self, name):
        session = self.person()
        page = self.get(session, "/c/bengkui/join")
        if not self.ok(page):
            return
        token = CSRF.search(page.text)[1]
        if not self.ok(
            self.post(session, "/c/bengkui/join", {"csrf_token": token, "nickname": name})
        ):
            return
        self.acknowledge("join", name)
        if self.ok(self.post(session, "/c/bengkui/checkin", {"csrf_token": token, "note": "早起"})):
            self.acknowledge("checkin", name)

    def accept(self, name):
        with self.lock:
            if not self.tokens:
                return
            token = self.tokens.pop()
        session = self.person()
        page = self.get(session, f"/vip/{token}")
        if not self.ok(page):
            return
        form = {"csrf_token": CSRF.search(page.text)[1], "decision": "accept"}
        if self.ok(self.post(session, f"/vip/{token}/answer", form)):
            self.acknowledge("accept", token)

    def client(self, number: int, cycle: int, seed: float):
        rng = random.Random(seed)
        actions = [self.scan, self.sign_up, self.check_in, self.accept]
        for i in range(1_000_000):
            if self.stop.is_set():
                return
            name = f"客{cycle}-{number}-{i}"  # a nickname: at most 20 characters
            try:
                rng.choice(actions)(name)
            except requests.RequestException:
                # No answer, or one cut short: the server was killed mid-request, and
                # nothing was acknowledged.
                continue


def set_up():
    """A campaign with a live code, a referral programme, a running challenge and VIP
    invitations; returns (the first member's code, the invitation tokens)."""
    campaign = make_campaign(slug="bengkui", title="崩溃测试")
    make_channel(campaign, "counter", "门店前台")
    make_group(campaign, "崩溃1群", cutoff=1_000_000)
    referrals.set_up_program(
        campaign, tiers=[(3, "9 折券")], max_per_hour=10_000, max_per_day=10_000
    )
    root = referrals.sign_up(campaign.id, nickname="陈店长", visitor="root", agent="wechat")
    today = to_local(utcnow(), "Asia/Shanghai").date()
    checkins.set_up_challenge(
        campaign, days=28, starts_on=today - timedelta(days=1), timezone="Asia/Shanghai"
    )
    Customer.insert_many(
        [
            {"external_id": f"V{n}", "name": "王丽", "region": "杭州", "purchase_total": 100_000}
            for n in range(INVITATIONS)
        ]
    ).execute()
    vip.set_up_program(
        campaign, rights="专属优惠", offer_url="https://shop.example.cn", offer_label="去商城",
        valid_days=14,
    )  # fmt: skip
    vip.invite(campaign.id, vip.Selection(), utcnow().date())
    return root.member.code, [i.token for i in Invitation.select(Invitation.token)]


@pytest.mark.slow
def test_kill_9_during_a_burst_loses_no_acknowledged_write(app, database_url):
    with db.connection_context():
        root_code, tokens = set_up()
    db.close_all()
    config = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "s",
        "HASH_KEY": "h",
        "PUBLIC_URL": "http://127.0.0.1",
        "PLACES_PER_ADDRESS": 0,  # every client is 127.0.0.1
    }
    rng = random.Random(16)
    burst = Burst(root_code, tokens)
    for cycle in range(KILLS):
        server = LiveServer(config, workers=2, threads=4)
        with server as burst.base:
            burst.stop.clear()
            burst.answered = 0
            threads = [
                threading.Thread(target=burst.client, args=(n, cycle, rng.random()))
                for n in range(CLIENTS)
            ]
            for t in threads:
                t.start()
            # A random moment: after a random number of answers, whatever is in flight then.
            moment = rng.randint(2, 40)
            for _ in range(3000):
                if burst.answered >= moment:
                    break
                burst.stop.wait(0.01)
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait()
            burst.stop.set()
            for t in threads:
                t.join(timeout=60)

    with db.connection_context():
        if is_sqlite():
            assert db.execute_sql("PRAGMA integrity_check").fetchall() == [("ok",)]
        stored = {
            "scan": {v.visitor for v in Visit.select(Visit.visitor)},
            "signup": {m.nickname for m in Member.select(Member.nickname)},
            "join": {m.nickname for m in Member.select(Member.nickname).join(Participant)},
            "checkin": {
                m.nickname for m in Member.select(Member.nickname).join(Response) if m.nickname
            },
            "accept": {i.token for i in Invitation.select().where(Invitation.status == "accepted")},
        }
    lost = {kind: len(keys - stored[kind]) for kind, keys in burst.ack.items()}
    assert lost == dict.fromkeys(burst.ack, 0), lost
    # Each kind of write was acknowledged many times over, so the check above means something.
    assert all(burst.ack.values()), {kind: len(keys) for kind, keys in burst.ack.items()}
