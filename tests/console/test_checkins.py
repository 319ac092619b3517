"""Staff's side of check-ins: setting up and editing the challenge, its figures and today's
check-ins, hiding wall posts, events with their door counts, the templates that set them up,
and the check-in and stickiness exports. Trainers see, never change."""

import csv
import io
import json
import re
from datetime import date, datetime

import pytest
from helpers import make_campaign, make_challenge, make_member, make_participant, shanghai
from PIL import Image

from miniapp_api import playbooks
from miniapp_api.checkins import events as event_rules
from miniapp_api.checkins import rules as checkins
from miniapp_api.console.views import checkins as checkin_views
from miniapp_api.models import Activity, AuditEntry, Challenge, Response, Reward

CHALLENGE = "/console/campaigns/store/challenge"
EVENTS = "/console/campaigns/store/events"
SETTINGS = {
    "days": "28",
    "starts_on": "2026-12-01",
    "timezone": "Asia/Shanghai",
    "task": "早上 7 点前起床，**拍一张**窗外的天空。",
    "finish_days": "21",
    "reward": "结营礼盒",
    "makeup_cards": "2",
    "makeup_window": "3",
}


def _text(response) -> str:
    return response.get_data(as_text=True)


def _audit(action: str) -> list[dict]:
    entries = AuditEntry.select().where(AuditEntry.action == action).order_by(AuditEntry.id)
    return [{"target": e.target, **json.loads(e.detail)} for e in entries]


def _photo(colour=(200, 40, 40)) -> tuple[bytes, str]:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(out, "PNG")
    return checkins.clean_photo(out.getvalue())


@pytest.fixture
def clock(monkeypatch):
    """The console's clock set to day `n` of the test challenge (10:00 in Shanghai)."""

    def set_day(n: int, hour: int = 10):
        monkeypatch.setattr(checkin_views, "utcnow", lambda: shanghai(n, hour))

    set_day(3)
    return set_day


# ---------------------------------------------------------------- the challenge's settings


def test_operator_sets_up_a_challenge_then_edits_it_with_a_day_task(client, login_as, clock):
    actions = login_as("operator")
    make_campaign(slug="store", title="28 天早起打卡")
    page = _text(client.get(CHALLENGE))
    # A new challenge's defaults: 28 days from tomorrow, in the app's time zone.
    assert 'name="days" inputmode="numeric" value="28"' in page
    assert 'name="timezone" value="Asia/Shanghai"' in page
    assert 'name="starts_on" value="2026-12-04"' in page  # the clock says day 3: 12-03

    response = actions.post(CHALLENGE, SETTINGS)
    assert response.status_code == 302 and response.location == CHALLENGE
    challenge = Challenge.get()
    assert (challenge.days, challenge.starts_on, challenge.timezone) == (
        28,
        date(2026, 12, 1),
        "Asia/Shanghai",
    )
    assert (challenge.finish_days, challenge.reward, challenge.makeup_cards) == (21, "结营礼盒", 2)
    assert (challenge.makeup_window, challenge.hidden) == (3, False)
    assert Activity.select().where(Activity.kind == "day").count() == 28
    [created] = _audit("challenge.create")
    assert created["target"] == "campaign:store"
    assert (created["days"], created["starts_on"], created["reward"]) == (
        28,
        "2026-12-01",
        "结营礼盒",
    )
    page = _text(client.get(CHALLENGE))
    assert "打卡挑战已建好" in page
    assert 'name="task_28"' in page and 'name="task_29"' not in page

    edit = {**SETTINGS, "days": "21", "hidden": "on", "task_3": "第三天：跑步 3 公里", "task_4": ""}
    assert actions.post(CHALLENGE, edit).status_code == 302
    challenge = Challenge.get()
    assert (challenge.days, challenge.hidden) == (21, True)
    assert checkins.task_of(challenge, 3) == "第三天：跑步 3 公里"
    assert checkins.task_of(challenge, 4) == SETTINGS["task"]  # blank: the challenge's task
    assert Activity.select().where(Activity.kind == "day").count() == 21
    [edited] = _audit("challenge.edit")
    assert (edited["days"], edited["hidden"], edited["day_tasks_changed"]) == (21, True, [3])
    assert edited["task_changed"] is False
    page = _text(client.get(CHALLENGE))
    assert "打卡挑战已保存" in page and "挑战已隐藏" in page
    assert "第三天：跑步 3 公里</textarea>" in page


