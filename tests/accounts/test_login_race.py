"""Forty wrong passwords for one account at the same moment: the database lets at most
MAX_ACCOUNT_FAILURES of them reach the (slow) password check."""

import threading
import time
from datetime import UTC, datetime

from helpers import make_staff

from miniapp_api.accounts import rules as accounts_rules
from miniapp_api.accounts.rules import MAX_ACCOUNT_FAILURES, LoginRefused
from miniapp_api.db import db
from miniapp_api.models import LoginAttempt

ATTACKERS = 40
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC).replace(tzinfo=None)


class CountingHasher:
    """The suite's hasher, slowed to argon2's pace and counting every verification."""

    def __init__(self, hasher):
        self.hasher = hasher
        self.verified = 0
        self.lock = threading.Lock()

    def verify(self, password_hash, password):
        with self.lock:
            self.verified += 1
        time.sleep(0.05)
        return self.hasher.verify(password_hash, password)

    def __getattr__(self, name):
        return getattr(self.hasher, name)


def test_forty_simultaneous_wrong_passwords_verify_at_most_the_limit(app, monkeypatch):
    make_staff("chen")
    counting = CountingHasher(accounts_rules._hasher)
    monkeypatch.setattr(accounts_rules, "_hasher", counting)
    # One connection per attacker, as forty server workers would hold (the pool keeps 32).
    monkeypatch.setattr(db.obj, "_max_connections", ATTACKERS + 4)
    start = threading.Barrier(ATTACKERS)
    outcomes = []

    def attempt(n):
        with db.connection_context():
            start.wait(timeout=60)
            try:
                accounts_rules.authenticate("chen", "猜错的密码", f"ip-{n}", now=NOW)
            except LoginRefused as refused:
                outcomes.append(refused.throttled)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(ATTACKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    assert len(outcomes) == ATTACKERS  # every one refused, none crashed
    print(f"\n{ATTACKERS} simultaneous wrong passwords: {counting.verified} verified")
    assert counting.verified <= MAX_ACCOUNT_FAILURES
    assert outcomes.count(False) == counting.verified  # "wrong password" only after a check
    assert LoginAttempt.select().count() == ATTACKERS  # every attempt is still recorded
