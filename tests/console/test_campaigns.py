"""The console's campaigns: from playbook templates, edited, and their groups kept fed."""

import io
import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from helpers import group_qr_png, make_campaign, make_channel, make_group, stored_group
from PIL import Image
from playhouse.test_utils import count_queries
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from miniapp_api import playbooks
from miniapp_api.accounts.rules import audit
from miniapp_api.console.pagination import MAX_PAGE, paginate
from miniapp_api.console.views import campaigns as campaign_views
from miniapp_api.models import AuditEntry, Campaign, Channel, Group, utcnow

HANDBOOK = Path(__file__).resolve().parents[2] / "handbook"
STORE = "/console/campaigns/store"


def _text(response) -> str:
    return response.get_data(as_text=True)


def _flashed(client) -> str:
    """The campaign page the refused change redirected to, with its flashed message."""
    return _text(client.get(STORE))


# ---------------------------------------------------------------- templates


def test_every_template_points_at_a_handbook_page_that_links_back():
    required = {
        "store-live-code",
        "opening-naming-contest",
        "friend-referral",
        "checkin-28",
        "vip-weekly-sale",
        "offline-meetup",
    }
    assert required <= set(playbooks.templates())
    for key, template in playbooks.templates().items():
        assert template["key"] == key
        assert template["handbook"].startswith("playbooks/") and template["handbook"].endswith("/")
        page = HANDBOOK / (template["handbook"].rstrip("/") + ".md")
        assert page.is_file(), key
        assert f"/console/campaigns/new?template={key}" in page.read_text(encoding="utf-8"), key
        for field in ("name", "summary", "title", "promise", "description", "rules"):
            assert template[field].strip(), (key, field)
        assert template["channels"] and template["groups"], key
        assert all(isinstance(cutoff, int) and cutoff > 0 for _, cutoff in template["groups"])
        codes = [code for code, _ in template["channels"]]
        assert len(codes) == len(set(codes)), key


def test_the_form_lists_templates_and_prefills_the_chosen_one(client, login_as):
    login_as("operator")
    listing = _text(client.get("/console/campaigns/new"))
    for template in playbooks.templates().values():
        assert template["name"] in listing
        assert f'href="/handbook/{template["handbook"]}"' in listing
    assert 'name="slug"' not in listing  # nothing to fill in before a template is picked
    chosen = _text(client.get("/console/campaigns/new?template=checkin-28"))
    assert (
        'value="28 天一起变美群"' in chosen
        and '<span lang="zh-CN">挑战1群</span>（截止 150 人）' in chosen
    )
    assert 'name="template" value="checkin-28"' in chosen


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
    # Fields left empty take the template's text.
    assert (campaign.promise, campaign.description) == (
        template["promise"],
        template["description"],
    )
    assert [[c.code, c.label] for c in campaign.channels.order_by(Channel.id)] == template[
        "channels"
    ]
    groups = list(campaign.groups.order_by(Group.position))
    assert [[g.name, g.cutoff] for g in groups] == template["groups"]
    assert [g.position for g in groups] == list(range(1, len(groups) + 1))
    entry = AuditEntry.get(AuditEntry.action == "campaign.create")
    assert entry.target == f"campaign:{slug}" and json.loads(entry.detail) == {"template": key}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"slug": "store"}, "已经被另一个活动用了"),
        ({"slug": "STORE "}, "已经被另一个活动用了"),  # the same slug once tidied
        ({"slug": "门店"}, "不能用在链接里"),
        ({"slug": ""}, "不能用在链接里"),
        ({"slug": "new", "template": "no-such"}, "请先从列表里选一个模板"),
        ({"slug": "new", "title": "长" * 121}, "标题最多 120 个字"),
        ({"slug": "new", "rules": "规" * 4001}, "群规最多 4000 个字"),
        ({"slug": "new", "title": "咖啡☕会员群"}, "标题里有海报印不出的字符：「☕」(U+2615)"),
        ({"slug": "new", "promise": "送券🎁"}, "承诺里有海报印不出的字符：「🎁」(U+1F381)"),
    ],
)
def test_bad_create_says_what_to_do_and_stores_nothing(login_as, data, message):
    actions = login_as("operator")
    make_campaign(slug="store")
    response = actions.post(
        "/console/campaigns/new",
        {"template": "store-live-code", "title": "标题", **data},
        page="/console/campaigns/new?template=store-live-code",
    )
    assert response.status_code == 400
    assert message in _text(response)
    assert Campaign.select().count() == 1
    assert Channel.select().count() == Group.select().count() == 0
    assert not AuditEntry.select().where(AuditEntry.action == "campaign.create").exists()


