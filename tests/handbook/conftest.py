"""The handbook's browser fixtures: one Chromium per module, the kit serving the built
handbook under gunicorn, and a phone that can reach nothing but the kit."""

import pytest
from helpers import chromium, handbook_kit


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


@pytest.fixture(scope="module")
def kit(tmp_path_factory, built):
    """A live kit serving the built handbook under gunicorn."""
    with handbook_kit(tmp_path_factory.mktemp("kit"), built) as base_url:
        yield base_url


@pytest.fixture
def phone(browser, kit):
    """A phone at 390×844 that can reach nothing but the kit: what it asked for elsewhere is in
    .outside, every request in .requested, console errors and uncaught exceptions in .errors."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    page = context.new_page()
    page.outside = []
    page.requested = []
    page.errors = []

    def only_the_kit(route):
        if route.request.url.startswith(kit):
            route.continue_()
        else:
            page.outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_kit)
    page.on("request", lambda r: page.requested.append(r.url))
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: page.errors.append(f"{error.message}\n{error.stack}"))
    yield page
    context.close()
