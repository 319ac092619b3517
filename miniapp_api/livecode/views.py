"""The live code a poster points at: /j/<campaign>?c=<channel>."""

from dataclasses import dataclass

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    make_response,
    render_template,
    request,
)

from miniapp_api.checkins import events
from miniapp_api.checkins import rules as checkins
from miniapp_api.console import alerts
from miniapp_api.db import db
from miniapp_api.livecode.rules import HELD_BACK, SLUG, find_live_code, record_scan
from miniapp_api.models import Group, utcnow
from miniapp_api.referrals import rules as referrals
from miniapp_api.visitors import VISITOR_COOKIE, VISITOR_TOKEN, address_hash, classify_agent
from miniapp_api.web.archived import closed_page
from miniapp_api.web.headers import HSTS, SECURITY_HEADERS, strict_transport
from miniapp_api.web.language import browser_locale
from miniapp_api.web.memberform import token_for
from miniapp_api.web.pagecache import TOKEN_SLOT, render_shared
from miniapp_api.web.schema import schema_ready
from miniapp_api.web.visitor import (
    ADDRESS_HASH,
    MARKER,
    PLAIN_QUERY,
    Visitor,
    agent_device_hash,
    current_visitor,
    device_hash,
    entry_url,
    member_entry,
    remember,
)

bp = Blueprint("livecode", __name__)

# What a shared join page is made of besides its campaign and group (pagecache's key).
SHARED_KEYS = ("member_code", "outcome", "invited_by", "retry_url", "staff_alerted")


def campaign_state(campaign) -> tuple:
    """Every field of the campaign the join page can show: find_live_code loads only these,
    so a page keyed by them changes the moment any of them does."""
    return (
        campaign.id,
        campaign.slug,
        campaign.title,
        campaign.description,
        campaign.rules,
        campaign.promise,
        campaign.staff_contact,
        campaign.referral_count_on,
        campaign.channel_archived,
    )


@bp.get("/j/<slug>")
@member_entry
def scan(slug):
    code = request.args.get("c")
    visitor = current_visitor()
    now = utcnow()
    tz = current_app.config["TIMEZONE"]
    # The visitor's count today comes with the campaign: one query for a repeat visitor.
    campaign, channel_id = find_live_code(slug, code, None if visitor.new else visitor.key, now, tz)
    if campaign is None:
        abort(404)
    if campaign.archived_at is not None:
        # Nothing recorded, nothing counted: the campaign is over.
        return closed_page(campaign.title, campaign.staff_contact)
    if code and channel_id is None and not campaign.channel_archived:
        # Never a dead end: the member can still join without the channel being known.
        return render_template("livecode/unknown_channel.html", campaign=campaign), 404

    # HEAD is what link checkers send: recorded like a bot's visit, it never takes a place.
    agent = "bot" if request.method == "HEAD" else visitor.agent
    page = join_page(
        campaign,
        channel_id,
        visitor,
        agent,
        member_code=request.args.get("r"),
        device=device_hash,
        retry_url=entry_url(),
        address_limit=current_app.config["PLACES_PER_ADDRESS"] or None,
        now=now,
        tz=tz,
    )
    if page.key is None:
        html = render_template(page.template, **page.context)
    else:
        html = render_shared(page.key, page.template, **page.context)
    response = make_response(html)
    # Each scan must reach the server to be counted and to see the group open now.
    response.headers["Cache-Control"] = "no-store"
    remember(response, visitor)
    return response


@dataclass(frozen=True)
class JoinPage:
    template: str
    context: dict
    # Set when everyone sent to this group of this campaign sees this page: render_shared's
    # key. None: the page is the visitor's own (their membership, an event, a challenge).
    key: tuple | None


