"""The scan lane (livecode/views.py's ScanLane): the scans it takes get the route's answer,
byte for byte; the rest go to Flask before anything is recorded."""

import hashlib
import hmac
import secrets

import pytest
from helpers import fill, make_campaign, make_channel, make_event, make_group, make_member
from werkzeug.test import EnvironBuilder

from miniapp_api.livecode.views import ScanLane
from miniapp_api.models import Campaign, Member, Visit, utcnow
from miniapp_api.referrals import rules as referrals
from miniapp_api.visitors import VISITOR_COOKIE

PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Mobile MicroMessenger/8.0.50"
# What the answers of the same scan may differ in: nothing of the page or its headers.
PER_RESPONSE = ("Date", "Set-Cookie")


def lane_of(app) -> ScanLane:
    layer = app.wsgi_app
    while not isinstance(layer, ScanLane):
        layer = layer.app  # ProxyFix, when a proxy is trusted
    return layer


def ready(app):
    """One request through Flask first: the lane serves once the schema has been checked."""
    assert app.test_client().get("/console/login").status_code == 200


def environ(url, visitor=None, ua=PHONE, **headers):
    cookie = {"Cookie": f"{VISITOR_COOKIE}={visitor}"} if visitor else {}
    builder = EnvironBuilder(path=url, headers={"User-Agent": ua, **cookie, **headers})
    return builder.get_environ()


def answer(app, env, *, lane: bool):
    """(status, headers, body) of `env` served by the lane alone, or by the route alone."""
    scan_lane = lane_of(app)
    if lane:
        served = scan_lane.serve(env)
        assert served is not None, "the lane left this scan to Flask"
        respond = served
    else:
        respond = scan_lane.wsgi_app
    status = []
    body = b"".join(respond(env, lambda s, h, exc=None: status.append((s, h))))
    ((code, headers),) = status
    return code, [(k, v) for k, v in headers if k not in PER_RESPONSE], body


def counted_before(campaign, visitor):
    """`visitor` was sent to a group by an earlier scan today."""
    from miniapp_api.livecode import rules

    rules.record_scan(campaign.id, None, visitor, "wechat", "", now=utcnow())


def own_tokens(app, response, visitor):
    """The response with its visitor's member-form token (if any) replaced by a mark."""
    status, headers, body = response
    message = f"member-form\n{visitor}".encode()
    token = hmac.new(app.config["SECRET_KEY"].encode(), message, hashlib.sha256).hexdigest()
    return status, headers, body.replace(token.encode(), b"{visitor's own token}")


def same_answer(app, url, visitors=None, **headers):
    """The lane's answer to one visitor and the route's to another (or the same) visitor
    are the same, but for each one's own form token; returns the lane's, the token marked."""
    first, second = visitors or (secrets.token_urlsafe(16), secrets.token_urlsafe(16))
    by_lane = answer(app, environ(url, first, **headers), lane=True)
    by_route = answer(app, environ(url, second, **headers), lane=False)
    # A member form carries a token signed for its visitor: each page has its own visitor's.
    by_lane = own_tokens(app, by_lane, first)
    assert by_lane == own_tokens(app, by_route, second)
    return by_lane


def test_a_new_person_gets_the_routes_page_and_is_counted_the_same(app):
    campaign = make_campaign(slug="store", rules="1. 不发广告\n2. 周四活动")
    channel = make_channel(campaign)
    make_group(campaign, "宝妈交流1群")
    ready(app)
    status, headers, body = same_answer(app, "/j/store?c=counter")
    assert status == "200 OK" and "宝妈交流1群" in body.decode() and "不发广告" in body.decode()
    assert ("Cache-Control", "no-store") in headers
    assert ("X-Frame-Options", "DENY") in headers
    visits = list(Visit.select().order_by(Visit.id))
    assert [(v.outcome, v.channel_id, v.agent) for v in visits] == [
        ("sent", channel.id, "wechat"),
        ("sent", channel.id, "wechat"),
    ]
    assert len({v.visitor for v in visits}) == 2 and all(len(v.ip_hash) == 64 for v in visits)


def test_a_new_person_back_from_the_cookies_redirect_is_counted_by_the_lane(app):
    campaign = make_campaign(slug="store")
    make_channel(campaign)
    make_group(campaign, "宝妈交流1群")
    ready(app)
    phone = app.test_client()
    redirect = phone.get("/j/store?c=counter&r=x1", headers={"User-Agent": PHONE})
    assert redirect.status_code == 302 and "_qbv=" in redirect.location
    key = phone.get_cookie(VISITOR_COOKIE).value
    _, _, body = same_answer(app, redirect.location, (key, secrets.token_urlsafe(16)))
    assert "宝妈交流1群" in body.decode() and "_qbv" not in body.decode()
    assert [v.outcome for v in Visit.select().order_by(Visit.id)] == ["sent", "sent"]