def test_a_blank_time_zone_takes_the_apps(client, login_as, clock):
    actions = login_as("admin")
    make_campaign(slug="store")
    assert actions.post(CHALLENGE, {**SETTINGS, "timezone": ""}).status_code == 302
    assert Challenge.get().timezone == "Asia/Shanghai"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"starts_on": "2026-02-30"}, "开始日期要写成 2026-12-01 这样的日期"),
        ({"starts_on": "明天"}, "开始日期要写成"),
        ({"starts_on": "２０２６-１２-０１"}, "开始日期要写成"),  # full-width digits
        ({"starts_on": "20261201"}, "开始日期要写成"),  # fromisoformat alone would take it
        ({"starts_on": ""}, "开始日期要写成"),
        ({"starts_on": "9999-12-31"}, "2000–2100 年之间"),
        ({"timezone": "Mars/Olympus_Mons"}, "不认识时区「Mars/Olympus_Mons」"),
        ({"days": ""}, "天数要是 1–366 的整数"),
        ({"finish_days": "30"}, "完成条件要是 1–28 的整数"),
        ({"task": "长" * 4001}, "每日任务最多 4000 个字"),
        ({"reward": "奖" * 61}, "完成奖励最多 60 个字"),
    ],
)
def test_bad_settings_say_what_to_do_keep_the_form_and_store_nothing(
    client, login_as, clock, changes, message
):
    actions = login_as("operator")
    make_campaign(slug="store")
    response = actions.post(CHALLENGE, {**SETTINGS, "reward": "保留我写的奖励", **changes})
    assert response.status_code == 400
    page = _text(response)
    assert "没有保存" in page and message in page
    if "reward" not in changes:
        assert 'value="保留我写的奖励"' in page  # what was typed is still there
    assert Challenge.select().count() == 0 and Activity.select().count() == 0
    assert not AuditEntry.select().where(AuditEntry.action.startswith("challenge.")).exists()


def test_shortening_past_a_day_with_check_ins_is_refused(client, login_as, clock):
    actions = login_as("operator")
    challenge = make_challenge(make_campaign(slug="store"))
    member = make_participant(challenge)
    checkins.check_in(challenge, member, now=shanghai(3))
    response = actions.post(CHALLENGE, {**SETTINGS, "days": "2", "finish_days": "2"})
    assert response.status_code == 400
    assert "不能改得比这更短" in _text(response)
    assert Challenge.get().days == 28 and Response.select().count() == 1
    assert not _audit("challenge.edit")


@pytest.mark.parametrize("bad", ["²", "٣", "-1", "9" * 300, "1e9"])
def test_hostile_numbers_get_a_clear_400_page(client, login_as, clock, bad):
    actions = login_as("operator")
    make_campaign(slug="store")
    response = actions.post(CHALLENGE, {**SETTINGS, "days": bad})
    assert response.status_code == 400
    page = _text(response)
    assert "数字填得不对" in page and "「天数」要填 1 到 366 之间的整数" in page
    assert Challenge.select().count() == 0


# ---------------------------------------------------------------- who may see and change


def test_trainer_sees_the_pages_but_no_forms_and_every_change_is_403(client, login_as, clock):
    campaign = make_campaign(slug="store")
    challenge = make_challenge(campaign, task="每天**读** 10 页<script>alert(1)</script>")
    member = make_participant(challenge, nickname="阿花")
    post = checkins.check_in(challenge, member, note="读完了", now=shanghai(3)).response
    event = event_rules.create_event(campaign, title="见面会", starts_at=datetime(2026, 12, 20, 6))
    actions = login_as("trainer")
    page = _text(client.get(CHALLENGE))
    assert "<strong>读</strong>" in page and "<script>alert" not in page  # sanitised Markdown
    assert 'name="days"' not in page and "隐藏</button>" not in page
    assert "阿花" in page and "读完了" in page
    events = _text(client.get(EVENTS))
    assert "见面会" in events and 'name="title"' not in events

    for url, data in [
        (CHALLENGE, SETTINGS),
        (f"{CHALLENGE}/posts/{post.id}", {"action": "hide"}),
        (EVENTS, {"title": "新活动", "starts_at": "2026-12-21T14:00"}),
        (f"{EVENTS}/{event.id}", {"title": "改名", "starts_at": "2026-12-21T14:00"}),
    ]:
        assert actions.post(url, data, page="/console/").status_code == 403, url
    assert Challenge.get().task.startswith("每天") and not Response.get_by_id(post.id).hidden
    assert Activity.get_by_id(event.id).title == "见面会"
    assert Activity.select().where(Activity.kind == "event").count() == 1
    assert not AuditEntry.select().where(~AuditEntry.action.startswith("staff.")).exists()


@pytest.mark.parametrize("role", ["operator", "admin"])
def test_operators_and_admins_may_change(client, login_as, clock, role):
    actions = login_as(role)
    make_campaign(slug="store")
    assert actions.post(CHALLENGE, SETTINGS).status_code == 302
    form = {"title": "见面会", "starts_at": "2026-12-20T14:00"}
    assert actions.post(EVENTS, form).status_code == 302
    assert Challenge.select().count() == 1
    assert Activity.select().where(Activity.kind == "event").count() == 1


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", CHALLENGE),
        ("POST", CHALLENGE),
        ("GET", EVENTS),
        ("POST", EVENTS),
        ("GET", "/console/campaigns/store/check-ins.csv"),
        ("GET", "/console/campaigns/store/stickiness.csv"),
    ],
)
def test_anonymous_visitors_are_sent_to_the_login_page(app, client, method, url):
    app.config["WTF_CSRF_ENABLED"] = False  # the login guard, not the token, must refuse
    make_challenge(make_campaign(slug="store"))
    response = client.open(url, method=method, data=SETTINGS if method == "POST" else None)
    assert response.status_code == 302
    assert response.location.startswith("/console/login?next=")
    assert Challenge.get().days == 28 and Challenge.select().count() == 1
    assert not Activity.select().where(Activity.kind == "event").exists()
    assert not AuditEntry.select().exists()


def test_a_form_without_its_csrf_token_is_refused(client, login_as, clock):
    login_as("operator")
    campaign = make_campaign(slug="store")
    challenge = make_challenge(campaign)
    post = checkins.check_in(
        challenge, make_participant(challenge), note="记录", now=shanghai(3)
    ).response
    for url, data in [
        (CHALLENGE, {**SETTINGS, "days": "10"}),
        (f"{CHALLENGE}/posts/{post.id}", {"action": "hide"}),
        (EVENTS, {"title": "见面会", "starts_at": "2026-12-20T14:00"}),
    ]:
        response = client.post(url, data=data)
        assert response.status_code == 400, url
        assert "页面已过期" in _text(response)
    assert Challenge.get().days == 28 and not Response.get_by_id(post.id).hidden
    assert not Activity.select().where(Activity.kind == "event").exists()


# ---------------------------------------------------------------- figures and today's check-ins


