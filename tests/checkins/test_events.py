"""Event tickets for members and VIP guests: sign-up from the join page, the ticket page, the
door poster's self check-in, and the rules under them. Bad input gets a clear page and
stores nothing; opening a link (a person's or a link preview's) never changes anything."""

import base64
import io
import re
import secrets
import string
from datetime import datetime, timedelta

import pytest
import zxingcpp
from helpers import (
    PUBLIC_URL,
    browser,
    csrf_from,
    make_campaign,
    make_event,
    make_group,
    make_invitation,
)
from PIL import Image

from miniapp_api.checkins import events
from miniapp_api.invitations import rules as invitations
from miniapp_api.models import (
    Activity,
    Invitation,
    Member,
    Response,
    StaffSession,
    Ticket,
    Visit,
    utcnow,
)
from miniapp_api.referrals import rules as referrals
from miniapp_api.visitors import VISITOR_COOKIE

WECHAT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI"
)
PREVIEWS = [
    "Mozilla/5.0 (compatible; WeChat-Spider/1.0)",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "facebookexternalhit/1.1",
    "TelegramBot (like TwitterBot)",
    "Mozilla/5.0 (compatible; Feishu link preview)",
    "",
]
DOOR_TIME = datetime(2026, 12, 20, 6, 30)  # 14:30 in Shanghai


class Phone:
    """One person's browser: its own cookies, a WeChat user agent."""

    def __init__(self, app, agent=WECHAT):
        self.client = browser(app)
        self.client.environ_base["HTTP_USER_AGENT"] = agent
        self.token = None

    def get(self, url, **kw):
        return self.client.get(url, **kw)

    def csrf(self) -> str:
        """This browser's CSRF token (from any page with a form: the full event's sign-up
        page has none)."""
        if self.token is None:
            self.token = csrf_from(self.client.get("/console/login"))
        return self.token

    def sign_up(self, campaign, event, **fields):
        data = {"nickname": "小红", "csrf_token": self.csrf(), **fields}
        return self.client.post(f"/c/{campaign.slug}/events/{event.id}/signup", data=data)

    @property
    def cookie(self) -> str | None:
        found = self.client.get_cookie(VISITOR_COOKIE)
        return found.value if found else None


def text(response) -> str:
    return response.get_data(as_text=True)


def stored() -> dict:
    """Every row a ticket page, a sign-up or a check-in could add or change."""
    return {
        "tickets": list(Ticket.select().order_by(Ticket.id).tuples()),
        "responses": Response.select().count(),
        "members": Member.select().count(),
        "sessions": StaffSession.select().count(),
        "visits": Visit.select().count(),
        "places": list(Activity.select(Activity.id, Activity.tickets).tuples()),
        "invitations": list(Invitation.select().order_by(Invitation.id).tuples()),
    }


def ticket_qr(page: str) -> list[str]:
    data = re.search(r'src="data:image/png;base64,([^"]+)"', page)[1]
    with Image.open(io.BytesIO(base64.b64decode(data))) as image:
        return [code.text for code in zxingcpp.read_barcodes(image.convert("RGB"))]


@pytest.fixture
def meetup(app):
    """A campaign with a working group and an event of 2 places starting in an hour (the
    door poster takes self check-ins from two hours before the start)."""
    campaign = make_campaign(slug="meetup", title="线下见面会", staff_contact="前台 陈店长")
    make_group(campaign, "见面会1群")
    soon = (utcnow() + timedelta(hours=1)).replace(second=0, microsecond=0)
    return campaign, make_event(campaign, capacity=2, starts_at=soon)


# ---------------------------------------------------------------- sign-up


