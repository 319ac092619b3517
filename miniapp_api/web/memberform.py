"""The CSRF token of a member's sign-up form, signed for the visitor instead of stored.

Flask-WTF keeps its token's secret in the session, and sessions here are database rows: every
referral campaign's join page (the busiest page there is) would write one for a form most
visitors never send. This token is an HMAC of the visitor key under SECRET_KEY. The key lives
only in the visitor's HttpOnly cookie, so another site can neither read the cookie nor make
the token, and a POST carrying someone else's token (or none) is refused as Flask-WTF would.
"""

import hashlib
import hmac

from flask import current_app, request
from flask_wtf.csrf import CSRFError

from miniapp_api.web.visitor import current_visitor

FIELD = "csrf_token"


def member_form_token() -> str:
    key = current_visitor().key
    message = f"member-form\n{key}".encode()
    return hmac.new(current_app.config["SECRET_KEY"].encode(), message, hashlib.sha256).hexdigest()


def check_member_form_token() -> None:
    """Refuse the request (400, the page Flask-WTF's refusals get) unless it carries the token
    of its own visitor. A visitor without a cookie has a key minted just now: never a match."""
    # Compared as bytes: compare_digest refuses str with non-ASCII characters (a TypeError, so
    # a 500, for a token of 汉字 or emoji).
    sent = request.form.get(FIELD, "").encode()
    if current_visitor().new or not hmac.compare_digest(sent, member_form_token().encode()):
        raise CSRFError("The member form's CSRF token is missing or not this visitor's.")


def register(app):
    app.add_template_global(member_form_token, "member_form_token")