def test_trainer_sees_everything_and_changes_nothing(app, client, login_as):
    campaign = make_campaign(slug="store")
    group = make_group(campaign)
    login_as("trainer")
    for url in ("/console/", "/console/campaigns", STORE, "/console/attention"):
        assert client.get(url).status_code == 200, url
    page = _text(client.get(STORE))
    assert "上传" not in page and "添加渠道" not in page and "进群领券" in page
    assert client.get("/console/campaigns/new?template=store-live-code").status_code == 403
    token = re.search(r'name="csrf_token" value="([^"]+)"', _text(client.get("/console/")))[1]
    # Every console POST (their own login, password and API tokens are accounts.*, not here).
    mutating = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("console.") and "POST" in rule.methods
    ]
    mine = {
        "/console/campaigns/new",
        "/console/campaigns/<slug>/edit",
        "/console/campaigns/<slug>/channels",
        "/console/campaigns/<slug>/groups",
        "/console/campaigns/<slug>/groups/<int:group_id>",
        "/console/campaigns/<slug>/groups/<int:group_id>/qr",
        "/console/campaigns/<slug>/groups/<int:group_id>/move",
    }
    assert mine <= set(mutating)
    for rule in mutating:
        url = rule.replace("<slug>", "store").replace("<int:group_id>", str(group.id))
        url = re.sub(r"<int:\w+>", "1", url)
        assert client.post(url, data={"csrf_token": token}).status_code == 403, url
    assert client.get("/console/audit").status_code == 403
    assert stored_group(group.id).sent == 0 and Channel.select().count() == 0
    assert Campaign.select().count() == 1


# ---------------------------------------------------------------- editing


def test_edit_campaign_text(client, login_as):
    make_group(make_campaign(slug="store"))
    actions = login_as("operator")
    data = {
        "title": "新标题",
        "promise": "**进群领券**",
        "description": "介绍",
        "rules": "1. 新群规",
        "staff_contact": "陈店长",
    }
    assert actions.post(f"{STORE}/edit", data, page=STORE).status_code == 302
    campaign = Campaign.get()
    assert (campaign.title, campaign.promise, campaign.rules, campaign.staff_contact) == (
        "新标题",
        "**进群领券**",
        "1. 新群规",
        "陈店长",
    )
    entry = AuditEntry.get(AuditEntry.action == "campaign.edit")
    assert entry.target == "campaign:store"
    assert json.loads(entry.detail)["fields"] == [
        "description",
        "promise",
        "rules",
        "staff_contact",
        "title",
    ]
    # The public join page renders the Markdown (sanitised by the shared filter).
    assert "<strong>进群领券</strong>" in _text(client.get("/j/store"))