def test_figures_and_todays_check_ins_with_full_nicknames(client, login_as, clock):
    challenge = make_challenge(make_campaign(slug="store"), days=5, finish_days=2)
    names = ["欧阳娜娜", "阿花", "小李", "老王"]
    members = [make_participant(challenge, nickname=name) for name in names]
    for member in members[:3]:
        checkins.check_in(challenge, member, now=shanghai(2, 9))
    checkins.check_in(challenge, members[0], note="=1+1 第三天", photo=_photo(), now=shanghai(3, 7))
    checkins.check_in(challenge, members[1], now=shanghai(3, 8, 30))
    login_as("trainer")
    page = _text(client.get(CHALLENGE))
    figure = dict(re.findall(r'data-figure="(\w+)">(\d+)<', page))
    assert figure == {"participants": "4", "today": "2", "finishers": "2"}
    assert "今天是第 <strong>3</strong> / 5 天" in page
    today = re.search(r'<section class="card" id="today">(.*?)</section>', page, re.S)[1]
    rows = re.findall(r"<tr data-check-in=\"\d+\">(.*?)</tr>", today, re.S)
    assert len(rows) == 2
    assert "08:30" in rows[0] and "阿花" in rows[0]  # newest first, Shanghai time
    assert "07:00" in rows[1] and "欧阳娜娜" in rows[1] and "=1+1 第三天" in rows[1]
    assert "看图" in rows[1] and "看图" not in rows[0]
    assert "小李" not in today  # checked in yesterday only


def test_before_the_start_the_page_says_when_it_begins(client, login_as, clock):
    make_challenge(make_campaign(slug="store"))
    clock(-1)
    login_as("operator")
    page = _text(client.get(CHALLENGE))
    assert "2026-12-01 开始（还有 2 天）" in page
    assert "今天还没有人打卡" in page


def test_unknown_campaign_is_a_404(client, login_as):
    login_as("operator")
    assert client.get("/console/campaigns/nope/challenge").status_code == 404
    assert client.get("/console/campaigns/nope/events").status_code == 404


# ---------------------------------------------------------------- the wall


def test_hiding_a_post_takes_it_off_the_members_wall_and_showing_it_puts_it_back(
    client, login_as, clock
):
    campaign = make_campaign(slug="store")
    challenge = make_challenge(campaign)
    member = make_participant(challenge, nickname="阿花")
    photo = _photo()
    post = checkins.check_in(challenge, member, note="不合适的内容", photo=photo, now=shanghai(3))
    other = checkins.check_in(
        challenge, make_participant(challenge), note="留着", now=shanghai(3)
    ).response
    post = post.response
    digest = photo[1]
    actions = login_as("operator")
    page = _text(client.get(CHALLENGE))
    thumb = f"/console/campaigns/store/challenge/posts/{post.id}-{digest}.jpg"
    assert f'src="{thumb}"' in page and "阿花" in page

    response = actions.post(f"{CHALLENGE}/posts/{post.id}", {"action": "hide"}, page=CHALLENGE)
    assert response.status_code == 302 and response.location == f"{CHALLENGE}#wall"
    assert [p["id"] for p in checkins.wall(campaign.id)] == [other.id]
    assert checkins.photo(campaign.id, post.id, digest) is None  # the member's photo URL 404s
    staff_view = client.get(thumb)  # staff still see it, to decide whether to show it again
    assert staff_view.status_code == 200 and staff_view.data == photo[0]
    assert staff_view.mimetype == "image/jpeg"
    page = _text(client.get(CHALLENGE))
    assert "已从打卡墙隐藏" in page
    hidden_post = re.search(
        rf'<li data-post="{post.id}" class="hidden-post">(.*?)</li>', page, re.S
    )
    assert "已隐藏" in hidden_post[1] and 'value="show"' in hidden_post[1]
    assert _audit("checkin.hide") == [{"target": f"response:{post.id}", "campaign": "store"}]

    response = actions.post(f"{CHALLENGE}/posts/{post.id}", {"action": "show"}, page=CHALLENGE)
    assert response.status_code == 302
    assert [p["id"] for p in checkins.wall(campaign.id)] == [other.id, post.id]  # newest first
    assert checkins.photo(campaign.id, post.id, digest) == photo[0]
    assert _audit("checkin.show") == [{"target": f"response:{post.id}", "campaign": "store"}]


