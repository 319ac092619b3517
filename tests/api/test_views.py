"""The JSON API: bearer tokens, roles, every endpoint, and JSON errors for every bad request."""

import json
import re

import pytest
from helpers import make_campaign, make_channel, make_group, make_staff, stored_group

from miniapp_api.accounts.rules import change_password, issue_api_token
from miniapp_api.models import ApiToken, AuditEntry, Campaign, Channel, Group, utcnow


@pytest.fixture
def api(app):
    """A client that sends an operator's token; api.as_role("trainer") switches."""

    class Api:
        def __init__(self):
            self.client = app.test_client()
            self.as_role("operator")

        def as_role(self, role):
            self.staff = make_staff(f"api-{role}", role)
            self.token = issue_api_token(self.staff, f"{role} 的脚本")
            return self

        def open(self, method, url, **kw):
            headers = {"Authorization": f"Bearer {self.token}", **kw.pop("headers", {})}
            return self.client.open(f"/api/v1{url}", method=method, headers=headers, **kw)

        def get(self, url, **kw):
            return self.open("GET", url, **kw)

    return Api()


def error_of(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    body = response.get_json()["error"]
    assert body["status"] == status and body["message"]
    return body


# ---------------------------------------------------------------- authentication


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer",
        "Bearer qbk_not-a-real-token",
        "Basic dXNlcjpwYXNz",
        "qbk_x",
        "Bearer " + "x" * 500,
    ],
)
def test_requests_without_a_valid_token_get_401_json(app, header):
    make_campaign(slug="store")
    headers = {"Authorization": header} if header else {}
    response = app.test_client().get("/api/v1/campaigns/store", headers=headers)
    error_of(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_cookie_session_is_not_enough(app, login_as, client):
    login_as("admin")  # a logged-in console session on this client
    error_of(client.get("/api/v1/campaigns"), 401)


def test_revoked_token_and_password_change_end_access(api):
    assert api.get("/campaigns").status_code == 200
    ApiToken.update(revoked_at=utcnow()).where(ApiToken.staff == api.staff.id).execute()
    error_of(api.get("/campaigns"), 401)

    api.token = issue_api_token(api.staff, "新脚本")
    assert api.get("/campaigns").status_code == 200
    change_password(api.staff, "另一个很长的新密码-2026")
    error_of(api.get("/campaigns"), 401)


def test_trainer_tokens_read_but_never_write(api):
    campaign = make_campaign(slug="store")
    group = make_group(campaign, "一群")
    api.as_role("trainer")
    assert api.get("/campaigns/store/groups").status_code == 200
    for method, url, body in [
        ("POST", "/campaigns", {"slug": "new", "title": "新活动"}),
        ("PATCH", "/campaigns/store", {"title": "改名"}),
        ("POST", "/campaigns/store/channels", {"code": "x", "label": "X"}),
        ("POST", "/campaigns/store/groups", {"name": "二群"}),
        ("PATCH", f"/campaigns/store/groups/{group.id}", {"sent": 9}),
    ]:
        error_of(api.open(method, url, json=body), 403)
    assert Campaign.select().count() == 1 and stored_group(group.id).sent == 0
    assert Campaign.get().title == "门店会员群" and Channel.select().count() == 0


# ---------------------------------------------------------------- endpoints


def test_campaigns_are_listed_newest_first_in_pages(api):
    for i in range(3):
        make_campaign(slug=f"c{i}", title=f"活动{i}")
    first = api.get("/campaigns?per_page=2").get_json()
    assert [c["slug"] for c in first["items"]] == ["c2", "c1"]
    assert (first["page"], first["per_page"], first["total"]) == (1, 2, 3)
    second = api.get("/campaigns?per_page=2&page=2").get_json()
    assert [c["slug"] for c in second["items"]] == ["c0"]


def test_create_by_hand_and_from_a_template(api):
    response = api.open("POST", "/campaigns", json={"slug": "store", "title": "门店会员群"})
    assert response.status_code == 201
    assert response.get_json()["join_url"] == "https://qun.example.cn/j/store"
    from_template = api.open(
        "POST", "/campaigns", json={"slug": "laodaixin", "template": "friend-referral"}
    )
    assert from_template.status_code == 201
    assert from_template.get_json()["template"] == "friend-referral"
    assert Campaign.get(Campaign.slug == "laodaixin").groups.count() == 2
    entries = AuditEntry.select().where(AuditEntry.action == "campaign.create")
    assert sorted(e.target for e in entries) == ["campaign:laodaixin", "campaign:store"]


def test_an_unknown_template_is_422_naming_the_templates(api):
    response = api.open("POST", "/campaigns", json={"slug": "store", "template": "抽奖"})
    assert "friend-referral" in error_of(response, 422)["message"]
    assert Campaign.select().count() == 0


def test_edit_campaign_text(api):
    make_campaign(slug="store")
    response = api.open("PATCH", "/campaigns/store", json={"promise": "进群领**新人券**"})
    assert response.get_json()["promise"] == "进群领**新人券**"
    assert Campaign.get().title == "门店会员群"  # fields not sent keep their text
    entry = AuditEntry.get(AuditEntry.action == "campaign.edit")
    assert entry.target == "campaign:store" and json.loads(entry.detail)["fields"] == ["promise"]
    api.open("PATCH", "/campaigns/store", json={"promise": "进群领**新人券**"})
    assert AuditEntry.select().where(AuditEntry.action == "campaign.edit").count() == 1


def test_channels_and_groups(api):
    campaign = make_campaign(slug="store")
    response = api.open(
        "POST", "/campaigns/store/channels", json={"code": "counter", "label": "门店前台"}
    )
    assert response.status_code == 201
    assert response.get_json()["join_url"] == "https://qun.example.cn/j/store?c=counter"
    assert [c["code"] for c in api.get("/campaigns/store/channels").get_json()["items"]] == [
        "counter"
    ]
    made = api.open("POST", "/campaigns/store/groups", json={"name": "宝妈一群", "cutoff": 150})
    assert made.status_code == 201 and made.get_json()["open"] is False  # no QR yet
    group = make_group(campaign, "宝妈二群")
    patched = api.open(
        "PATCH", f"/campaigns/store/groups/{group.id}", json={"sent": 12, "active": False}
    )
    assert patched.status_code == 200
    assert (stored_group(group.id).sent, Group.get_by_id(group.id).active) == (12, False)
    listed = api.get("/campaigns/store/groups").get_json()["items"]
    assert [g["name"] for g in listed] == ["宝妈一群", "宝妈二群"]
    assert "qr_image" not in listed[1] and listed[1]["qr_expires_at"].endswith("Z")
    made_id = made.get_json()["id"]
    assert {(e.action, e.target) for e in AuditEntry.select()} == {
        ("channel.create", "campaign:store"),
        ("group.create", f"group:{made_id}"),
        ("group.update", f"group:{group.id}"),
    }


def test_stats_carry_funnel_channels_and_days(api, client):
    campaign = make_campaign(slug="store")
    make_channel(campaign, "counter", "门店前台")
    make_group(campaign, "一群")
    client.get("/j/store?c=counter", headers={"User-Agent": "Mozilla/5.0 (iPhone) Mobile"})
    body = api.get("/campaigns/store/stats?days=7").get_json()
    assert [s["count"] for s in body["funnel"]] == [1, 1, 1]
    assert body["channels"][0] == {
        "code": "counter", "label": "门店前台", "scans": 1, "sent": 1, "full": 0, "bots": 0,
    }  # fmt: skip
    assert len(body["days"]) == 7 and body["days"][-1]["sent"] == 1


# ---------------------------------------------------------------- bad requests


def test_unknown_things_are_404_json(api):
    campaign = make_campaign(slug="store")
    other = make_group(make_campaign(slug="other"), "别人的群")
    make_group(campaign, "一群")
    error_of(api.get("/campaigns/nope"), 404)
    error_of(api.get("/campaigns/阿花/groups"), 404)
    error_of(api.get("/nope"), 404)
    error_of(api.open("PATCH", f"/campaigns/store/groups/{other.id}", json={"sent": 1}), 404)
    assert stored_group(other.id).sent == 0


def test_wrong_method_is_405_json(api):
    error_of(api.open("DELETE", "/campaigns"), 405)
    error_of(api.open("PUT", "/campaigns/x"), 405)


def test_a_body_over_the_request_limit_is_413_json(api):
    make_campaign(slug="store")
    body = '{"title": "' + "长" * (6 * 1024 * 1024) + '"}'  # 3 bytes each: over 16 MB
    response = api.open("PATCH", "/campaigns/store", data=body, content_type="application/json")
    error_of(response, 413)
    assert Campaign.get().title == "门店会员群"


@pytest.mark.parametrize(
    ("method", "url", "body", "status"),
    [
        ("GET", "/campaigns?page=²", None, 422),  # a digit to str.isdigit(), not to int()
        ("GET", "/campaigns?per_page=" + "9" * 5000, None, 422),
        ("GET", "/campaigns/store/stats?days=１", None, 422),
        ("PATCH", "/campaigns/store/groups/" + "9" * 30, '{"sent": 1}', 404),
        ("PATCH", "/campaigns/store", "[" * 100_000, 422),  # deeper than json.loads recurses
        ("PATCH", "/campaigns/store", '{"title": ' + "9" * 5000 + "}", 422),
        ("PATCH", "/campaigns/store", "", 422),
    ],
)
def test_odd_input_is_answered_never_a_500(api, method, url, body, status):
    make_campaign(slug="store")
    kw = {"data": body, "content_type": "application/json"} if body is not None else {}
    error_of(api.open(method, url, **kw), status)
    assert Campaign.get().title == "门店会员群"


def test_a_body_that_is_not_json_is_415(api):
    make_campaign(slug="store")
    error_of(api.open("PATCH", "/campaigns/store", data={"title": "表单"}), 415)
    error_of(api.open("POST", "/campaigns", data="{}", content_type="text/plain"), 415)
    assert Campaign.get().title == "门店会员群"


@pytest.mark.parametrize(
    ("body", "hint"),
    [
        ("[1, 2]", "JSON object"),
        ('"title"', "JSON object"),
        ("{not json", "not valid JSON"),
        ('{"title": 5}', "'title' must be a string"),
        ('{"title": "新", "colour": "red"}', "Unknown field(s): colour"),
        ('{"title": "' + "长" * 121 + '"}', "at most 120 characters"),
        ('{"title": "  "}', "Enter a title"),
        ('{"title": "a\\u0000b"}', "'title' holds a control character (U+0000)"),
        ('{"title": "\\ud800"}', "'title' holds a control character (U+D800)"),
    ],
)
def test_bad_bodies_are_422_and_change_nothing(api, body, hint):
    make_campaign(slug="store")
    response = api.open("PATCH", "/campaigns/store", data=body, content_type="application/json")
    assert hint in error_of(response, 422)["message"]
    assert Campaign.get().title == "门店会员群"


@pytest.mark.parametrize(
    ("method", "url", "body", "named"),
    [
        ("PATCH", "/campaigns/store", {"promise": "邀请好友送券🎁"}, "「🎁」(U+1F381)"),
        ("PATCH", "/campaigns/store", {"title": "咖啡☕会员群"}, "「☕」(U+2615)"),
        ("PATCH", "/campaigns/store", {"title": "会员\u202e群"}, "U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("POST", "/campaigns", {"slug": "cafe", "title": "会员群𠀀"}, "「𠀀」(U+20000)"),
        (
            "POST",
            "/campaigns",
            {"slug": "cafe", "template": "store-live-code", "promise": "送券🎁"},
            "「🎁」(U+1F381)",
        ),
        (
            "POST",
            "/campaigns/store/channels",
            {"code": "cafe", "label": "前台☕"},
            "「☕」(U+2615)",
        ),
    ],
)
def test_poster_text_the_font_cannot_print_is_422_naming_it(api, method, url, body, named):
    make_campaign(slug="store")
    message = error_of(api.open(method, url, json=body), 422)["message"]
    assert named in message and "remove them or write them as words" in message
    assert [(c.title, c.promise) for c in Campaign.select()] == [("门店会员群", "进群领券")]
    assert Channel.select().count() == 0
    assert not AuditEntry.select().where(AuditEntry.action != "staff.login").exists()


@pytest.mark.parametrize(
    ("body", "hint"),
    [
        ({"sent": -1}, "cannot be negative"),
        ({"cutoff": 0}, "cut-off"),
        ({"sent": True}, "whole number"),
        ({"sent": 10**12}, "between"),
        ({}, "Nothing to change"),
    ],
)
def test_bad_group_changes_are_422(api, body, hint):
    group = make_group(make_campaign(slug="store"), "一群")
    response = api.open("PATCH", f"/campaigns/store/groups/{group.id}", json=body)
    assert hint in error_of(response, 422)["message"]
    assert (stored_group(group.id).sent, Group.get_by_id(group.id).cutoff) == (0, 200)


def test_a_taken_slug_is_422_and_stored_once(api):
    make_campaign(slug="store", title="原来的")
    response = api.open("POST", "/campaigns", json={"slug": "store", "title": "重复"})
    assert "exists already" in error_of(response, 422)["message"]
    assert [c.title for c in Campaign.select()] == ["原来的"]


@pytest.mark.parametrize("query", ["days=0", "days=91", "days=七", "days=-1"])
def test_bad_query_values_are_422(api, query):
    make_campaign(slug="store")
    error_of(api.get(f"/campaigns/store/stats?{query}"), 422)


def test_openapi_document_is_public_and_describes_every_route(app):
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    described = {
        (method.upper(), "/api/v1" + path.replace("{", "<").replace("}", ">"))
        for path, item in document["paths"].items()
        for method in item
        if method != "parameters"
    }
    routes = {
        (method, re.sub(r"<int:(\w+)>", r"<\1>", rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.") and rule.endpoint != "api.openapi"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert described == routes


# ---------------------------------------------------------------- activities and the challenge


@pytest.fixture
def on_day(monkeypatch):
    """The API's clock at 10:00 Shanghai time on day n of the test challenge."""
    from helpers import shanghai

    from miniapp_api.api import views

    def set_day(n: int):
        monkeypatch.setattr(views, "utcnow", lambda: shanghai(n))

    set_day(2)
    return set_day


def _activities_case():
    """4 participants (3 in 一群), 3 answer day 1; an event with 3 unrevoked tickets of 4
    (2 in 一群) and 2 door check-ins."""
    from datetime import datetime

    from helpers import make_challenge, make_participant, shanghai

    from miniapp_api.checkins import events
    from miniapp_api.checkins import rules as checkins

    campaign = make_campaign(slug="store")
    group = make_group(campaign, "一群")
    challenge = make_challenge(campaign, days=2, finish_days=1, reward="结营礼")
    members = [
        make_participant(challenge, nickname=f"会员{i}", group_id=group.id if i < 3 else None)
        for i in range(4)
    ]
    for member in members[:3]:
        checkins.check_in(challenge, member, now=shanghai(1))
    event = events.create_event(
        campaign, title="见面会", starts_at=datetime(2026, 12, 20, 6), capacity=50
    )
    tickets = [
        events.issue_ticket(event, holder=f"来宾{i}", group_id=group.id if i < 2 else None)
        for i in range(4)
    ]
    events.revoke_ticket(event, tickets[3].id)
    events.check_in_ticket(event, tickets[0].token)
    events.check_in_ticket(event, tickets[2].token)
    return campaign, group, event


def test_activities_with_their_stickiness(api, on_day):
    _, _, event = _activities_case()
    response = api.as_role("trainer").get("/campaigns/store/activities")  # reading is for all
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert [
        {k: a[k] for k in ("kind", "number", "title", "called", "responded")} for a in items
    ] == [
        {"kind": "day", "number": 1, "title": "第 1 天", "called": 4, "responded": 3},
        {"kind": "day", "number": 2, "title": "第 2 天", "called": 4, "responded": 0},
        {"kind": "event", "number": None, "title": "见面会", "called": 3, "responded": 2},
    ]
    assert [a["stickiness"] for a in items] == [0.75, 0.0, pytest.approx(2 / 3)]
    assert all(a["started"] for a in items)
    assert items[0]["starts_at"] is None and items[2]["starts_at"] == "2026-12-20T06:00:00Z"
    assert items[2]["id"] == event.id


def test_one_activity_with_its_groups(api, on_day):
    _, group, event = _activities_case()
    body = api.get(f"/campaigns/store/activities/{event.id}").get_json()
    assert (body["called"], body["responded"], body["stickiness"]) == (3, 2, pytest.approx(2 / 3))
    assert body["groups"] == [
        {"group_id": group.id, "group": "一群", "called": 2, "responded": 1, "stickiness": 0.5},
        # The API speaks English: the row of members in no group is named in English.
        {
            "group_id": None,
            "group": "Not in a group",
            "called": 1,
            "responded": 1,
            "stickiness": 1.0,
        },
    ]
    day_one = api.get("/campaigns/store/activities").get_json()["items"][0]
    groups = api.get(f"/campaigns/store/activities/{day_one['id']}").get_json()["groups"]
    assert [(g["group"], g["called"], g["responded"]) for g in groups] == [
        ("一群", 3, 3),
        ("Not in a group", 1, 0),
    ]


def test_the_challenge_with_participants_and_finishers(api, on_day):
    _activities_case()
    body = api.get("/campaigns/store/challenge").get_json()
    assert body == {
        **body,
        "days": 2,
        "starts_on": "2026-12-01",
        "ends_on": "2026-12-02",
        "timezone": "Asia/Shanghai",
        "finish_days": 1,
        "reward": "结营礼",
        "makeup_cards": 2,
        "makeup_window": 3,
        "hidden": False,
        "participants": 4,
        "finishers": 3,
    }
    assert body["today"] == 2 and body["task"].startswith("早上 7 点")
    assert body["checked_in_today"] == 0 and body["created_at"].endswith("Z")


def test_days_to_come_have_called_nobody_yet(api, on_day):
    _activities_case()
    on_day(1)
    items = api.get("/campaigns/store/activities").get_json()["items"]
    assert [(a["called"], a["stickiness"], a["started"]) for a in items[:2]] == [
        (4, 0.75, True),
        (0, None, False),
    ]
    assert items[2]["started"] is True  # the event: already answered at the door
    day_two = api.get(f"/campaigns/store/activities/{items[1]['id']}").get_json()
    assert day_two["groups"] == [] and day_two["started"] is False


def test_unknown_campaign_activity_or_challenge_is_404_json(api):
    campaign, _, event = _activities_case()
    other = make_campaign(slug="other")
    elsewhere = api.get(f"/campaigns/other/activities/{event.id}")  # another campaign's
    assert "No activity" in error_of(elsewhere, 404)["message"]
    error_of(api.get("/campaigns/nope/activities"), 404)
    error_of(api.get("/campaigns/nope/activities/1"), 404)
    error_of(api.get("/campaigns/store/activities/999999"), 404)
    error_of(api.get("/campaigns/nope/challenge"), 404)
    assert "no challenge" in error_of(api.get("/campaigns/other/challenge"), 404)["message"]
    assert api.get("/campaigns/other/activities").get_json() == {"items": []}
    assert other.id != campaign.id


@pytest.mark.parametrize(
    "url",
    ["/campaigns/store/activities", "/campaigns/store/activities/1", "/campaigns/store/challenge"],
)
def test_activities_need_a_token(app, url):
    _activities_case()
    error_of(app.test_client().get(f"/api/v1{url}"), 401)


def test_activities_are_read_only(api):
    _, _, event = _activities_case()
    for method in ("POST", "PATCH", "DELETE"):
        error_of(api.open(method, "/campaigns/store/activities", json={}), 405)
        error_of(api.open(method, f"/campaigns/store/activities/{event.id}", json={}), 405)
        error_of(api.open(method, "/campaigns/store/challenge", json={}), 405)