def test_edit_keeps_fields_the_form_did_not_send_and_clears_empty_ones(login_as):
    make_campaign(slug="store", rules="旧群规", description="旧介绍", staff_contact="王姐")
    actions = login_as("operator")
    actions.post(f"{STORE}/edit", {"title": "只改标题", "staff_contact": ""}, page=STORE)
    campaign = Campaign.get()
    assert (campaign.title, campaign.rules, campaign.description, campaign.staff_contact) == (
        "只改标题",
        "旧群规",
        "旧介绍",
        "",
    )
    detail = json.loads(AuditEntry.get(AuditEntry.action == "campaign.edit").detail)
    assert detail == {"fields": ["staff_contact", "title"]}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"title": "  "}, "请填写标题"),
        ({"rules": "规" * 4001}, "群规最多 4000 个字"),
        (
            {"promise": "邀请好友送券🎁"},
            "承诺里有海报印不出的字符：「🎁」(U+1F381)。请删掉，或换成文字",
        ),
        ({"title": "会员群𠀀"}, "标题里有海报印不出的字符：「𠀀」(U+20000)"),
        ({"title": "会员\u202e群"}, "标题里有海报印不出的字符：U+202E RIGHT-TO-LEFT OVERRIDE"),
    ],
)
def test_bad_edit_is_refused_on_the_form_page_and_stores_nothing(client, login_as, change, message):
    make_campaign(slug="store", rules="旧群规")
    actions = login_as("operator")
    data = {"title": "新标题", "promise": "新承诺", "rules": "新群规", **change}
    response = actions.post(f"{STORE}/edit", data, page=STORE)
    assert response.status_code == 400
    page = _text(response)
    assert f"没有保存：{message}" in page
    # The form comes back as typed, so a long text is not lost to one character.
    assert 'value="新承诺"' in page or f'value="{change.get("promise")}"' in page
    assert f'<textarea name="rules">{data["rules"]}</textarea>' in page
    assert (Campaign.get().title, Campaign.get().rules) == ("门店会员群", "旧群规")
    assert not AuditEntry.select().where(AuditEntry.action == "campaign.edit").exists()


def test_add_channel_and_group(client, login_as):
    make_campaign(slug="store")
    actions = login_as("operator")
    actions.post(f"{STORE}/channels", {"code": "Counter", "label": "门店前台"}, page=STORE)
    actions.post(f"{STORE}/groups", {"name": "会员3群", "cutoff": "150"}, page=STORE)
    channel, group = Channel.get(), Group.get()
    assert (channel.code, channel.label) == ("counter", "门店前台")
    assert (group.name, group.cutoff, group.position) == ("会员3群", 150, 1)
    page = _flashed(client)
    assert "https://qun.example.cn/j/store?c=counter" in page
    assert 'href="/posters/store.png?c=counter"' in page
    assert [e.action for e in AuditEntry.select().where(AuditEntry.action != "staff.login")] == [
        "channel.create",
        "group.create",
    ]


@pytest.mark.parametrize(
    ("url", "data", "message"),
    [
        ("/channels", {"code": "门店", "label": "门店前台"}, "不能用在链接里"),
        ("/channels", {"code": "counter", "label": "又一个"}, "里已有渠道"),
        ("/channels", {"code": "moments", "label": ""}, "没有保存"),
        ("/channels", {"code": "moments", "label": "朋友圈🎁"}, "渠道名称里有海报印不出的字符"),
        ("/groups", {"name": "", "cutoff": "200"}, "没有保存"),
    ],
)
def test_bad_channel_or_group_is_refused_and_stores_nothing(client, login_as, url, data, message):
    campaign = make_campaign(slug="store")
    make_channel(campaign)
    actions = login_as("operator")
    response = actions.post(STORE + url, data, page=STORE)
    if url == "/channels":  # a text form: back on the page as typed
        assert response.status_code == 400
        assert message in _text(response) and f'value="{data["label"]}"' in _text(response)
    else:
        assert response.headers["Location"] == STORE
        assert message in _flashed(client)
    assert Channel.select().count() == 1 and Group.select().count() == 0
    assert AuditEntry.select().where(AuditEntry.action != "staff.login").count() == 0


@pytest.mark.parametrize("cutoff", ["两百", "-5", "0", "²", "٣", "1e9", "9" * 300])
def test_a_cutoff_that_is_no_whole_number_of_people_is_a_400_page(login_as, cutoff):
    make_campaign(slug="store")
    actions = login_as("operator")
    response = actions.post(f"{STORE}/groups", {"name": "新群", "cutoff": cutoff}, page=STORE)
    assert response.status_code == 400
    assert "「截止人数」要填 1 到 1000000000 之间的整数" in _text(response)
    assert Group.select().count() == 0
    assert AuditEntry.select().where(AuditEntry.action != "staff.login").count() == 0


# ---------------------------------------------------------------- group QR upkeep


