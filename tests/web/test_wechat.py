"""WeChat web authorisation (snsapi_base) against a local server that speaks WeChat's
documented protocol: /connect/oauth2/authorize sends the phone back to redirect_uri with
?code=CODE&state=STATE; /sns/oauth2/access_token exchanges a code (once) for the openid, or
answers {"errcode": ..., "errmsg": ...}."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from helpers import PUBLIC_URL, make_campaign, make_config, make_group, make_member, stored_group

from miniapp_api import create_app
from miniapp_api.config import configure
from miniapp_api.db import ImproperlyConfigured, db
from miniapp_api.migrations import migrate
from miniapp_api.models import Visit
from miniapp_api.referrals import rules as referrals
from miniapp_api.visitors import VISITOR_COOKIE
from miniapp_api.web.visitor import WECHAT_NONCE_COOKIE

APPID, SECRET = "wx5b6e96c8c89c614e", "217c05ff85a1b3c4d5e6f7a8b9c0db8f"
WECHAT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.50(0x18003233) NetType/WIFI"
)
OPENID_AMY, OPENID_BEN = "ob8F-wFENFWw7_FR6Gx8KbPacFEw", "ob8F-wKqTn0pW2x9Yc4LmQbR7sUv"


class FakeWeChat(ThreadingHTTPServer):
    """WeChat's two endpoints. `user` is the WeChat user on the phone now; codes are single
    use, as WeChat's are."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.user = OPENID_AMY
        self.codes: dict[str, str] = {}
        self.exchanges = 0
        self.slow = False

    @property
    def base(self):
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        url = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/connect/oauth2/authorize":
            assert (q["appid"], q["response_type"], q["scope"]) == (APPID, "code", "snsapi_base")
            assert q["state"].isalnum() and len(q["state"]) <= 128
            code = f"code{len(self.server.codes)}"
            self.server.codes[code] = self.server.user
            back = q["redirect_uri"]
            back += ("&" if "?" in back else "?") + urlencode({"code": code, "state": q["state"]})
            self.send_response(302)
            self.send_header("Location", back)
            self.end_headers()
            return
        if url.path == "/sns/oauth2/access_token":
            self.server.exchanges += 1
            if self.server.slow:
                time.sleep(1)
            if (q.get("appid"), q.get("grant_type")) != (APPID, "authorization_code"):
                answer = {"errcode": 40013, "errmsg": "invalid appid"}
            elif q.get("secret") != SECRET:
                answer = {"errcode": 40125, "errmsg": "invalid appsecret"}
            elif q.get("code") not in self.server.codes:
                answer = {"errcode": 40029, "errmsg": "invalid code"}
            else:
                openid = self.server.codes.pop(q["code"])
                answer = {
                    "access_token": "ACCESS_TOKEN",
                    "expires_in": 7200,
                    "refresh_token": "REFRESH_TOKEN",
                    "openid": openid,
                    "scope": "snsapi_base",
                }
            body = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_error(404)

    def log_message(self, *args):
        pass


@pytest.fixture
def wechat():
    server = FakeWeChat()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def wechat_app(database_url, tmp_path, wechat, **overrides):
    account = {
        "WECHAT_APPID": APPID,
        "WECHAT_SECRET": SECRET,
        "WECHAT_AUTHORIZE_URL": f"{wechat.base}/connect/oauth2/authorize",
        "WECHAT_EXCHANGE_URL": f"{wechat.base}/sns/oauth2/access_token",
        "WECHAT_TIMEOUT": 0.3,
    }
    config = make_config(database_url, tmp_path, **{**account, **overrides})
    app = create_app(config)
    with db.connection_context():
        migrate()
    return app


@pytest.fixture
def app(database_url, tmp_path, wechat):
    return wechat_app(database_url, tmp_path, wechat)


@pytest.fixture
def store(app):
    campaign = make_campaign(slug="store", title="门店会员群")
    make_group(campaign, "宝妈交流1群")
    return campaign


