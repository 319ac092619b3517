"""Server-side sessions for flask.session, stored in the database.

The cookie carries only a random token; the row holds the data. Logging out or changing a
password deletes rows, so an old cookie replayed afterwards finds nothing. A request that
never touches the session (every member page) costs no query and sets no cookie, and only a
staff member's session is ever stored: a visitor who is not staff never gets a row.
"""

import hashlib
import json
import secrets
from datetime import timedelta

from flask.sessions import SessionInterface, SessionMixin
from werkzeug.datastructures import CallbackDict

from miniapp_api.models import StaffSession, utcnow

LIFETIME = timedelta(hours=12)


class DatabaseSession(CallbackDict, SessionMixin):
    def __init__(self, initial=None, token=None):
        def on_update(session):
            session.modified = True

        super().__init__(initial, on_update)
        self.token = token
        self.modified = False
        self.rotate = False


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class DatabaseSessionInterface(SessionInterface):
    def open_session(self, app, request):
        token = request.cookies.get(self.get_cookie_name(app))
        if not token or len(token) > 100:
            return DatabaseSession()
        row = (
            StaffSession.select(StaffSession.data)
            .where((StaffSession.token_hash == _hash(token)) & (StaffSession.expires_at > utcnow()))
            .first()
        )
        if row is None:
            return DatabaseSession()
        return DatabaseSession(json.loads(row.data), token=token)

    def save_session(self, app, session, response):
        name = self.get_cookie_name(app)
        domain = self.get_cookie_domain(app)
        path = self.get_cookie_path(app)
        if session.token and (not session or session.rotate):
            # Logged out, or logging in: the old token must never work again.
            StaffSession.delete().where(StaffSession.token_hash == _hash(session.token)).execute()
            if not session:
                response.delete_cookie(name, domain=domain, path=path)
                return
            session.token = None
        if not session or not (session.modified or session.token is None):
            return  # empty or unchanged: nothing to write
        if session.token is None and "staff_id" not in session:
            # Only staff get a row. The forms visitors see carry a token signed for their
            # cookie (web/memberform.py); anything else put in a visitor's session is dropped
            # rather than stored for every bot that opens a page.
            return
        expires = utcnow() + LIFETIME
        data = json.dumps(dict(session))
        staff_id = session.get("staff_id")
        if session.token is None:
            session.token = secrets.token_urlsafe(32)
            StaffSession.create(
                token_hash=_hash(session.token), staff=staff_id, data=data, expires_at=expires
            )
        else:
            StaffSession.update(data=data, staff=staff_id, expires_at=expires).where(
                StaffSession.token_hash == _hash(session.token)
            ).execute()
        response.set_cookie(
            name,
            session.token,
            max_age=int(LIFETIME.total_seconds()),
            domain=domain,
            path=path,
            httponly=True,
            secure=self.get_cookie_secure(app),
            samesite=self.get_cookie_samesite(app),
        )
