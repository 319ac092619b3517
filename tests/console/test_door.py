"""The console's door for an event: scan or type a ticket (JSON for the camera script, a
flashed message otherwise), walk-ins, the live count, the tickets list (revoke, issue to VIP
guests) and the door poster. Trainers see and never change; nothing refused is stored."""

import io
import json
import re
import secrets
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import pytest
import zxingcpp
from helpers import PUBLIC_URL, csrf_from, make_campaign, make_event, make_invitation
from PIL import Image
from playhouse.test_utils import count_queries

from miniapp_api.checkins import events
from miniapp_api.invitations import rules as invitations
from miniapp_api.models import Activity, AuditEntry, Invitation, Response, Ticket, utcnow
from miniapp_api.referrals import rules as referrals
from miniapp_api.referrals.rules import CODE_ALPHABET

STARTS = datetime(2026, 12, 20, 6, 30)  # 14:30 in Shanghai
NOTE = (
    "浏览器只在 HTTPS 或 localhost 下允许网页使用摄像头；用普通 HTTP 访问时，请用手机自带的扫一扫"
    "（或微信扫一扫）扫票，打开票页后点「签到」。"
)
JSON = {"Accept": "application/json"}


@pytest.fixture
def meetup(app):
    campaign = make_campaign(slug="meetup", title="线下见面会")
    event = make_event(campaign, title="年末见面会", starts_at=STARTS, capacity=50)
    return campaign, event


def door_url(event, tail="door"):
    return f"/console/campaigns/meetup/events/{event.id}/{tail}"


def text(response) -> str:
    return response.get_data(as_text=True)


def stored() -> dict:
    return {
        "responses": list(Response.select().order_by(Response.id).tuples()),
        "tickets": list(Ticket.select().order_by(Ticket.id).tuples()),
        "places": list(Activity.select(Activity.id, Activity.tickets).tuples()),
        "audit": AuditEntry.select().where(~AuditEntry.action.startswith("staff.")).count(),
    }


class Door:
    """A logged-in staff member at the door page, posting with its CSRF token."""

    def __init__(self, client, event):
        self.client, self.event = client, event
        self.token = csrf_from(client.get(door_url(event)))

    def scan(self, ticket, json_answer=True, **fields):
        return self.client.post(
            door_url(self.event),
            data={"ticket": ticket, "csrf_token": self.token, **fields},
            headers=JSON if json_answer else {},
        )

    def walk_in(self, holder, json_answer=False):
        return self.client.post(
            door_url(self.event, "door/walk-in"),
            data={"holder": holder, "csrf_token": self.token},
            headers=JSON if json_answer else {},
        )


# ---------------------------------------------------------------- the page


def test_the_door_page_has_the_scanner_the_count_and_the_http_note(client, login_as, meetup):
    login_as("operator")
    _, event = meetup
    events.issue_ticket(event, holder="小红")
    events.walk_in(event, "王女士", now=STARTS)
    page = text(client.get(door_url(event)))
    assert '<span id="door-count">1 / 50</span>' in page and "已发 2 张票" in page
    assert '<video id="door-camera" playsinline muted></video>' in page
    assert re.search(r'<p id="door-camera-note"[^>]* hidden>', page)
    form = re.search(
        r'<form id="door-form" method="post" action="([^"]+)">(.*?)</form>', page, re.S
    )
    assert form[1] == door_url(event)
    assert 'name="csrf_token"' in form[2] and 'name="ticket"' in form[2]
    assert '<div id="door-result" aria-live="polite"></div>' in page
    scripts = re.findall(r'<script src="([^"]+)"></script>', page)
    assert scripts == ["/static/vendor/jsQR.js", "/static/door.js"]
    assert NOTE in page
    assert "王女士" in page and "现场登记" in page and "14:30:00" in page  # recent check-ins
    assert door_url(event, "door-poster.png") in page and door_url(event, "tickets") in page


