"""The console's API-token page: a new token is shown once, only its hash is kept, revoking
ends it, and nobody but its owner (or an admin) can see or revoke it."""

import re

from helpers import StaffActions, csrf_from, make_campaign, make_staff

from miniapp_api.accounts.rules import digest
from miniapp_api.models import ApiToken, AuditEntry


def create_token(staff, name="每晚导出"):
    return staff.post("/console/tokens", {"name": name})


def shown_token(response) -> str:
    return re.search(r'<code class="token">(qbk_[^<]+)</code>', response.get_data(as_text=True))[1]


def test_a_new_token_is_shown_once_and_works_at_the_api(client, login_as):
    staff = login_as("operator")
    make_campaign(slug="store")
    response = create_token(staff, "每晚导出数据")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    token = shown_token(response)
    stored = ApiToken.get()
    assert stored.token_hash == digest(token) and token not in (stored.token_hash, stored.prefix)
    assert token not in client.get("/console/tokens").get_data(as_text=True)
    api = client.application.test_client()
    ok = api.get("/api/v1/campaigns/store", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200
    assert AuditEntry.get(AuditEntry.action == "token.create").target == "staff:operator-1"


def test_revoking_ends_the_token(client, login_as):
    staff = login_as("operator")
    token = shown_token(create_token(staff))
    stored = ApiToken.get()
    staff.post(f"/console/tokens/{stored.id}/revoke", page="/console/tokens")
    assert ApiToken.get_by_id(stored.id).revoked_at is not None
    api = client.application.test_client()
    assert (
        api.get("/api/v1/campaigns", headers={"Authorization": f"Bearer {token}"}).status_code
        == 401
    )
    assert "已吊销" in client.get("/console/tokens").get_data(as_text=True)


def test_others_tokens_are_invisible_and_cannot_be_revoked(app, login_as):
    owner_client, other_client = app.test_client(), app.test_client()
    make_staff("owner", "operator")
    owner = StaffActions(owner_client)
    owner.login("owner")
    create_token(owner, "主人的令牌")
    token = ApiToken.get()
    make_staff("nosy", "operator")
    nosy = StaffActions(other_client)
    nosy.login("nosy")
    assert "主人的令牌" not in other_client.get("/console/tokens").get_data(as_text=True)
    response = nosy.post(f"/console/tokens/{token.id}/revoke", page="/console/tokens")
    assert response.status_code == 404
    assert ApiToken.get_by_id(token.id).revoked_at is None
    make_staff("boss", "admin")
    boss_client = app.test_client()
    boss = StaffActions(boss_client)
    boss.login("boss")
    assert "主人的令牌" in boss_client.get("/console/tokens").get_data(as_text=True)
    boss.post(f"/console/tokens/{token.id}/revoke", page="/console/tokens")
    assert ApiToken.get_by_id(token.id).revoked_at is not None


def test_a_token_needs_a_name_and_csrf(client, login_as):
    staff = login_as("operator")
    assert create_token(staff, "").status_code == 302
    assert create_token(staff, "长" * 61).status_code == 302
    assert csrf_from(client.get("/console/tokens"))
    assert client.post("/console/tokens", data={"name": "无令牌"}).status_code == 400
    assert ApiToken.select().count() == 0


def test_trainers_may_make_read_only_tokens(client, login_as):
    staff = login_as("trainer")
    token = shown_token(create_token(staff))
    api = client.application.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/campaigns", headers=headers).status_code == 200
    response = api.post("/api/v1/campaigns", json={"slug": "x", "title": "X"}, headers=headers)
    assert response.status_code == 403