def join_page(
    campaign,
    channel_id: int | None,
    visitor,
    agent: str,
    *,
    member_code: str | None,
    device,
    retry_url: str,
    address_limit: int | None,
    now,
    tz: str,
) -> JoinPage:
    """Count one scan of a live code found running and say what its page shows: what the
    route and the scan lane below share. `visitor` is web.visitor's Visitor; `device`
    returns the device hash, asked for only when a referral is counted."""
    result = record_scan(
        campaign.id,
        channel_id,
        visitor.key,
        agent,
        visitor.ip_hash,
        new_visitor=visitor.new,
        counted_today=campaign.counted_today,
        proven=visitor.proven,
        address_limit=address_limit,
        now=now,
        tz=tz,
    )
    member = invited_by = None
    if campaign.referral_count_on:
        if result.outcome == "sent":
            signals = referrals.Signals(visitor.ip_hash, device())
            if member_code and campaign.referral_count_on == "sent":
                referrals.attribute_scan(
                    campaign.id, member_code, visitor.key, visitor.agent, signals
                )
            elif campaign.referral_count_on == "signup" and not visitor.new:
                # A friend who signed up before being sent to a group counts from now.
                referrals.settle_pending(campaign.id, visitor.key, visitor.agent, signals)
        # Read with the campaign (find_live_code); none for a visitor new to this request.
        member = referrals.JoinPageMember(*campaign.member) if campaign.member else None
        # A friend's landing page says who invited them (not to the inviter herself).
        invited_by = (
            referrals.inviter(campaign.id, member_code)
            if member_code and (member is None or member.code != member_code)
            else None
        )
    event = events.next_event(campaign.id) if campaign.has_events else None
    # The campaign's daily challenge, when there is one to join: a card under the group QR.
    challenge_offer = (
        checkins.join_offer(campaign.id, None if visitor.new else visitor.key, now)
        if campaign.has_challenge
        else None
    )
    if result.outcome in HELD_BACK:
        template = "livecode/held.html"
    elif result.group is None:
        template = "livecode/full.html"
    else:
        template = "livecode/show.html"
    context = {
        "campaign": campaign,
        "group": result.group,
        "member": member,
        "member_code": member_code,
        "event": event,
        "challenge_offer": challenge_offer,
        "outcome": result.outcome,
        "invited_by": invited_by,
        "retry_url": retry_url,
        "staff_alerted": result.group is None and alerts.all_full_notified(campaign.id),
    }
    key = None
    if member is None and event is None and challenge_offer is None:
        group = result.group
        key = (
            campaign_state(campaign),
            group and (group.id, group.name, group.qr_digest),
            *(context[name] for name in SHARED_KEYS),
        )
    return JoinPage(template, context, key)


@bp.get("/j/qr/<int:group_id>-<digest>.png")
def group_qr(group_id, digest):
    group = (
        Group.select(Group.qr_image)
        .where((Group.id == group_id) & (Group.qr_digest == digest))
        .first()
    )
    if group is None or group.qr_image is None:
        abort(404)
    # The digest is in the URL, so a replaced QR gets a new URL and this one never changes.
    return Response(
        bytes(group.qr_image),
        mimetype="image/png",
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )


class ScanLane:
    """The scan a poster brings most, answered without Flask's request machinery.

    Measured in the server (py-spy, scripts/bench/scan.py): Flask's request context, the hooks
    every page runs and the response objects cost a repeat scan about as much as its rules
    and its database work together. A live stream brings thousands of the same request: a
    GET of /j/<slug>, from a visitor whose cookie is known, of a campaign that runs. This
    lane serves that request with the same rules (find_live_code, join_page) and the same
    page cache, and answers the same bytes with the same headers as the route above.

    Anything else goes to Flask untouched, and always before anything is recorded: a first
    visit (the cookie's redirect), HEAD, a query that needs decoding, an unknown, archived
    or unknown-channel campaign, a forwarded address no proxy setting trusts, a database not
    yet checked. A page that is not cached yet, or
    the visitor's own, is rendered in a request context of its own; an error after the
    scan is recorded is answered by the app's error handler, as the route's would be.
    tests/livecode/test_lane.py compares the two answers request for request.
    """

    def __init__(self, app, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app  # everything else, and the fallback
        self.cache = app.extensions["page_cache"]
        self.headers = [
            ("Cache-Control", "no-store"),
            *((name, value) for name, value, _own in SECURITY_HEADERS),
        ]

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") == "GET" and environ.get("PATH_INFO", "")[:3] == "/j/":
            answer = self.serve(environ)
            if answer is not None:
                return answer(environ, start_response)
        return self.wsgi_app(environ, start_response)

    def serve(self, environ):
        """The answer to a scan this lane takes, or None: Flask's to give."""
        app = self.app
        config = app.config
        slug = environ["PATH_INFO"][3:]
        raw = environ.get("QUERY_STRING", "")
        if not SLUG.fullmatch(slug) or not schema_ready(app):
            return None
        if raw and not (raw.isascii() and PLAIN_QUERY.fullmatch(raw.encode())):
            return None
        key = _cookie(environ.get("HTTP_COOKIE", ""), VISITOR_COOKIE)
        if key is None or not VISITOR_TOKEN.match(key):
            return None
        if not config["TRUSTED_PROXIES"] and "HTTP_X_FORWARDED_FOR" in environ:
            return None  # the route warns staff about the proxy
        args, kept = {}, []
        for pair in raw.split("&") if raw else ():
            name, _, value = pair.partition("=")
            args.setdefault(name, value)
            if name != MARKER:  # what a page links to never carries the cookie's marker
                kept.append(pair)
        user_agent = environ.get("HTTP_USER_AGENT", "")
        ip_hash = environ[ADDRESS_HASH] = address_hash(
            config["HASH_KEY"], environ.get("REMOTE_ADDR") or ""
        )
        visitor = Visitor(key, False, classify_agent(user_agent), ip_hash, proven=True)
        now = utcnow()
        tz = config["TIMEZONE"]
        code = args.get("c")
        try:
            try:
                db.connect(reuse_if_open=True)
                campaign, channel_id = find_live_code(slug, code, key, now, tz)
            except Exception:  # nothing recorded yet: Flask answers, its error page included
                return None
            if (
                campaign is None
                or campaign.archived_at is not None
                or (code and channel_id is None and not campaign.channel_archived)
            ):
                return None
            path = "/j/" + slug
            try:
                page = join_page(
                    campaign,
                    channel_id,
                    visitor,
                    visitor.agent,
                    member_code=args.get("r"),
                    device=lambda: agent_device_hash(config["HASH_KEY"], user_agent),
                    retry_url=f"{path}?{'&'.join(kept)}" if kept else path,
                    address_limit=config["PLACES_PER_ADDRESS"] or None,
                    now=now,
                    tz=tz,
                )
                html = self.cached(environ, page, key) or self.render(environ, page, visitor)
            except Exception as error:  # recorded, maybe: the app's error page, as the route
                return self.failed(environ, error)
        finally:
            if not db.is_closed():
                db.close()
        body = html.encode()
        headers = [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Length", str(len(body))),
            *self.headers,
        ]
        if strict_transport(config, environ.get("wsgi.url_scheme", "http")):
            headers.append(HSTS)

        def answer(environ, start_response):
            start_response("200 OK", headers)
            return [body]

        return answer

    def cached(self, environ, page, visitor_key: str) -> str | None:
        """The shared page from the cache, as render_shared keys it and with the visitor's
        form token in its slot; None: not there."""
        script_root = environ.get("SCRIPT_NAME", "")
        if page.key is None or not script_root.isascii():
            return None
        locale = browser_locale(environ.get("HTTP_ACCEPT_LANGUAGE"))
        html = self.cache.get((page.template, locale, script_root.rstrip("/"), page.key))
        if html is not None and TOKEN_SLOT in html:
            html = html.replace(TOKEN_SLOT, token_for(self.app.config["SECRET_KEY"], visitor_key))
        return html

    def render(self, environ, page, visitor) -> str:
        with self.app.request_context(environ):
            g.visitor = visitor
            if page.key is None:
                return render_template(page.template, **page.context)
            return render_shared(page.key, page.template, **page.context)

    def failed(self, environ, error):
        with self.app.request_context(environ):
            return self.app.finalize_request(self.app.handle_user_exception(error))


def _cookie(header: str, name: str) -> str | None:
    """The first value of cookie `name`, where a header of plain name=value pairs has it;
    None otherwise (a quoted value, say: Flask's cookie parser is the one to read that)."""
    if '"' in header:
        return None
    for part in header.split(";"):
        found, sep, value = part.strip().partition("=")
        if sep and found.strip() == name:
            return value.strip()
    return None