def test_the_campaign_page_links_each_event_to_its_door_tickets_and_poster(
    client, login_as, meetup
):
    login_as("trainer")
    _, event = meetup
    page = text(client.get("/console/campaigns/meetup"))
    for tail in ("door", "tickets", "door-poster.png"):
        assert f'href="{door_url(event, tail)}"' in page


def test_trainers_see_the_door_but_get_no_forms_and_every_change_is_a_403(client, login_as, meetup):
    _, event = meetup
    ticket = events.issue_ticket(event, holder="小红")
    login_as("trainer")
    page = text(client.get(door_url(event)))
    assert "培训师账号只能查看" in page and NOTE in page
    assert 'id="door-form"' not in page and "door.js" not in page
    tickets = text(client.get(door_url(event, "tickets")))
    assert "小红" in tickets and "作废</button>" not in tickets
    assert client.get(door_url(event, "door-poster.png")).status_code == 200
    ticket_page = text(client.get(f"/t/{ticket.token}"))
    assert "培训师账号只能查看" in ticket_page and 'name="ticket"' not in ticket_page

    token = csrf_from(client.get("/console/account"))
    before = stored()
    for url, data in [
        (door_url(event), {"ticket": ticket.code}),
        (door_url(event, "door/walk-in"), {"holder": "王女士"}),
        (door_url(event, "tickets/vip"), {}),
        (door_url(event, f"tickets/{ticket.id}/revoke"), {}),
    ]:
        for headers in ({}, JSON):
            response = client.post(url, data={**data, "csrf_token": token}, headers=headers)
            assert response.status_code == 403, url
    assert stored() == before


def test_anonymous_visitors_are_sent_to_the_login_page(app, client, meetup):
    _, event = meetup
    ticket = events.issue_ticket(event, holder="小红")
    app.config["WTF_CSRF_ENABLED"] = False  # so the POSTs reach the login guard
    before = stored()
    for method, tail in [
        ("GET", "door"),
        ("GET", "tickets"),
        ("GET", "door-poster.png"),
        ("POST", "door"),
        ("POST", "door/walk-in"),
        ("POST", "tickets/vip"),
        ("POST", f"tickets/{ticket.id}/revoke"),
    ]:
        data = {"ticket": ticket.code, "holder": "王女士"} if method == "POST" else None
        response = client.open(door_url(event, tail), method=method, data=data, headers=JSON)
        assert response.status_code == 302, tail
        assert urlsplit(response.headers["Location"]).path == "/console/login"
    assert stored() == before


def test_every_door_change_needs_the_csrf_token(client, login_as, meetup):
    _, event = meetup
    ticket = events.issue_ticket(event, holder="小红")
    login_as("operator")
    before = stored()
    for url, data in [
        (door_url(event), {"ticket": ticket.code}),
        (door_url(event, "door/walk-in"), {"holder": "王女士"}),
        (door_url(event, "tickets/vip"), {}),
        (door_url(event, f"tickets/{ticket.id}/revoke"), {}),
    ]:
        for token in (None, "forged-" + secrets.token_hex(8)):
            fields = {**data, **({"csrf_token": token} if token else {})}
            response = client.post(url, data=fields, headers=JSON)
            assert response.status_code == 400 and "页面已过期" in text(response), url
    assert stored() == before


def test_an_event_of_another_campaign_or_none_is_a_404(client, login_as, meetup):
    login_as("operator")
    elsewhere = make_event(title="别家的活动")
    for tail in ("door", "tickets", "door-poster.png"):
        assert client.get(door_url(elsewhere, tail)).status_code == 404
    assert client.get(f"/console/campaigns/nope/events/{elsewhere.id}/door").status_code == 404


# ---------------------------------------------------------------- checking tickets in


