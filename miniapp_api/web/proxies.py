"""Requests that came through a proxy the kit was not told about.

Behind nginx without QUNBOOK_TRUSTED_PROXIES every request seems to come from the proxy's
address: the login throttle and the per-address limit on group places then treat all people
as one. A request carrying X-Forwarded-For while no proxy is trusted is the sign: the first
one a process sees is logged, once, and the console's 需要处理 page says what to set (it also
sees the staff member's own request, which came through the same proxy; the words are
console/attention.py's).
"""

import threading

from flask import current_app, request

HEADER = "X-Forwarded-For"


class ForwardedSeen:
    """Whether this process has answered a forwarded request while trusting no proxy."""

    def __init__(self):
        self.seen = False
        self.lock = threading.Lock()

    def first(self) -> bool:
        """True for the first call only, whichever thread makes it."""
        if self.seen:  # every later request: no lock
            return False
        with self.lock:
            first, self.seen = not self.seen, True
            return first


def forwarded_without_trust() -> bool:
    """For the console: this process, or this very request, came through an untrusted proxy."""
    seen = current_app.extensions["forwarded_seen"]
    return not current_app.config["TRUSTED_PROXIES"] and (seen.seen or HEADER in request.headers)


def register(app):
    seen = app.extensions["forwarded_seen"] = ForwardedSeen()
    if app.config["TRUSTED_PROXIES"]:
        return

    @app.before_request
    def notice_untrusted_proxy():
        if HEADER in request.headers and seen.first():
            app.logger.warning(
                "Requests carry X-Forwarded-For but QUNBOOK_TRUSTED_PROXIES is 0: every client"
                " seems to be the proxy. Set QUNBOOK_TRUSTED_PROXIES=1 behind one proxy."
            )