def test_another_campaigns_post_or_a_wrong_digest_is_a_404(client, login_as, clock):
    make_campaign(slug="store")
    elsewhere = make_challenge()
    photo = _photo()
    post = checkins.check_in(
        elsewhere, make_participant(elsewhere), note="别家的", photo=photo, now=shanghai(3)
    ).response
    actions = login_as("operator")
    url = f"{CHALLENGE}/posts/{post.id}"
    assert actions.post(url, {"action": "hide"}, page="/console/").status_code == 404
    assert actions.post(url, {"action": "delete"}, page="/console/").status_code == 400
    assert not Response.get_by_id(post.id).hidden
    assert client.get(f"{url}-{photo[1]}.jpg").status_code == 404  # not this campaign's
    other = f"/console/campaigns/{elsewhere.campaign.slug}/challenge/posts/{post.id}"
    assert client.get(f"{other}-{photo[1]}.jpg").status_code == 200
    assert client.get(f"{other}-0000000000000000.jpg").status_code == 404
    assert not AuditEntry.select().where(AuditEntry.action.startswith("checkin.")).exists()


def test_the_wall_pages_back_with_before(client, login_as, clock):
    challenge = make_challenge(make_campaign(slug="store"))
    ids = []
    for i in range(35):
        member = make_participant(challenge, nickname=f"会员{i}")
        ids.append(
            checkins.check_in(challenge, member, note=f"第{i}条", now=shanghai(3)).response.id
        )
    login_as("operator")
    first = _text(client.get(CHALLENGE))
    shown = [int(n) for n in re.findall(r'<li data-post="(\d+)"', first)]
    assert shown == ids[::-1][:30]
    assert f"before={ids[5]}" in first
    older = _text(client.get(f"{CHALLENGE}?before={ids[5]}"))
    assert [int(n) for n in re.findall(r'<li data-post="(\d+)"', older)] == ids[:5][::-1]


# ---------------------------------------------------------------- events


def test_operator_creates_and_edits_an_event_in_local_time(client, login_as):
    actions = login_as("operator")
    make_campaign(slug="store")
    form = {
        "title": "周六 见面会",
        "starts_at": "2026-12-20T14:00",
        "place": "门店二楼",
        "capacity": "3",
    }
    response = actions.post(EVENTS, form)
    assert response.status_code == 302 and response.location == EVENTS
    event = Activity.get(Activity.kind == "event")
    # 14:00 in Shanghai is 06:00 UTC, the form the database keeps.
    assert (event.title, event.starts_at, event.place, event.capacity) == (
        "周六 见面会",
        datetime(2026, 12, 20, 6, 0),
        "门店二楼",
        3,
    )
    [created] = _audit("event.create")
    assert created["target"] == f"activity:{event.id}" and created["capacity"] == 3

    for holder in ("甲", "乙", "丙"):
        event_rules.issue_ticket(event, holder=holder)
    ticket = event_rules.issue_ticket(event, holder="丁", over_capacity=True)
    event_rules.revoke_ticket(event, ticket.id)
    first = event_rules.tickets_of(event)[0]
    event_rules.check_in_ticket(event, first.token)
    page = _text(client.get(EVENTS))
    row = re.search(rf'<tr data-event="{event.id}">(.*?)</tr>', page, re.S)[1]
    cells = re.findall(r'<td class="num"[^>]*>([^<]*)</td>', row)
    assert cells == ["3", "1", "3"]  # tickets out, checked in, capacity
    assert "2026-12-20 14:00" in row
    assert 'value="2026-12-20T14:00"' in row  # the edit form shows local time too
    for page_of_the_event in ("door", "tickets", "door-poster.png"):
        assert f'href="{EVENTS}/{event.id}/{page_of_the_event}"' in row

    edit = {"title": "周日见面会", "starts_at": "2026-12-21 09:30", "place": "", "capacity": ""}
    assert actions.post(f"{EVENTS}/{event.id}", edit, page=EVENTS).status_code == 302
    event = Activity.get_by_id(event.id)
    assert (event.title, event.starts_at, event.place, event.capacity) == (
        "周日见面会",
        datetime(2026, 12, 21, 1, 30),
        "",
        None,
    )
    [edited] = _audit("event.edit")
    assert edited["title"] == "周日见面会" and edited["capacity"] is None


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"starts_at": "下周六"}, "开始时间要写成 2026-12-20 14:00 这样的日期和时间"),
        ({"starts_at": "2026-12-20T25:00"}, "开始时间要写成"),
        ({"starts_at": ""}, "开始时间要写成"),
        ({"starts_at": "0001-01-01T00:00"}, "2000–2100 年之间"),
        ({"title": " "}, "活动名称要写"),
        ({"title": "长" * 61}, "活动名称要写，最多 60 个字"),
        ({"place": "地" * 121}, "地点最多 120 个字"),
    ],
)
def test_bad_events_say_what_to_do_and_store_nothing(client, login_as, form, message):
    actions = login_as("operator")
    make_campaign(slug="store")
    response = actions.post(EVENTS, {"title": "见面会", "starts_at": "2026-12-20T14:00", **form})
    assert response.status_code == 400
    page = _text(response)
    assert "没有建成" in page and message in page
    assert not Activity.select().where(Activity.kind == "event").exists()
    assert not _audit("event.create")


