"""The one gate for text (miniapp_api/text.py, web/inputs.py, the command line's TEXT): control
characters and lone surrogates are refused with a message naming the field, everything else
arrives in NFC, and a name of zero-width characters alone is empty."""

import pytest
from helpers import csrf_from, make_campaign, make_staff

from miniapp_api.accounts.rules import issue_api_token
from miniapp_api.models import Campaign, Member
from miniapp_api.referrals import rules as referrals
from miniapp_api.text import is_blank, normal, unwanted_character


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("小红", None),
        ("第一行\r\n第二行\t缩进", None),  # a textarea's line breaks and tabs are text
        ("邀请好友送券🎁𠀀", None),
        ("\u202e红小", None),  # shown as typed; it is not a control character
        ("小红\x00", "U+0000"),
        ("小\x1b[31m红", "U+001B"),
        ("小红\x7f", "U+007F"),
        ("小红\x85", "U+0085"),
        ("小红\ud800", "U+D800"),
    ],
)
def test_unwanted_characters(text, found):
    assert unwanted_character(text) == found


@pytest.mark.parametrize(
    ("text", "blank"),
    [
        ("", True),
        ("  \u3000 ", True),
        ("\u200b\u200c\u200d\u2060\ufeff", True),
        ("\u202e", True),
        ("\u200b小红", False),
        ("🎁", False),
        ("𠀀", False),
    ],
)
def test_blank_text(text, blank):
    assert is_blank(text) is blank


def test_normal_is_nfc():
    assert normal("Zoe\u0301小红") == "Zo\u00e9小红"


def _sign_up(client, slug, nickname):
    token = csrf_from(client.get(f"/r/{slug}/join"))
    return client.post(f"/r/{slug}/join", data={"nickname": nickname, "csrf_token": token})


def test_a_nul_in_a_sign_up_is_refused_with_a_page_that_names_the_field(client):
    campaign = make_campaign()
    referrals.set_up_program(campaign)
    response = _sign_up(client, campaign.slug, "小红\x00")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "「nickname」里有一个看不见的控制字符（U+0000）" in page
    assert "请删掉这一项重新输入" in page
    assert Member.select().count() == 0


def test_a_sign_up_is_stored_in_nfc(client):
    campaign = make_campaign()
    referrals.set_up_program(campaign)
    assert _sign_up(client, campaign.slug, "Zoe\u0301小红").status_code == 303
    assert Member.get().nickname == "Zo\u00e9小红"


def test_a_zero_width_nickname_is_an_empty_one(client):
    campaign = make_campaign()
    referrals.set_up_program(campaign)
    response = _sign_up(client, campaign.slug, "\u200b\u200d\ufeff")
    assert response.status_code == 400
    assert "请填写昵称" in response.get_data(as_text=True)
    assert Member.select().count() == 0


def test_a_nul_in_the_login_form_is_refused(client):
    make_staff("chen")
    token = csrf_from(client.get("/console/login"))
    response = client.post(
        "/console/login", data={"username": "chen\x00", "password": "x", "csrf_token": token}
    )
    assert response.status_code == 400
    assert "「username」" in response.get_data(as_text=True)


def test_the_query_string_and_the_path_go_through_the_gate(client):
    campaign = make_campaign()
    assert client.get(f"/j/{campaign.slug}?c=\x00").status_code == 400
    assert client.get("/j/store\x00").status_code == 404  # no page has such an address


@pytest.mark.parametrize(
    ("query", "refused"),
    [
        ("c=%01", "「c」里有一个看不见的控制字符（U+0001）"),
        ("%01=x", "「query name」里有一个看不见的控制字符（U+0001）"),
        ("c=ok&r=%7F", "「r」里有一个看不见的控制字符（U+007F）"),
        ("c=%C2%85", "「c」里有一个看不见的控制字符（U+0085）"),
        ("c=%E2%80%8F", None),  # a format character (RLM), not a control one: the view answers
        ("c=%09", None),
        ("c=plain", None),
    ],
)
def test_every_query_string_goes_through_the_gate(client, query, refused):
    campaign = make_campaign()
    response = client.get(f"/j/{campaign.slug}?{query}", headers={"User-Agent": "curl/8"})
    if refused:
        assert response.status_code == 400
        assert refused in response.get_data(as_text=True)
    else:
        assert response.status_code == 404  # an unknown channel's page, past the gate


def test_the_gates_fast_path_answers_as_the_full_check():
    from miniapp_api.web.inputs import InputRefused, _checked

    for code in [*range(0x250), 0x85, 0x200F, 0x2028, 0xD800, 0xFEFF, 0x1F381]:
        text = f"a{chr(code)}b"
        if unwanted_character(text):
            with pytest.raises(InputRefused):
                _checked("c", text)
        else:
            assert _checked("c", text) == normal(text)
    assert _checked("c", "Zoe\u0301") == "Zo\u00e9"


def _api(client):
    token = issue_api_token(make_staff("api", "admin"), "gate")
    return {"Authorization": f"Bearer {token}"}


def test_the_api_answers_json_naming_the_field(client):
    campaign = make_campaign(slug="store")
    headers = _api(client)
    response = client.patch(
        "/api/v1/campaigns/store", json={"promise": "进群\x00领券"}, headers=headers
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["message"].startswith("'promise' holds a control")
    assert Campaign.get_by_id(campaign.id).promise == "进群领券"

    response = client.get("/api/v1/campaigns?page=\x1b", headers=headers)
    assert response.status_code == 422 and response.is_json


def test_the_api_stores_nfc_and_refuses_numbers_no_column_holds(client):
    make_campaign(slug="store")
    headers = _api(client)
    ok = client.patch(
        "/api/v1/campaigns/store", json={"title": "Cafe\u0301 会员群"}, headers=headers
    )
    assert ok.status_code == 200 and ok.get_json()["title"] == "Caf\u00e9 会员群"

    response = client.post(
        "/api/v1/campaigns/store/groups", json={"name": "一群", "cutoff": 2**63}, headers=headers
    )
    assert response.status_code == 422
    assert (
        response.get_json()["error"]["message"]
        == "'cutoff' must be between -1000000000 and 1000000000."
    )


@pytest.mark.parametrize("title", ["门店\x1b[31m会员群", "门店\udcff会员群"])
def test_the_command_line_refuses_control_characters(runner, title):
    result = runner.invoke(args=["create-campaign", "store", title])
    assert result.exit_code == 2
    assert "holds a control character" in result.output
    assert "Traceback" not in result.output
    assert Campaign.select().count() == 0


def test_the_command_line_stores_nfc(runner):
    result = runner.invoke(args=["create-campaign", "store", "Cafe\u0301 会员群"])
    assert result.exit_code == 0, result.output
    assert Campaign.get().title == "Caf\u00e9 会员群"
