"""Who is on the other end of a request: the first-party visitor cookie (or, where the
operator configured an official account, the WeChat user it names), the kind of agent, and
the keyed hash of the IP address (the address itself is never kept)."""

import functools
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from flask import current_app, g, redirect, request, url_for

from miniapp_api import wechat
from miniapp_api.visitors import (
    COUNTED_NEVER,
    VISITOR_COOKIE,
    address_hash,
    classify_agent,
    keyed_hash,
    visitor_key,
)

VISITOR_COOKIE_AGE = 400 * 24 * 3600
# Added to the URL by the one redirect that sets the cookie, as the time it was sent: a request
# carrying a fresh one came back without the cookie, so its client does not keep cookies. A
# stale one (a shared link) counts for nothing. Forging it only makes oneself unproven.
MARKER = "_qbv"
MARKER_FRESH = 120  # seconds
# The nonce that ties a WeChat authorisation to the browser that started it.
WECHAT_NONCE_COOKIE = "qb_wx"
WECHAT_NONCE_AGE = 600
# Where a request's address hash is kept (ip_hash), for the access log to read.
ADDRESS_HASH = "qunbook.address_hash"
# A query of name=value pairs in characters that URL encoding leaves as they are.
PAIR = rb"[A-Za-z0-9_.~-]+=[A-Za-z0-9_.~-]*"
PLAIN_QUERY = re.compile(PAIR + rb"(?:&" + PAIR + rb")*")
MARKED = re.compile(rb"(?:^|&)" + MARKER.encode() + rb"=")
# Where the gate may send someone back to: a path on this site, nothing a browser would read
# as another host ("//evil", "/\\evil") and no control characters.
LOCAL_PATH = re.compile(r"^/(?![/\\])[^\x00-\x20\x7f\\]*$")


@dataclass(frozen=True)
class Visitor:
    key: str
    new: bool  # no valid cookie came with the request: the key was made just now
    agent: str  # wechat, mobile, desktop (people); preview, bot
    ip_hash: str
    # A valid cookie came with the request (a client that keeps cookies, or a WeChat user
    # whose key comes from their openid): only such a visitor can be a new person.
    proven: bool


def current_visitor() -> Visitor:
    """The visitor of this request, read once: the gate and the view see the same key."""
    store = g._get_current_object()  # one context lookup, not one per attribute
    visitor = getattr(store, "visitor", None)
    if visitor is None:
        req = request._get_current_object()
        key, new = visitor_key(req.cookies.get(VISITOR_COOKIE))
        # The header itself: request.user_agent.string is the same text, in a new object.
        agent = classify_agent(req.headers.get("User-Agent", ""))
        visitor = store.visitor = Visitor(key, new, agent, ip_hash(), proven=not new)
    return visitor


def ip_hash() -> str:
    """The keyed hash of the client's address, made once a request and kept in its WSGI
    environ, where the server's access log reads it too (web/worker.py)."""
    environ = request.environ
    value = environ.get(ADDRESS_HASH)
    if value is None:
        value = address_hash(current_app.config["HASH_KEY"], request.remote_addr or "")
        environ[ADDRESS_HASH] = value
    return value


def device_hash() -> str:
    """The keyed hash of the browser's User-Agent: with the address, a signal that the same
    device is back without its cookie (never proof alone: many phones share one)."""
    return agent_device_hash(current_app.config["HASH_KEY"], request.user_agent.string)


@functools.lru_cache(maxsize=512)
def agent_device_hash(key: str, agent: str) -> str:
    """device_hash() of a request whose User-Agent is `agent`."""
    return keyed_hash(key, f"device:{agent}") if agent else ""


def remember(response, visitor: Visitor) -> None:
    """Give a new visitor the cookie that recognises them next time."""
    if visitor.new:
        set_visitor_cookie(response, visitor.key)


def set_visitor_cookie(response, key: str) -> None:
    response.set_cookie(
        VISITOR_COOKIE,
        key,
        max_age=VISITOR_COOKIE_AGE,
        httponly=True,
        samesite="Lax",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )


# ---------------------------------------------------------------- the entry gate


def member_entry(view):
    """For a page whose GET may count a new person: a visitor without a valid cookie is not
    one until their client shows it keeps a cookie. One redirect to the same URL sets it (or,
    in WeChat where an official account is configured, the silent authorisation that names
    the WeChat user); a request that comes back from it without a cookie is served with
    visitor.proven False. Bots and link previews are never counted, so never redirected."""

    @functools.wraps(view)
    def gate(*args, **kwargs):
        visitor = current_visitor()
        if visitor.proven or visitor.agent in COUNTED_NEVER or came_back():
            return view(*args, **kwargs)
        if visitor.agent == "wechat" and wechat_configured():
            return authorize_in_wechat(entry_url())
        response = no_store(redirect(with_marker(entry_url()), code=302))
        remember(response, visitor)
        return response

    return gate


def came_back(now: float | None = None) -> bool:
    sent = request.args.get(MARKER, "")
    now = time.time() if now is None else now
    return sent.isdigit() and 0 <= now - int(sent) <= MARKER_FRESH


def entry_url() -> str:
    """This request's path and query without the marker: what a page may show or link to."""
    raw = request.query_string
    if not raw:
        return request.path
    if PLAIN_QUERY.fullmatch(raw) and not MARKED.search(raw):
        # What a poster's link is (?c=counter&r=M8K2): encoding it again gives the same text.
        return f"{request.path}?{raw.decode('ascii')}"
    query = [(k, v) for k, v in request.args.items(multi=True) if k != MARKER]
    return request.path + (f"?{urlencode(query)}" if query else "")


def with_marker(path: str) -> str:
    return f"{path}{'&' if '?' in path else '?'}{MARKER}={int(time.time())}"


def no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


# ---------------------------------------------------------------- WeChat web authorisation


def wechat_configured() -> bool:
    config = current_app.config
    return bool(config["WECHAT_APPID"] and config["WECHAT_SECRET"])


def wechat_state(nonce: str, next_path: str) -> str:
    """The state WeChat hands back: [a-zA-Z0-9] as it requires, unguessable, and valid only
    for the browser holding the nonce and the path it was made for."""
    message = f"wechat-state\n{nonce}\n{next_path}".encode()
    return hmac.new(current_app.config["SECRET_KEY"].encode(), message, hashlib.sha256).hexdigest()


def authorize_in_wechat(next_path: str):
    config = current_app.config
    nonce = secrets.token_urlsafe(16)
    back = f"{config['PUBLIC_URL']}{url_for('wechat.back')}?{urlencode({'next': next_path})}"
    target = wechat.authorize_url(
        config["WECHAT_AUTHORIZE_URL"], config["WECHAT_APPID"], back, wechat_state(nonce, next_path)
    )
    response = no_store(redirect(target, code=302))
    response.set_cookie(
        WECHAT_NONCE_COOKIE,
        nonce,
        max_age=WECHAT_NONCE_AGE,
        httponly=True,
        samesite="Lax",  # sent on WeChat's top-level redirect back to this site
        secure=config["SESSION_COOKIE_SECURE"],
    )
    return response
