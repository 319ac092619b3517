"""The door in real Chromium against the real app: a ticket's QR shown to the browser's (fake)
camera on the console's door page checks the ticket in once; the same ticket again says
已签到; a revoked ticket and another event's ticket are refused, and nothing is stored.

Chromium films a still Y4M clip of the ticket's QR (tests/checkins/fakecamera.py); the page is
served on http://127.0.0.1, which browsers treat as a secure context, so the camera works.
Each clip needs its own launch of Chromium.
"""

import os
import shutil
from datetime import datetime

import pytest
from checkins.fakecamera import qr_image, write_y4m
from helpers import REQUIRE_ALL, STAFF_PASSWORD, make_campaign, make_config, make_event, make_staff
from liveserver import LiveServer

from miniapp_api import create_app
from miniapp_api.checkins import events
from miniapp_api.db import db
from miniapp_api.migrations import migrate
from miniapp_api.models import Response, Ticket

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = os.environ.get("QUNBOOK_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
BROWSER_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
STARTS = datetime(2026, 12, 20, 6, 30)


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    """The app under gunicorn on a SQLite file, its public URL its own loopback address, with
    an operator, an event of 50 places and tickets: one good, one revoked, one of another
    event. Yields (base URL, door page path, {name: ticket})."""
    tmp = tmp_path_factory.mktemp("door-kit")
    config = make_config(f"sqlite:///{tmp / 'kit.sqlite3'}", tmp)
    server = LiveServer({k: v for k, v in config.items() if k != "TESTING"})
    base = f"http://127.0.0.1:{server.port}"
    # Plain HTTP, as the kit runs on a laptop: cookies without Secure, ticket links to here.
    server.env["QUNBOOK_PUBLIC_URL"] = base
    create_app({**config, "PUBLIC_URL": base})
    with db.connection_context():
        migrate()
        make_staff("door", "operator")
        campaign = make_campaign(slug="meetup", title="线下见面会")
        event = make_event(campaign, title="年末见面会", starts_at=STARTS, capacity=50)
        other = make_event(campaign, title="另一场", starts_at=STARTS.replace(day=27))
        tickets = {
            "good": events.issue_ticket(event, holder="小红"),
            "revoked": events.issue_ticket(event, holder="作废的"),
            "elsewhere": events.issue_ticket(other, holder="走错门的"),
        }
        events.revoke_ticket(event, tickets["revoked"].id)
    with server:
        yield base, f"/console/campaigns/meetup/events/{event.id}/door", tickets
    db.close_all()


@pytest.fixture(scope="module")
def playwright():
    if not os.path.exists(CHROMIUM):
        if REQUIRE_ALL:
            pytest.fail(f"Chromium is required here but not found at {CHROMIUM}")
        pytest.skip("Chromium not installed: apt-get install chromium (CI does this)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture
def scan(playwright, kit, tmp_path):
    """scan(ticket) -> the door page after Chromium's camera filmed that ticket's QR."""
    base, door, _ = kit
    browsers = []

    def at_the_door(ticket, answer: str):
        clip = write_y4m(tmp_path / f"{ticket.code}.y4m", qr_image(f"{base}/t/{ticket.token}"))
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                *BROWSER_ARGS,
                "--use-fake-device-for-media-stream",
                "--use-fake-ui-for-media-stream",
                f"--use-file-for-fake-video-capture={clip}",
            ],
        )
        browsers.append(browser)
        # The console follows the browser's language: this door scanner's is Chinese.
        context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
        page = context.new_page()
        page.goto(f"{base}/console/login?next={door}")
        page.fill("input[name=username]", "door")
        page.fill("input[name=password]", STAFF_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}{door}")
        page.locator(f"#door-result.{answer}").wait_for(timeout=20_000)
        assert page.locator("#door-camera").is_visible()
        assert page.locator("#door-camera-note").is_hidden()
        return page

    yield at_the_door
    for browser in browsers:
        browser.close()


def stored_responses() -> list:
    with db.connection_context():
        return list(Response.select(Response.ticket, Response.how).tuples())


def test_a_ticket_shown_to_the_camera_checks_in_once_then_says_already(kit, scan):
    _, _, tickets = kit
    good = tickets["good"]
    page = scan(good, "door-ok")
    assert page.locator("#door-result").inner_text() == "签到成功：小红"
    assert page.locator("#door-count").inner_text() == "1 / 50"
    # The clip keeps playing: the code stays in view and is posted once.
    page.wait_for_timeout(1500)
    assert stored_responses() == [(good.id, "door")]

    again = scan(good, "door-already")
    message = again.locator("#door-result").inner_text()
    assert message.startswith("已签到：小红，") and message.endswith(" 签的到。")
    assert again.locator("#door-count").inner_text() == "1 / 50"
    assert stored_responses() == [(good.id, "door")]


@pytest.mark.parametrize(
    ("which", "message"),
    [("revoked", "这张票已经作废"), ("elsewhere", "这张票不是本场活动的")],
)
def test_a_revoked_or_another_events_ticket_is_refused_and_nothing_is_stored(
    kit, scan, which, message
):
    _, _, tickets = kit
    before = stored_responses()
    page = scan(tickets[which], "door-refused")
    assert message in page.locator("#door-result").inner_text()
    assert stored_responses() == before
    with db.connection_context():
        assert Ticket.get_by_id(tickets["revoked"].id).revoked_at is not None
