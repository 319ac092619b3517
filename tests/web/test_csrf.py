"""CSRF protection (web/csrf.py): every unsafe method needs the form's token; reading a page
never does. Flask-WTF's token lives in the session, which only staff have: the forms visitors
see carry a token signed for their cookie (tests/web/test_anonymous_state.py)."""

import pytest
from flask_wtf.csrf import generate_csrf

from miniapp_api.models import StaffSession


@pytest.fixture
def form(app):
    @app.route("/a-form", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def a_form():
        return generate_csrf()


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_an_unsafe_method_without_the_token_is_refused(client, form, method):
    assert getattr(client, method)("/a-form").status_code == 400


def test_a_page_is_read_without_a_token_and_its_token_is_then_accepted(client, form, login_as):
    login_as("operator")
    page = client.get("/a-form")
    assert page.status_code == 200
    token = page.get_data(as_text=True)
    assert client.post("/a-form", data={"csrf_token": token}).status_code == 200
    assert client.post("/a-form", data={"csrf_token": token + "x"}).status_code == 400


def test_a_session_token_given_to_a_visitor_is_not_kept(client, form):
    """A visitor's session is never stored, so a session-bound form cannot work for them."""
    token = client.get("/a-form").get_data(as_text=True)
    assert client.post("/a-form", data={"csrf_token": token}).status_code == 400
    assert StaffSession.select().count() == 0