def test_a_ticket_checks_in_once_and_the_second_scan_says_already_and_when(
    app, client, login_as, meetup
):
    login_as("operator")
    _, event = meetup
    ticket = events.issue_ticket(event, holder="小红")
    door = Door(client, event)
    first = door.scan(f"{PUBLIC_URL}/t/{ticket.token}")
    assert first.status_code == 200 and first.mimetype == "application/json"
    assert first.get_json() == {
        "status": "checked_in",
        "message": "签到成功：小红",
        "count": 1,
        "capacity": 50,
    }
    when = Response.get().created_at
    second = door.scan(ticket.token)
    answer = second.get_json()
    assert second.status_code == 200 and answer["status"] == "already"
    local = (when + timedelta(hours=8)).strftime("%H:%M")  # Asia/Shanghai has no DST
    assert answer["message"] == f"已签到：小红，{local} 签的到。" and answer["count"] == 1
    assert Response.select().count() == 1 and Response.get().how == "door"


@pytest.mark.parametrize("shown", [str.lower, str.upper, lambda code: f" {code.upper()} "])
def test_the_short_code_typed_in_works_and_without_json_the_page_flashes_it(
    client, login_as, meetup, shown
):
    login_as("operator")
    _, event = meetup
    ticket = events.issue_ticket(event, holder="小红")
    door = Door(client, event)
    response = door.scan(shown(ticket.code), json_answer=False)
    assert response.status_code == 302 and response.headers["Location"] == door_url(event)
    page = text(client.get(door_url(event)))
    assert "签到成功：小红" in page and '<span id="door-count">1 / 50</span>' in page
    again = door.scan(ticket.code, json_answer=False)
    assert again.status_code == 302 and "已签到：小红" in text(client.get(door_url(event)))
    assert Response.select().count() == 1


def test_unknown_revoked_and_other_events_tickets_are_refused_and_nothing_is_stored(
    client, login_as, meetup
):
    login_as("operator")
    campaign, event = meetup
    revoked = events.issue_ticket(event, holder="作废的")
    events.revoke_ticket(event, revoked.id)
    other_event = make_event(campaign, title="另一场", starts_at=STARTS + timedelta(days=7))
    elsewhere = events.issue_ticket(other_event, holder="走错门的")
    door = Door(client, event)
    before = stored()
    cases = [
        ("zzzzzz", 404, "没有这张票"),
        (secrets.token_urlsafe(24), 404, "没有这张票"),
        ("https://evil.example/t/" + secrets.token_urlsafe(24), 404, "没有这张票"),
        ("", 404, "没有这张票"),
        (revoked.token, 409, "这张票已经作废"),
        (revoked.code, 409, "这张票已经作废"),
        (elsewhere.token, 409, "不是本场活动的"),
    ]
    for shown, status, message in cases:
        response = door.scan(shown)
        answer = response.get_json()
        assert response.status_code == status, shown
        assert answer["status"] == "refused" and message in answer["message"], shown
        assert (answer["count"], answer["capacity"]) == (0, 50)
        plain = door.scan(shown, json_answer=False)
        assert plain.status_code == 302 and message in text(client.get(door_url(event)))
    assert stored() == before


def test_a_thousand_random_codes_at_the_door_are_refused_and_store_nothing(
    client, login_as, meetup
):
    login_as("operator")
    _, event = meetup
    real = {events.issue_ticket(event, holder=f"会员{n}").code for n in range(5)}
    door = Door(client, event)
    before = stored()
    statuses = set()
    tried = 0
    while tried < 1000:
        if tried % 4 == 3:
            shown = secrets.token_urlsafe(24)
        elif tried % 4 == 2:
            shown = secrets.token_hex(secrets.randbelow(12) + 1)
        else:
            shown = "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))
            if shown in real:
                continue
        answer = door.scan(shown.upper() if tried % 2 else shown)
        statuses.add((answer.status_code, answer.get_json()["status"]))
        tried += 1
    assert statuses == {(404, "refused")}
    assert stored() == before


