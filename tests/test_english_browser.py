"""An English browser sees an English kit: headless Chromium asking for `Accept-Language: en`
walks every console page and the member pages (the live code, a referral sign-up and its
poster page, a check-in challenge, an event ticket, a VIP invitation, the error pages), and
no Chinese is left on them.

The kit is the demo with everything staff or members wrote (campaign titles, group names,
nicknames ...) rewritten in Latin letters, so any Chinese still on a page is the interface's
own, untranslated."""

import hashlib
import re

import pytest
from helpers import STAFF_PASSWORD, chromium, console_pages, fill, make_config, make_staff
from liveserver import LiveServer
from peewee import CharField, TextField

from miniapp_api import create_app, demo, demo_checkins, models
from miniapp_api.db import db
from miniapp_api.livecode import lifecycle
from miniapp_api.livecode import rules as livecode
from miniapp_api.migrations import migrate
from miniapp_api.models import Activity, Campaign, Invitation

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CJK_RUN = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\U00020000-\U0003ffff]+")
FULL_SLUG, ARCHIVED_SLUG = "en-full", "en-archived"


def _in_latin_letters(text: str) -> str:
    """Each run of Chinese as a short Latin word of its own (distinct runs stay distinct, so
    unique names stay unique)."""
    return CJK_RUN.sub(lambda m: "Zh" + hashlib.sha256(m[0].encode()).hexdigest()[:6], text)


def _content_in_latin_letters() -> int:
    changed = 0
    for model in vars(models).values():
        if not (isinstance(model, type) and issubclass(model, models.BaseModel)):
            continue
        if model is models.BaseModel:
            continue
        fields = [f for f in model._meta.sorted_fields if isinstance(f, (CharField, TextField))]
        for row in model.select():
            updates = {
                f.name: _in_latin_letters(getattr(row, f.name))
                for f in fields
                if isinstance(getattr(row, f.name), str) and CJK_RUN.search(getattr(row, f.name))
            }
            if updates:
                model.update(**updates).where(model.id == row.id).execute()
                changed += 1
    return changed


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("english-kit")
    config = make_config(f"sqlite:///{tmp / 'kit.sqlite3'}", tmp)
    app = create_app(config)
    with db.connection_context():
        migrate()
        demo.load()
        full = livecode.create_campaign(FULL_SLUG, title="Everyone is in")
        group = livecode.add_group(full, "Only group", cutoff=1)
        fill(group, 1)
        lifecycle.archive_campaign(livecode.create_campaign(ARCHIVED_SLUG, title="Last spring").id)
        make_staff("en-admin", "admin", display_name="Amy")
        assert _content_in_latin_letters() > 0
    with LiveServer({k: v for k, v in config.items() if k != "TESTING"}) as base_url:
        yield base_url, app
    db.close_all()


@pytest.fixture(scope="module")
def page():
    with chromium() as browser:
        context = browser.new_context(
            viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
            locale="en-US", extra_http_headers={"Accept-Language": "en-US,en;q=0.9"},
        )  # fmt: skip
        yield context.new_page()


# Text in an element that declares its own language (中文 in the language menu, a campaign
# template's Chinese group names) is left out: the page is read once, so it is blanked.
SHOWN = """() => {
  for (const el of document.querySelectorAll('body [lang]')) el.textContent = '';
  const shown = [document.title, document.body.innerText];
  for (const el of document.querySelectorAll('svg text, svg title')) shown.push(el.textContent);
  for (const el of document.querySelectorAll('[placeholder], [title], [alt], [aria-label]')) {
    for (const name of ['placeholder', 'title', 'alt', 'aria-label']) {
      if (el.hasAttribute(name)) shown.push(el.getAttribute(name));
    }
  }
  for (const el of document.querySelectorAll('input[type=submit], input[type=button]')) {
    shown.push(el.value);
  }
  return shown.join('\\n');
}"""


def chinese_on(page) -> list[str]:
    lines = page.evaluate(SHOWN).splitlines()
    return [line.strip() for line in lines if CJK_RUN.search(line)]


def visit(page, url, found, expect=200):
    response = page.goto(url)
    assert response.status == expect, (url, response.status)
    lang = page.evaluate("document.documentElement.lang")
    if (chinese := chinese_on(page)) or lang != "en":
        found[url] = [f"<html lang={lang!r}>", *chinese]


def test_an_english_browser_sees_an_english_console(kit, page):
    base, app = kit
    found = {}
    page.context.clear_cookies()
    visit(page, f"{base}/console/login", found)
    page.fill("input[name=username]", "en-admin")
    page.fill("input[name=password]", "wrong password")
    page.click("button[type=submit]")
    if chinese := chinese_on(page):  # the refusal, too
        found["login refused"] = chinese
    page.fill("input[name=username]", "en-admin")
    page.fill("input[name=password]", STAFF_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/console/")
    pages = console_pages(app)
    for path in pages:
        visit(page, base + path, found)
    visit(page, f"{base}/console/campaigns/no-such-campaign", found, expect=404)
    assert len(pages) >= 40
    assert found == {}, "\n".join(f"{url}: {lines}" for url, lines in found.items())


def test_an_english_browser_sees_english_member_pages(kit, page):
    base, _ = kit
    found = {}
    page.context.clear_cookies()
    with db.connection_context():
        token = Invitation.select().first().token
        meetup = Campaign.get(Campaign.slug == demo_checkins.MEETUP_SLUG)
        event = Activity.get((Activity.campaign == meetup) & (Activity.kind == "event"))
    visit(page, f"{base}/j/{demo.SLUG}", found)
    visit(page, f"{base}/j/{FULL_SLUG}", found)
    visit(page, f"{base}/j/{ARCHIVED_SLUG}", found, expect=410)
    visit(page, f"{base}/j/no-such-campaign", found, expect=404)
    visit(page, f"{base}/vip/{token}", found)
    visit(page, f"{base}/vip/no-such-invitation", found, expect=404)

    visit(page, f"{base}/r/{demo.FISSION_SLUG}/join", found)
    page.fill("input[name=nickname]", "Lily")
    page.click("form[method=post] button[type=submit]")
    page.wait_for_url(f"**/r/{demo.FISSION_SLUG}/me**")
    visit(page, f"{base}/r/{demo.FISSION_SLUG}/me", found)
    visit(page, f"{base}/r/{demo.FISSION_SLUG}/top", found)

    challenge = demo_checkins.CHALLENGE_SLUG
    visit(page, f"{base}/c/{challenge}/join", found)
    page.fill("input[name=nickname]", "Lily")
    page.click("form[method=post] button[type=submit]")
    page.wait_for_url(f"**/c/{challenge}**")
    for path in ("", "/top", "/wall", "/card"):
        visit(page, f"{base}/c/{challenge}{path}", found)

    signup = f"{base}/c/{meetup.slug}/events/{event.id}/signup"
    visit(page, signup, found)
    page.fill("input[name=nickname]", "Lily")
    page.click("form[method=post] button[type=submit]")
    page.wait_for_url("**/t/**")
    if chinese := chinese_on(page):
        found["the ticket"] = chinese
    visit(page, f"{base}/c/{meetup.slug}/events/{event.id}/here", found)
    assert found == {}, "\n".join(f"{url}: {lines}" for url, lines in found.items())
