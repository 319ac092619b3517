"""The handbook's own search box, in headless Chromium at a phone's size, against the kit serving
the built handbook: each query in search_queries.json ranks the page that teaches it first, and
a query about nothing the handbook covers shows no results. The queries are typed, not modelled:
a model of search in Python once said all was well while the browser ranked 七种群游戏 first
for 群规."""

import json
from pathlib import Path

import pytest
from helpers import chromium, handbook_kit

pytestmark = [pytest.mark.browser, pytest.mark.slow]

QUERIES = json.loads((Path(__file__).parent / "search_queries.json").read_text(encoding="utf-8"))
WAITING = "键入以开始搜索"  # the result meta before anything is typed (Material, zh)


@pytest.fixture(scope="module")
def site(tmp_path_factory, built):
    """The kit on a SQLite file, serving the built handbook at /handbook/, under gunicorn."""
    with handbook_kit(tmp_path_factory.mktemp("kit"), built) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def search(site):
    """search(query) -> the result pages, best first, as paths under /handbook/ ("" for the
    home page), read from the result list Material draws."""
    with chromium() as browser:
        context = browser.new_context(
            viewport={"width": 390, "height": 844},
            device_scale_factor=3,
            is_mobile=True,
            has_touch=True,
            locale="zh-CN",
        )
        page = context.new_page()
        page.set_default_timeout(10_000)
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{site}/handbook/")
        page.locator('label.md-header__button[for="__search"]').click()
        box = page.locator("input.md-search__input")
        box.wait_for(state="visible")
        meta = page.locator(".md-search-result__meta")
        root = f"{site}/handbook/"

        def run(query: str) -> list[str]:
            box.fill("")
            box.press("End")
            page.wait_for_function(
                "w => document.querySelector('.md-search-result__meta').textContent.includes(w)",
                arg=WAITING,
            )
            box.press_sequentially(query)
            # Material searches on keyup; characters a Chinese IME commits arrive as text input
            # with no key of their own, and a reader's committing key (space, Enter) comes up
            # after them. End is such a key that changes nothing.
            box.press("End")
            page.wait_for_function(
                "w => !document.querySelector('.md-search-result__meta').textContent.includes(w)",
                arg=WAITING,
            )
            page.wait_for_timeout(150)  # let the last keystroke's results replace the first's
            assert not errors, errors
            if "没有" in meta.inner_text():  # 没有找到符合条件的结果
                return []
            hrefs = page.eval_on_selector_all(
                "li.md-search-result__item > a.md-search-result__link",
                "links => links.map(a => a.href)",
            )
            pages = (href.removeprefix(root).split("#", 1)[0].split("?", 1)[0] for href in hrefs)
            return list(dict.fromkeys(pages))  # a page's sections follow its own link

        yield run
        context.close()


@pytest.mark.parametrize(("query", "page"), QUERIES["first"].items())
def test_the_teaching_page_ranks_first(search, query, page):
    pages = [page] if isinstance(page, str) else page
    ranked = search(query)
    assert ranked and ranked[0] in pages, f"{query}: {ranked[:5]}"


@pytest.mark.parametrize("query", QUERIES["no_results"])
def test_a_query_about_nothing_here_shows_no_results(search, query):
    assert search(query) == []


@pytest.mark.parametrize(("query", "page"), QUERIES["known_failing"].items())
def test_known_failing_queries_still_fail(search, query, page):
    """Recorded so the list stays honest: when one starts passing, move it to "first"."""
    ranked = search(query)
    assert ranked[:1] != [page], f"{query} now ranks {page} first: move it to 'first'"


def test_the_list_is_long_enough_and_well_formed():
    first = QUERIES["first"]
    assert len(first) + len(QUERIES["known_failing"]) >= 30
    for query in [*first, *QUERIES["known_failing"], *QUERIES["no_results"]]:
        assert 2 <= len(query.replace(" ", "")) <= 6, query