def test_the_join_page_shows_the_next_event_and_sign_up_issues_one_ticket(app, meetup):
    campaign, event = meetup
    phone = Phone(app)
    join = text(phone.get("/j/meetup"))
    assert f'data-event="{event.id}"' in join and "门店见面会" in join
    assert f'href="/c/meetup/events/{event.id}/signup"' in join and "还剩 2 个名额" in join

    response = phone.sign_up(campaign, event, nickname="  快乐的 小红 ")
    assert response.status_code == 303
    ticket = Ticket.get()
    assert response.headers["Location"] == f"/t/{ticket.token}"
    member = Member.get()
    assert (ticket.holder, ticket.member_id, ticket.visitor) == (
        "快乐的 小红",
        member.id,
        phone.cookie,
    )
    # Tied to the group the live code sent this browser to, for stickiness per group.
    assert ticket.group_id == Visit.get().group_id is not None
    assert Activity.get_by_id(event.id).tickets == 1

    again = phone.sign_up(campaign, event, nickname="另一个名字")
    assert again.status_code == 303 and again.headers["Location"] == f"/t/{ticket.token}"
    # Opening the form again goes straight to the ticket the browser holds.
    form = phone.get(f"/c/meetup/events/{event.id}/signup")
    assert form.status_code == 302 and form.headers["Location"] == f"/t/{ticket.token}"
    assert (Ticket.select().count(), Member.select().count()) == (1, 1)
    assert Activity.get_by_id(event.id).tickets == 1


def test_a_referral_campaign_signs_the_member_up_through_the_referral_programme(app, meetup):
    campaign, event = meetup
    referrals.set_up_program(campaign, tiers=[(3, "9 折券")])
    phone = Phone(app)
    assert phone.sign_up(campaign, event, nickname="小明").status_code == 303
    member = Member.get()
    assert member.code and referrals.member_for(campaign.id, phone.cookie) == member
    assert Ticket.get().member_id == member.id


def test_a_member_who_joined_before_keeps_one_membership(app, meetup):
    campaign, event = meetup
    phone = Phone(app)
    phone.get("/j/meetup")
    existing = referrals.join_without_referrals(
        campaign.id, nickname="老会员", visitor=phone.cookie
    )
    assert phone.sign_up(campaign, event, nickname="老会员").status_code == 303
    assert Member.select().count() == 1 and Ticket.get().member_id == existing.id


def test_sign_ups_beyond_capacity_are_refused_with_nothing_stored(app, meetup):
    campaign, event = meetup
    for name in ("一号", "二号"):
        assert Phone(app).sign_up(campaign, event, nickname=name).status_code == 303
    late = Phone(app)
    join = text(late.get("/j/meetup"))
    assert "名额已满" in join and f"/c/meetup/events/{event.id}/signup" not in join
    form = late.get(f"/c/meetup/events/{event.id}/signup")
    assert (
        form.status_code == 200 and "名额已满" in text(form) and 'name="nickname"' not in text(form)
    )
    late.csrf()
    before = stored()
    refused = late.sign_up(campaign, event, nickname="三号")
    assert refused.status_code == 409 and "名额已满" in text(refused)
    assert stored() == before
    # Staff can still let someone in at the door: a walk-in goes over the capacity.
    check = events.walk_in(event, "王女士", now=DOOR_TIME)
    assert check.status == "checked_in" and check.ticket.holder == "王女士"
    assert events.door_count(event) == {"count": 1, "tickets": 3, "capacity": 2}


def test_the_last_place_goes_to_one_of_two_and_the_count_never_passes_capacity(app):
    event = make_event(capacity=1)
    members = [
        referrals.join_without_referrals(event.campaign_id, nickname=n, visitor=n * 8)
        for n in ("甲", "乙")
    ]
    first = events.issue_ticket(event, holder="甲", member=members[0])
    with pytest.raises(events.EventError, match="名额已满"):
        events.issue_ticket(event, holder="乙", member=members[1])
    assert events.issue_ticket(event, holder="甲", member=members[0]).id == first.id
    assert Activity.get_by_id(event.id).tickets == 1 and Ticket.select().count() == 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"nickname": "   "}, "请填写称呼"),
        ({"nickname": "长" * 21}, "最多 20 个字"),
        ({"phone": "12345"}, "11 位中国大陆手机号"),
        ({"phone": "13800138000"}, "请勾选同意"),
        ({"phone": "٣" * 11, "consent": "yes"}, "11 位中国大陆手机号"),
    ],
)
def test_bad_sign_up_input_gets_the_form_back_with_what_to_do(app, meetup, fields, message):
    campaign, event = meetup
    phone = Phone(app)
    phone.csrf()
    before = stored()
    response = phone.sign_up(campaign, event, **fields)
    assert response.status_code == 400 and message in text(response)
    assert 'name="nickname"' in text(response)
    assert stored() == before


