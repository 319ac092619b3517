"""Hostile input on every surface: no answer is a 5xx, and afterwards every stored row still
renders on every page, poster, CSV and API list (issue 12).

Nothing is listed by hand: the routes come from the URL map, their ids from a campaign seeded
with one of everything, the forms from the pages themselves (parsed, CSRF token kept; the
console as an admin), the API's bodies and query parameters from its OpenAPI document, and the
query parameters of the pages from the links and GET forms the pages print. Each form gets every
hostile value in all its fields at once, and each field on its own a few of them (the others
kept as the page filled them, so the value reaches the rules); every file field gets a
decompression bomb.
"""

import io
import secrets
import struct
import zlib
from datetime import datetime, time, timedelta
from functools import cache
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import pytest
from helpers import (
    STAFF_PASSWORD,
    StaffActions,
    make_campaign,
    make_challenge,
    make_channel,
    make_event,
    make_group,
    make_invitation,
    make_staff,
)

from miniapp_api.accounts.rules import issue_api_token
from miniapp_api.checkins import events
from miniapp_api.checkins import rules as checkins
from miniapp_api.invitations import rules as invitations
from miniapp_api.models import (
    ApiToken,
    Campaign,
    Referral,
    Response,
    Reward,
    StaffSession,
    utcnow,
)
from miniapp_api.referrals import rules as referrals
from miniapp_api.visitors import VISITOR_COOKIE

HOSTILE = {
    "NUL": "小红\x00",
    "control": "小红\x07\x1b\x7f\x85",
    "zero-width": "\u200b\u200d\ufeff",
    "RTL override": "\u202e红小",
    "emoji": "邀请好友送券🎁",
    "𠀀": "𠀀",
    "10 KB": "群" * 3_400,
    "2^63": str(2**63),
    "1E26": "1E26",
    "²": "²",
    "CR/LF": "第一行\r\n第二行",
}
# Sent to each field on its own, the other fields as the page filled them.
EACH_FIELD = ("NUL", "zero-width", "emoji", "10 KB", "2^63")
# JSON bodies also get numbers that no column holds.
JSON_NUMBERS = {"2^63 (number)": 2**63, "1E26 (number)": 1e26}
NOT_CRAWLED = ("static", "handbook.")


