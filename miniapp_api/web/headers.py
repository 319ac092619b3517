"""Security headers on every response."""

from flask import request

# No inline script anywhere; the handbook blueprint sets its own policy, which allows the
# theme's few inline scripts by their hashes only.
APP_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def register(app):
    @app.after_request
    def headers(response):
        response.headers.setdefault("Content-Security-Policy", APP_POLICY)
        response.headers["X-Content-Type-Options"] = "nosniff"
        # Not no-referrer: CSRF protection checks the referrer on HTTPS. A page that holds a
        # key in its URL (a ticket) sets a stricter one of its own.
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        response.headers["X-Frame-Options"] = "DENY"
        if request.is_secure or app.config["PUBLIC_URL"].startswith("https://"):
            response.headers["Strict-Transport-Security"] = "max-age=31536000"
        return response