def test_a_phone_number_brings_the_ticket_back_on_a_new_browser(app, meetup):
    campaign, event = meetup
    fields = {"nickname": "小红", "phone": "138 0013 8000", "consent": "yes"}
    assert Phone(app).sign_up(campaign, event, **fields).status_code == 303
    other = Phone(app)
    response = other.sign_up(campaign, event, **fields)
    assert response.headers["Location"] == f"/t/{Ticket.get().token}"
    assert Ticket.select().count() == 1 and Activity.get_by_id(event.id).tickets == 1


def test_unknown_campaigns_and_events_are_a_404(app, meetup):
    _, event = meetup
    other = make_event(title="别的活动")
    phone = Phone(app)
    for url in (
        f"/c/nope/events/{event.id}/signup",
        f"/c/meetup/events/{other.id}/signup",
        f"/c/meetup/events/{event.id + 1000}/here",
        f"/c/MEETUP/events/{event.id}/here",
    ):
        assert phone.get(url).status_code == 404, url


def test_the_join_page_shows_the_next_event_that_is_not_over(app):
    campaign = make_campaign(slug="two-events")
    make_group(campaign)
    now = utcnow()
    make_event(campaign, title="上个月的沙龙", starts_at=now - timedelta(days=30))
    coming = make_event(campaign, title="下周的见面会", starts_at=now + timedelta(days=7))
    make_event(campaign, title="下个月的见面会", starts_at=now + timedelta(days=30))
    assert events.next_event(campaign.id, now) == coming
    # Still the one to sign up for a few hours after it started, then the next one.
    assert events.next_event(campaign.id, coming.starts_at + timedelta(hours=5)) == coming
    assert events.next_event(campaign.id, coming.starts_at + timedelta(hours=7)).title == (
        "下个月的见面会"
    )
    page = text(Phone(app).get("/j/two-events"))
    assert "下周的见面会" in page and "上个月的沙龙" not in page and "下个月" not in page
    assert "报名" not in text(Phone(app).get(f"/j/{make_group(make_campaign()).campaign.slug}"))


# ---------------------------------------------------------------- VIP guests


def accept(app, invitation, decision="accept"):
    phone = Phone(app)
    page = phone.get(f"/vip/{invitation.token}")
    response = phone.client.post(
        f"/vip/{invitation.token}/answer",
        data={"csrf_token": csrf_from(page), "decision": decision},
    )
    assert response.status_code == 303
    return phone


def test_accepting_an_invitation_issues_a_ticket_and_revoking_it_revokes_the_ticket(app):
    campaign = make_campaign(slug="vip", title="VIP 品鉴会")
    make_group(campaign, "VIP 1群")
    event = make_event(campaign, title="年末品鉴会", capacity=10)
    invitation = make_invitation(campaign, "王丽")
    phone = accept(app, invitation)
    ticket = Ticket.get()
    assert (ticket.holder, ticket.invitation_id, ticket.member_id) == ("王丽", invitation.id, None)
    assert ticket.activity_id == event.id and ticket.visitor == phone.cookie
    page = text(phone.get(f"/vip/{invitation.token}"))
    assert f'href="/t/{ticket.token}"' in page and "年末品鉴会" in page
    # The accepting browser is the one the door poster recognises.
    assert events.ticket_for_visitor(event, phone.cookie) == ticket

    assert invitations.revoke(invitation.id, campaign.id, utcnow())
    revoked = Ticket.get_by_id(ticket.id)
    assert revoked.revoked_at is not None and Activity.get_by_id(event.id).tickets == 0
    assert "已作废" in text(phone.get(f"/t/{ticket.token}"))
    assert events.check_in_ticket(event, ticket.token).status == "refused"
    assert Response.select().count() == 0


