"""Pages in real headless Chromium at a phone's size, against a live server."""

import pytest
from helpers import chromium, handbook_kit

from miniapp_api.db import db

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WECHAT_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.50(0x1800323a) "
    "NetType/WIFI Language/zh_CN"
)
PAGE_BUDGET = 150 * 1024


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


@pytest.fixture(scope="module")
def site(tmp_path_factory, built):
    """A live kit: demo data on a SQLite file and the handbook built, under gunicorn."""
    with handbook_kit(tmp_path_factory.mktemp("kit"), built, with_demo=True) as base_url:
        yield base_url


@pytest.fixture
def phone(browser):
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=3,
        is_mobile=True,
        has_touch=True,
        user_agent=WECHAT_IPHONE,
        locale="zh-CN",
    )
    yield context.new_page()
    context.close()


def test_join_page_shows_the_group_qr_above_the_fold_and_stays_light(site, phone):
    sizes = {}
    phone.on("response", lambda r: sizes.__setitem__(r.url, len(r.body())))
    phone.goto(f"{site}/j/demo?c=counter", wait_until="load")
    qr = phone.locator("img.qr")
    qr.wait_for(state="visible")
    box = qr.bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= 844, box
    assert box["width"] >= 180  # big enough to long-press
    assert phone.evaluate("document.querySelector('img.qr').naturalWidth") > 0
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll
    assert "宝妈交流" in phone.locator(".group-name").inner_text()
    weight = sum(size for url, size in sizes.items() if "/j/qr/" not in url)
    assert weight < PAGE_BUDGET, sizes


def test_handbook_live_example_link_opens_the_demo(site, phone):
    phone.goto(f"{site}/handbook/playbooks/live-code/")
    link = phone.locator('a[href="/j/demo?c=counter"]').first
    link.scroll_into_view_if_needed()
    link.click()
    phone.wait_for_url("**/j/demo?c=counter*")  # a first visit: &_qbv= from setting the cookie
    phone.locator("img.qr").wait_for(state="visible")


def test_all_full_and_unknown_pages_are_readable_on_a_phone(site, phone):
    response = phone.goto(f"{site}/j/no-such-campaign")
    assert response.status == 404
    assert "没有找到这个页面" in phone.locator("h1").inner_text()
    response = phone.goto(f"{site}/j/demo?c=nope")
    assert response.status == 404
    phone.get_by_text("继续进群").click()
    phone.locator("img.qr").wait_for(state="visible")


def test_handbook_works_offline_with_its_diagrams(site, phone):
    """Nothing is fetched from outside the kit, and the diagrams show: pictures drawn ahead of
    time, served by the kit (tests/handbook/test_weight.py covers Mermaid for a diagram without
    one)."""
    outside = []

    def only_the_kit(route):
        if route.request.url.startswith(site):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    phone.route("**/*", only_the_kit)
    phone.goto(f"{site}/handbook/playbooks/pyramid/")
    picture = phone.locator("figure.diagram img").first
    picture.scroll_into_view_if_needed()
    phone.wait_for_function("() => document.querySelector('figure.diagram img').complete")
    assert picture.evaluate("i => i.naturalWidth") > 100
    assert phone.locator("pre.mermaid").count() == 0
    assert outside == []


def test_operator_runs_a_campaign_from_the_console(site, browser, tmp_path):
    """Log in, create a campaign from a template, upload a group QR, scan its live code on a
    phone, and see that person on the campaign's dashboard."""
    from helpers import group_qr_png, make_staff

    from miniapp_api.db import db

    with db.connection_context():
        make_staff("browser-op", "operator")
    qr = tmp_path / "group-qr.png"
    qr.write_bytes(group_qr_png("https://weixin.qq.com/g/控制台测试"))

    # A Chinese operator's browser: Playwright's own asks for English, and the console answers it.
    desk = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = desk.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{site}/console/")
    page.fill("input[name=username]", "browser-op")
    page.fill("input[name=password]", "正确的马电池订书钉-2026")
    page.click("button[type=submit]")
    page.wait_for_url(f"{site}/console/")
    page.goto(f"{site}/console/campaigns/new?template=store-live-code")
    page.fill("input[name=slug]", "browser-store")
    page.click("form:has(input[name=slug]) button[type=submit]")
    page.wait_for_url(f"{site}/console/campaigns/browser-store")
    page.locator("input[name=qr]").first.set_input_files(str(qr))
    page.locator("form:has(input[name=qr]) button").first.click()
    page.wait_for_load_state()
    assert "二维码已更新" in page.content()

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                user_agent=WECHAT_IPHONE, locale="zh-CN")  # fmt: skip
    member = phone.new_page()
    member.goto(f"{site}/j/browser-store?c=counter")
    member.locator("img.qr").wait_for(state="visible")
    assert "会员1群" in member.locator(".group-name").inner_text()
    phone.close()

    page.reload()
    assert "1/200" in page.content()  # the group's count on the campaign page
    page.click("text=看数据")
    page.wait_for_url(f"{site}/console/campaigns/browser-store/dashboard")
    row = page.locator("tr[data-channel=counter]")
    assert row.locator("td").nth(1).inner_text() == "1"  # one person's scan
    assert row.locator("td").nth(2).inner_text() == "1"  # sent into a group
    assert page.locator("tr[data-step=sent] td").nth(1).inner_text() == "1"
    page.click("text=每天的数字")
    today = page.locator("tr[data-day]").first  # newest first
    assert today.locator("td").nth(1).inner_text() == "1"
    # The charts are drawn: three inline SVGs with at least one bar each of some width.
    assert page.locator("svg.chart").count() == 3
    widths = page.eval_on_selector_all("svg.chart rect", "rs => rs.map(r => r.getBBox().width)")
    assert max(widths) > 0
    assert errors == []  # no CSP violations or script errors on console pages
    desk.close()


