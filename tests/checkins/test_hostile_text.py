"""Hostile text in every place a check-in shows what someone typed: the staff's task (Markdown),
members' nicknames and notes, a ticket holder's name. Rendered on the member pages and the
console, none of the payloads comes out as markup that runs."""

import re
from html.parser import HTMLParser

from helpers import make_challenge, make_participant, make_staff, shanghai
from test_xss_browser import PAYLOADS

from miniapp_api.checkins import events
from miniapp_api.checkins import rules as checkins
from miniapp_api.checkins.views import challenge as challenge_views
from miniapp_api.console.views import checkins as console_checkins
from miniapp_api.console.views import dashboard as dashboard_views
from miniapp_api.models import Campaign

# NUL is refused with a message before it is stored (tests elsewhere); everything else goes in.
HOSTILE = [payload for payload in PAYLOADS if "\x00" not in payload]


class Runnable(HTMLParser):
    """What in a page would run or navigate, read as a browser's parser reads it: event-handler
    attributes, script URLs, and script elements carrying the payloads' marker."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found, self.in_script = [], False

    def handle_starttag(self, tag, attrs):
        self.in_script = tag == "script"
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=…>")
            if re.match(r"\s*(javascript|vbscript|data:text/html)", value or "", re.I):
                self.found.append(f"<{tag} {name}={value[:40]}>")

    def handle_endtag(self, tag):
        self.in_script = False

    def handle_data(self, data):
        if self.in_script and "__xss" in data:
            self.found.append(f"<script>{data[:40]}")


def runnable(html: str) -> list[str]:
    parser = Runnable()
    parser.feed(html)
    return parser.found


def test_no_payload_becomes_markup_on_the_challenge_pages_or_the_console(
    app, client, login_as, monkeypatch
):
    # The pages' clock: day 2 of the test challenge, never the wall clock.
    for module in (challenge_views, console_checkins, dashboard_views):
        monkeypatch.setattr(module, "utcnow", lambda: shanghai(2, 12))
    campaign = Campaign.create(slug="dk", title="28 天早起打卡")
    task = ("任务标记\n\n" + "\n\n".join(HOSTILE))[:4000]
    challenge = make_challenge(campaign, task=task, day_tasks={1: task})
    members = []
    for n, payload in enumerate(HOSTILE[:40]):
        member = make_participant(challenge, nickname=payload[:20], visitor=f"hostile-{n:02d}" * 3)
        checkins.check_in(challenge, member, note=payload[:200], now=shanghai(1))
        members.append(member)
    event = events.create_event(campaign, title=HOSTILE[5][:60], starts_at=shanghai(2))
    ticket = events.issue_ticket(event, holder=HOSTILE[3][:40], member=members[0])
    events.walk_in(event, HOSTILE[7][:40], now=shanghai(2))

    phone = app.test_client()
    phone.set_cookie("qb_v", members[0].visitor)
    pages = {
        url: phone.get(url, headers={"User-Agent": "Mozilla/5.0 (iPhone) MicroMessenger/8.0"})
        for url in ("/c/dk", "/c/dk/wall", "/c/dk/top", f"/t/{ticket.token}")
    }
    make_staff("admin-1", "admin")
    login_as("admin", "admin-2")
    for url in (
        "/console/campaigns/dk/challenge",
        "/console/campaigns/dk/events",
        f"/console/campaigns/dk/events/{event.id}/door",
        f"/console/campaigns/dk/events/{event.id}/tickets",
        "/console/campaigns/dk/dashboard",
    ):
        pages[url] = client.get(url)
    for url, response in pages.items():
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        # The page did show what was typed (escaped), so the check below means something; the
        # leaderboard masks nicknames and the dashboard shows figures only.
        if url not in ("/c/dk/top", "/console/campaigns/dk/dashboard"):
            assert ("任务标记" if url == "/c/dk" else "__xss") in html, url
        assert runnable(html) == [], url
