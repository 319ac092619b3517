"""The console's campaigns: from playbook templates, edited, and their groups kept fed."""

import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import group_qr_png, make_campaign, make_channel, make_group
from PIL import Image
from playhouse.test_utils import count_queries
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from miniapp_api import playbooks
from miniapp_api.attention import needs_attention
from miniapp_api.models import AuditEntry, Campaign, Channel, Group, utcnow

HANDBOOK = Path(__file__).resolve().parent.parent / "handbook"


def test_every_template_points_at_a_handbook_page_that_links_back():
    assert len(playbooks.templates()) >= 6
    for key, template in playbooks.templates().items():
        page = HANDBOOK / (template["handbook"].rstrip("/") + ".md")
        assert page.is_file(), key
        assert f"/console/campaigns/new?template={key}" in page.read_text(encoding="utf-8"), key
        assert template["channels"] and template["groups"], key


@pytest.mark.parametrize("key", sorted(playbooks.templates()))
def test_operator_creates_a_campaign_from_each_template(login_as, key):
    actions = login_as("operator")
    slug = f"t-{key}"[:60]
    response = actions.post(
        "/console/campaigns/new",
        {"template": key, "slug": slug, "title": "门店会员群（测试）", "rules": "1. 不发广告"},
        page=f"/console/campaigns/new?template={key}",
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/console/campaigns/{slug}"
    campaign = Campaign.get(Campaign.slug == slug)
    template = playbooks.template(key)
    assert (campaign.template, campaign.title, campaign.rules) == (
        key,
        "门店会员群（测试）",
        "1. 不发广告",
    )
    assert campaign.promise == template["promise"]
    assert [[c.code, c.label] for c in campaign.channels.order_by(Channel.id)] == template[
        "channels"
    ]
    assert [[g.name, g.cutoff] for g in campaign.groups.order_by(Group.position)] == template[
        "groups"
    ]
    assert AuditEntry.get(AuditEntry.action == "campaign.create").target == f"campaign:{slug}"


def test_bad_slug_or_duplicate_stores_nothing(login_as):
    actions = login_as("operator")
    make_campaign(slug="store")
    for slug in ("store", "门店", ""):
        response = actions.post(
            "/console/campaigns/new",
            {"template": "store-live-code", "slug": slug, "title": "标题"},
            page="/console/campaigns/new?template=store-live-code",
        )
        assert response.status_code == 400
    assert Campaign.select().count() == 1
    assert Channel.select().count() == 0


def test_trainer_sees_everything_and_changes_nothing(app, client, login_as):
    campaign = make_campaign(slug="store")
    group = make_group(campaign)
    login_as("trainer")
    for url in (
        "/console/",
        "/console/campaigns",
        "/console/campaigns/store",
        "/console/attention",
    ):
        assert client.get(url).status_code == 200, url
    assert "上传" not in client.get("/console/campaigns/store").get_data(as_text=True)
    token = re.search(
        r'name="csrf_token" value="([^"]+)"', client.get("/console/").get_data(as_text=True)
    )[1]
    mutating = [
        rule.rule for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("console.") and "POST" in rule.methods
        and rule.endpoint not in ("console.login", "console.logout", "console.account")
    ]  # fmt: skip
    assert len(mutating) >= 7
    for rule in mutating:
        url = rule.replace("<slug>", "store").replace("<int:group_id>", str(group.id))
        url = re.sub(r"<int:\w+>", "1", url)
        assert client.post(url, data={"csrf_token": token}).status_code == 403, url
    assert client.get("/console/audit").status_code == 403
    assert Group.get_by_id(group.id).sent == 0 and Channel.select().count() == 0


def test_edit_campaign_text(login_as):
    make_campaign(slug="store")
    actions = login_as("operator")
    data = {
        "title": "新标题",
        "promise": "**进群领券**",
        "description": "介绍",
        "rules": "1. 新群规",
        "staff_contact": "陈店长",
    }
    assert (
        actions.post(
            "/console/campaigns/store/edit", data, page="/console/campaigns/store"
        ).status_code
        == 302
    )
    campaign = Campaign.get()
    assert (campaign.title, campaign.promise, campaign.rules, campaign.staff_contact) == (
        "新标题",
        "**进群领券**",
        "1. 新群规",
        "陈店长",
    )
    bad = actions.post(
        "/console/campaigns/store/edit", {**data, "title": ""}, page="/console/campaigns/store"
    )
    assert bad.status_code == 302 and Campaign.get().title == "新标题"


def _upload(actions, group, content, generated=""):
    page = actions.client.get("/console/campaigns/store").get_data(as_text=True)
    fields = {
        "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page)[1],
        "qr": FileStorage(io.BytesIO(content), "qr.png", content_type="image/png"),
        "generated": generated,
    }
    # Encoded in memory: Werkzeug's test client spools big bodies to a file it never closes.
    boundary, body = encode_multipart(fields)
    return actions.client.post(
        f"/console/campaigns/store/groups/{group.id}/qr",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def test_upload_group_qr_and_the_campaign_reopens(client, login_as):
    campaign = make_campaign(slug="store")
    group = make_group(campaign, qr_age=None)
    Campaign.update(all_full_since=utcnow()).execute()
    actions = login_as("operator")
    response = _upload(actions, group, group_qr_png("https://weixin.qq.com/g/新群"))
    assert response.status_code == 302
    stored = Group.get_by_id(group.id)
    assert (
        stored.qr_payload == "https://weixin.qq.com/g/新群" and stored.qr_generated_at is not None
    )
    assert Campaign.get().all_full_since is None
    assert AuditEntry.get(AuditEntry.action == "group.qr").target == f"group:{group.id}"


def _no_qr_png():
    out = io.BytesIO()
    Image.new("RGB", (200, 200), "white").save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    ("content", "generated", "message"),
    [
        (b"not an image", "", "not an image we can read"),
        (_no_qr_png(), "", "No QR code could be read"),
        (b"\x89PNG" + b"\0" * (3 * 1024 * 1024), "", "the limit is 2 MB"),
        (group_qr_png(), "2020-01-01T10:00", "more than 7 days old"),
        (group_qr_png(), "明天", "格式不对"),
    ],
)
def test_bad_uploads_are_refused_and_store_nothing(client, login_as, content, generated, message):
    group = make_group(make_campaign(slug="store"), qr_age=None)
    actions = login_as("operator")
    response = _upload(actions, group, content, generated)
    assert response.status_code == 302
    assert message in client.get("/console/campaigns/store").get_data(as_text=True)
    assert Group.get_by_id(group.id).qr_image is None


def test_correct_count_cutoff_deactivate_and_reorder(login_as):
    campaign = make_campaign(slug="store")
    first, second = make_group(campaign, "一群", sent=150), make_group(campaign, "二群")
    actions = login_as("operator")
    url = f"/console/campaigns/store/groups/{first.id}"
    assert (
        actions.post(
            url, {"cutoff": "180", "sent": "120", "active": "off"}, page="/console/campaigns/store"
        ).status_code
        == 302
    )
    stored = Group.get_by_id(first.id)
    assert (stored.cutoff, stored.sent, stored.active) == (180, 120, False)
    actions.post(url, {"sent": "很多"}, page="/console/campaigns/store")
    assert Group.get_by_id(first.id).sent == 120
    actions.post(
        f"/console/campaigns/store/groups/{second.id}/move",
        {"direction": "up"},
        page="/console/campaigns/store",
    )
    assert [g.name for g in campaign.groups.order_by(Group.position)] == ["二群", "一群"]


def test_groups_of_another_campaign_and_unknown_campaigns_are_404(client, login_as):
    other = make_group(make_campaign(slug="other"))
    make_campaign(slug="store")
    actions = login_as("operator")
    assert (
        actions.post(
            f"/console/campaigns/store/groups/{other.id}",
            {"sent": "1"},
            page="/console/campaigns/store",
        ).status_code
        == 404
    )
    assert client.get("/console/campaigns/nope").status_code == 404
    assert Group.get_by_id(other.id).sent == 0


def test_audit_log_is_for_admins(client, login_as):
    make_campaign(slug="store")
    login_as("admin")
    page = client.get("/console/audit").get_data(as_text=True)
    assert "staff.login" in page


# ---------------------------------------------------------------- needs attention


def test_needs_attention_lists_each_kind(app):
    ok = make_campaign(slug="ok")
    make_group(ok, "正常群")
    store = make_campaign(slug="store")
    make_group(store, "快过期", qr_age=timedelta(days=6, hours=1))
    make_group(store, "没码", qr_age=None)
    make_group(store, "快满", sent=185)
    full = make_campaign(slug="full")
    make_group(full, "过期", qr_age=timedelta(days=8))
    kinds = {(a.kind, a.campaign, a.group) for a in needs_attention()}
    assert kinds == {
        ("qr-expiring", "store", "快过期"),
        ("no-qr", "store", "没码"),
        ("near-cutoff", "store", "快满"),
        ("qr-expired", "full", "过期"),
        ("no-open-group", "full", ""),
    }


def test_attention_command_exit_code_fits_cron(runner):
    make_group(make_campaign(slug="ok"))
    assert runner.invoke(args=["attention"]).exit_code == 0
    make_group(make_campaign(slug="store"), "没码", qr_age=None)
    result = runner.invoke(args=["attention"])
    assert result.exit_code == 1
    assert "[no-qr] store 没码" in result.output


# ---------------------------------------------------------------- no N+1


def _fill(n):
    for i in range(n):
        campaign = make_campaign(slug=f"c{i}")
        make_channel(campaign)
        for j in range(3):
            make_group(campaign, f"群{j}", qr_age=timedelta(days=6, hours=2))


@pytest.mark.parametrize(
    "url", ["/console/campaigns", "/console/attention", "/console/audit", "/console/campaigns/c0"]
)
def test_pages_cost_the_same_queries_however_much_data(client, login_as, url):
    login_as("admin")
    _fill(2)
    with count_queries(only_select=True) as small:
        assert client.get(url).status_code == 200
    _fill_more = [make_campaign(slug=f"d{i}") for i in range(6)]
    for campaign in _fill_more:
        for j in range(4):
            make_group(campaign, f"群{j}")
    make_group(Campaign.get(Campaign.slug == "c0"), "再加一个群")
    with count_queries(only_select=True) as large:
        assert client.get(url).status_code == 200
    assert large.count == small.count, url