def test_friend_scans_a_members_poster_signs_up_and_sees_own_poster(site, phone, tmp_path):
    """At 390×844: open a member's poster link, sign up with a photo, land on one's own
    poster and progress; the poster's QR carries the new member's own code."""
    import io

    import zxingcpp
    from PIL import Image

    from miniapp_api.models import Campaign, Member

    with db.connection_context():
        campaign = Campaign.get(Campaign.slug == "demo-fission")
        inviter = Member.get((Member.campaign == campaign) & (Member.nickname == "王小明"))
        before = inviter.referrals
    photo = tmp_path / "me.png"
    Image.new("RGB", (640, 480), "#E9553A").save(photo)
    errors = []
    phone.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    phone.goto(f"{site}/j/demo-fission?r={inviter.code}")
    phone.locator("img.qr").wait_for(state="visible")
    qr = phone.locator("img.qr").bounding_box()
    assert qr["y"] + qr["height"] <= 844  # the group QR still comes first, above the fold
    phone.fill("input[name=nickname]", "新朋友小周")
    phone.set_input_files("input[name=avatar]", str(photo))
    phone.click("text=报名并生成海报")
    phone.wait_for_url(f"{site}/r/demo-fission/me")
    assert "0 / 3 位朋友" in phone.locator(".progress").inner_text()
    poster = phone.locator("img.member-poster")
    poster.wait_for(state="visible")
    assert phone.evaluate("document.querySelector('img.member-poster').naturalWidth") == 1080
    box = poster.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390  # fits the phone, no sideways scroll
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390

    with db.connection_context():
        me = Member.get((Member.campaign == campaign) & (Member.nickname == "新朋友小周"))
        assert me.referrer_id == inviter.id and me.avatar
        assert Member.get_by_id(inviter.id).referrals == before + 1
    image = phone.request.get(site + poster.get_attribute("src")).body()
    decoded = [b.text for b in zxingcpp.read_barcodes(Image.open(io.BytesIO(image)))]
    assert decoded == [f"https://qun.example.cn/j/demo-fission?r={me.code}"]
    assert errors == []


def test_vip_invitations_accept_and_decline_on_a_phone(site, browser):
    """At 390×844: one customer accepts and sees the group QR, another declines; reopening
    each link shows its settled state."""
    from miniapp_api.models import Invitation

    def phone_page():
        context = browser.new_context(
            viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
            user_agent=WECHAT_IPHONE, locale="zh-CN",
        )  # fmt: skip
        return context, context.new_page()

    errors = []
    with db.connection_context():
        tokens = {i.customer.name: i.token for i in Invitation.select()}
    accept_ctx, accepter = phone_page()
    accepter.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    accepter.goto(f"{site}/vip/{tokens['王丽']}")
    assert "王丽，您好" in accepter.locator("header").inner_text()
    button = accepter.locator("text=接受邀请，进 VIP 群")
    box = button.bounding_box()
    assert box["y"] + box["height"] <= 844  # the answer is on the first screen
    button.click()
    accepter.wait_for_url(f"{site}/vip/{tokens['王丽']}")
    qr = accepter.locator("img.qr")
    qr.wait_for(state="visible")
    assert accepter.evaluate("document.querySelector('img.qr').naturalWidth") > 0
    assert accepter.locator("a.offer").get_attribute("href").startswith("https://")
    accepter.reload()
    assert accepter.locator('[data-state="accepted"]').count() == 1

    decline_ctx, decliner = phone_page()
    decliner.goto(f"{site}/vip/{tokens['陈静']}")
    decliner.click("text=这次不参加")
    decliner.wait_for_url(f"{site}/vip/{tokens['陈静']}")
    decliner.goto(f"{site}/vip/{tokens['陈静']}")
    assert "已收到您的回复" in decliner.content()
    assert decliner.locator("text=接受邀请").count() == 0
    assert decliner.evaluate("document.documentElement.scrollWidth") <= 390

    with db.connection_context():
        settled = {i.customer.name: i.status for i in Invitation.select()}
    assert (settled["王丽"], settled["陈静"]) == ("accepted", "declined")
    assert errors == []
    accept_ctx.close()
    decline_ctx.close()