@cache
def bomb_png(side: int = 30_000) -> bytes:
    """A one-colour side × side PNG of ~100 KB that decodes to 112 MB of pixels, built with
    zlib row by row (Pillow would need the whole image in memory)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + b"\x00" * (side // 8)  # filter byte, then 1-bit grey pixels
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row * 1_000) for _ in range(side // 1_000)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


class Forms(HTMLParser):
    """The forms of a page: action, method, enctype and fields (name → the page's value)."""

    def __init__(self):
        super().__init__()
        self.forms, self.links, self._form, self._field = [], [], None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag == "form":
            self._form = {
                "action": attrs.get("action") or "",
                "method": (attrs.get("method") or "get").upper(),
                "multipart": attrs.get("enctype") == "multipart/form-data",
                "fields": {},
                "files": set(),
            }
            self.forms.append(self._form)
            return
        name = attrs.get("name")
        if self._form is None or not name:
            return
        fields = self._form["fields"]
        if tag == "input" and attrs.get("type") == "file":
            self._form["files"].add(name)
        elif tag == "input" and attrs.get("type") in ("checkbox", "radio"):
            if "checked" in attrs or name not in fields:
                fields[name] = attrs.get("value", "on")
        elif tag in ("input", "button"):
            fields.setdefault(name, attrs.get("value", ""))
        elif tag == "textarea":
            fields[name] = ""
            self._field = name
        elif tag == "select":
            fields[name] = None  # the first option, unless one is selected
            self._field = name
        elif (
            tag == "option"
            and self._field in fields
            and (fields[self._field] is None or "selected" in attrs)
        ):
            fields[self._field] = attrs.get("value", "")

    def handle_data(self, data):
        if self._form is not None and self._field and self._form["fields"][self._field] == "":
            self._form["fields"][self._field] = data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        if tag in ("textarea", "select"):
            self._field = None


class Seeded:
    """One campaign with one of everything, and the values that fill each route's path."""

    def __init__(self):
        campaign = make_campaign(slug="hostile", title="门店会员群", promise="进群领券")
        make_channel(campaign, "counter", "门店前台")
        group = make_group(campaign, "宝妈交流群")
        referrals.set_up_program(campaign, tiers=[(1, "九折券")], friend_reward="新人券")
        host = referrals.sign_up(campaign.id, nickname="陈店长", visitor="v-host", agent="wechat")
        self.member_key = secrets.token_urlsafe(16)  # the cookie of a member who did it all
        friend = referrals.sign_up(
            campaign.id,
            nickname="小红",
            visitor=self.member_key,
            agent="wechat",
            ip_hash="friend",
            referrer_code=host.member.code,
        )
        invitations.set_up_program(
            campaign,
            rights="周四专享价",
            offer_url="https://shop.example.cn/vip",
            offer_label="去看",
            valid_days=14,
        )
        invitation = make_invitation(campaign)
        # In progress on the pages' clock (its second day of three), so the member's page
        # shows the check-in form; the member checked in on its first day.
        started = (utcnow() + timedelta(hours=8)).date() - timedelta(days=1)
        challenge = make_challenge(campaign, days=3, finish_days=2, starts_on=started)
        yesterday = datetime.combine(started, time(9)) - timedelta(hours=8)
        checkins.join(challenge, friend.member, now=yesterday)
        checkins.check_in(challenge, friend.member, note="天空很蓝", now=yesterday)
        event = make_event(campaign)
        ticket = events.issue_ticket(event, holder="王丽", member=friend.member)
        self.admin = make_staff("hostile-admin", "admin")
        self.bearer = issue_api_token(self.admin, "hostile")
        reward = Reward.select().first()
        self.values = {
            "slug": campaign.slug,
            "group_id": group.id,
            "digest": group.qr_digest,
            "activity_id": event.id,
            "event_id": event.id,
            "response_id": Response.select().first().id,
            "reward_id": reward.id if reward else 1,
            "referral_id": Referral.select().first().id,
            "invitation_id": invitation.id,
            "ticket_id": ticket.id,
            "token_id": ApiToken.select().first().id,
            "fmt": "png",
        }
        self.tokens = {"checkins.ticket": ticket.token, "invitations.": invitation.token}

    def path_values(self, rule) -> dict:
        values = {name: self.values.get(name) for name in rule.arguments}
        if "token" in values:
            values["token"] = next(t for p, t in self.tokens.items() if rule.endpoint.startswith(p))
        return values


class Attack:
    """Sends requests, counting them and keeping every 5xx as (method, url, field, value)."""

    def __init__(self, app, seeded):
        self.app, self.seeded = app, seeded
        self.admin = app.test_client()
        self.member = app.test_client()
        self.member.set_cookie(VISITOR_COOKIE, seeded.member_key)
        self.members = []  # fresh visitors who sent a public form, for their pages afterwards
        self.sent, self.failures, self.query_names = 0, [], {}
        self._login()

    def _login(self):
        response = StaffActions(self.admin).login("hostile-admin", STAFF_PASSWORD)
        assert response.status_code == 302

    def send(self, client, method, url, what, **kw):
        self.sent += 1
        response = client.open(url, method=method, **kw)
        if response.status_code >= 500:
            self.failures.append((response.status_code, method, url, what))
        if method == "GET" and response.status_code == 302 and "_qbv=" in response.location:
            # A member page's cookie check: a browser follows it, with the cookie it was given.
            return self.send(client, method, response.location, what, **kw)
        return response

    def page(self, client, url, what="page"):
        response = self.send(client, "GET", url, what)
        if response.status_code != 200 or response.mimetype != "text/html":
            return Forms()
        parser = Forms()
        parser.feed(response.get_data(as_text=True))
        for href in parser.links + [f["action"] for f in parser.forms if f["method"] == "GET"]:
            self._note_query(href)
        for form in parser.forms:
            if form["method"] == "GET":
                self._note_query(form["action"] or url, form["fields"])
        return parser

    def _note_query(self, href, fields=None):
        parts = urlsplit(href)
        if parts.netloc or not parts.path.startswith("/"):
            return
        names = {name for name, _ in parse_qsl(parts.query)} | set(fields or ())
        try:
            endpoint, _ = self.app.url_map.bind("localhost").match(parts.path, method="GET")
        except Exception:  # a link to a page of another method, or to none
            return
        self.query_names.setdefault(endpoint, set()).update(names)

    def submit(self, client, form, page_url, fields, what, bomb=False):
        """POST the form as a browser would, from its page, with its CSRF token; a form of a
        page seen by a new visitor is sent by a new visitor each time."""
        fresh = client not in (self.admin, self.member)
        client = self.app.test_client() if fresh else client
        token = ""
        for again in self.page(client, page_url, "form page").forms:
            token = again["fields"].get("csrf_token", token)
        data = {**fields, "csrf_token": token}
        if bomb:
            for name in form["files"]:
                data[name] = (io.BytesIO(bomb_png()), "bomb.png", "image/png")
        response = self.send(client, "POST", form["action"], what, data=data)
        if client is self.admin and "/console/login" in response.headers.get("Location", ""):
            self._login()
        if fresh:
            self.members.append(client)


def _routes(app, method):
    for rule in app.url_map.iter_rules():
        if method in rule.methods and not rule.endpoint.startswith(NOT_CRAWLED):
            yield rule


def _url(app, rule, values, query=None):
    adapter = app.url_map.bind("localhost")
    return adapter.build(rule.endpoint, {**values, **(query or {})}, method="GET")


def _pages(app, seeded):
    """Every GET route's URL with the seeded ids (API routes apart)."""
    for rule in _routes(app, "GET"):
        if not rule.rule.startswith("/api/"):
            yield rule, _url(app, rule, seeded.path_values(rule))


def _attack_forms(attack, app, seeded):
    """Each page as staff (the console), as a new visitor and as a member (the rest); a GET
    form's answer (the VIP preview) is a page too."""
    pages = [
        (
            url,
            (attack.admin,) if url.startswith("/console/") else (app.test_client(), attack.member),
        )
        for _, url in _pages(app, seeded)
    ]
    seen, visited = set(), set()
    for url, clients in pages:
        for client in clients:
            found = attack.page(client, url)
            for link in found.links:  # the same page with a choice made (?template=…)
                if urlsplit(link).path == urlsplit(url).path and link not in visited:
                    visited.add(link)
                    pages.append((link, (client,)))
            for form in found.forms:
                form["action"] = urljoin(url, form["action"])
                fields = {k: v or "" for k, v in form["fields"].items() if k != "csrf_token"}
                if form["method"] == "GET":
                    target = form["action"] + "?" + urlencode(fields)
                    if target not in visited:
                        visited.add(target)
                        pages.append((target, (client,)))
                    continue
                key = (form["action"], tuple(sorted(fields)), tuple(sorted(form["files"])))
                if not (fields or form["files"]) or key in seen:
                    continue  # revoke and log-out buttons carry nothing to be hostile with
                seen.add(key)
                _attack_form(attack, client, form, url, fields)
    return len(seen)


def _attack_form(attack, client, form, url, fields):
    for label, value in HOSTILE.items():
        every = dict.fromkeys(fields, value)
        attack.submit(client, form, url, every, f"every field = {label}")
    for name in fields:
        for label in EACH_FIELD:
            changed = {**fields, name: HOSTILE[label]}
            attack.submit(client, form, url, changed, f"{name} = {label}")
    if form["files"]:
        attack.submit(client, form, url, fields, "a decompression bomb", bomb=True)


def _attack_queries_and_paths(attack, app, seeded):
    for rule in _routes(app, "GET"):
        if rule.rule.startswith("/api/"):
            continue
        values = seeded.path_values(rule)
        client = attack.admin
        names = attack.query_names.get(rule.endpoint, set()) | {"page", "next"}
        for label, value in HOSTILE.items():
            url = _url(app, rule, values, dict.fromkeys(names, value))
            attack.send(client, "GET", url, f"query {sorted(names)} = {label}")
        for name, known in values.items():
            if isinstance(known, str):
                for label in ("NUL", "control", "10 KB", "emoji"):
                    url = _url(app, rule, {**values, name: HOSTILE[label]})
                    attack.send(client, "GET", url, f"path {name} = {label}")


def _resolved(document, node):
    while "$ref" in node:
        for part in node["$ref"].removeprefix("#/").split("/"):
            document = document[part]
        node = document
    return node


def _attack_api(attack, app, seeded):
    client = app.test_client()
    headers = {"Authorization": f"Bearer {seeded.bearer}"}
    document = client.get("/api/v1/openapi.json").get_json()
    corpus = {**HOSTILE, **JSON_NUMBERS}
    operations = 0
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            if method == "parameters":
                continue
            operations += 1
            params = [_resolved(document, p) for p in operation.get("parameters", [])]
            params += [_resolved(document, p) for p in methods.get("parameters", [])]
            url = path
            for name, known in seeded.values.items():
                url = url.replace("{" + name + "}", str(known))
            query = [p["name"] for p in params if p.get("in") == "query"]
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            fields = list(_resolved(document, body["schema"]).get("properties", {})) if body else []
            for label, value in corpus.items():
                kw = {"headers": headers, "query_string": dict.fromkeys(query, str(value))}
                if fields:
                    kw["json"] = dict.fromkeys(fields, value)
                attack.send(client, method.upper(), url, f"API {label}", **kw)
    return operations


def _everything_renders(attack, app, seeded):
    """Every page again, for every campaign now stored, as the admin and as every member."""
    slugs = [c.slug for c in Campaign.select(Campaign.slug)]
    for rule, url in _pages(app, seeded):
        for slug in slugs if "slug" in rule.arguments else [None]:
            if slug is not None:
                url = _url(app, rule, {**seeded.path_values(rule), "slug": slug})
            attack.send(attack.admin, "GET", url, "afterwards")
            if url.startswith(("/r/", "/c/")):
                for member in attack.members:
                    attack.send(member, "GET", url, "afterwards, as a member")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {seeded.bearer}"}
    for rule in _routes(app, "GET"):
        if rule.rule.startswith("/api/"):
            for slug in slugs if "slug" in rule.arguments else [None]:
                values = {**seeded.path_values(rule), "slug": slug} if slug else {}
                url = _url(app, rule, values)
                attack.send(client, "GET", url, "API afterwards", headers=headers)


def test_no_hostile_input_makes_a_server_error(app):
    seeded = Seeded()
    attack = Attack(app, seeded)
    operations = _attack_api(attack, app, seeded)
    forms = _attack_forms(attack, app, seeded)
    _attack_queries_and_paths(attack, app, seeded)
    # Every StaffSession row the hostile visitors created is still readable, too.
    assert StaffSession.select().count() > 0
    _everything_renders(attack, app, seeded)

    print(
        f"\nhostile input: {attack.sent} requests, {forms} forms, {operations} API operations, "
        f"{len(attack.members)} visitors; {len(attack.failures)} server errors"
    )
    report = "\n".join(" ".join(map(str, failure)) for failure in attack.failures)
    # The walk must reach what it reached when written: every form (the member pages' ones
    # behind the cookie check too) and visitors who sent the public forms.
    assert forms >= 25 and operations >= 13 and attack.sent > 4000 and len(attack.members) > 50
    assert not attack.failures, report


def test_the_bomb_is_a_bomb():
    from PIL import Image

    data = bomb_png()
    assert len(data) < 200_000
    with pytest.raises(Image.DecompressionBombError, match="900000000 pixels"):
        Image.open(io.BytesIO(data))