def test_declining_issues_no_ticket_and_takes_away_one_issued_before(app):
    campaign = make_campaign(slug="vip2")
    event = make_event(campaign)
    declined = make_invitation(campaign, "陈静")
    accept(app, declined, "decline")
    assert Ticket.select().count() == 0
    # A ticket staff gave out before the answer settled goes with the decline.
    other = make_invitation(campaign, "李娜")
    ticket = events.issue_ticket(event, holder="李娜", invitation=other)
    invitations.answer(other, False, utcnow())
    assert Ticket.get_by_id(ticket.id).revoked_at is not None
    assert Activity.get_by_id(event.id).tickets == 0


def test_accepting_without_an_event_or_room_still_accepts(app):
    campaign = make_campaign(slug="vip3")
    first = make_invitation(campaign, "王丽")
    accept(app, first)
    assert Invitation.get_by_id(first.id).status == "accepted" and Ticket.select().count() == 0
    event = make_event(campaign, capacity=1)
    events.issue_ticket(event, holder="别人", over_capacity=False)
    second = make_invitation(campaign, "陈静")
    phone = accept(app, second)
    assert Invitation.get_by_id(second.id).status == "accepted"
    assert Ticket.select().count() == 1  # full: no ticket, and the page says staff will call
    assert "入场券还没有发出" in text(phone.get(f"/vip/{second.token}"))
    # Staff give tickets to the accepted invitations that have none, as room allows.
    assert events.issue_invitation_tickets(event) == (0, 2)
    Activity.update(capacity=5).where(Activity.id == event.id).execute()
    assert events.issue_invitation_tickets(event) == (2, 0)
    assert events.issue_invitation_tickets(event) == (0, 0)
    assert {t.holder for t in Ticket.select()} == {"别人", "王丽", "陈静"}


# ---------------------------------------------------------------- the ticket page


def test_the_ticket_page_shows_the_event_holder_qr_and_code_and_is_private(app, meetup):
    campaign, event = meetup
    events.update_event(
        event, title="门店见面会", starts_at=DOOR_TIME, place="杭州湖滨店二楼", capacity=2
    )
    phone = Phone(app)
    phone.sign_up(campaign, event, nickname="小红")
    ticket = Ticket.get()
    response = phone.get(f"/t/{ticket.token}")
    page = text(response)
    assert response.status_code == 200
    assert "门店见面会" in page and "2026年12月20日 14:30" in page and "杭州湖滨店二楼" in page
    assert "小红" in page and f'<p class="short-code">{ticket.code.upper()}</p>' in page
    assert ticket_qr(page) == [f"{PUBLIC_URL}/t/{ticket.token}"]
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Robots-Tag"] == "noindex"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert 'data-state="valid"' in page and "csrf_token" not in page  # no button for members

    events.check_in_ticket(event, ticket.code, now=DOOR_TIME + timedelta(minutes=3))
    assert "已签到 14:33" in text(phone.get(f"/t/{ticket.token}"))
    # A ticket that has checked in cannot be revoked: its holder came.
    with pytest.raises(events.EventError, match="已经签到"):
        events.revoke_ticket(event, ticket.id)
    assert Ticket.get_by_id(ticket.id).revoked_at is None
    other = events.issue_ticket(event, holder="小明")
    events.revoke_ticket(event, other.id)
    revoked = text(phone.get(f"/t/{other.token}"))
    assert "已作废" in revoked and "data:image/png" not in revoked


