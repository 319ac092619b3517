"""The console's personal-data page: admins find a person, download the export, erase after a
confirmation page; operators and trainers are refused; every change is a POST with its CSRF
token, and opening a link changes nothing."""

import json
import re

import pytest
from helpers import Family, StaffActions, csrf_from, make_staff

from miniapp_api.models import MODELS, AuditEntry, Customer, Member, StaffSession

PAGE = "/console/people/"


@pytest.fixture
def admin(client):
    make_staff("guanli", role="admin", display_name="管理员小周")
    actions = StaffActions(client)
    actions.login("guanli")
    return actions


def stored() -> dict:
    """Every row of every table but the login sessions (a page view refreshes its own)."""
    return {
        model.__name__: list(model.select().order_by(*model._meta.get_primary_keys()).tuples())
        for model in MODELS
        if model is not StaffSession
    }


def reference(family) -> str:
    return f"m{family.b.id}.c{family.customer.id}"


def test_an_admin_finds_exports_and_erases_after_confirming(app, client, admin):
    family = Family()
    page = client.get(PAGE)
    assert page.status_code == 200
    assert 'action="/console/people/"' in page.get_data(as_text=True)

    found = admin.post(PAGE, {"by": "phone", "value": "139 1234 5678"}, page=PAGE)
    html = found.get_data(as_text=True)
    assert found.status_code == 200
    assert "小李子" in html and "VIP-0042" in html and f"person:{reference(family)}" in html
    assert 'data-removed="member">1<' in html and 'data-kept="referral">2<' in html

    exported = admin.post("/console/people/export", {"person": reference(family)}, page=PAGE)
    assert exported.status_code == 200
    assert exported.mimetype == "application/json"
    assert "attachment" in exported.headers["Content-Disposition"]
    assert exported.headers["Cache-Control"] == "no-store"
    assert json.loads(exported.get_data())["tables"]["member"][0]["nickname"] == "小李子"

    confirm = admin.post("/console/people/confirm", {"person": reference(family)}, page=PAGE)
    assert confirm.status_code == 200
    assert 'action="/console/people/erase"' in confirm.get_data(as_text=True)
    assert Member.get_by_id(family.b.id)  # the confirmation page changes nothing

    unconfirmed = admin.post("/console/people/erase", {"person": reference(family)}, page=PAGE)
    assert unconfirmed.status_code == 400
    assert "删除" in unconfirmed.get_data(as_text=True)
    assert Member.get_by_id(family.b.id)

    before = family.others()
    erased = admin.post(
        "/console/people/erase", {"person": reference(family), "confirm": " 删除 "}, page=PAGE
    )
    assert erased.status_code == 302 and erased.headers["Location"] == PAGE
    assert Member.get_or_none(Member.id == family.b.id) is None
    assert not Customer.select().exists()
    assert family.others() == before
    assert "已删除 person:" in client.get(PAGE).get_data(as_text=True)

    entries = list(
        AuditEntry.select().where(AuditEntry.action.startswith("person.")).order_by(AuditEntry.id)
    )
    assert [(e.action, e.staff.username, e.target) for e in entries] == [
        ("person.export", "guanli", f"person:{reference(family)}"),
        ("person.erase", "guanli", f"person:{reference(family)}"),
    ]
    # The erased person's reference now finds nobody: the forms say so.
    again = admin.post("/console/people/export", {"person": reference(family)}, page=PAGE)
    assert again.status_code == 302
    assert "已经不在了" in client.get(PAGE).get_data(as_text=True)


@pytest.mark.parametrize(
    ("by", "value", "status", "message"),
    [
        ("member", "zzzzzzzz", 404, "没有找到这个人"),
        ("member", "小李子", 400, "8 位推荐码"),
        ("phone", "一三九", 400, "11 位中国大陆手机号"),
        ("phone", "13800000000", 404, "没有找到这个人"),
        ("customer", "<script>", 400, "客户编号"),
        ("name", "小李子", 400, "请选择"),
    ],
)
def test_a_lookup_that_finds_nobody_is_a_page_that_says_what_to_do(
    app, client, admin, by, value, status, message
):
    Family()
    page = admin.post(PAGE, {"by": by, "value": value}, page=PAGE)
    html = page.get_data(as_text=True)
    assert page.status_code == status
    assert message in html
    assert "<script>" not in html
    if by == "phone":  # a phone number is not written back into the page
        assert value not in html


def test_links_change_nothing_and_erase_needs_the_csrf_token(app, client, admin):
    family = Family()
    before = stored()
    for url in ("/console/people/erase", "/console/people/export", "/console/people/confirm"):
        assert client.get(f"{url}?person={reference(family)}&confirm=删除").status_code == 405
    forged = client.post(
        "/console/people/erase", data={"person": reference(family), "confirm": "删除"}
    )
    assert forged.status_code == 400
    assert stored() == before


@pytest.mark.parametrize("role", ["operator", "trainer"])
def test_operators_and_trainers_are_refused(app, client, role):
    family = Family()
    make_staff("yunying", role=role)
    actions = StaffActions(client)
    actions.login("yunying")
    assert "/console/people/" not in client.get("/console/").get_data(as_text=True)
    before = stored()
    assert client.get(PAGE).status_code == 403
    token = csrf_from(client.get("/console/"))
    for url, data in [
        (PAGE, {"by": "member", "value": family.b.code}),
        ("/console/people/export", {"person": reference(family)}),
        ("/console/people/erase", {"person": reference(family), "confirm": "删除"}),
    ]:
        refused = client.post(url, data={**data, "csrf_token": token})
        assert refused.status_code == 403
        assert "小李子" not in refused.get_data(as_text=True)
    assert stored() == before
    assert not AuditEntry.select().where(AuditEntry.action.startswith("person.")).exists()


def test_an_english_admin_reads_the_pages_in_english(app, client, admin):
    family = Family()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    cjk = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")
    content = ("小李子", "李雷雷", "杭州", "老带新裂变", "管理员小周", "陈店长")
    for url, data in [
        (PAGE, {"by": "member", "value": family.b.code}),
        ("/console/people/confirm", {"person": reference(family)}),
        ("/console/people/erase", {"person": reference(family), "confirm": "no"}),
    ]:
        html = admin.post(url, data, page=PAGE).get_data(as_text=True)
        for text in content:
            html = html.replace(text, "")
        assert cjk.findall(html) == [], url
    assert "Type “Delete” to confirm" in html
    erased = admin.post(
        "/console/people/erase", {"person": reference(family), "confirm": "Delete"}, page=PAGE
    )
    assert erased.status_code == 302
    assert Member.get_or_none(Member.id == family.b.id) is None
