"""Security headers (web/headers.py): the app's own on every response; a view may set its own
policy and referrer rule, never turn off nosniff or framing protection; HSTS on HTTPS."""

from flask import Response

from miniapp_api.web.headers import APP_POLICY


def _own_headers(app):
    @app.get("/own-headers")
    def own_headers():
        response = Response("ok")
        response.headers["Content-Security-Policy"] = "default-src 'none'"
        response.headers["referrer-policy"] = "no-referrer"  # any case: one header
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
        response.headers.add("X-Content-Type-Options", "sniff")
        response.headers.add("X-Content-Type-Options", "again")
        return response


def test_a_views_own_policy_stays_and_framing_and_sniffing_are_always_refused(app, client):
    _own_headers(app)
    headers = client.get("/own-headers").headers
    assert headers.getlist("Content-Security-Policy") == ["default-src 'none'"]
    assert headers.getlist("Referrer-Policy") == ["no-referrer"]
    assert headers.getlist("X-Frame-Options") == ["DENY"]
    assert headers.getlist("X-Content-Type-Options") == ["nosniff"]


def test_a_page_without_its_own_gets_the_apps(client):
    headers = client.get("/no-such-page").headers
    assert headers.getlist("Content-Security-Policy") == [APP_POLICY]
    assert headers.getlist("Referrer-Policy") == ["strict-origin-when-cross-origin"]
    assert headers.getlist("X-Frame-Options") == ["DENY"]
    assert headers.getlist("X-Content-Type-Options") == ["nosniff"]


def test_hsts_on_an_https_site_or_request_only(app, client):
    assert client.get("/no-such-page").headers["Strict-Transport-Security"] == "max-age=31536000"
    app.config["PUBLIC_URL"] = "http://127.0.0.1:5000"
    assert "Strict-Transport-Security" not in client.get("/no-such-page").headers
    secure = client.get("/no-such-page", base_url="https://127.0.0.1:5000")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"