def test_a_thousand_random_tokens_get_one_page_and_change_nothing(app, meetup):
    campaign, event = meetup
    Phone(app).sign_up(campaign, event)
    real = Ticket.get()
    before = stored()
    pages, headers = set(), set()
    odd = ["", "a", "x" * 500, "票" * 32, real.token[:-1], real.token + "A", real.code, "%00" * 8]
    client = app.test_client()  # a stranger's phone: no visitor cookie, and none given here
    client.environ_base["HTTP_USER_AGENT"] = WECHAT
    for n in range(1000):
        token = odd[n % len(odd)] if n % 10 == 0 else secrets.token_urlsafe(24)
        if n % 10 == 5:
            token = "".join(secrets.choice(string.ascii_letters + "-_") for _ in range(32))
        response = client.get(f"/t/{token}")
        if token == "":
            assert response.status_code == 404
            continue
        assert response.status_code == 404, token
        pages.add(response.get_data())
        headers.add(
            tuple(
                response.headers.get(h)
                for h in ("Cache-Control", "X-Robots-Tag", "Referrer-Policy")
            )
        )
    assert len(pages) == 1 and "这张入场券打不开" in pages.pop().decode()
    assert headers == {("no-store", "noindex", "no-referrer")}
    assert stored() == before and not client.get_cookie(VISITOR_COOKIE)


@pytest.mark.parametrize("agent", PREVIEWS)
def test_a_link_preview_opening_a_ticket_or_the_door_page_changes_nothing(app, meetup, agent):
    campaign, event = meetup
    phone = Phone(app)
    phone.sign_up(campaign, event)
    ticket = Ticket.get()
    before = stored()
    preview = Phone(app, agent)
    assert preview.get(f"/t/{ticket.token}").status_code == 200
    assert preview.get(f"/c/meetup/events/{event.id}/here").status_code == 200
    # The same link pasted by the ticket holder into a chat, then fetched with their cookie.
    preview.client.set_cookie(VISITOR_COOKIE, phone.cookie)
    assert preview.get(f"/t/{ticket.token}").status_code == 200
    assert preview.get(f"/c/meetup/events/{event.id}/here").status_code == 200
    assert stored() == before
    assert events.checked_in_at(ticket) is None and events.door_count(event)["count"] == 0


# ---------------------------------------------------------------- the door poster's page