def phone(app):
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = WECHAT
    return client


def through_wechat(response):
    """What WeChat does with the phone sent to authorise: the local path it sends it back to."""
    assert response.status_code == 302
    import urllib.request

    class Stop(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, req, fp, code, msg, headers, newurl):
            raise StopIteration(newurl)

    url, fragment = response.location.split("#")
    assert fragment == "wechat_redirect"
    try:
        urllib.request.build_opener(Stop).open(url, timeout=5)
    except StopIteration as back:
        target = back.args[0]
    assert target.startswith(f"{PUBLIC_URL}/wx/back?")
    return target.removeprefix(PUBLIC_URL)


def carry_on_link(page) -> str:
    return (
        page.get_data(as_text=True)
        .split('class="button" href="')[1]
        .split('"')[0]
        .replace("&amp;", "&")
    )


def scan(client, url="/j/store"):
    """Open a member page in WeChat the way the phone does: through authorisation if sent."""
    response = client.get(url)
    if response.status_code == 302 and "/connect/oauth2/authorize?" in response.location:
        response = client.get(through_wechat(response))
        assert response.status_code == 302, response.get_data(as_text=True)
        response = client.get(response.location)
    return response


def test_first_visit_is_authorised_and_comes_back_as_the_wechat_user(app, store, wechat):
    amy = phone(app)
    first = amy.get("/j/store?r=ABC")
    assert first.status_code == 302
    sent = urlsplit(first.location)
    q = parse_qs(sent.query)
    assert f"{sent.scheme}://{sent.netloc}{sent.path}" == f"{wechat.base}/connect/oauth2/authorize"
    assert list(q) == ["appid", "redirect_uri", "response_type", "scope", "state"]
    assert q["redirect_uri"] == [f"{PUBLIC_URL}/wx/back?next=%2Fj%2Fstore%3Fr%3DABC"]
    assert Visit.select().count() == 0

    back = amy.get(through_wechat(first))
    assert back.status_code == 302 and back.location.startswith("/j/store?r=ABC&_qbv=")
    key = amy.get_cookie(VISITOR_COOKIE).value
    assert OPENID_AMY not in key and len(key) == 43
    page = amy.get(back.location)
    assert page.status_code == 200 and "宝妈交流1群" in page.get_data(as_text=True)
    assert Visit.get().visitor == key and Visit.get().outcome == "sent"
    # The openid itself is kept nowhere: not in a row, not in a cookie.
    assert all(OPENID_AMY not in str(row) for row in Visit.select().tuples())


def test_clearing_cookies_does_not_make_a_new_person(app, store, wechat):
    referrals.set_up_program(store, tiers=[(3, "9 折券")], friend_reward="新人券")
    amy = phone(app)
    assert scan(amy).status_code == 200
    key = amy.get_cookie(VISITOR_COOKIE).value
    make_member(store.id, visitor=key, nickname="阿花")

    again = phone(app)  # the same WeChat user, cookies cleared
    assert scan(again).status_code == 200
    assert again.get_cookie(VISITOR_COOKIE).value == key
    assert referrals.member_for(store.id, key).nickname == "阿花"
    assert stored_group().sent == 1
    assert [v.outcome for v in Visit.select().order_by(Visit.id)] == ["sent", "repeat"]

    wechat.user = OPENID_BEN  # another WeChat user: another person
    scan(phone(app))
    assert stored_group().sent == 2


def test_a_wrong_secret_gives_a_page_that_carries_on_by_cookie(
    database_url, tmp_path, wechat, caplog
):
    app = wechat_app(database_url, tmp_path, wechat, WECHAT_SECRET="not-the-secret")
    make_group(make_campaign(slug="store"))
    amy = phone(app)
    page = amy.get(through_wechat(amy.get("/j/store")))
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "微信暂时没能确认你的身份" in text
    assert "40125" in caplog.text and SECRET not in caplog.text and OPENID_AMY not in caplog.text
    carry_on = carry_on_link(page)
    assert carry_on.startswith("/j/store?_qbv=")
    assert amy.get(carry_on).status_code == 200  # a cookie identity now, no second round
    assert stored_group().sent == 1 and Visit.get().visitor == amy.get_cookie(VISITOR_COOKIE).value


