"""Staff login: sessions that really end, throttling, CSRF, headers, and no open door."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from argon2 import Type
from helpers import STAFF_PASSWORD, StaffActions, csrf_from, make_staff

from miniapp_api.accounts import rules as accounts_rules
from miniapp_api.accounts.rules import MAX_ACCOUNT_FAILURES
from miniapp_api.models import AuditEntry, LoginAttempt, Staff, StaffSession

SESSION_COOKIE = "session"


def test_login_then_console_then_logout(client, staff_actions):
    make_staff()
    response = staff_actions.login()
    assert response.status_code == 302
    assert response.headers["Location"] == "/console/"
    assert "陈店长" in client.get("/console/").get_data(as_text=True)
    assert StaffSession.select().count() == 1
    response = staff_actions.logout()
    assert response.headers["Location"] == "/console/login?done=logout"
    # The row goes at logout itself, with the cookie: the message travels in the URL.
    assert StaffSession.select().count() == 0
    assert client.get_cookie(SESSION_COOKIE) is None
    assert "已退出。" in client.get("/console/login?done=logout").get_data(as_text=True)
    assert StaffSession.select().count() == 0
    assert client.get("/console/").status_code == 302
    actions = [e.action for e in AuditEntry.select().order_by(AuditEntry.id)]
    assert actions == ["staff.login", "staff.logout"]


def test_a_replayed_cookie_after_logout_is_refused(app, client, staff_actions):
    make_staff()
    staff_actions.login()
    stolen = client.get_cookie(SESSION_COOKIE).value
    staff_actions.logout()
    attacker = app.test_client()
    attacker.set_cookie(SESSION_COOKIE, stolen)
    response = attacker.get("/console/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/console/login")


def test_password_change_ends_every_session(app, client, staff_actions):
    make_staff()
    other = StaffActions(app.test_client())
    other.login()
    staff_actions.login()
    response = staff_actions.post(
        "/console/account",
        {"current_password": STAFF_PASSWORD, "new_password": "另一个够长的新密码123"},
    )
    assert response.headers["Location"] == "/console/login"
    assert StaffSession.select().count() == 0
    assert other.client.get("/console/").status_code == 302
    assert staff_actions.login(password=STAFF_PASSWORD).status_code == 401
    assert staff_actions.login(password="另一个够长的新密码123").status_code == 302


def test_session_token_changes_at_login(app, client, staff_actions):
    make_staff()
    client.get("/console/login")  # the form's token is signed for the visitor: no session
    assert client.get_cookie(SESSION_COOKIE) is None and StaffSession.select().count() == 0
    staff_actions.login()
    before = client.get_cookie(SESSION_COOKIE).value
    staff_actions.login()  # logging in again, as over a session someone else fixed
    assert client.get_cookie(SESSION_COOKIE).value != before
    old = app.test_client()
    old.set_cookie(SESSION_COOKIE, before)
    assert old.get("/console/").status_code == 302
    assert StaffSession.select().count() == 1


def test_eleventh_wrong_password_in_a_row_is_throttled(client, staff_actions):
    make_staff()
    for _ in range(MAX_ACCOUNT_FAILURES):
        assert staff_actions.login(password="wrong password").status_code == 401
    throttled = staff_actions.login(password=STAFF_PASSWORD)
    assert throttled.status_code == 429
    assert "密码错误次数太多" in throttled.get_data(as_text=True)
    english = client.post(
        "/console/login",
        data={"username": "chen", "password": STAFF_PASSWORD, "csrf_token": csrf_from(throttled)},
        headers={"Accept-Language": "en"},
    )
    assert english.status_code == 429
    assert "Too many wrong passwords" in english.get_data(as_text=True)
    assert client.get("/console/").status_code == 302
    assert LoginAttempt.select().where(LoginAttempt.succeeded).count() == 0


def test_a_success_resets_the_count(staff_actions):
    make_staff()
    for _ in range(MAX_ACCOUNT_FAILURES - 1):
        staff_actions.login(password="wrong password")
    assert staff_actions.login().status_code == 302
    for _ in range(MAX_ACCOUNT_FAILURES - 1):
        assert staff_actions.login(password="wrong password").status_code == 401


def test_unknown_user_and_inactive_staff_cannot_log_in(staff_actions):
    staff = make_staff()
    assert staff_actions.login(username="nobody").status_code == 401
    staff.__class__.update(active=False).where(staff.__class__.id == staff.id).execute()
    assert staff_actions.login().status_code == 401


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example/",
        "//evil.example/x",
        "/j/demo",
        "javascript:alert(1)",
        "/console/\r\nSet-Cookie: 店长=1",  # was a 500: a header cannot hold a newline
        "/console/\nx",
        "/console\\evil.example",
        "/console/\\evil.example",
        "/console/../\\evil.example",
        "/console/..",
        "/console//evil.example",
        "/console/\u202e活动",
        "/console/ 活动",
        "/consoleevil",
        "http:/console/",
    ],
)
def test_login_never_redirects_off_the_console(staff_actions, next_url):
    make_staff()
    assert staff_actions.login(next_url=next_url).headers["Location"] == "/console/"


def test_a_control_character_in_next_is_refused_at_the_door(staff_actions):
    make_staff()
    answer = staff_actions.login(next_url="/console/\x00活动")
    assert answer.status_code == 400 and "Location" not in answer.headers
    assert "控制字符" in answer.get_data(as_text=True)


def test_login_returns_to_the_page_asked_for(client, staff_actions):
    make_staff()
    assert (
        client.get("/console/account").headers["Location"] == "/console/login?next=/console/account"
    )
    assert (
        staff_actions.login(next_url="/console/account").headers["Location"] == "/console/account"
    )
    staff_actions.logout()
    back = staff_actions.login(next_url="/console/campaigns?q=店庆")
    assert back.headers["Location"] == "/console/campaigns?q=%E5%BA%97%E5%BA%86"


@pytest.mark.parametrize("url", ["/console/login", "/console/logout"])
def test_form_posts_without_a_csrf_token_are_refused(client, url):
    make_staff()
    client.get("/console/login")
    response = client.post(url, data={"username": "chen", "password": STAFF_PASSWORD})
    assert response.status_code == 400
    assert "页面已过期" in response.get_data(as_text=True)
    assert StaffSession.select().where(StaffSession.staff.is_null(False)).count() == 0


def test_csrf_token_of_another_session_is_refused(app, client):
    make_staff()
    token = csrf_from(app.test_client().get("/console/login"))
    client.get("/console/login")
    response = client.post(
        "/console/login", data={"username": "chen", "password": STAFF_PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 400


def test_member_pages_create_no_session(client):
    from helpers import make_campaign, make_group

    make_group(make_campaign(slug="store"))
    response = client.get("/j/store", headers={"User-Agent": "Mozilla/5.0 (iPhone) Mobile"})
    assert SESSION_COOKIE not in response.headers.get("Set-Cookie", "")
    assert StaffSession.select().count() == 0


@pytest.mark.parametrize("url", ["/j/none", "/console/login", "/", "/handbook/"])
def test_security_headers_on_every_response(app, client, built, url):
    app.config["HANDBOOK_DIR"] = str(built[0])
    with client.get(url) as response:
        headers = response.headers
    policy = headers["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]*)", policy)[1]
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    if url == "/handbook/":
        assert "'sha256-" in script_src  # the theme's own inline scripts, by hash only
    assert "frame-ancestors 'none'" in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert headers["Strict-Transport-Security"].startswith("max-age=")  # https public URL


def test_every_console_and_api_route_refuses_the_anonymous(app, client):
    """Walks the URL map, so a route added later cannot slip through. CSRF is off: with it on,
    a POST is refused (400) before any login guard runs, and an unguarded view would pass."""
    app.config["WTF_CSRF_ENABLED"] = False
    public = {"accounts.login", "api.openapi"}
    # Logging out needs no login: it ends whatever session there is and shows the login page.
    to_login = {"accounts.logout"}
    staff_surfaces = ("console", "accounts", "api", "people")
    checked = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] in staff_surfaces:
            assert rule.rule.startswith(("/console/", "/api/v1/")), rule.rule
        if not rule.rule.startswith(("/console/", "/api/v1/")):
            continue
        url = re.sub(r"<(?:(\w+):)?(\w+)>", lambda m: "1" if m[1] == "int" else "x", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method)
            where = (method, url)
            if rule.endpoint in public:
                if method == "GET":
                    assert response.status_code == 200, where
            elif rule.rule.startswith("/api/v1/"):
                assert response.status_code == 401, where
                assert response.get_json()["error"]["code"] == "unauthenticated", where
                assert response.headers["WWW-Authenticate"] == 'Bearer realm="qunbook"', where
            else:
                assert response.status_code == 302, where
                location = urlsplit(response.headers["Location"])
                assert location.path == "/console/login", where
                back = parse_qs(location.query).get("next")
                assert back == (None if rule.endpoint in to_login else [url]), where
            checked.add((rule.endpoint, method))
    # Every staff surface was walked: each of its endpoints at least once.
    endpoints = {e for e in app.view_functions if e.split(".")[0] in staff_surfaces}
    assert {endpoint for endpoint, _ in checked} == endpoints
    assert len(checked) > 40 and ("console.move_group", "POST") in checked
    assert StaffSession.select().where(StaffSession.staff.is_null(False)).count() == 0
    assert AuditEntry.select().count() == 0


def test_production_password_hashing_is_the_rfc_9106_low_memory_profile(production_hasher):
    """The suite hashes cheaply (conftest.py); the app itself keeps argon2id at t=3, 64 MiB, p=4."""
    assert production_hasher is not accounts_rules._hasher  # the suite's cheap one is in place
    assert (
        production_hasher.type,
        production_hasher.time_cost,
        production_hasher.memory_cost,
        production_hasher.parallelism,
        production_hasher.hash_len,
        production_hasher.salt_len,
    ) == (Type.ID, 3, 64 * 1024, 4, 32, 16)
    encoded = production_hasher.hash("一个足够长的密码-2026")
    assert encoded.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_a_hash_made_with_cheaper_parameters_is_upgraded_at_login(
    production_hasher, staff_actions, monkeypatch
):
    staff = make_staff()
    assert staff.password_hash.startswith("$argon2id$v=19$m=8,t=1,p=1$")
    monkeypatch.setattr(accounts_rules, "_hasher", production_hasher)
    assert staff_actions.login().status_code == 302
    upgraded = Staff.get_by_id(staff.id).password_hash
    assert upgraded.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_the_class_trainer_login_is_read_only_and_local_by_default(app, runner):
    result = runner.invoke(args=["demo", "--trainer"])
    assert result.exit_code == 0, result.output
    password = re.search(r"demo-trainer / (\S+)", result.output)[1]
    assert "this machine only" in result.output and "/console/login" in result.output
    trainer = Staff.get(Staff.username == "demo-trainer")
    assert trainer.role == "trainer" and password not in trainer.password_hash

    phone = StaffActions(app.test_client())
    phone.client.environ_base["REMOTE_ADDR"] = "192.168.1.23"  # a student's phone
    refused = phone.login("demo-trainer", password)
    assert refused.status_code == 403 and "只能在运行小程序的这台电脑上登录" in refused.get_data(
        as_text=True
    )
    assert phone.client.get("/console/").status_code == 302  # not logged in

    here = StaffActions(app.test_client())  # the test client is 127.0.0.1: the kit's machine
    assert here.login("demo-trainer", password).headers["Location"] == "/console/"
    assert here.client.get("/console/").status_code == 200
    # Read-only: making a campaign is refused.
    assert (
        here.post(
            "/console/campaigns/new", {"slug": "x", "title": "试"}, page="/console/"
        ).status_code
        == 403
    )

    # Another class: a new password, the old one stops working.
    again = runner.invoke(args=["demo", "--trainer"])
    assert re.search(r"demo-trainer / (\S+)", again.output)[1] != password
    assert StaffActions(app.test_client()).login("demo-trainer", password).status_code == 401


def test_students_phones_may_log_in_when_the_trainer_allows_it(app, runner):
    app.config["DEMO_TRAINER_ANYWHERE"] = True
    result = runner.invoke(args=["demo", "--trainer"])
    password = re.search(r"demo-trainer / (\S+)", result.output)[1]
    phone = StaffActions(app.test_client())
    phone.client.environ_base["REMOTE_ADDR"] = "192.168.1.23"
    assert phone.login("demo-trainer", password).headers["Location"] == "/console/"