def test_capacity_below_the_tickets_out_is_refused(client, login_as):
    campaign = make_campaign(slug="store")
    event = event_rules.create_event(
        campaign, title="见面会", starts_at=datetime(2026, 12, 20, 6), capacity=5
    )
    for holder in ("甲", "乙", "丙"):
        event_rules.issue_ticket(event, holder=holder)
    actions = login_as("operator")
    form = {"title": "见面会", "starts_at": "2026-12-20T14:00", "capacity": "2"}
    response = actions.post(f"{EVENTS}/{event.id}", form, page=EVENTS)
    assert response.status_code == 400
    assert "已经发出 3 张票，人数上限不能比这更少" in _text(response)
    assert Activity.get_by_id(event.id).capacity == 5 and not _audit("event.edit")


def test_another_campaigns_event_is_a_404(client, login_as):
    make_campaign(slug="store")
    elsewhere = event_rules.create_event(
        make_campaign(), title="别家的", starts_at=datetime(2026, 12, 20, 6)
    )
    actions = login_as("operator")
    form = {"title": "改名", "starts_at": "2026-12-20T14:00"}
    assert actions.post(f"{EVENTS}/{elsewhere.id}", form, page=EVENTS).status_code == 404
    assert Activity.get_by_id(elsewhere.id).title == "别家的"


def test_campaign_page_links_to_the_challenge_and_the_events(client, login_as):
    login_as("trainer")
    make_campaign(slug="store")
    page = _text(client.get("/console/campaigns/store"))
    assert f'href="{CHALLENGE}"' in page and f'href="{EVENTS}"' in page


# ---------------------------------------------------------------- templates


def test_the_28_day_template_sets_up_a_challenge_from_tomorrow_in_the_time_zone(app):
    # 17:00 UTC on 11-30 is already 12-01 01:00 in Shanghai: "tomorrow" is 12-02 there.
    campaign = playbooks.create_from_template(
        "checkin-28", "dk", timezone="Asia/Shanghai", now=datetime(2026, 11, 30, 17, 0)
    )
    challenge = checkins.challenge_of(campaign.id)
    assert (challenge.days, challenge.starts_on, challenge.timezone) == (
        28,
        date(2026, 12, 2),
        "Asia/Shanghai",
    )
    assert (challenge.finish_days, challenge.makeup_cards, challenge.makeup_window) == (21, 2, 3)
    assert challenge.reward == "结营礼" and "打卡" in challenge.task and not challenge.hidden
    assert Activity.select().where(Activity.kind == "day").count() == 28
    # In New York the same moment is still 11-30: tomorrow is 12-01.
    other = playbooks.create_from_template(
        "checkin-28", "dk-ny", timezone="America/New_York", now=datetime(2026, 11, 30, 17, 0)
    )
    assert checkins.challenge_of(other.id).starts_on == date(2026, 12, 1)
    # The template's own words match what it sets up.
    assert "整期最多 2 次" in playbooks.template("checkin-28")["rules"]


