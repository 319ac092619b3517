"""A daily challenge in real headless Chromium at a phone's size (390×844), against a live
server: join from the join page, tap 打卡, see the calendar and the streak, save the share card
and read its QR, also after WeChat-style recompression."""

import io
from datetime import timedelta

import pytest
from helpers import PUBLIC_URL, chromium, make_campaign, make_config, make_group
from liveserver import LiveServer
from PIL import Image

from miniapp_api import create_app
from miniapp_api.checkins import rules as checkins
from miniapp_api.db import db
from miniapp_api.localtime import to_local
from miniapp_api.migrations import migrate
from miniapp_api.models import Member, utcnow
from miniapp_api.referrals import rules as referrals

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WECHAT_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.50(0x1800323a) "
    "NetType/WIFI Language/zh_CN"
)
SLUG = "dk-browser"


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


def demo_like_challenge():
    """A 28-day challenge in its fifth day with a referral programme and a few members who
    have been checking in (the demo's own challenge is written elsewhere)."""
    campaign = make_campaign(slug=SLUG, title="28 天早起打卡", promise="每天早起一点点")
    make_group(campaign, "早起1群")
    referrals.set_up_program(campaign, tiers=[(3, "早餐券")])
    now = utcnow()
    today = to_local(now, "Asia/Shanghai").date()
    challenge = checkins.set_up_challenge(
        campaign,
        days=28,
        starts_on=today - timedelta(days=4),
        timezone="Asia/Shanghai",
        task="**早上 7 点前**起床，拍一张窗外的天空。",
        finish_days=21,
        reward="结营礼盒",
    )
    for n, nickname in enumerate(["晨跑的阿花", "小李", "王小明"]):
        member = referrals.sign_up(
            campaign.id, nickname=nickname, visitor=f"seed-{n}", agent="wechat"
        ).member
        checkins.join(challenge, member, now=now - timedelta(days=4))
        checkins.check_in(challenge, member, note="六点起床，窗外的天刚亮", now=now)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("challenge")
    config = make_config(f"sqlite:///{tmp / 'kit.sqlite3'}", tmp)
    create_app(config)
    with db.connection_context():
        migrate()
        demo_like_challenge()
    db.close_all()
    served = {k: v for k, v in config.items() if k != "TESTING"}
    with LiveServer(served) as base_url:
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


def decode(data: bytes) -> list[str]:
    import zxingcpp

    with Image.open(io.BytesIO(data)) as image:
        return [b.text for b in zxingcpp.read_barcodes(image.convert("RGB"))]


def wechat_recompressed(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        small = image.convert("RGB").resize(
            (540, round(image.height * 540 / image.width)), Image.Resampling.LANCZOS
        )
    out = io.BytesIO()
    small.save(out, "JPEG", quality=60)
    return out.getvalue()


def test_join_check_in_see_the_calendar_and_save_the_share_card(site, phone, tmp_path):
    errors = []
    phone.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    phone.goto(f"{site}/j/{SLUG}")
    phone.locator("img.qr").wait_for(state="visible")
    phone.get_by_role("link", name="参加 28 天打卡挑战").click()
    phone.wait_for_url(f"{site}/c/{SLUG}/join")
    phone.fill("input[name=nickname]", "早起的小周")
    phone.get_by_role("button", name="参加挑战").click()
    phone.wait_for_url(f"{site}/c/{SLUG}")

    assert "今天 · 第 5 天" in phone.locator("#today-title").inner_text()
    assert phone.locator(".task strong").inner_text() == "早上 7 点前"
    button = phone.get_by_role("button", name="打卡", exact=True)
    box = button.bounding_box()
    assert box["y"] + box["height"] <= 844 and box["width"] >= 300  # big, on the first screen
    assert phone.locator("td.is-today").get_attribute("data-state") == "today"
    button.click()
    phone.wait_for_url(f"{site}/c/{SLUG}?done=5")

    assert "第 5 天打卡成功，已连续 1 天" in phone.get_by_role("status").inner_text()
    today = phone.locator("td.is-today")
    assert today.get_attribute("data-state") == "done"
    assert "今天，已打卡" in today.locator(".sr").text_content()
    assert today.locator(".mark").inner_text() == "✓"
    assert phone.locator(".streak").inner_text() == "1"
    # Joined on day 5: the days before are not theirs, and there is nothing to make up.
    assert phone.locator('td[data-day="4"]').get_attribute("data-state") == "before"
    assert phone.locator(".makeup").count() == 0
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll
    phone.screenshot(path=str(tmp_path / "challenge.png"), full_page=True)  # for a look

    with db.connection_context():
        me = Member.get(Member.nickname == "早起的小周")
    url = f"{PUBLIC_URL}/j/{SLUG}?r={me.code}"
    phone.get_by_role("link", name="保存分享卡").click()
    phone.wait_for_url(f"{site}/c/{SLUG}/card")
    card = phone.locator("img.member-poster")
    card.wait_for(state="visible")
    assert phone.evaluate("document.querySelector('img.member-poster').naturalWidth") == 1080
    box = card.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390  # whole, to long-press and save
    data = phone.request.get(site + card.get_attribute("src")).body()  # the page's own cookies
    assert decode(data) == [url]
    assert decode(wechat_recompressed(data)) == [url]

    phone.goto(f"{site}/c/{SLUG}/top")
    assert "我：第 1 名，已打卡 1 天" in phone.locator(".mine").inner_text()
    phone.goto(f"{site}/c/{SLUG}/wall")
    assert "晨***花 · 第 5 天" in phone.locator(".wall").inner_text()
    assert errors == []  # no CSP violations or script errors
