"""The login throttle behind a proxy: per account, from any address, and per address, taken
from X-Forwarded-For when QUNBOOK_TRUSTED_PROXIES says a proxy sets it. One client trying 50
names never locks out a 51st staff member elsewhere; guessing one account's password from many
addresses is still stopped."""

import http.client
import re
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode, urlsplit

import pytest
from helpers import STAFF_PASSWORD, make_staff
from liveserver import LiveServer

from miniapp_api.accounts.rules import (
    MAX_ACCOUNT_FAILURES,
    MAX_IP_FAILURES,
    LoginRefused,
    authenticate,
)
from miniapp_api.models import LoginAttempt, utcnow

WRONG = "不是这个密码-0000"


# ---------------------------------------------------------------- the rules


def test_fifty_names_from_one_address_do_not_lock_out_a_staff_member_elsewhere(app):
    make_staff("staff-51")
    for n in range(MAX_IP_FAILURES):
        with pytest.raises(LoginRefused) as refused:
            authenticate(f"name-{n:02d}", WRONG, "ip:attacker")
        assert not refused.value.throttled
    assert authenticate("staff-51", STAFF_PASSWORD, "ip:office").username == "staff-51"
    # From the attacker's address a 51st name is refused, before its password is looked at.
    with pytest.raises(LoginRefused) as refused:
        authenticate("name-51", WRONG, "ip:attacker")
    assert refused.value.throttled


def test_a_staff_member_on_an_address_they_logged_in_from_is_never_locked_out_by_it(app):
    """All requests from one address (a proxy not trusted, an office network): someone there
    trying 50 names locks out no one who logged in from it before."""
    make_staff("chen")
    make_staff("new-hire")
    authenticate("chen", STAFF_PASSWORD, "ip:proxy", now=utcnow() - timedelta(days=3))
    for n in range(MAX_IP_FAILURES):
        with pytest.raises(LoginRefused):
            authenticate(f"name-{n:02d}", WRONG, "ip:proxy")
    assert authenticate("chen", STAFF_PASSWORD, "ip:proxy").username == "chen"
    with pytest.raises(LoginRefused) as refused:
        authenticate("new-hire", STAFF_PASSWORD, "ip:proxy")
    assert refused.value.throttled  # never seen on this address: the address limit holds


def test_guessing_one_password_from_many_addresses_is_stopped(app):
    make_staff("chen")
    for n in range(MAX_ACCOUNT_FAILURES):
        with pytest.raises(LoginRefused) as refused:
            authenticate("chen", f"{WRONG}{n}", f"ip:bot-{n}")
        assert not refused.value.throttled
    with pytest.raises(LoginRefused) as refused:
        authenticate("chen", STAFF_PASSWORD, "ip:bot-next")
    assert refused.value.throttled
    # Known addresses do not lift the account's own limit.
    with pytest.raises(LoginRefused) as refused:
        authenticate("chen", STAFF_PASSWORD, "ip:bot-0")
    assert refused.value.throttled
    assert LoginAttempt.select().where(LoginAttempt.succeeded).count() == 0


# ---------------------------------------------------------------- through a real proxy


class Proxy:
    """A tiny threaded reverse proxy on loopback, as nginx would be: forwards each request to
    the app and sets X-Forwarded-For to the address the client connected from (clients bind
    127.0.0.x addresses of their own)."""

    def __init__(self, upstream: str):
        upstream_host = urlsplit(upstream).netloc

        class Forward(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                self.forward()

            def do_POST(self):
                self.forward()

            def forward(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                headers["X-Forwarded-For"] = self.client_address[0]
                conn = http.client.HTTPConnection(upstream_host, timeout=60)
                try:
                    conn.request(self.command, self.path, body=body or None, headers=headers)
                    answer = conn.getresponse()
                    data = answer.read()
                    self.send_response(answer.status)
                    for key, value in answer.getheaders():
                        if key.lower() not in ("connection", "transfer-encoding", "content-length"):
                            self.send_header(key, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                finally:
                    conn.close()

            def log_message(self, *args):
                pass  # quiet: the test reads answers, not logs

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Forward)
        self.port = self.server.server_address[1]

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self.port

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class Client:
    """A browser on its own loopback address, talking to the proxy."""

    def __init__(self, proxy_port: int, address: str):
        self.proxy_port, self.address, self.cookies = proxy_port, address, {}

    def request(self, method, path, form=None):
        conn = http.client.HTTPConnection(
            "127.0.0.1", self.proxy_port, timeout=60, source_address=(self.address, 0)
        )
        headers = {"User-Agent": "Mozilla/5.0 (Windows NT 10.0) Chrome/131.0"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=headers)
            answer = conn.getresponse()
            text = answer.read().decode()
            for key, value in answer.getheaders():
                if key.lower() == "set-cookie":
                    name, _, rest = value.partition("=")
                    self.cookies[name] = rest.split(";")[0]
            return answer.status, text
        finally:
            conn.close()

    def login(self, username, password):
        page = self.request("GET", "/console/login")[1]
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
        form = {"csrf_token": token, "username": username, "password": password, "next": ""}
        return self.request("POST", "/console/login", form)[0]


def test_behind_a_trusted_proxy_fifty_wrong_names_lock_out_no_one_else(app, database_url):
    make_staff("staff-51")
    make_staff("target")
    config = {"DATABASE_URL": database_url, "SECRET_KEY": "s", "HASH_KEY": "h"}
    with (
        LiveServer({**config, "TRUSTED_PROXIES": 1}, workers=1) as base_url,
        Proxy(base_url) as proxy,
    ):
        attacker = Client(proxy, "127.0.0.2")
        statuses = [attacker.login(f"name-{n:02d}", WRONG) for n in range(MAX_IP_FAILURES)]
        assert statuses == [401] * MAX_IP_FAILURES
        assert attacker.login("name-51", WRONG) == 429  # the attacker's address is stopped
        assert Client(proxy, "127.0.0.3").login("staff-51", STAFF_PASSWORD) == 302

        # One account's password guessed from eleven addresses: the account's limit holds.
        guesses = [
            Client(proxy, f"127.0.1.{n}").login("target", f"{WRONG}{n}")
            for n in range(1, MAX_ACCOUNT_FAILURES + 1)
        ]
        assert guesses == [401] * MAX_ACCOUNT_FAILURES
        assert Client(proxy, "127.0.2.1").login("target", STAFF_PASSWORD) == 429
    # The app saw each client's own address, not the proxy's.
    addresses = LoginAttempt.select(LoginAttempt.ip_hash).distinct().count()
    assert addresses == 1 + 1 + MAX_ACCOUNT_FAILURES + 1
