"""The live code over HTTP: what a member's phone gets, and what is stored."""

import re

import pytest
from helpers import browser, fill, make_campaign, make_channel, make_group, stored_group
from jinja2 import ChoiceLoader, DictLoader

from miniapp_api.models import Campaign, Group, Member, Visit
from miniapp_api.referrals import rules as referrals
from miniapp_api.visitors import VISITOR_COOKIE
from miniapp_api.web.pagecache import render_shared

PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.50(0x18003233) NetType/WIFI"
)


def get(client, url, ua=PHONE, **kw):
    return client.get(url, headers={"User-Agent": ua}, **kw)


def test_first_scan_sets_the_cookie_then_shows_group_qr_and_rules(app):
    campaign = make_campaign(slug="store", rules="1. 不发广告\n2. 周四活动", promise="进群领券")
    channel = make_channel(campaign, "counter", "门店前台")
    group = make_group(campaign, "宝妈交流1群")
    phone = app.test_client()  # never been here: no visitor cookie
    first = get(phone, "/j/store?c=counter", environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert first.status_code == 302 and first.location.startswith("/j/store?c=counter&_qbv=")
    cookie = first.headers["Set-Cookie"]
    assert cookie.startswith(f"{VISITOR_COOKIE}=") and "HttpOnly" in cookie
    assert Visit.select().count() == 0 and stored_group().sent == 0

    response = get(phone, first.location, environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert response.status_code == 200 and "Set-Cookie" not in response.headers
    page = response.get_data(as_text=True)
    assert "宝妈交流1群" in page and "不发广告" in page and "进群领券" in page
    assert f"/j/qr/{group.id}-{group.qr_digest}.png" in page
    assert response.headers["Cache-Control"] == "no-store"
    visit = Visit.get()
    assert (visit.channel_id, visit.group_id, visit.agent, visit.outcome) == (
        channel.id,
        group.id,
        "wechat",
        "sent",
    )
    assert "203.0.113.7" not in visit.ip_hash and re.fullmatch(r"[0-9a-f]{64}", visit.ip_hash)
    assert visit.visitor == phone.get_cookie(VISITOR_COOKIE).value


def test_rescan_with_cookie_is_not_counted_twice(client):
    campaign = make_campaign(slug="store")
    make_group(campaign)
    get(client, "/j/store")
    second = get(client, "/j/store")
    assert "Set-Cookie" not in second.headers
    assert stored_group().sent == 1
    assert [v.outcome for v in Visit.select().order_by(Visit.id)] == ["sent", "repeat"]


def test_group_qr_image_is_served_and_cacheable(client):
    campaign = make_campaign(slug="store")
    group = make_group(campaign)
    response = client.get(f"/j/qr/{group.id}-{group.qr_digest}.png")
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.data == bytes(group.qr_image)
    assert "immutable" in response.headers["Cache-Control"]
    assert client.get(f"/j/qr/{group.id}-{'0' * 64}.png").status_code == 404


@pytest.mark.parametrize(
    "ua",
    [
        "facebookexternalhit/1.1",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "TelegramBot (like TwitterBot)",
        "curl/8.5.0",
        "",
    ],
)
def test_bots_and_link_previews_see_the_page_but_are_not_counted(client, ua):
    campaign = make_campaign(slug="store")
    make_group(campaign)
    response = get(client, "/j/store", ua=ua)
    assert response.status_code == 200
    assert stored_group().sent == 0
    assert Visit.get().outcome == "bot"


def test_all_full_page_is_friendly_and_flags_campaign(client):
    campaign = make_campaign(slug="store", staff_contact="陈店长 138****0000")
    make_group(campaign, cutoff=1, sent=1)
    response = get(client, "/j/store")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "群已满员" in page and "陈店长" in page
    assert Visit.get().outcome == "full"
    assert campaign.__class__.get_by_id(campaign.id).all_full_since is not None


@pytest.mark.parametrize("slug", ["nope", "门店", "a" * 80, "..", "x%00"])
def test_unknown_campaign_gets_friendly_404(client, slug):
    response = get(client, f"/j/{slug}")
    assert response.status_code == 404
    assert "没有找到这个页面" in response.get_data(as_text=True)
    assert Visit.select().count() == 0


@pytest.mark.parametrize(
    "channel", ["unknown", "门店前台", "a" * 100, "x'; drop table visit;--", "%00", "a/b"]
)
def test_unknown_or_malformed_channel_is_a_404_that_still_leads_to_the_group(client, channel):
    make_group(make_campaign(slug="store"))
    response = client.get("/j/store", query_string={"c": channel}, headers={"User-Agent": PHONE})
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "继续进群" in page and 'href="/j/store"' in page
    assert Visit.select().count() == 0
    assert stored_group().sent == 0


def test_repeated_channel_parameter_uses_first(client):
    campaign = make_campaign(slug="store")
    channel = make_channel(campaign, "counter")
    make_group(campaign)
    assert get(client, "/j/store?c=counter&c=moments").status_code == 200
    assert Visit.get().channel_id == channel.id


def test_forged_visitor_cookie_is_replaced(client):
    make_group(make_campaign(slug="store"))
    client.set_cookie(VISITOR_COOKIE, "<script>alert(1)</script>")
    first = get(client, "/j/store")
    assert first.status_code == 302 and VISITOR_COOKIE in first.headers["Set-Cookie"]
    assert get(client, first.location).status_code == 200
    assert "<script>" not in Visit.get().visitor


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_live_code_only_answers_get(client, method):
    make_group(make_campaign(slug="store"))
    response = getattr(client, method)("/j/store")
    assert response.status_code == 405
    assert Visit.select().count() == 0


# ---------------------------------------------------------------- the shared page


def scan_page(app, url="/j/store", **headers):
    client = browser(app)
    return client.get(url, headers={"User-Agent": PHONE, **headers}).get_data(as_text=True)


def renders(app) -> int:
    return app.extensions["page_cache"].renders


def test_the_join_page_is_rendered_once_for_everyone_sent_to_the_same_group(app):
    campaign = make_campaign(slug="store", rules="1. 不发广告")
    make_group(campaign, "宝妈交流1群")
    first = scan_page(app)
    before = renders(app)
    again = [scan_page(app) for _ in range(3)]
    assert renders(app) == before and again == [first] * 3
    assert stored_group().sent == 4  # every scan still counted


@pytest.mark.parametrize(
    ("change", "shown"),
    [
        (
            lambda c, g: Campaign.update(rules="2. 周四晒单").where(Campaign.id == c.id).execute(),
            "周四晒单",
        ),
        (
            lambda c, g: Campaign.update(title="新标题").where(Campaign.id == c.id).execute(),
            "新标题",
        ),
        (
            lambda c, g: Group.update(name="宝妈交流2群").where(Group.id == g.id).execute(),
            "宝妈交流2群",
        ),
        (lambda c, g: Group.update(qr_digest="f" * 64).where(Group.id == g.id).execute(), "f" * 64),
        (lambda c, g: fill(g), "群已满员"),
    ],
)
def test_a_changed_campaign_or_group_shows_at_the_next_scan(app, change, shown):
    """Never stale: the page is keyed by the fields it shows, whoever changes them (console,
    API, command line, another process: none of them tells this process)."""
    campaign = make_campaign(slug="store", rules="1. 不发广告")
    group = make_group(campaign, "宝妈交流1群")
    assert shown not in scan_page(app)
    change(campaign, group)
    assert shown in scan_page(app)


def test_a_shared_page_is_in_the_readers_language(app):
    campaign = make_campaign(slug="store")
    make_group(campaign, "宝妈交流1群")
    assert "长按上方二维码" in scan_page(app)
    english = scan_page(app, **{"Accept-Language": "en"})
    assert "长按上方二维码" not in english and "宝妈交流1群" in english


def test_each_visitor_of_a_shared_referral_page_gets_their_own_form_token(app):
    campaign = make_campaign(slug="store")
    make_group(campaign, "宝妈交流1群")
    referrals.set_up_program(campaign, tiers=[(3, "9 折券")])
    amy, bob = browser(app), browser(app)
    amys = get(amy, "/j/store").get_data(as_text=True)
    bobs = get(bob, "/j/store").get_data(as_text=True)
    token = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')
    assert token.search(amys)[1] != token.search(bobs)[1]
    assert token.sub("", amys) == token.sub("", bobs)  # the rest is the one shared page
    signed_up = amy.post(
        "/r/store/join",
        data={"csrf_token": token.search(amys)[1], "nickname": "阿花"},
        headers={"User-Agent": PHONE},
    )
    assert signed_up.status_code == 303 and Member.get().nickname == "阿花"


def test_a_page_with_a_session_bound_form_is_never_shared(app):
    """Flask-WTF's token belongs to one session: such a page is rendered for its visitor
    alone, and nothing is kept for the next. (Member pages carry a token signed for the
    visitor instead; a staff page's form is such a page.)"""
    form = '<form method="post"><input name="csrf_token" value="{{ csrf_token() }}"></form>'
    app.jinja_env.loader = ChoiceLoader(
        [DictLoader({"staff_form.html": form}), app.jinja_env.loader]
    )
    with app.test_request_context("/j/store", headers={"User-Agent": PHONE}):
        page = render_shared(("k",), "staff_form.html")
        assert 'name="csrf_token" value="' in page
        assert renders(app) == 0 and not app.extensions["page_cache"].pages
