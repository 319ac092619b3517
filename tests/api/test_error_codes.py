"""The API's refusals: a stable machine code for programs, an English message for people, and
no Chinese interface text in either, the rules' refusals included (the API speaks English
whatever the request's Accept-Language)."""

import re

import pytest
from helpers import make_campaign, make_channel, make_group, make_member, make_staff

from miniapp_api.accounts.rules import issue_api_token
from miniapp_api.api.schema import ERROR_CODES, SPECIFIC_CODES, openapi_document

CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\U00020000-\U0003ffff]")


@pytest.fixture
def call(app):
    client = app.test_client()
    tokens = {
        role: issue_api_token(make_staff(f"api-{role}", role), "脚本")
        for role in ("operator", "trainer")
    }

    def request(method, url, role="operator", **kw):
        headers = {
            "Authorization": f"Bearer {tokens[role]}",
            # A Chinese browser's header changes nothing: the API answers in English.
            "Accept-Language": "zh-CN,zh;q=0.9",
        }
        return client.open(f"/api/v1{url}", method=method, headers=headers, **kw)

    return request


def refusal(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["status"] == status and error["message"]
    assert not CJK.search(error["message"]), error["message"]
    return error


@pytest.mark.parametrize(
    ("method", "url", "body", "role", "status", "code"),
    [
        ("GET", "/campaigns/nope", None, "operator", 404, "campaign_not_found"),
        ("DELETE", "/campaigns/store/channels/nope", None, "operator", 404, "channel_not_found"),
        (
            "PATCH",
            "/campaigns/store/groups/999999",
            {"sent": 1},
            "operator",
            404,
            "group_not_found",
        ),
        ("GET", "/campaigns/store/activities/999999", None, "operator", 404, "activity_not_found"),
        ("GET", "/campaigns/store/challenge", None, "operator", 404, "no_challenge"),
        ("PATCH", "/campaigns/store", {"title": "新"}, "trainer", 403, "read_only_token"),
        ("POST", "/campaigns", {"title": "新"}, "operator", 422, "missing_fields"),
        ("PATCH", "/campaigns/store", {"title": 5}, "operator", 422, "wrong_type"),
        ("PATCH", "/campaigns/store", {"colour": "red"}, "operator", 422, "unknown_fields"),
        (
            "PATCH",
            "/campaigns/store/groups/{group}",
            {"sent": 10**12},
            "operator",
            422,
            "out_of_range",
        ),
        ("PATCH", "/campaigns/store/groups/{group}", {}, "operator", 422, "nothing_to_change"),
        (
            "POST",
            "/campaigns",
            {"slug": "x", "template": "no-such"},
            "operator",
            422,
            "unknown_template",
        ),
        (
            "PATCH",
            "/campaigns/store",
            {"title": "会员\u0007群"},
            "operator",
            422,
            "control_character",
        ),
        ("GET", "/campaigns/store/stats?days=七", None, "operator", 422, "out_of_range"),
    ],
)
def test_refusals_carry_their_own_code_and_english(call, method, url, body, role, status, code):
    group = make_group(make_campaign(slug="store"), "一群")
    response = call(method, url.format(group=group.id), role, json=body)
    assert refusal(response, status)["code"] == code


@pytest.mark.parametrize(
    "body",
    [
        {"title": "长" * 121},  # playbooks: too long
        {"title": "  "},  # playbooks: a title is needed
    ],
)
def test_a_rules_refusal_reaches_the_api_in_english(call, body):
    make_campaign(slug="store")
    error = refusal(call("PATCH", "/campaigns/store", json=body), 422)
    assert error["code"] == "invalid"


def test_a_taken_slug_and_a_delete_the_rules_refuse_are_english(call):
    campaign = make_campaign(slug="store", title="Store members")  # content in Latin letters
    make_channel(campaign, "counter", "门店前台")
    make_member(campaign.id, nickname="小雨妈妈")
    taken = refusal(call("POST", "/campaigns", json={"slug": "store", "title": "重复"}), 422)
    assert "exists already" in taken["message"]
    kept = refusal(call("DELETE", "/campaigns/store"), 409)
    assert kept["code"] == "keep_instead" and "Archive it instead" in kept["message"]


def test_the_openapi_document_lists_the_codes(app):
    with app.app_context():
        error = openapi_document("https://qun.example.cn")["components"]["schemas"]["Error"]
    described = error["properties"]["error"]["properties"]["code"]["description"]
    for code in [*SPECIFIC_CODES, *ERROR_CODES.values()]:
        assert code in described
    assert not CJK.search(str(openapi_document("https://qun.example.cn")))


def test_a_rules_refusal_keeps_the_rules_own_code(call, monkeypatch):
    from miniapp_api.livecode import rules as livecode
    from miniapp_api.livecode.rules import SetupError

    class Taken(SetupError):
        code = "channel_code_taken"

    def refuse(*args, **kwargs):
        raise Taken("Channel 'counter' exists already in 'store'.")

    make_campaign(slug="store")
    monkeypatch.setattr(livecode, "add_channel", refuse)
    body = {"code": "counter", "label": "前台"}
    error = refusal(call("POST", "/campaigns/store/channels", json=body), 422)
    assert error["code"] == "channel_code_taken"


def test_every_rules_refusal_code_is_documented():
    from miniapp_api.livecode import lifecycle  # noqa: F401 (defines refusals of its own)
    from miniapp_api.livecode.rules import Refused

    def codes(cls):
        yield cls.code
        for sub in cls.__subclasses__():
            yield from codes(sub)

    found = set(codes(Refused))
    assert {"refused", "unprintable_text", "keep_instead", "deleted_already"} <= found
    assert found <= set(SPECIFIC_CODES)
