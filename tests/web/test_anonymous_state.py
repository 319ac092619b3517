"""No server state for anonymous visitors: a visitor who is not staff gets no session row.

Every form such a visitor sees (the referral sign-up, the VIP invitation's answer, the
challenge's and the event's forms, the door poster's, the login page) carries a token signed
for the visitor cookie (web/memberform.py), so 10,000 visits by new phones and bots, with form
POSTs among them, leave every table as it was except the visits of the live code.
"""

import re

import pytest
from helpers import make_campaign, make_challenge, make_event, make_group, make_invitation

from miniapp_api.db import db, is_sqlite
from miniapp_api.invitations import rules as invitations
from miniapp_api.referrals import rules as referrals

VISITS = 10_000
# The session interface and the forms do not depend on the database: PostgreSQL's leg runs a
# fifth of the visits (the suite's time; every kind of page and form is still visited).
VISITS_ON_POSTGRES = 2_000
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) MicroMessenger/8.0.50"
DESKTOP = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"
BOT = "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)"
AGENTS = (PHONE, PHONE, DESKTOP, BOT)
# The live code's own record of a scan (what a visit is): the only tables a visit may grow.
VISIT_TABLES = {"visit", "visithour", "visitperson", "visitrollup"}
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def row_counts() -> dict[str, int]:
    """Rows of every table the database holds, found by introspection (not the models list,
    so a table added later is counted too)."""
    with db.connection_context():
        # PostgreSQL: the test's own schema, the one the app's connections use.
        schema = None if is_sqlite() else db.execute_sql("SELECT current_schema()").fetchone()[0]
        tables = db.get_tables(schema=schema)
        assert "staffsession" in tables and "visit" in tables
        return {
            table: db.execute_sql(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]  # noqa: S608
            for table in tables
        }


@pytest.fixture
def pages(app):
    """Every member page with a form a visitor may see, and where each form posts."""
    with db.connection_context():
        fission = make_campaign(slug="fission", title="老带新进群")
        make_group(fission, "老带新1群")
        referrals.set_up_program(fission, tiers=[(3, "9 折券")], friend_reward="新人券")
        vip = make_campaign(slug="vip", title="VIP 专场")
        invitations.set_up_program(
            vip, rights="- 专属折扣", offer_url="https://shop.example/vip", offer_label="去看看",
            valid_days=14,
        )  # fmt: skip
        invitation = make_invitation(vip)
        challenge = make_challenge()
        event = make_event()
    slug, day = challenge.campaign.slug, event.campaign.slug
    return {
        "signup": ("/r/fission/join", "/r/fission/join"),
        "invitation": (f"/vip/{invitation.token}", f"/vip/{invitation.token}/answer"),
        "challenge": (f"/c/{slug}/join", f"/c/{slug}/join"),
        "event": (f"/c/{day}/events/{event.id}/signup", f"/c/{day}/events/{event.id}/signup"),
        "door": (f"/c/{day}/events/{event.id}/here", f"/c/{day}/events/{event.id}/here"),
        "login": ("/console/login", "/console/login"),
    }


def visit(app, url, agent):
    """A new phone (or bot) opening a page: no cookie at first, then the one the entry
    redirect sets, as a browser would. The page it ends on, and its client."""
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = agent
    page = client.get(url)
    if page.status_code == 302:
        page = client.get(page.headers["Location"])
    assert page.status_code == 200, (url, page.status_code)
    return page, client


def post(client, page, action, kind, n):
    """A form POST that stores nothing by the rules: refused input, a token missing or from
    another visitor, an answer that is neither yes nor no, a door check-in without a ticket."""
    found = TOKEN.search(page.get_data(as_text=True))
    token = found[1] if found and n % 3 else "not-this-visitors-token"
    data = {"csrf_token": token}
    if kind in ("signup", "challenge", "event"):
        data.update(nickname="阿花", phone="12345")  # not a mobile number: the form again
    elif kind == "invitation":
        data["decision"] = "maybe"
    elif kind == "login" and found:
        data = {"username": "", "password": ""}  # no token at all: refused before any check
    return client.post(action, data=data).status_code


def test_ten_thousand_anonymous_visits_add_no_row_but_visits(app, pages):
    before = row_counts()
    kinds = ["signup", "invitation"] * 4 + ["challenge", "event", "door", "login"]
    statuses = {}
    visits = VISITS if is_sqlite() else VISITS_ON_POSTGRES
    for n in range(visits):
        kind = kinds[n % len(kinds)]
        url, action = pages[kind]
        page, client = visit(app, url, AGENTS[n % len(AGENTS)])
        if n % 10 == 0:
            status = post(client, page, action, kind, n)
            statuses[status] = statuses.get(status, 0) + 1
    after = row_counts()
    grown = {t: after[t] - before[t] for t in after if after[t] != before[t]}
    assert set(grown) <= VISIT_TABLES, grown
    assert after["staffsession"] == 0
    # The POSTs reached the rules (a page again, a redirect) or were refused for their token.
    assert set(statuses) <= {303, 400, 403, 409} and statuses.get(400), statuses
    assert sum(statuses.values()) == visits // 10