def test_the_check_in_button_on_a_ticket_page_for_logged_in_staff(client, login_as, meetup):
    _, event = meetup
    ticket = events.issue_ticket(event, holder="小红")
    login_as("operator")
    response = client.get(f"/t/{ticket.token}")
    page = text(response)
    # Scanned with the phone's own scanner where the kit runs over plain HTTP.
    form = re.search(r'<form method="post" action="([^"]+)">(.*?)</form>', page, re.S)
    assert form[1] == door_url(event) and f'name="ticket" value="{ticket.token}"' in form[2]
    assert response.headers["Referrer-Policy"] == "same-origin"  # the CSRF check needs it
    done = client.post(
        form[1], data={"ticket": ticket.token, "back": "ticket", "csrf_token": csrf_from(response)}
    )
    assert done.status_code == 302 and done.headers["Location"] == f"/t/{ticket.token}"
    after = text(client.get(f"/t/{ticket.token}"))
    assert "签到成功：小红" in after and "已签到" in after and 'name="ticket"' not in after
    assert Response.get().ticket_id == ticket.id


# ---------------------------------------------------------------- walk-ins


def test_walk_ins_are_checked_in_at_once_even_over_capacity(client, login_as):
    login_as("operator")
    campaign = make_campaign(slug="meetup")
    event = make_event(campaign, starts_at=STARTS, capacity=1)
    events.issue_ticket(event, holder="小红")
    door = Door(client, event)
    response = door.walk_in("  王 女士 ")
    assert response.status_code == 302
    page = text(client.get(door_url(event)))
    assert "签到成功：王 女士" in page and '<span id="door-count">1 / 1</span>' in page
    answer = door.walk_in("李先生", json_answer=True).get_json()
    assert (answer["status"], answer["count"], answer["capacity"]) == ("checked_in", 2, 1)
    assert events.door_count(event) == {"count": 2, "tickets": 3, "capacity": 1}
    assert {r.how for r in Response.select()} == {"walkin"}
    assert AuditEntry.select().where(AuditEntry.action == "event.walk_in").count() == 2


@pytest.mark.parametrize(
    ("holder", "message"),
    [("", "请写来宾的称呼"), ("   ", "请写来宾的称呼"), ("长" * 41, "请写来宾的称呼"),
     ("\u200b", "请写来宾的称呼"), ("王\x00女士", "控制字符")],
)  # fmt: skip
def test_a_walk_in_without_a_usable_name_is_refused_with_nothing_stored(
    client, login_as, meetup, holder, message
):
    login_as("operator")
    _, event = meetup
    door = Door(client, event)
    before = stored()
    answer = door.walk_in(holder, json_answer=True)
    assert answer.status_code == 400 and message in answer.get_json()["message"]
    if message == "控制字符":  # refused by the input gate, before the door's own form
        assert door.walk_in(holder).status_code == 400
    else:
        assert door.walk_in(holder).status_code == 302
        assert message in text(client.get(door_url(event)))
    assert stored() == before


# ---------------------------------------------------------------- tickets


def test_the_tickets_page_lists_holder_code_source_and_state_and_revokes_one(
    client, login_as, meetup
):
    campaign, event = meetup
    member = referrals.join_without_referrals(campaign.id, nickname="小红", visitor="v" * 22)
    member_ticket = events.issue_ticket(event, holder="小红", member=member)
    guest = make_invitation(campaign, "王丽")
    vip_ticket = events.issue_ticket(event, holder="王丽", invitation=guest)
    events.check_in_ticket(event, vip_ticket.code, now=STARTS)
    events.walk_in(event, "李先生", now=STARTS)
    login_as("operator")
    page = text(client.get(door_url(event, "tickets")))
    rows = dict(re.findall(r'<tr data-ticket="(\d+)">(.*?)</tr>', page, re.S))
    assert len(rows) == 3
    assert "小红" in rows[str(member_ticket.id)] and member_ticket.code.upper() in page
    assert "未签到" in rows[str(member_ticket.id)]
    assert (
        "VIP 邀请" in rows[str(vip_ticket.id)] and "已签到 12-20 14:30" in rows[str(vip_ticket.id)]
    )
    assert sum("现场登记" in row for row in rows.values()) == 1

    revoke = door_url(event, f"tickets/{member_ticket.id}/revoke")
    response = client.post(
        revoke, data={"csrf_token": csrf_from(client.get(door_url(event, "tickets")))}
    )
    assert response.status_code == 302
    assert "票已作废" in text(client.get(door_url(event, "tickets")))
    assert Ticket.get_by_id(member_ticket.id).revoked_at is not None
    assert Activity.get_by_id(event.id).tickets == 2
    assert AuditEntry.get(AuditEntry.action == "event.revoke_ticket").target == (
        f"ticket:{member_ticket.id}"
    )
    # A ticket of another event is not this page's to revoke.
    other = events.issue_ticket(make_event(title="别的"), holder="别人")
    token = csrf_from(client.get(door_url(event, "tickets")))
    assert (
        client.post(
            door_url(event, f"tickets/{other.id}/revoke"), data={"csrf_token": token}
        ).status_code
        == 404
    )
    assert Ticket.get_by_id(other.id).revoked_at is None