def _upload(actions, group, content, generated="", filename="qr.png"):
    page = _text(actions.client.get(STORE))
    fields = {
        "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page)[1],
        "qr": FileStorage(io.BytesIO(content), filename, content_type="image/png"),
        "generated": generated,
    }
    # Encoded in memory: Werkzeug's test client spools big bodies to a file it never closes.
    boundary, body = encode_multipart(fields)
    return actions.client.post(
        f"{STORE}/groups/{group.id}/qr",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


@pytest.fixture
def console_now(monkeypatch):
    """The console views' clock, stopped at the test's start (a whole second)."""
    now = utcnow().replace(microsecond=0)
    monkeypatch.setattr(campaign_views, "utcnow", lambda: now)
    return now


def test_upload_group_qr_and_the_campaign_reopens(client, login_as, console_now):
    campaign = make_campaign(slug="store")
    group = make_group(campaign, qr_age=None)
    Campaign.update(all_full_since=utcnow()).execute()
    actions = login_as("operator")
    response = _upload(actions, group, group_qr_png("https://weixin.qq.com/g/新群"))
    assert response.status_code == 302
    stored = Group.get_by_id(group.id)
    assert stored.qr_payload == "https://weixin.qq.com/g/新群"
    assert stored.qr_generated_at == console_now  # no time given: the upload's
    assert Campaign.get().all_full_since is None
    entry = AuditEntry.get(AuditEntry.action == "group.qr")
    assert entry.target == f"group:{group.id}" and json.loads(entry.detail)["campaign"] == "store"
    assert "二维码已更新" in _flashed(client)


def test_upload_with_the_time_wechat_shows_is_local_time(login_as):
    group = make_group(make_campaign(slug="store"), qr_age=None)
    actions = login_as("operator")
    shanghai = datetime.now(ZoneInfo("Asia/Shanghai")).replace(second=0, microsecond=0)
    generated = shanghai - timedelta(days=2)
    _upload(actions, group, group_qr_png(), generated.strftime("%Y-%m-%dT%H:%M"))
    expected = generated.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
    assert Group.get_by_id(group.id).qr_generated_at == expected


def _no_qr_png():
    out = io.BytesIO()
    Image.new("RGB", (200, 200), "white").save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    ("content", "generated", "filename", "message"),
    [
        (b"not an image", "", "qr.png", "不是能读取的图片"),
        (_no_qr_png(), "", "qr.png", "读不出二维码"),
        (b"\x89PNG" + b"\0" * (3 * 1024 * 1024), "", "qr.png", "上限是 2 MB"),
        (b"", "", "qr.png", "文件是空的"),
        (group_qr_png(), "", "", "请选择群二维码图片"),
        (group_qr_png(), "2020-01-01T10:00", "qr.png", "已经超过 7 天"),
        (group_qr_png(), "2099-01-01T10:00", "qr.png", "生成时间在未来"),
        (group_qr_png(), "明天", "qr.png", "格式不对"),
    ],
)
def test_bad_uploads_are_refused_and_store_nothing(
    client, login_as, content, generated, filename, message
):
    group = make_group(make_campaign(slug="store"), qr_age=None)
    actions = login_as("operator")
    response = _upload(actions, group, content, generated, filename)
    assert response.status_code == 302 and response.headers["Location"] == STORE
    assert message in _flashed(client)
    stored = Group.get_by_id(group.id)
    assert stored.qr_image is None and stored.qr_generated_at is None
    assert not AuditEntry.select().where(AuditEntry.action == "group.qr").exists()


