"""The gunicorn worker `qunbook serve` runs: gunicorn's threaded worker, except that a request
line or headers too large for gunicorn get JSON under /api/ and a page in Chinese elsewhere,
instead of gunicorn's bare English HTML. Gunicorn refuses these before the app sees them
(its limits cannot be raised past 8190 bytes), so the answer is written here.

And its access log, which keeps what the database may keep: the keyed hash of the client's
address instead of the address, and URLs without the tokens that are credentials."""

import contextlib
import functools
import json
import re
import socket
import threading

from gunicorn import glogging, util
from gunicorn.http.errors import LimitRequestHeaders, LimitRequestLine
from gunicorn.workers.gthread import DEFAULT_WORKER_DATA_TIMEOUT, ThreadWorker

from miniapp_api.i18n import _, current_locale, lazy_gettext
from miniapp_api.visitors import without_secrets
from miniapp_api.web.visitor import ADDRESS_HASH

TOO_LARGE = {
    LimitRequestLine: (
        414,
        "URI Too Long",
        "uri_too_long",
        "The URL is too long: send long values in a JSON body instead.",
        lazy_gettext("链接太长了：请回到上一页重新打开，或重新扫描海报上的二维码。"),
    ),
    LimitRequestHeaders: (
        431,
        "Request Header Fields Too Large",
        "headers_too_large",
        "The request headers are too large: send fewer or shorter headers.",
        lazy_gettext("请求太大了：请清除这个网站的 Cookie 后再打开。"),
    ),
}
PAGE = (
    '<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    "<title>{title}</title></head><body><h1>{heading}</h1><p>{hint}</p></body></html>"
)


def error_body(kind: type, path: bytes) -> tuple[str, bytes]:
    """(content type, body) for a request gunicorn refused, as the app would answer it."""
    code, _reason, name, message, hint = TOO_LARGE[kind]
    if path.startswith(b"/api/"):
        body = {"error": {"status": code, "code": name, "message": message}}
        return "application/json", json.dumps(body).encode()
    # No request exists yet, so no Accept-Language was read: the kit's first language.
    page = PAGE.format(
        lang="zh-CN" if current_locale() == "zh" else current_locale(),
        title=_("打不开"),
        heading=_("打不开这个页面"),
        hint=str(hint),
    )
    return "text/html; charset=utf-8", page.encode()


class Worker(ThreadWorker):
    """Peeks at the start of each request (without reading it) so that an error gunicorn
    raises before any request object exists can still tell an API call from a page."""

    peeked = threading.local()

    def handle(self, conn):
        start = b""
        # The same wait gunicorn's handle() makes for a new connection (it returns at once
        # once data_ready is set); without it the peek could come before the request.
        if conn.initialized or conn.wait_for_data(DEFAULT_WORKER_DATA_TIMEOUT):
            # A TLS socket cannot be peeked at: people get the page, and never a 500.
            with contextlib.suppress(OSError):
                start = conn.sock.recv(64, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        self.peeked.path = start.partition(b" ")[2]
        return super().handle(conn)

    def handle_error(self, req, client, addr, exc):
        kind = next((k for k in TOO_LARGE if isinstance(exc, k)), None)
        if kind is None:
            return super().handle_error(req, client, addr, exc)
        status, reason = TOO_LARGE[kind][:2]
        content_type, body = error_body(kind, getattr(self.peeked, "path", b""))
        self.log.warning("Refused a request: %s", exc)  # no address: logs keep none
        head = (
            f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        try:
            util.write_nonblock(client, head.encode("latin-1") + body)
        except OSError:
            self.log.debug("Failed to send error message.")
        return None


# Headers and environ entries that hold an address or a credential: never logged.
UNLOGGED = {
    "x-forwarded-for",
    "x-real-ip",
    "forwarded",
    "cookie",
    "set-cookie",
    "authorization",
    "remote_addr",
    "remote_port",
    "http_x_forwarded_for",
    "http_x_real_ip",
    "http_forwarded",
    "http_cookie",
    "http_authorization",
}


class AccessLogger(glogging.Logger):
    """gunicorn's logger, whose access log format sees the keyed hash of the client's address
    as %(h)s and every URL, header and environ value with its secrets hidden, whatever
    --access-logformat asks for.

    Only the atoms the format names are kept: gunicorn offers every request header, response
    header and environ entry, and hiding secrets in all of them cost more than the rest of
    the log line (measured: the access log was a quarter of a scan's time in the worker)."""

    def atoms(self, resp, req, environ, request_time):
        named = _named(self.cfg.access_log_format)
        if any(key.startswith("{") for key in named):
            atoms = super().atoms(resp, req, environ, request_time)
        else:
            # The default format names no header or environ entry: gunicorn's atoms without
            # its three copies of every header and environ entry (a tenth of a scan's time
            # in the worker went to the access log, most of it to those).
            standard = {key: environ[key] for key in STANDARD_ENVIRON if key in environ}
            atoms = super().atoms(_WithoutHeaders(resp), (), standard, request_time)
        kept = {}
        for key in named:
            if key not in atoms:
                continue
            value = atoms[key]
            if key == "h":
                # Set by the app (web/accesslog.py); "-" for what gunicorn answered on its own.
                value = environ.get(ADDRESS_HASH, "-")
            elif key in ("r", "U", "q", "f"):
                value = without_secrets(value or "")
            elif key.startswith("{"):
                name = key[1 : key.index("}")]
                if name in UNLOGGED or name.startswith("werkzeug.") or not isinstance(value, str):
                    value = "-"
                else:
                    value = without_secrets(value)
            kept[key] = value
        return kept


# The environ entries gunicorn's standard atoms (h, r, U, q, f, a …) are made of.
STANDARD_ENVIRON = (
    "REMOTE_ADDR",
    "REQUEST_METHOD",
    "RAW_URI",
    "SERVER_PROTOCOL",
    "PATH_INFO",
    "QUERY_STRING",
    "HTTP_REFERER",
    "HTTP_USER_AGENT",
    "HTTP_AUTHORIZATION",
)


class _WithoutHeaders:
    """A response as gunicorn's atoms() reads it, without its headers."""

    __slots__ = ("sent", "status")
    headers = ()

    def __init__(self, resp):
        self.status = resp.status
        self.sent = getattr(resp, "sent", None)


@functools.cache
def _named(log_format: str) -> tuple[str, ...]:
    """The atoms a log format names, as gunicorn's atoms are keyed (headers and environ
    entries lower-cased)."""
    names = re.findall(r"%\(([^)]*)\)", log_format)
    return tuple(dict.fromkeys(name.lower() if name.startswith("{") else name for name in names))
