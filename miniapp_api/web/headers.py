"""Security headers on every response."""

from flask import request

# No inline script anywhere; the handbook blueprint sets its own policy, which allows the
# theme's few inline scripts by their hashes only.
APP_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)

# (name, value, a view may set its own): the rest replace whatever a view set.
SECURITY_HEADERS = (
    ("Content-Security-Policy", APP_POLICY, True),
    ("X-Content-Type-Options", "nosniff", False),
    # Not no-referrer: CSRF protection checks the referrer on HTTPS. A page that holds a
    # key in its URL (a ticket) sets a stricter one of its own.
    ("Referrer-Policy", "strict-origin-when-cross-origin", True),
    ("X-Frame-Options", "DENY", False),
)

HSTS = ("Strict-Transport-Security", "max-age=31536000")


def strict_transport(config, scheme: str) -> bool:
    """Whether a response tells the browser to stay on HTTPS: the site is public over HTTPS,
    or this request came over it (the hook below and the scan lane both ask)."""
    return config["PUBLIC_URL"].startswith("https://") or scheme in ("https", "wss")


def register(app):
    @app.after_request
    def headers(response):
        headers = response.headers
        # One pass: werkzeug's setdefault raises and catches a KeyError per missing name.
        present = {name.lower() for name, _ in headers}
        for name, value, own_allowed in SECURITY_HEADERS:
            if name.lower() not in present:
                headers.add(name, value)
            elif not own_allowed:
                headers[name] = value
        if strict_transport(app.config, request.scheme):
            headers[HSTS[0]] = HSTS[1]
        return response
