"""A staff member's own console language (the account page), and the login's words in the
browser's language."""

import pytest
from helpers import STAFF_PASSWORD, csrf_from, make_staff

from miniapp_api.models import AuditEntry, Staff

ACCOUNT = "/console/account"
LANGUAGE = "/console/account/language"


def _language(username):
    return Staff.get(Staff.username == username).language


@pytest.mark.parametrize("role", ["operator", "trainer", "admin"])
def test_setting_english_beats_the_browser_for_every_role(client, login_as, role):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN,zh;q=0.9"
    actions = login_as(role, username="amy")
    page = client.get(ACCOUNT).get_data(as_text=True)
    assert "界面语言" in page and "跟随浏览器" in page

    saved = actions.post(LANGUAGE, {"language": "en"}, page=ACCOUNT)
    assert saved.status_code == 302 and saved.headers["Location"] == ACCOUNT
    assert _language("amy") == "en"
    page = client.get(ACCOUNT).get_data(as_text=True)
    assert "Interface language saved." in page  # said in the language just chosen
    assert 'value="en" selected' in page
    home = client.get("/console/").get_data(as_text=True)
    assert '<html lang="en">' in home and "Log out" in home and "退出" not in home
    assert AuditEntry.get(AuditEntry.action == "staff.language").target == "staff:amy"

    actions.post(LANGUAGE, {"language": ""}, page=ACCOUNT)  # follow the browser again
    assert _language("amy") == ""
    assert "退出" in client.get("/console/").get_data(as_text=True)


def test_chinese_beats_an_english_browser(client, login_as):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en-US,en;q=0.9"
    actions = login_as("operator", username="amy")
    assert "Log out" in client.get("/console/").get_data(as_text=True)
    actions.post(LANGUAGE, {"language": "zh"}, page=ACCOUNT)
    assert _language("amy") == "zh"
    assert "退出" in client.get("/console/").get_data(as_text=True)


@pytest.mark.parametrize("value", ["fr", "EN", "en-US", "zh-CN", " en", "x" * 300, None])
def test_a_value_not_offered_is_refused_and_nothing_stored(client, login_as, value):
    actions = login_as("operator", username="amy")
    data = {} if value is None else {"language": value}
    refused = actions.post(LANGUAGE, data, page=ACCOUNT)
    assert refused.status_code == 302 and refused.headers["Location"] == ACCOUNT
    assert _language("amy") == ""
    assert "没有这个界面语言" in client.get(ACCOUNT).get_data(as_text=True)
    assert not AuditEntry.select().where(AuditEntry.action == "staff.language").exists()


def test_a_get_never_changes_it(client, login_as):
    login_as("operator", username="amy")
    assert client.get(f"{LANGUAGE}?language=en").status_code == 405
    assert client.get(f"{ACCOUNT}?language=en").status_code == 200
    assert _language("amy") == ""


def test_the_csrf_token_is_required(app, client, login_as):
    app.config["WTF_CSRF_ENABLED"] = True
    login_as("operator", username="amy")
    assert client.post(LANGUAGE, data={"language": "en"}).status_code == 400
    assert client.post(LANGUAGE, data={"language": "en", "csrf_token": "forged"}).status_code == 400
    assert _language("amy") == ""


def test_the_anonymous_are_sent_to_log_in(client):
    make_staff("amy")
    response = client.post(LANGUAGE, data={"language": "en"})
    assert response.status_code in (302, 400)  # the login page, or CSRF refuses first
    assert _language("amy") == ""


@pytest.mark.parametrize(
    ("accept_language", "wrong"),
    [(None, "用户名或密码不对。"), ("en-US,en;q=0.9", "Wrong username or password.")],
)
def test_the_login_refusal_speaks_the_browsers_language(client, accept_language, wrong):
    make_staff("amy")
    if accept_language:
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = accept_language
    token = csrf_from(client.get("/console/login"))
    response = client.post(
        "/console/login",
        data={"username": "amy", "password": STAFF_PASSWORD + "x", "csrf_token": token},
    )
    assert response.status_code == 401
    assert wrong in response.get_data(as_text=True)


def test_an_english_admin_reads_these_pages_without_chinese(client, login_as):
    import re

    from helpers import make_campaign, make_group

    campaign = make_campaign(slug="store", title="Store members")
    make_group(campaign, "group-a", qr_age=None)
    actions = login_as("admin", username="amy")
    actions.post(LANGUAGE, {"language": "en"}, page=ACCOUNT)
    cjk = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")
    for url in (
        "/console/",
        "/console/attention",
        "/console/customers",
        "/console/audit",
        "/console/tokens",
        ACCOUNT,
        "/console/no-such-page",
    ):
        page = client.get(url).get_data(as_text=True)
        # Content, not interface: the staff member's name, the language's own name.
        page = page.replace("陈店长", "").replace("中文", "")
        page = re.sub(r"<td>[^<]*</td>", "", page) if url == "/console/audit" else page
        found = cjk.findall(re.sub(r"<(script|style)[^>]*>.*?</\1>", "", page, flags=re.S))
        assert found == [], (url, "".join(found))