def test_correct_count_cutoff_position_and_deactivate(client, login_as):
    campaign = make_campaign(slug="store")
    first, second = make_group(campaign, "一群", sent=150), make_group(campaign, "二群")
    Campaign.update(all_full_since=utcnow()).execute()
    actions = login_as("operator")
    url = f"{STORE}/groups/{first.id}"
    data = {"cutoff": "180", "sent": "120", "active": "off", "position": "5"}
    assert actions.post(url, data, page=STORE).status_code == 302
    stored = stored_group(first.id)
    assert (stored.cutoff, stored.sent, stored.active, stored.position) == (180, 120, False, 5)
    assert Campaign.get().all_full_since is None  # room may have opened: re-checked on next scan
    detail = json.loads(AuditEntry.get(AuditEntry.action == "group.update").detail)
    assert detail == {
        "campaign": "store",
        "name": "一群",
        "cutoff": 180,
        "sent": 120,
        "active": False,
        "position": 5,
    }
    assert [g.name for g in campaign.groups.order_by(Group.position)] == ["二群", "一群"]
    page = _flashed(client)
    assert "停用" in page
    actions.post(url, {"active": "on"}, page=STORE)
    assert Group.get_by_id(first.id).active is True
    assert stored_group(second.id).sent == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"sent": "很多"}, "「已送人数」要填 0 到 1000000000 之间的整数"),
        ({"cutoff": "0"}, "「截止人数」要填 1 到 1000000000 之间的整数"),
        ({"sent": "-1"}, "「已送人数」要填 0 到"),
        ({"cutoff": "9" * 12}, "「截止人数」要填 1 到"),
        ({"position": "٣"}, "「顺序号」要填 -1000000000 到 1000000000 之间的整数"),
        ({}, "没有要改的"),
    ],
)
def test_bad_group_update_is_refused_and_stores_nothing(client, login_as, data, message):
    group = make_group(make_campaign(slug="store"), "一群", sent=150)
    actions = login_as("operator")
    response = actions.post(f"{STORE}/groups/{group.id}", data, page=STORE)
    if data:  # a number that is not one: a 400 page saying what to type
        assert response.status_code == 400
        assert message in _text(response)
    else:  # nothing to change: the rules' advice, flashed on the campaign page
        assert response.headers["Location"] == STORE
        assert message in _flashed(client)
    stored = stored_group(group.id)
    assert (stored.cutoff, stored.sent, stored.active, stored.position) == (200, 150, True, 1)
    assert not AuditEntry.select().where(AuditEntry.action == "group.update").exists()


def test_reorder_up_and_down_and_not_past_the_ends(client, login_as):
    campaign = make_campaign(slug="store")
    a, b, c = (make_group(campaign, name) for name in ("甲群", "乙群", "丙群"))
    actions = login_as("operator")

    def move(group, direction):
        url = f"{STORE}/groups/{group.id}/move"
        assert actions.post(url, {"direction": direction}, page=STORE).status_code == 302

    def order():
        return [g.name for g in campaign.groups.order_by(Group.position, Group.id)]

    move(c, "up")
    assert order() == ["甲群", "丙群", "乙群"]
    move(a, "down")
    assert order() == ["丙群", "甲群", "乙群"]
    moves = AuditEntry.select().where(AuditEntry.action == "group.move").count()
    move(c, "up")
    assert "已经在最前面了" in _flashed(client)
    move(b, "down")
    assert "已经在最后面了" in _flashed(client)
    assert order() == ["丙群", "甲群", "乙群"]
    assert AuditEntry.select().where(AuditEntry.action == "group.move").count() == moves == 2
    page = _flashed(client)
    assert page.index("丙群") < page.index("甲群") < page.index("乙群")


def test_reorder_works_when_positions_repeat(login_as):
    campaign = make_campaign(slug="store")
    a, b = make_group(campaign, "甲群"), make_group(campaign, "乙群")
    Group.update(position=0).execute()
    actions = login_as("operator")
    actions.post(f"{STORE}/groups/{b.id}/move", {"direction": "up"}, page=STORE)
    assert [g.name for g in campaign.groups.order_by(Group.position, Group.id)] == ["乙群", "甲群"]
    assert Group.get_by_id(a.id).position == 2


@pytest.mark.parametrize("suffix", ["", "/move", "/qr"])
def test_a_group_of_another_campaign_is_404(client, login_as, suffix):
    other = make_group(make_campaign(slug="other"), sent=3)
    make_group(make_campaign(slug="store"))
    actions = login_as("operator")
    url = f"{STORE}/groups/{other.id}{suffix}"
    data = {"sent": "1", "direction": "up"}
    assert actions.post(url, data, page=STORE).status_code == 404
    assert actions.post(f"{STORE}/groups/99999{suffix}", data, page=STORE).status_code == 404
    assert stored_group(other.id).sent == 3
    assert AuditEntry.select().where(AuditEntry.action.startswith("group.")).count() == 0


