"""Who is on the other end of a request: the first-party visitor cookie, the kind of agent,
and the keyed hash of the IP address (the address itself is never kept)."""

from dataclasses import dataclass

from flask import current_app, request

from miniapp_api.visitors import VISITOR_COOKIE, classify_agent, keyed_hash, visitor_key

VISITOR_COOKIE_AGE = 400 * 24 * 3600


@dataclass(frozen=True)
class Visitor:
    key: str
    new: bool  # no valid cookie came with the request: the key was made just now
    agent: str  # wechat, mobile, desktop (people); preview, bot
    ip_hash: str


def current_visitor() -> Visitor:
    key, new = visitor_key(request.cookies.get(VISITOR_COOKIE))
    return Visitor(key, new, classify_agent(request.user_agent.string), ip_hash())


def ip_hash() -> str:
    return keyed_hash(current_app.config["HASH_KEY"], request.remote_addr or "")


def device_hash() -> str:
    """The keyed hash of the browser's User-Agent: with the address, a signal that the same
    device is back without its cookie (never proof alone: many phones share one)."""
    agent = request.user_agent.string
    return keyed_hash(current_app.config["HASH_KEY"], f"device:{agent}") if agent else ""


def remember(response, visitor: Visitor) -> None:
    """Give a new visitor the cookie that recognises them next time."""
    if not visitor.new:
        return
    response.set_cookie(
        VISITOR_COOKIE,
        visitor.key,
        max_age=VISITOR_COOKIE_AGE,
        httponly=True,
        samesite="Lax",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )
