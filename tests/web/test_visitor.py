"""The member entry gate: a request without a visitor cookie is not a new person until its
client shows it keeps a cookie, with one redirect that sets it."""

import re

import pytest
from helpers import (
    browser,
    make_campaign,
    make_channel,
    make_event,
    make_group,
    make_invitation,
    stored_group,
)

from miniapp_api.invitations import rules as invitations
from miniapp_api.livecode import views as livecode_views
from miniapp_api.models import Visit, utcnow
from miniapp_api.visitors import VISITOR_COOKIE

WECHAT = (
    "Mozilla/5.0 (Linux; Android 14; V2307A) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Mobile Safari/537.36 MicroMessenger/8.0.49.2600(0x28003133) NetType/WIFI Language/zh_CN"
)
MARKED = re.compile(r"[?&]_qbv=\d+")


@pytest.fixture
def store(app):
    campaign = make_campaign(slug="store", title="门店会员群")
    make_channel(campaign, "counter", "门店前台")
    make_group(campaign, "宝妈交流1群")
    return campaign


@pytest.fixture
def scans(monkeypatch):
    """The keyword arguments of every record_scan the live code made."""
    seen = []
    real = livecode_views.record_scan

    def spy(*args, **kwargs):
        seen.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(livecode_views, "record_scan", spy)
    return seen


def stranger(app, agent=WECHAT):
    """A phone that has never been here: no cookie."""
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = agent
    return client


def test_a_cookie_less_scan_is_redirected_once_to_the_same_url_and_counted_after(app, store, scans):
    phone = stranger(app)
    first = phone.get("/j/store?c=counter&r=ABC&note=到店")
    assert first.status_code == 302 and first.headers["Cache-Control"] == "no-store"
    assert first.location.startswith("/j/store?c=counter&r=ABC&note=%E5%88%B0%E5%BA%97&_qbv=")
    assert first.headers["Set-Cookie"].startswith(f"{VISITOR_COOKIE}=")
    assert Visit.select().count() == 0 and scans == []  # nothing counted before the proof

    page = phone.get(first.location)
    assert page.status_code == 200 and "宝妈交流1群" in page.get_data(as_text=True)
    assert scans[0]["proven"] is True and stored_group().sent == 1
    assert Visit.get().visitor == phone.get_cookie(VISITOR_COOKIE).value


def test_a_client_that_drops_cookies_is_served_unproven_without_a_second_redirect(
    app, store, scans
):
    phone = stranger(app)
    first = phone.get("/j/store")
    phone.delete_cookie(VISITOR_COOKIE)  # as a script that keeps no cookies
    page = phone.get(first.location)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "请在微信里打开" in text and "宝妈交流1群" not in text
    assert [scan["proven"] for scan in scans] == [False]
    assert [v.outcome for v in Visit.select()] == ["unproven"] and stored_group().sent == 0


def test_a_stale_marker_from_a_shared_link_is_not_taken_for_a_cookie_less_client(app, store, scans):
    again = stranger(app).get("/j/store?_qbv=1700000000")
    assert again.status_code == 302 and again.location.startswith("/j/store?_qbv=")
    assert again.location != "/j/store?_qbv=1700000000" and scans == []


def test_the_marker_stays_out_of_the_links_a_page_shows(app, scans):
    campaign = make_campaign(slug="store")
    make_channel(campaign, "counter", "门店前台")
    make_group(campaign, cutoff=1, sent=1)
    phone = stranger(app)
    first = phone.get("/j/store?c=counter")
    phone.delete_cookie(VISITOR_COOKIE)
    page = phone.get(first.location).get_data(as_text=True)
    # Served unproven: the page offers a retry, by the link without the marker.
    assert "请在微信里打开" in page and 'href="/j/store?c=counter"' in page
    assert not MARKED.search(page)
    full = browser(app).get("/j/store?c=counter").get_data(as_text=True)
    assert "群已满员" in full and 'href="/j/store?c=counter"' in full
    assert not MARKED.search(full)


@pytest.mark.parametrize(
    "agent", ["facebookexternalhit/1.1", "Mozilla/5.0 (compatible; Feishu link preview)", ""]
)
def test_bots_and_link_previews_are_never_redirected(app, store, agent):
    response = stranger(app, agent).get("/j/store")
    assert response.status_code == 200
    assert Visit.get().outcome == "bot" and stored_group().sent == 0


def test_a_browser_with_its_cookie_goes_straight_to_the_page(client, store, scans):
    response = client.get("/j/store", headers={"User-Agent": WECHAT})
    assert response.status_code == 200 and "Set-Cookie" not in response.headers
    assert scans[0]["proven"] is True


def test_an_accepted_vip_link_reloaded_without_a_cookie_proves_the_cookie_first(app, store):
    invitations.set_up_program(
        store, rights="- 专享 8 折", offer_url="https://shop.example.cn/vip",
        offer_label="进专属商城", valid_days=14,
    )  # fmt: skip
    invitation = make_invitation(store)
    invitations.answer(invitation, True, utcnow())
    for _ in range(2):
        phone = stranger(app)
        first = phone.get(f"/vip/{invitation.token}")
        assert first.status_code == 302 and MARKED.search(first.location)
        assert Visit.select().count() == 0 or stored_group().sent == 1
        phone.delete_cookie(VISITOR_COOKIE)
        assert phone.get(first.location).status_code == 200
    # The link is one person's: counted once, as the invitation, whatever the browser keeps.
    assert stored_group().sent == 1


def entry_pages(campaign):
    from helpers import make_challenge

    event = make_event(campaign)
    make_challenge(campaign=campaign)
    slug = campaign.slug
    return [f"/c/{slug}/events/{event.id}/signup", f"/c/{slug}/join"]


def test_member_sign_up_forms_set_the_cookie_before_the_form_is_filled(app, store):
    from miniapp_api.referrals import rules as referrals

    referrals.set_up_program(store, tiers=[(3, "9 折券")], friend_reward="新人券")
    for url in ["/r/store/join?r=ABC", *entry_pages(store)]:
        phone = stranger(app)
        first = phone.get(url)
        assert first.status_code == 302 and MARKED.search(first.location), url
        assert first.location.startswith(url), url
        assert phone.get(first.location).status_code == 200, url


@pytest.mark.parametrize(
    "query",
    [
        "",
        "c=counter",
        "c=counter&r=M8K2",
        "c=counter&_qbv=1700000000",
        "_qbv=1700000000&c=counter",
        "x_qbv=1&c=a",
        "c=%E9%97%A8%E5%BA%97&r=M8K2",
        "c=a+b",
        "c=a%20b",
        "c&r=1",
        "c=&r=1",
        "c=1&c=2",
        "c=~x.y-z_",
        "c=<script>",
        "c=门店",
    ],
)
def test_the_entry_url_is_the_query_encoded_again_without_the_marker(app, query):
    """A plain query is taken as it came; it must be what encoding the parsed one gives."""
    from urllib.parse import urlencode

    from miniapp_api.web.visitor import MARKER, entry_url

    with app.test_request_context(f"/j/store?{query}" if query else "/j/store"):
        from flask import request

        pairs = [(k, v) for k, v in request.args.items(multi=True) if k != MARKER]
        assert entry_url() == "/j/store" + (f"?{urlencode(pairs)}" if pairs else "")