def test_the_meetup_template_creates_an_event_two_weeks_ahead(app):
    campaign = playbooks.create_from_template(
        "offline-meetup", "meet", timezone="Asia/Shanghai", now=datetime(2026, 11, 30, 17, 0)
    )
    [event] = event_rules.events_of(campaign.id)
    # 12-01 in Shanghai + 14 days, 14:00 local = 06:00 UTC.
    assert (event.title, event.starts_at, event.capacity) == (
        "线下见面会",
        datetime(2026, 12, 15, 6, 0),
        50,
    )
    assert checkins.challenge_of(campaign.id) is None


def test_other_templates_set_up_no_activities(app):
    campaign = playbooks.create_from_template("store-live-code", "plain")
    assert not Activity.select().where(Activity.campaign == campaign.id).exists()


def test_a_template_with_a_bad_time_zone_creates_nothing(app):
    with pytest.raises(playbooks.SetupError, match="不认识时区"):
        playbooks.create_from_template("checkin-28", "dk", timezone="Nowhere/City")
    assert not Challenge.select().exists()
    assert not playbooks.Campaign.select().exists()


def test_the_console_creates_the_challenge_template_in_the_apps_time_zone(client, login_as):
    actions = login_as("operator")
    response = actions.post(
        "/console/campaigns/new",
        {"template": "checkin-28", "slug": "dk"},
        page="/console/campaigns/new?template=checkin-28",
    )
    assert response.status_code == 302
    challenge = Challenge.get()
    assert challenge.timezone == "Asia/Shanghai" and challenge.days == 28
    page = _text(client.get("/console/campaigns/new?template=offline-meetup"))
    assert '还会建好一场「<span lang="zh-CN">线下见面会</span>」：14 天后 14:00 开始，50 人' in page


# ---------------------------------------------------------------- exports


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))


def test_check_in_export_has_full_nicknames_local_times_and_no_formulas(client, login_as):
    campaign = make_campaign(slug="store")
    challenge = make_challenge(campaign)
    member = make_member(campaign.id, nickname="欧阳娜娜", phone_hash="secret-phone-hash")
    checkins.join(challenge, member, now=shanghai(1))
    checkins.check_in(challenge, member, note="=1+1", photo=_photo(), now=shanghai(1, 23, 59, 59))
    checkins.make_up(challenge, member, 2, note="+补上了", now=shanghai(4))
    hidden = checkins.check_in(challenge, member, note="@所有人", now=shanghai(4, 7)).response
    checkins.hide(campaign.id, hidden.id)
    event = event_rules.create_event(campaign, title="见面会", starts_at=datetime(2026, 12, 20, 6))
    guest = event_rules.issue_ticket(event, holder="王女士")
    event_rules.check_in_ticket(event, guest.code, now=datetime(2026, 12, 20, 5, 50))
    login_as("trainer")
    rows = _csv(client.get("/console/campaigns/store/check-ins.csv"))
    assert rows[0] == [
        "活动",
        "第几天",
        "会员",
        "方式",
        "心得",
        "照片",
        "打卡墙",
        "时间（Asia/Shanghai）",
    ]
    assert rows[1:] == [
        ["第 1 天", "1", "欧阳娜娜", "打卡", "'=1+1", "有", "", "2026-12-01 23:59:59"],
        ["第 4 天", "4", "欧阳娜娜", "打卡", "'@所有人", "", "已隐藏", "2026-12-04 07:00:00"],
        ["第 2 天", "2", "欧阳娜娜", "补卡", "'+补上了", "", "", "2026-12-04 10:00:00"],
        ["见面会", "", "王女士", "门口扫码", "", "", "", "2026-12-20 13:50:00"],
    ]
    text = client.get("/console/campaigns/store/check-ins.csv").data.decode("utf-8-sig")
    assert "secret-phone-hash" not in text and member.visitor not in text
    assert (
        'filename="store-check-ins.csv"'
        in client.get("/console/campaigns/store/check-ins.csv").headers["Content-Disposition"]
    )