def test_the_door_poster_page_checks_in_the_ticket_this_browser_holds_once(app, meetup):
    campaign, event = meetup
    phone = Phone(app)
    phone.sign_up(campaign, event, nickname="小红")
    url = f"/c/meetup/events/{event.id}/here"
    page = phone.get(url)
    assert "我到了，签到" in text(page) and 'data-state="valid"' in text(page)
    assert page.headers["Cache-Control"] == "no-store"
    assert Response.select().count() == 0  # opening it changed nothing

    token = csrf_from(page)
    response = phone.client.post(url, data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == f"{url}?done=in"
    done = text(phone.get(f"{url}?done=in"))
    assert "签到成功：小红" in done and "已签到" in done and "我到了，签到" not in done
    response = phone.client.post(url, data={"csrf_token": token})
    assert response.headers["Location"] == f"{url}?done=again"
    assert "你已经签到过了" in text(phone.get(f"{url}?done=again"))
    assert StaffSession.select().count() == 0  # the messages came in the URL, not a session
    only = Response.get()
    assert (only.how, only.ticket_id, only.member_id) == ("self", Ticket.get().id, Member.get().id)


def test_the_door_poster_page_without_a_ticket_says_what_to_do_and_stores_nothing(app, meetup):
    campaign, event = meetup
    holder = Phone(app)
    holder.sign_up(campaign, event)
    stranger = Phone(app)
    stranger.get("/j/meetup")  # a cookie, but no ticket
    url = f"/c/meetup/events/{event.id}/here"
    page = text(stranger.get(url))
    assert "这个手机上没有本场活动的票" in page and "找门口的工作人员" in page
    assert "我到了，签到" not in page
    token = stranger.csrf()
    before = stored()
    response = stranger.client.post(url, data={"csrf_token": token})
    assert response.status_code == 409 and "请打开报名时拿到的票" in text(response)
    assert stored() == before


def test_a_revoked_ticket_cannot_check_itself_in(app, meetup):
    campaign, event = meetup
    phone = Phone(app)
    phone.sign_up(campaign, event)
    url = f"/c/meetup/events/{event.id}/here"
    token = csrf_from(phone.get(url))
    events.revoke_ticket(event, Ticket.get().id)
    response = phone.client.post(url, data={"csrf_token": token})
    assert response.status_code == 409 and Response.select().count() == 0


def test_the_door_poster_page_needs_a_csrf_token(app, meetup):
    campaign, event = meetup
    phone = Phone(app)
    phone.sign_up(campaign, event)
    response = phone.client.post(f"/c/meetup/events/{event.id}/here")
    assert response.status_code == 400 and Response.select().count() == 0


# ---------------------------------------------------------------- the door's rules


def test_a_ticket_checks_in_once_and_the_second_time_says_when(app):
    event = make_event()
    ticket = events.issue_ticket(event, holder="小红")
    first = events.check_in_ticket(event, ticket.token, now=DOOR_TIME)
    assert (first.status, first.message, first.at) == ("checked_in", "签到成功：小红", DOOR_TIME)
    second = events.check_in_ticket(event, ticket.code, now=DOOR_TIME + timedelta(minutes=9))
    assert (second.status, second.at) == ("already", DOOR_TIME)
    assert Response.select().count() == 1 and events.door_count(event)["count"] == 1


@pytest.mark.parametrize(
    "shown",
    [
        lambda t: t.code,
        lambda t: t.code.upper(),
        lambda t: f"  {t.code.upper()} ",
        lambda t: t.token,
        lambda t: f"{PUBLIC_URL}/t/{t.token}",
        lambda t: f"http://192.168.1.5:8000/t/{t.token}?from=wechat",
    ],
)
def test_the_door_takes_the_short_code_the_token_or_the_ticket_url(app, shown):
    event = make_event()
    ticket = events.issue_ticket(event, holder="小红")
    assert events.check_in_ticket(event, shown(ticket)).status == "checked_in"


def test_unknown_revoked_and_other_events_tickets_are_refused_with_nothing_stored(app):
    event = make_event()
    other = make_event(title="别的活动")
    revoked = events.issue_ticket(event, holder="作废的")
    events.revoke_ticket(event, revoked.id)
    elsewhere = events.issue_ticket(other, holder="走错门的")
    cases = {
        "没有这张票": [
            "",
            "abc",
            "zzzzzz",
            "l0l0l0",
            secrets.token_urlsafe(24),
            "票码",
            "\x00" * 6,
        ],
        "已经作废": [revoked.token, revoked.code],
        "不是本场活动的": [elsewhere.token],
    }
    for message, shown in cases.items():
        for value in shown:
            check = events.check_in_ticket(event, value)
            assert check.status == "refused" and message in check.message, value
    assert Response.select().count() == 0


def test_the_door_poster_takes_self_check_ins_only_while_the_doors_are_open(app, meetup):
    campaign, event = meetup
    phone = Phone(app)
    phone.sign_up(campaign, event, nickname="小红")
    visitor = Ticket.get().visitor
    for early_or_late in (
        event.starts_at - events.DOORS_OPEN - timedelta(seconds=1),
        event.starts_at + events.STILL_ON + timedelta(seconds=1),
    ):
        check = events.check_in_visitor(event, visitor, now=early_or_late)
        assert check.status == "refused" and "不是签到时间" in check.message
    assert Response.select().count() == 0
    at_the_door = events.check_in_visitor(event, visitor, now=event.starts_at - events.DOORS_OPEN)
    assert at_the_door.status == "checked_in" and Response.select().count() == 1
