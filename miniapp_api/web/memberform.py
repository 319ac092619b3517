"""The CSRF token of every form a visitor who is not staff sees, signed for the visitor
instead of stored.

Flask-WTF keeps its token's secret in the session, and sessions here are database rows: every
referral campaign's join page (the busiest page there is), every VIP invitation, challenge and
door page, and the login page would write one for a form most visitors never send, bots
included, and a table anyone could grow without limit. This token is an HMAC of the visitor
key under SECRET_KEY. The key lives only in the visitor's HttpOnly cookie, so another site can
neither read the cookie nor make the token, and a POST carrying someone else's token (or none)
is refused as Flask-WTF would. Staff forms keep Flask-WTF's token: staff have a session anyway.
"""

import functools
import hashlib
import hmac

from flask import current_app, request
from flask_wtf.csrf import CSRFError

from miniapp_api.web.visitor import current_visitor

FIELD = "csrf_token"


def member_form_token() -> str:
    return token_for(current_app.config["SECRET_KEY"], current_visitor().key)


def token_for(secret_key: str, visitor_key: str) -> str:
    """The member-form token of the visitor whose key is `visitor_key`."""
    message = f"member-form\n{visitor_key}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()


def check_member_form_token() -> None:
    """Refuse the request (400, the page Flask-WTF's refusals get) unless it carries the token
    of its own visitor. A visitor without a cookie has a key minted just now: never a match."""
    config = current_app.config
    if not config["WTF_CSRF_ENABLED"] or request.method not in config["WTF_CSRF_METHODS"]:
        return  # the switch Flask-WTF's check obeys, so tests that turn it off reach the view
    # Compared as bytes: compare_digest refuses str with non-ASCII characters (a TypeError, so
    # a 500, for a token of 汉字 or emoji).
    sent = request.form.get(FIELD, "").encode()
    if current_visitor().new or not hmac.compare_digest(sent, member_form_token().encode()):
        raise CSRFError("The member form's CSRF token is missing or not this visitor's.")


def member_form(view):
    """For a view whose form carries member_form_token(): checks it, and marks the view so
    that register_capabilities exempts it from Flask-WTF's session-bound check (a view can
    never be exempted without this check)."""

    @functools.wraps(view)
    def checked(*args, **kwargs):
        check_member_form_token()
        return view(*args, **kwargs)

    checked.member_form = True
    return checked


def exempt_member_forms(app) -> None:
    """Exempt every view marked by @member_form; call once the blueprints are registered."""
    for view in app.view_functions.values():
        if getattr(view, "member_form", False):
            app.extensions["csrf"].exempt(view)


def register(app):
    app.add_template_global(member_form_token, "member_form_token")