@pytest.mark.parametrize(
    ("suffix", "data"),
    [
        ("/edit", {"title": "新"}),
        ("/channels", {"code": "a", "label": "b"}),
        ("/groups", {"name": "群"}),
    ],
)
def test_an_unknown_campaign_is_404(client, login_as, suffix, data):
    actions = login_as("operator")
    assert client.get("/console/campaigns/nope").status_code == 404
    assert (
        actions.post(f"/console/campaigns/nope{suffix}", data, page="/console/").status_code == 404
    )
    assert Channel.select().count() == Group.select().count() == 0


# ---------------------------------------------------------------- pages


def test_campaign_page_shows_links_and_groups(client, login_as, console_now):
    campaign = make_campaign(slug="store", template="store-live-code")
    make_channel(campaign, "counter", "门店前台")
    expiring = make_group(campaign, "快过期群", qr_age=timedelta(days=6, hours=12), now=console_now)
    make_group(campaign, "没码群", qr_age=None)
    make_group(campaign, "满群", sent=200)
    login_as("operator")
    page = _text(client.get(STORE))
    assert 'href="https://qun.example.cn/j/store"' in page
    assert 'href="https://qun.example.cn/j/store?c=counter"' in page
    assert 'href="/posters/store.png?c=counter"' in page
    assert 'href="/handbook/playbooks/live-code/"' in page
    assert "未上传" in page and "没有二维码" in page and "已满" in page
    assert "（12 小时内）" in page
    assert f'href="/j/qr/{expiring.id}-{expiring.qr_digest}.png"' in page
    assert page.count("看图") == 2  # groups without a QR have nothing to show


def test_home_shows_what_needs_attention_and_the_campaigns(client, login_as):
    store = make_campaign(slug="store", title="门店会员群")
    make_group(store, "没码群", qr_age=None)
    make_group(make_campaign(slug="ok", title="一切正常的活动"))
    login_as("trainer")
    page = _text(client.get("/console/"))
    assert '有 <strong class="warn">2</strong> 件事需要处理' in page  # no QR, no open group
    assert "没码群" in page and "门店会员群" in page and "一切正常的活动" in page
    assert "没有二维码 ×1" in page
    assert "新建活动" not in page  # trainers change nothing


def test_nav_links_by_role(client, login_as, staff_actions):
    login_as("operator")
    page = _text(client.get("/console/"))
    for link in ("/console/campaigns", "/console/attention", "/console/tokens"):
        assert f'href="{link}"' in page
    assert 'href="/console/audit"' not in page
    staff_actions.logout()
    login_as("admin")
    assert 'href="/console/audit"' in _text(client.get("/console/"))


def test_campaign_list_flags_and_pages(client, login_as):
    full = make_campaign(slug="full", title="满员活动")
    make_group(full, "过期群", qr_age=timedelta(days=8))
    busy = make_campaign(slug="busy", title="热闹活动")
    make_group(busy, "群", sent=42)
    login_as("operator")
    page = _text(client.get("/console/campaigns"))
    full_row = re.search(r"<tr>\s*<td><a href=\"/console/campaigns/full\">.*?</tr>", page, re.S)[0]
    assert "没有开着的群" in full_row and "二维码已过期 ×1" in full_row
    busy_row = re.search(r"<tr>\s*<td><a href=\"/console/campaigns/busy\">.*?</tr>", page, re.S)[0]
    assert ">42<" in busy_row and "正常" in busy_row
    assert "下一页" not in page
    assert "满员活动" in _text(client.get("/console/campaigns?page="))  # blank: the first
    assert "还没有活动" in _text(client.get("/console/campaigns?page=2"))
    for bad in ("abc", "0", "²", "٣", "9" * 300):
        refused = client.get(f"/console/campaigns?page={bad}")
        assert refused.status_code == 400, bad
        assert "「页码」要填 1 到 1000000 之间的整数" in _text(refused)


def test_one_pagination_helper(app):
    for i in range(5):
        make_campaign(slug=f"p{i}")
    query = Campaign.select().order_by(Campaign.slug)
    first = paginate(query, 1, per_page=2)
    assert ([c.slug for c in first.items], first.has_previous, first.has_next) == (
        ["p0", "p1"],
        False,
        True,
    )
    last = paginate(query, 3, per_page=2)
    assert ([c.slug for c in last.items], last.has_previous, last.has_next) == (["p4"], True, False)
    for bad in (0, -1, MAX_PAGE + 1):  # the views refuse these with a 400 page first
        with pytest.raises(ValueError, match="page must be"):
            paginate(query, bad, per_page=2)


# ---------------------------------------------------------------- audit log


def test_every_change_is_audited_and_shown_to_admins_only(client, login_as, staff_actions):
    actions = login_as("operator")
    actions.post(
        "/console/campaigns/new",
        {"template": "store-live-code", "slug": "store", "title": "会员群"},
        page="/console/campaigns/new?template=store-live-code",
    )
    group = Group.select().order_by(Group.position).first()
    actions.post(f"{STORE}/edit", {"title": "改过的标题", "rules": "新群规"}, page=STORE)
    actions.post(f"{STORE}/channels", {"code": "flyer", "label": "传单"}, page=STORE)
    actions.post(f"{STORE}/groups", {"name": "会员3群"}, page=STORE)
    _upload(actions, group, group_qr_png())
    actions.post(f"{STORE}/groups/{group.id}", {"sent": "7"}, page=STORE)
    actions.post(f"{STORE}/groups/{group.id}/move", {"direction": "down"}, page=STORE)
    changes = AuditEntry.select().where(~AuditEntry.action.startswith("staff."))
    assert [e.action for e in changes.order_by(AuditEntry.id)] == [
        "campaign.create",
        "campaign.edit",
        "channel.create",
        "group.create",
        "group.qr",
        "group.update",
        "group.move",
    ]
    assert {e.staff.username for e in changes} == {"operator-1"}
    assert client.get("/console/audit").status_code == 403
    staff_actions.logout()
    login_as("admin")
    page = _text(client.get("/console/audit"))
    assert page.index("group.move") < page.index("campaign.create")  # newest first
    assert "陈店长（operator-1）" in page
    assert "label: 传单" in page and "campaign:store" in page


def test_audit_log_shows_command_line_changes_and_pages(client, login_as):
    login_as("admin")
    for i in range(60):
        audit(None, "staff.create", f"staff:user{i}", role="operator", by="cli")
    first = _text(client.get("/console/audit"))
    assert "命令行" in first and "staff:user59" in first and 'href="/console/audit?page=2"' in first
    second = _text(client.get("/console/audit?page=2"))
    assert "staff:user0<" in second and 'href="/console/audit?page=1"' in second


# ---------------------------------------------------------------- no N+1


def _fill(n, prefix):
    for i in range(n):
        campaign = make_campaign(slug=f"{prefix}{i}")
        make_channel(campaign)
        for j in range(3):
            make_group(campaign, f"群{j}", qr_age=timedelta(days=6, hours=2))
        audit(None, "campaign.create", f"campaign:{campaign.slug}", template="")


@pytest.mark.parametrize(
    "url",
    [
        "/console/",
        "/console/campaigns",
        "/console/attention",
        "/console/audit",
        "/console/campaigns/c0",
    ],
)
def test_pages_cost_the_same_queries_however_much_data(client, login_as, url):
    login_as("admin")
    _fill(2, "c")
    with count_queries(only_select=True) as small:
        assert client.get(url).status_code == 200
    _fill(6, "d")
    c0 = Campaign.get(Campaign.slug == "c0")
    make_channel(c0, "moments", "朋友圈")
    make_group(c0, "再加一个群")
    make_group(c0, "没码群", qr_age=None)
    with count_queries(only_select=True) as large:
        assert client.get(url).status_code == 200
    assert large.count == small.count, url
