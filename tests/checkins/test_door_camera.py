"""The door page's camera scanner in real Chromium with a fake camera that shows a ticket's QR.

The door route is not built yet, so a small Flask app stands in for it: the page with the
door page's element ids, the package's real static/door.js and static/vendor/jsQR.js, the
app's real security headers, and a door endpoint that records what it receives and answers
JSON as the real one will.
"""

import os
import secrets
import threading
import time
from pathlib import Path

import pytest
from checkins.fakecamera import qr_image, write_y4m
from flask import Flask, jsonify, request
from helpers import CHROMIUM, unavailable
from werkzeug.serving import make_server

import miniapp_api
from miniapp_api.web import headers

pytestmark = [pytest.mark.browser, pytest.mark.slow]

STATIC = Path(miniapp_api.__file__).parent / "static"
DOOR = "/console/activities/7/door"
CSRF = "csrf-token-of-the-page"
TOKEN = secrets.token_urlsafe(24)
QUIET_SECONDS = 3  # door.js ignores the code it has just posted for this long
PAGE = f"""<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>门口签到</title>
</head>
<body>
<video id="door-camera" playsinline muted></video>
<p id="door-camera-note" hidden>相机没有打开：请输入券上的短码。</p>
<form id="door-form" method="post" action="{DOOR}">
  <input type="hidden" name="csrf_token" value="{CSRF}">
  <input name="ticket" autocomplete="off" aria-label="短码">
  <button>签到</button>
</form>
<div id="door-result" aria-live="polite"></div>
<span id="door-count"></span>
<script src="/static/vendor/jsQR.js"></script><script src="/static/door.js"></script>
</body>
</html>
"""
BROWSER_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


class Door:
    """The door endpoint's side: what it received, and what it answers."""

    def __init__(self):
        self.reset({"status": "checked_in", "message": "已签到", "count": 1, "capacity": None})

    def reset(self, answer: dict, status: int = 200):
        self.received = []
        self.answer = (answer, status)

    def app(self) -> Flask:
        app = Flask(__name__, static_folder=str(STATIC))
        app.config["PUBLIC_URL"] = "http://127.0.0.1"
        headers.register(app)  # the app's own Content-Security-Policy and friends

        @app.get(DOOR)
        def page():
            return PAGE

        @app.post(DOOR)
        def check_in():
            self.received.append(
                {
                    "form": request.form.to_dict(),
                    "accept": request.headers.get("Accept"),
                    "at": time.monotonic(),
                }
            )
            answer, status = self.answer
            return jsonify(answer), status

        return app