def test_stickiness_export_per_activity(client, login_as, clock):
    campaign = make_campaign(slug="store")
    challenge = make_challenge(campaign, days=3, finish_days=2)
    members = [make_participant(challenge, nickname=f"会员{i}") for i in range(4)]
    for member in members[:3]:
        checkins.check_in(challenge, member, now=shanghai(1))
    event = event_rules.create_event(
        campaign, title="=HYPERLINK(1)", starts_at=datetime(2026, 12, 20, 6)
    )
    tickets = [event_rules.issue_ticket(event, holder=h) for h in ("甲", "乙", "丙")]
    for ticket in tickets[:2]:
        event_rules.check_in_ticket(event, ticket.token)
    event_rules.create_event(campaign, title="下一场", starts_at=datetime(2026, 12, 27, 6))
    clock(2)
    login_as("trainer")
    rows = _csv(client.get("/console/campaigns/store/stickiness.csv"))
    assert rows == [
        ["活动", "类型", "第几天", "开始时间", "应到（被召集）", "响应", "粘性"],
        ["第 1 天", "挑战日", "1", "", "4", "3", "75%"],
        ["第 2 天", "挑战日", "2", "", "4", "0", "0%"],
        ["第 3 天", "挑战日", "3", "", "", "", "未开始"],  # the clock says day 2
        ["'=HYPERLINK(1)", "线下活动", "", "2026-12-20 14:00", "3", "2", "67%"],
        ["下一场", "线下活动", "", "2026-12-27 14:00", "", "", "未开始"],
    ]


def test_exports_of_an_unknown_campaign_are_404(client, login_as):
    login_as("operator")
    for name in ("check-ins.csv", "stickiness.csv"):
        assert client.get(f"/console/campaigns/nope/{name}").status_code == 404


def test_finishers_rewards_are_listed_and_marked_redeemed_once(client, login_as, clock):
    """A challenge without a referral programme still shows its finishing rewards, and staff
    mark one handed over (trainers cannot)."""
    campaign = make_campaign(slug="store", title="28 天早起打卡")
    challenge = make_challenge(campaign, days=3, finish_days=2, reward="结营礼盒")
    finisher = make_participant(challenge, nickname="阿花")
    make_participant(challenge, nickname="小明")
    for day in (1, 2):
        checkins.check_in(challenge, finisher, now=shanghai(day))
    reward = Reward.get()
    login_as("trainer")
    page = _text(client.get(CHALLENGE))
    # Trainers see who finished, not the code that hands the reward over.
    assert "阿花" in page and "仅运营可见" in page and reward.code not in page
    redeem = f"{CHALLENGE}/rewards/{reward.id}/redeem"
    assert 'data-figure="finish-rate">50%' in page and redeem not in page
    trainer = client.post(redeem)
    assert trainer.status_code in (400, 403) and Reward.get().redeemed_at is None

    actions = login_as("operator")
    page = _text(client.get(CHALLENGE))
    assert redeem in page and f"<code>{reward.code}</code>" in page
    assert actions.post(redeem, {}, page=CHALLENGE).status_code == 302
    assert Reward.get().redeemed_at is not None
    assert actions.post(redeem, {}, page=CHALLENGE).status_code == 302
    assert len(_audit("reward.redeem")) == 1  # the second click changed nothing
    unknown = f"{CHALLENGE}/rewards/{reward.id + 99}/redeem"
    assert actions.post(unknown, {}, page=CHALLENGE).status_code == 404
