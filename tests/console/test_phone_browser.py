"""The console on a phone, in real headless Chromium: at 360×780 and 390×844 no console page
scrolls sideways, and a group QR is uploaded from the phone's photo library."""

import os
import shutil
from pathlib import Path

import pytest
from helpers import (
    REQUIRE_ALL,
    STAFF_PASSWORD,
    console_pages,
    group_qr_png,
    make_channel,
    make_config,
    make_staff,
)
from liveserver import LiveServer

from miniapp_api import create_app, demo
from miniapp_api.accounts import rules as accounts
from miniapp_api.db import db
from miniapp_api.livecode import rules as livecode
from miniapp_api.migrations import migrate
from miniapp_api.models import Campaign, Customer, Group

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = os.environ.get("QUNBOOK_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
PHONES = [(360, 780), (390, 844)]
# Names as operators type them: long, without spaces, and one pasted run of Latin letters
# that has nowhere to break.
LONG_GROUPS = [
    "杭州西湖区文三路旗舰店宝妈育儿交流与新品试用会员专享二群",
    "宁波鄞州万达店周四会员专享价与晒单返券活动长期交流群",
    "HangzhouFlagshipStoreVipMembersThursdayGroup2026",
]
LONG_CHANNEL = ("xiaohongshu-autumn-2026", "小红书秋季种草笔记评论区置顶链接")


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    """The demo (a live code, referrals, VIP invitations, a challenge, a meet-up) plus groups
    with long names, an API token and an admin, under gunicorn. Yields (base URL, app)."""
    tmp = tmp_path_factory.mktemp("phone-kit")
    config = make_config(f"sqlite:///{tmp / 'kit.sqlite3'}", tmp)
    app = create_app(config)
    with db.connection_context():
        migrate()
        demo.load()
        campaign = Campaign.get(Campaign.slug == demo.SLUG)
        for name in LONG_GROUPS:
            livecode.add_group(campaign, name, cutoff=500)
        make_channel(campaign, *LONG_CHANNEL)
        admin = make_staff("phone-admin", "admin", display_name="手机上的管理员")
        accounts.issue_api_token(admin, "每晚导出数据到门店的共享表格")
        Customer.create(
            external_id="320102198001011234", name="欧阳娜娜", region="内蒙古自治区呼和浩特市",
            purchase_total=1_280_000,
        )  # fmt: skip
    with LiveServer({k: v for k, v in config.items() if k != "TESTING"}) as base_url:
        yield base_url, app
    db.close_all()


FONTS = Path(__file__).resolve().parents[2] / "assets" / "fonts"


@pytest.fixture(scope="module")
def phone(tmp_path_factory):
    """One Chromium page at phone size, shared by the tests (one browser start). Chromium is
    given the kit's Chinese font: without one, each character is a narrow empty box and a
    page measures narrower than on a phone."""
    if not os.path.exists(CHROMIUM):
        if REQUIRE_ALL:
            pytest.fail(f"Chromium is required here but not found at {CHROMIUM}")
        pytest.skip("Chromium not installed: apt-get install chromium (CI does this)")
    from playwright.sync_api import sync_playwright

    width, height = PHONES[0]
    fonts = tmp_path_factory.mktemp("fonts") / "fonts.conf"
    fonts.write_text(
        '<?xml version="1.0"?>\n<fontconfig>\n'
        '  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>\n'
        f"  <dir>{FONTS}</dir>\n  <cachedir>{fonts.parent / 'cache'}</cachedir>\n"
        "</fontconfig>\n"
    )
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"],
            env={**os.environ, "FONTCONFIG_FILE": str(fonts)},
        )
        context = browser.new_context(
            viewport={"width": width, "height": height}, device_scale_factor=2,
            is_mobile=True, has_touch=True, locale="zh-CN",
        )  # fmt: skip
        page = context.new_page()
        yield page
        browser.close()


def width_of(page) -> int:
    # Compared with the viewport we set, not window.innerWidth: a mobile browser widens its
    # layout viewport to fit a page that is too wide, so innerWidth would hide the overflow.
    return page.evaluate("document.documentElement.scrollWidth")


def log_in(page, base):
    """Log in as the admin from a fresh start; returns how wide the login page was."""
    page.context.clear_cookies()
    page.goto(f"{base}/console/login")
    login_width = width_of(page)
    page.fill("input[name=username]", "phone-admin")
    page.fill("input[name=password]", STAFF_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/console/")
    return login_width


def test_no_console_page_scrolls_sideways_on_a_phone(kit, phone):
    base, app = kit
    pages = console_pages(app)
    too_wide, statuses = {}, {}
    for width, height in PHONES:
        phone.set_viewport_size({"width": width, "height": height})
        if (login_width := log_in(phone, base)) > width:
            too_wide[(width, "/console/login")] = login_width
        for path in pages:
            response = phone.goto(base + path)
            statuses[path] = response.status
            if width_of(phone) > width:
                too_wide[(width, path)] = width_of(phone)
    # Every page was really seen (no login page or error page measured in its place).
    assert {path: s for path, s in statuses.items() if s != 200} == {}
    assert len(pages) >= 40
    report = [f"{w} px: {path} is {px} px wide" for (w, path), px in too_wide.items()]
    assert too_wide == {}, "\n".join(report)


def test_a_group_qr_is_uploaded_from_the_photo_library_at_390(kit, phone, tmp_path):
    base, _ = kit
    name = LONG_GROUPS[0]
    with db.connection_context():
        group = Group.get(Group.name == name)
    assert group.qr_digest is None
    qr = tmp_path / "微信群二维码.png"
    qr.write_bytes(group_qr_png("https://weixin.qq.com/g/手机上传的群"))
    phone.set_viewport_size({"width": 390, "height": 844})
    log_in(phone, base)
    phone.goto(f"{base}/console/campaigns/{demo.SLUG}")
    form = phone.locator(f"form[action$='/groups/{group.id}/qr']")
    picker = form.locator("input[type=file]")
    # The photo library, not only the camera: any image, and no `capture` forcing the camera.
    assert picker.get_attribute("accept") == "image/*"
    assert picker.get_attribute("capture") is None
    # The group's card shows its name and its upload form within the phone's width, as they
    # are (not scrolled to inside a table that is wider than the screen).
    row = phone.locator("tr", has=form)
    for part in (row.get_by_text(name), picker, form.locator("button[type=submit]")):
        box = part.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    picker.set_input_files(str(qr))
    form.locator("button[type=submit]").click()
    phone.wait_for_load_state()
    assert "二维码已更新" in phone.content()
    with db.connection_context():
        stored = Group.get_by_id(group.id)
    assert stored.qr_digest and stored.qr_payload == "https://weixin.qq.com/g/手机上传的群"
    assert width_of(phone) <= 390