def test_the_tickets_page_costs_the_same_queries_for_5_and_120_tickets(client, login_as, meetup):
    login_as("operator")
    _, event = meetup

    def queries() -> int:
        with count_queries() as counter:
            assert client.get(door_url(event, "tickets")).status_code == 200
        return counter.count

    for n in range(5):
        events.issue_ticket(event, holder=f"会员{n}")
    queries()  # the first page of a session also stores its CSRF token
    few = queries()
    Activity.update(capacity=None).where(Activity.id == event.id).execute()
    for n in range(115):
        ticket = events.issue_ticket(event, holder=f"会员{n + 5}")
        if n % 3 == 0:
            events.check_in_ticket(event, ticket.code)
    assert queries() == few


def test_staff_issue_tickets_to_accepted_vip_guests_that_have_none(client, login_as, meetup):
    campaign, event = meetup
    Activity.update(capacity=2).where(Activity.id == event.id).execute()
    accepted = [make_invitation(campaign, name) for name in ("王丽", "陈静", "李娜")]
    for invitation in accepted:
        Invitation.update(status="accepted", accepted_at=utcnow()).where(
            Invitation.id == invitation.id
        ).execute()
    make_invitation(campaign, "赵敏")  # not answered: no ticket
    login_as("operator")
    page = text(client.get(door_url(event, "tickets")))
    assert "3 位已接受邀请的客户还没有票" in page
    token = csrf_from(client.get(door_url(event, "tickets")))
    response = client.post(door_url(event, "tickets/vip"), data={"csrf_token": token})
    assert response.status_code == 302
    flashed = text(client.get(door_url(event, "tickets")))
    assert "发出 2 张票；还有 1 位" in flashed and "名额已满" in flashed
    assert sorted(t.holder for t in Ticket.select()) == ["王丽", "陈静"]
    assert json.loads(AuditEntry.get(AuditEntry.action == "event.vip_tickets").detail) == {
        "issued": 2,
        "full": 1,
    }
    # Revoking the invitation takes its ticket back; the place goes to the one left out.
    invitations.revoke(accepted[0].id, campaign.id, utcnow())
    client.post(door_url(event, "tickets/vip"), data={"csrf_token": token})
    assert sorted(t.holder for t in Ticket.select().where(Ticket.revoked_at.is_null())) == [
        "李娜",
        "陈静",
    ]


# ---------------------------------------------------------------- the door poster


def test_the_door_poster_qr_opens_the_self_check_in_page(client, login_as, meetup):
    login_as("trainer")
    _, event = meetup
    response = client.get(door_url(event, "door-poster.png"))
    assert response.status_code == 200 and response.mimetype == "image/png"
    with Image.open(io.BytesIO(response.data)) as image:
        assert image.size == (1080, 1920)
        found = [code.text for code in zxingcpp.read_barcodes(image.convert("RGB"))]
    here = f"{PUBLIC_URL}/c/meetup/events/{event.id}/here"
    assert found == [here]
    # The page it opens answers (and changes nothing by being opened).
    assert client.get(urlsplit(here).path).status_code == 200
    assert Response.select().count() == 0
