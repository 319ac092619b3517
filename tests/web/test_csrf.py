"""CSRF protection (web/csrf.py): every unsafe method needs the form's token; reading a page
never does."""

import pytest
from flask_wtf.csrf import generate_csrf


@pytest.fixture
def form(app):
    @app.route("/a-form", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def a_form():
        return generate_csrf()


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_an_unsafe_method_without_the_token_is_refused(client, form, method):
    assert getattr(client, method)("/a-form").status_code == 400


def test_a_page_is_read_without_a_token_and_its_token_is_then_accepted(client, form):
    page = client.get("/a-form")
    assert page.status_code == 200
    token = page.get_data(as_text=True)
    assert client.post("/a-form", data={"csrf_token": token}).status_code == 200
    assert client.post("/a-form", data={"csrf_token": token + "x"}).status_code == 400