@pytest.fixture(scope="module")
def door():
    """The stand-in app on a loopback port, served from a thread of this process."""
    door = Door()
    server = make_server("127.0.0.1", 0, door.app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    door.url = f"http://127.0.0.1:{server.server_port}{DOOR}"
    door.ticket_url = f"http://127.0.0.1:{server.server_port}/t/{TOKEN}"
    yield door
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(scope="module")
def playwright():
    if not os.path.exists(CHROMIUM):
        unavailable("Chromium", f"not found at {CHROMIUM}: apt-get install chromium (CI does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def camera_browser(playwright, door, tmp_path_factory):
    """Chromium whose only camera films a ticket's QR code, and which allows it without asking."""
    clip = tmp_path_factory.mktemp("camera") / "ticket.y4m"
    write_y4m(clip, qr_image(door.ticket_url), seconds=1, fps=10)
    fake_camera = [
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={clip}",
    ]
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, args=[*BROWSER_ARGS, *fake_camera]
    )
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def plain_browser(playwright):
    """Chromium as on a machine without a camera."""
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
    yield browser
    browser.close()


def open_phone(browser, camera: bool):
    """A phone-sized page that records its script errors and the console's, where Chromium
    logs what the Content-Security-Policy refused (but not the 4xx answers the door gives)."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        permissions=["camera"] if camera else [],
    )
    page = context.new_page()
    page.errors = []

    def console(message):
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            page.errors.append(message.text)

    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on("console", console)
    return page


@pytest.fixture
def camera_phone(camera_browser):
    page = open_phone(camera_browser, camera=True)
    yield page
    page.context.close()


@pytest.mark.parametrize(
    ("answer", "http_status", "css", "count", "watch"),
    [
        (
            {"status": "checked_in", "message": "王丽 <VIP> 已签到", "count": 13, "capacity": 40},
            200,
            "door-ok",
            "13 / 40",
            QUIET_SECONDS + 0.5,
        ),
        (
            {"status": "already", "message": "王丽 19:02 已签到过", "count": 13, "capacity": None},
            200,
            "door-already",
            "13",
            1,
        ),
        (
            {"status": "refused", "message": "这张券不是本场活动的", "count": 12, "capacity": 40},
            403,
            "door-refused",
            "12 / 40",
            1,
        ),
    ],
    ids=["checked_in", "already", "refused"],
)
def test_a_ticket_held_to_the_camera_is_posted_once_and_answered_in_place(
    door, camera_phone, answer, http_status, css, count, watch
):
    door.reset(answer, http_status)
    response = camera_phone.goto(door.url)
    assert response.headers["content-security-policy"] == headers.APP_POLICY
    result = camera_phone.locator(f"#door-result.{css}")
    result.wait_for(timeout=20_000)

    assert result.inner_text() == answer["message"]  # as text: the <VIP> is no tag
    assert camera_phone.locator("#door-count").inner_text() == count
    assert camera_phone.locator("#door-camera").is_visible()
    assert camera_phone.locator("#door-camera-note").is_hidden()
    first = door.received[0]
    assert first["form"] == {"csrf_token": CSRF, "ticket": TOKEN}
    assert first["accept"] == "application/json"
    # The code stays in front of the camera (the clip loops) while six frames a second are
    # decoded: it is posted once, and for the first case still once after the quiet time.
    time.sleep(max(0, first["at"] + watch - time.monotonic()))
    assert [r["form"]["ticket"] for r in door.received] == [TOKEN]
    assert camera_phone.url == door.url
    assert camera_phone.errors == []


NO_CAMERA = {
    "no mediaDevices (not a secure context)": """
        Object.defineProperty(Navigator.prototype, "mediaDevices", {get: () => undefined});
    """,
    "permission refused": """
        navigator.mediaDevices.getUserMedia = () =>
            Promise.reject(new DOMException("Permission denied", "NotAllowedError"));
    """,
    "no camera on the machine": None,
}


@pytest.mark.parametrize("case", NO_CAMERA)
def test_without_a_camera_the_note_shows_and_a_typed_code_is_answered_in_place(
    door, camera_browser, plain_browser, case
):
    script = NO_CAMERA[case]
    page = open_phone(camera_browser if script else plain_browser, camera=bool(script))
    if script:
        page.add_init_script(script)
    door.reset({"status": "checked_in", "message": "张伟 已签到", "count": 5, "capacity": None})
    try:
        page.goto(door.url)
        page.locator("#door-camera-note").wait_for(state="visible", timeout=20_000)
        assert page.locator("#door-camera").is_hidden()

        page.locator("input[name=ticket]").fill("AB12CD")
        page.locator("#door-form button").click()
        page.locator("#door-result.door-ok").wait_for(timeout=10_000)
        assert page.locator("#door-result").inner_text() == "张伟 已签到"
        assert page.locator("#door-count").inner_text() == "5"
        assert [(r["form"], r["accept"]) for r in door.received] == [
            ({"csrf_token": CSRF, "ticket": "AB12CD"}, "application/json")
        ]
        assert page.url == door.url  # answered in place, no navigation
        assert page.locator("input[name=ticket]").input_value() == ""  # ready for the next
        assert page.errors == []
    finally:
        page.context.close()


def test_the_ticket_is_read_from_a_url_or_taken_as_typed(door, camera_browser):
    page = open_phone(camera_browser, camera=False)
    page.add_init_script(NO_CAMERA["no mediaDevices (not a secure context)"])
    cases = {
        f"http://127.0.0.1:8000/t/{TOKEN}": TOKEN,
        f"https://qun.example.cn/t/{TOKEN}/": TOKEN,
        f"https://qun.example.cn/t/{TOKEN}?from=wechat#top": TOKEN,
        f"https://qun.example.cn/events/t/{TOKEN}": TOKEN,
        TOKEN: TOKEN,
        " AB12CD\n": "AB12CD",
        "ab12": "ab12",
        "AB1": None,
        "AB12CD789": None,
        f"https://qun.example.cn/t/{TOKEN}/more": None,
        "https://qun.example.cn/t/%3Cscript%3E": None,
        "https://qun.example.cn/j/demo?c=counter": None,
        "https://weixin.qq.com/g/AbCdEfGh12345678": None,
        f"javascript:alert(1)//t/{TOKEN}": None,
        "入场券 AB12CD": None,
    }
    try:
        page.goto(door.url)
        found = page.evaluate(
            "texts => texts.map(t => window.qunbookDoor.ticketFrom(t))", list(cases)
        )
        assert dict(zip(cases, found, strict=True)) == cases
    finally:
        page.context.close()