def test_a_repeat_visitor_gets_the_same_group_again(app):
    campaign = make_campaign(slug="store")
    make_group(campaign, "一群", cutoff=1)
    make_group(campaign, "二群")
    ready(app)
    visitor = secrets.token_urlsafe(16)
    counted_before(campaign, visitor)
    _, _, body = same_answer(app, "/j/store", (visitor, visitor))
    assert "一群" in body.decode()
    assert [v.outcome for v in Visit.select().order_by(Visit.id)] == ["sent", "repeat", "repeat"]


@pytest.mark.parametrize(
    "headers, expected",
    [
        ({"Accept-Language": "en-US,en;q=0.9"}, 'lang="en"'),
        ({"Accept-Language": "zh-CN"}, 'lang="zh-CN"'),
    ],
)
def test_the_page_speaks_the_browsers_language(app, headers, expected):
    make_group(make_campaign(slug="store"))
    ready(app)
    _, _, body = same_answer(app, "/j/store", **headers)
    assert expected in body.decode()


def test_a_friend_brought_by_a_member_is_attributed_and_sees_who_invited_them(app):
    campaign = make_campaign(slug="store")
    make_group(campaign)
    referrals.set_up_program(campaign, count_on="sent", tiers=[(3, "9 折券")])
    inviter = make_member(campaign.id, nickname="小红")
    ready(app)
    _, _, body = same_answer(app, f"/j/store?r={inviter.code}")
    assert "小红" in body.decode() and b"{visitor's own token}" in body
    assert Member.get_by_id(inviter.id).referrals == 2


def test_a_members_own_page_and_an_event_card_are_rendered_for_them(app):
    campaign = make_campaign(slug="store")
    make_group(campaign)
    referrals.set_up_program(campaign, count_on="sent", tiers=[(3, "9 折券")])
    make_event(campaign, title="周六见面会")
    visitor = secrets.token_urlsafe(16)
    make_member(campaign.id, visitor=visitor, nickname="小红")
    counted_before(campaign, visitor)
    ready(app)
    _, _, body = same_answer(app, "/j/store", (visitor, visitor))
    assert "周六见面会" in body.decode()


def test_full_groups_and_bots_get_the_routes_answer(app):
    campaign = make_campaign(slug="store")
    make_channel(campaign)
    fill(make_group(campaign, cutoff=2))
    ready(app)
    _, _, full = same_answer(app, "/j/store?c=counter&_qbv=1700000000&r=x1")
    # The retry link is the poster's own URL: never the cookie's marker.
    assert "群已满员" in full.decode() and "_qbv" not in full.decode()
    assert "/j/store?c=counter&amp;r=x1" in full.decode()
    same_answer(app, "/j/store", ua="Googlebot/2.1 (+http://www.google.com/bot.html)")
    outcomes = [v.outcome for v in Visit.select().order_by(Visit.id)]
    assert outcomes == ["full", "full", "bot", "bot"]


def test_https_adds_the_same_strict_transport_header(app):
    make_group(make_campaign(slug="store"))
    ready(app)
    url = "https://qun.example.cn/j/store"
    _, headers, _ = same_answer(app, url)
    assert ("Strict-Transport-Security", "max-age=31536000") in headers


@pytest.mark.parametrize(
    "url, visitor, headers",
    [
        ("/j/store", None, {}),  # a first visit: the cookie's redirect
        ("/j/store", "too-short", {}),
        ("/j/store?c=%E9%97%A8%E5%BA%97", "V" * 22, {}),  # a query to decode
        ("/j/store?c=a+b", "V" * 22, {}),
        ("/j/store?c&r", "V" * 22, {}),  # names without values
        ("/j/Store", "V" * 22, {}),  # not a slug the route would find
        ("/j/store/", "V" * 22, {}),
        ("/j/no-such-campaign", "V" * 22, {}),
        ("/j/closed", "V" * 22, {}),  # archived
        ("/j/store?c=nowhere", "V" * 22, {}),  # a channel the campaign does not have
        ("/j/store", "V" * 22, {"X-Forwarded-For": "203.0.113.9"}),  # no proxy trusted
        ("/j/store", '"' + "V" * 22 + '"', {}),  # a quoted cookie: Flask's parser reads it
    ],
)
def test_what_the_lane_does_not_take_goes_to_flask_with_nothing_recorded(
    app, url, visitor, headers
):
    make_group(make_campaign(slug="store"))
    make_group(make_campaign(slug="closed"))
    Campaign.update(archived_at=utcnow()).where(Campaign.slug == "closed").execute()
    ready(app)
    cookie = {"Cookie": f"{VISITOR_COOKIE}={visitor}"} if visitor else {}
    env = EnvironBuilder(path=url, headers={"User-Agent": PHONE, **cookie, **headers})
    assert lane_of(app).serve(env.get_environ()) is None
    assert Visit.select().count() == 0


def test_head_and_posts_go_to_flask(app):
    make_group(make_campaign(slug="store"))
    ready(app)
    lane = lane_of(app)
    calls = []
    lane.serve = lambda env: calls.append(env) or None
    client = app.test_client()
    client.set_cookie(VISITOR_COOKIE, "V" * 22)
    assert client.head("/j/store", headers={"User-Agent": PHONE}).status_code == 200
    assert client.post("/j/store").status_code in (400, 405)
    assert calls == []
    assert [v.outcome for v in Visit.select()] == ["bot"]


def test_the_first_request_of_a_process_is_left_to_flasks_schema_check(app):
    make_group(make_campaign(slug="store"))
    assert lane_of(app).serve(environ("/j/store", "V" * 22)) is None
    assert Visit.select().count() == 0


def test_a_database_error_before_the_scan_is_recorded_goes_to_flask(app, monkeypatch):
    from miniapp_api.livecode import views

    make_group(make_campaign(slug="store"))
    ready(app)

    def broken(*args):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(views, "find_live_code", broken)
    assert lane_of(app).serve(environ("/j/store", "V" * 22)) is None
    client = app.test_client()
    client.set_cookie(VISITOR_COOKIE, "V" * 22)
    answer = client.get("/j/store", headers={"User-Agent": PHONE})
    assert answer.status_code == 500 and "服务暂时出了点问题" in answer.get_data(as_text=True)
    assert Visit.select().count() == 0


def test_an_error_after_the_scan_is_recorded_gets_the_apps_error_page(app, monkeypatch):
    from miniapp_api.console import alerts

    campaign = make_campaign(slug="store")
    fill(make_group(campaign, cutoff=1))  # all full: the page asks whether staff were told
    ready(app)

    def broken(campaign_id):
        raise RuntimeError("the alert table is gone")

    monkeypatch.setattr(alerts, "all_full_notified", broken)
    status, headers, body = answer(app, environ("/j/store", "V" * 22), lane=True)
    assert status.startswith("500") and "服务暂时出了点问题" in body.decode()
    assert ("X-Frame-Options", "DENY") in headers
    assert [v.outcome for v in Visit.select()] == ["full"]


def test_a_page_from_the_cache_gets_the_visitors_own_form_token(app):
    campaign = make_campaign(slug="store")
    make_group(campaign)
    referrals.set_up_program(campaign, count_on="sent", tiers=[(3, "9 折券")])
    ready(app)
    one, two = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    by_route = answer(app, environ("/j/store", one), lane=False)  # rendered, then cached
    renders = app.extensions["page_cache"].renders
    by_lane = answer(app, environ("/j/store", two), lane=True)
    assert app.extensions["page_cache"].renders == renders  # the lane's page: the cache's
    assert b"{visitor's own token}" in own_tokens(app, by_lane, two)[2]
    assert own_tokens(app, by_lane, two) == own_tokens(app, by_route, one)


@pytest.mark.parametrize(
    "query",
    [
        "r=" + "9" * 4000,  # a member code far too long: no member has it
        "r=" + "邀".encode().hex() * 500,  # long, and plain ASCII all the same
        "c=counter&c=door&r=x&r=y",  # a name twice: the first one counts, as in Flask
        "c=&r=&_qbv=",
        "_qbv=" + "1" * 3000,  # the redirect's marker, absurd: never echoed back
        "x=" + "y" * 3000 + "&c=counter",  # a name the page does not know
        "c=counter" + "&z=1" * 500,  # many pairs
    ],
)
def test_hostile_queries_with_a_valid_cookie_get_the_routes_answer_and_one_visit(app, query):
    campaign = make_campaign(slug="store")
    make_channel(campaign)
    make_group(campaign, "宝妈交流1群")
    referrals.set_up_program(campaign, count_on="sent", tiers=[(3, "9 折券")])
    ready(app)
    status, _headers, body = same_answer(app, f"/j/store?{query}")
    assert status == "200 OK" and "宝妈交流1群" in body.decode()
    assert b"_qbv" not in body
    # One visit for each of the two answers, each counted once; no friend attributed.
    assert [v.outcome for v in Visit.select()] == ["sent", "sent"]
    assert Member.select().count() == 0


@pytest.mark.parametrize(
    "headers",
    [
        {"User-Agent": "Mozilla/5.0 (iPhone) MicroMessenger " + "微信" * 20_000},
        {"User-Agent": ""},
        {"Accept-Language": "zh;q=abc, en;q=" + "9" * 2000},
        {"Accept-Language": "🦄" * 1000},
    ],
)
def test_hostile_headers_with_a_valid_cookie_get_the_routes_answer(app, headers):
    make_group(make_campaign(slug="store"), "宝妈交流1群")
    ready(app)
    status, _headers, body = same_answer(app, "/j/store", **headers)
    assert status == "200 OK" and "宝妈交流1群" in body.decode()
    assert Visit.select().count() == 2


def test_a_cookie_header_full_of_other_cookies_still_finds_the_visitor(app):
    make_group(make_campaign(slug="store"), "宝妈交流1群")
    ready(app)
    visitor = secrets.token_urlsafe(16)
    others = "; ".join(f"c{n}=v{n}" for n in range(300))
    env = EnvironBuilder(
        path="/j/store",
        headers={"User-Agent": PHONE, "Cookie": f"{others}; {VISITOR_COOKIE}={visitor}"},
    ).get_environ()
    status, _headers, _body = answer(app, env, lane=True)
    assert status == "200 OK"
    assert [v.visitor for v in Visit.select()] == [visitor]