def test_a_slow_wechat_times_out_into_the_same_page(app, store, wechat):
    wechat.slow = True
    amy = phone(app)
    page = amy.get(through_wechat(amy.get("/j/store")))
    assert page.status_code == 200 and "微信暂时没能确认你的身份" in page.get_data(as_text=True)


def test_coming_back_without_a_code_carries_on(app, store, wechat):
    amy = phone(app)
    back = through_wechat(amy.get("/j/store"))
    without_code = back.replace("&code=code0", "")
    page = amy.get(without_code)
    assert page.status_code == 200 and "微信没有给出你的身份" in page.get_data(as_text=True)
    assert wechat.exchanges == 0


@pytest.mark.parametrize(
    "change",
    [
        lambda url: url.replace("state=", "state=0"),  # forged state
        lambda url: url.replace("next=%2Fj%2Fstore", "next=%2F%2Fevil.example"),  # elsewhere
        lambda url: url.replace("next=%2Fj%2Fstore", "next=%2Fj%2Fother"),  # another page
    ],
)
def test_a_forged_state_or_return_path_is_refused_and_sets_nothing(app, store, wechat, change):
    amy = phone(app)
    back = change(through_wechat(amy.get("/j/store")))
    response = amy.get(back)
    assert response.status_code == 400 and "这个链接已经失效" in response.get_data(as_text=True)
    assert amy.get_cookie(VISITOR_COOKIE) is None and wechat.exchanges == 0


def test_a_callback_from_another_browser_is_refused(app, store, wechat):
    """The nonce cookie ties the state to the phone that started: a code and state sent to
    someone else's phone (login CSRF) do not make them that WeChat user."""
    back = through_wechat(phone(app).get("/j/store"))
    victim = phone(app)
    refused = victim.get(back)
    assert refused.status_code == 400 and victim.get_cookie(VISITOR_COOKIE) is None
    # Not a dead end: the page leads on to the page, by cookie, without a second round.
    onward = carry_on_link(refused)
    assert onward.startswith("/j/store?_qbv=") and victim.get(onward).status_code == 200


def test_a_return_path_elsewhere_is_never_linked(app, store, wechat):
    amy = phone(app)
    back = through_wechat(amy.get("/j/store")).replace("%2Fj%2Fstore", "%2F%2Fevil.example")
    refused = amy.get(back)
    assert refused.status_code == 400 and "evil.example" not in refused.get_data(as_text=True)


def test_the_nonce_cookie_is_cleared_after_use(app, store, wechat):
    amy = phone(app)
    amy.get(through_wechat(amy.get("/j/store")))
    assert amy.get_cookie(WECHAT_NONCE_COOKIE) is None


def test_outside_wechat_and_without_an_account_cookies_identify(
    database_url, tmp_path, wechat, app, store
):
    browser = app.test_client()
    browser.environ_base["HTTP_USER_AGENT"] = "Mozilla/5.0 (iPhone) Mobile Safari"
    assert browser.get("/j/store").location.startswith("/j/store?_qbv=")
    plain = create_app(make_config(database_url, tmp_path))
    assert phone(plain).get("/j/store").location.startswith("/j/store?_qbv=")


@pytest.mark.parametrize("given", [{"WECHAT_APPID": APPID}, {"WECHAT_SECRET": SECRET}])
def test_half_an_account_stops_start_up_with_what_to_set(given):
    from flask import Flask

    app = Flask("t")
    with pytest.raises(ImproperlyConfigured, match="set both"):
        configure(app, {"SECRET_KEY": "s", "HASH_KEY": "h", **given})
