"""The handbook's own search box, in headless Chromium at a phone's size, against the kit serving
the built handbook: each query in search_queries.json ranks the page that teaches it first, and
a query about nothing the handbook covers shows no results; the same for the English edition's
own search box with English queries. The queries are typed, not modelled:
a model of search in Python once said all was well while the browser ranked 七种群游戏 first
for 群规."""

import json
from contextlib import contextmanager
from pathlib import Path

import pytest
from helpers import chromium, handbook_kit

pytestmark = [pytest.mark.browser, pytest.mark.slow]

QUERIES = json.loads((Path(__file__).parent / "search_queries.json").read_text(encoding="utf-8"))
WAITING = "键入以开始搜索"  # the result meta before anything is typed (Material, zh)
WAITING_EN = "Type to start searching"  # the same, in the English edition
ENGLISH = QUERIES["english"]
HANDBOOK = Path(__file__).resolve().parents[2] / "handbook"


@pytest.fixture(scope="module")
def site(tmp_path_factory, built):
    """The kit on a SQLite file, serving the built handbook at /handbook/, under gunicorn."""
    with handbook_kit(tmp_path_factory.mktemp("kit"), built) as base_url:
        yield base_url


@contextmanager
def typed_search(browser, site: str, edition: str, locale: str, waiting: str, nothing: str):
    """run(query) -> the result pages, best first, as paths under the edition's root ("" for
    its home page), read from the result list Material draws."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=3,
        is_mobile=True,
        has_touch=True,
        locale=locale,
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    root = f"{site}{edition}"
    page.goto(root)
    page.locator('label.md-header__button[for="__search"]').click()
    box = page.locator("input.md-search__input")
    box.wait_for(state="visible")
    meta = page.locator(".md-search-result__meta")

    def results() -> list[str]:
        links = page.eval_on_selector_all(
            "li.md-search-result__item > a.md-search-result__link",
            "links => links.map(a => a.href)",
        )
        return [meta.inner_text(), *links]

    def run(query: str) -> list[str]:
        box.fill("")
        box.press("End")
        page.wait_for_function(
            "w => document.querySelector('.md-search-result__meta').textContent.includes(w)",
            arg=waiting,
        )
        box.press_sequentially(query)
        # Material searches on keyup; characters a Chinese IME commits arrive as text input
        # with no key of their own, and a reader's committing key (space, Enter) comes up
        # after them. End is such a key that changes nothing.
        box.press("End")
        page.wait_for_function(
            "w => !document.querySelector('.md-search-result__meta').textContent.includes(w)",
            arg=waiting,
        )
        # Each keystroke's search answers in its own time: read the list until it stays the
        # same for 150 ms, so the last keystroke's results have replaced the ones before
        # (on a loaded machine one wait of 150 ms was sometimes too short).
        shown, hrefs = None, results()
        for _ in range(40):
            if hrefs == shown:
                break
            shown = hrefs
            page.wait_for_timeout(150)
            hrefs = results()
        assert not errors, errors
        if nothing in meta.inner_text():
            return []
        pages = (href.removeprefix(root).split("#", 1)[0].split("?", 1)[0] for href in hrefs[1:])
        return list(dict.fromkeys(pages))  # a page's sections follow its own link

    yield run
    context.close()


@pytest.fixture(scope="module")
def browser():
    """One Chromium for both editions' search boxes (Playwright runs one at a time)."""
    with chromium() as browser:
        yield browser


@pytest.fixture(scope="module")
def search(browser, site):
    """The Chinese edition's search box, at /handbook/."""
    nothing = "没有"  # 没有找到符合条件的结果: no matching documents
    with typed_search(browser, site, "/handbook/", "zh-CN", WAITING, nothing) as run:
        yield run


@pytest.fixture(scope="module")
def search_en(browser, site):
    """The English edition's search box, at /handbook/en/: its own index, stemmed."""
    with typed_search(browser, site, "/handbook/en/", "en-US", WAITING_EN, "No matching") as run:
        yield run


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


def source(page: str, suffix: str = ".en.md") -> Path:
    """The Markdown file a result path comes from: page.en.md (or page.md), or its index."""
    stem = page.rstrip("/") or "index"
    candidates = [HANDBOOK / f"{stem}{suffix}", HANDBOOK / stem / f"index{suffix}"]
    return next((path for path in candidates if path.exists()), candidates[0])


@pytest.mark.parametrize(("query", "page"), ENGLISH["first"].items())
def test_the_teaching_page_ranks_first_in_english(search_en, query, page):
    pages = [page] if isinstance(page, str) else page
    if not any(source(p).exists() for p in pages):
        pytest.skip(f"{query}: {pages} not translated yet")
    ranked = search_en(query)
    assert ranked and ranked[0] in pages, f"{query}: {ranked[:5]}"


@pytest.mark.parametrize("query", ENGLISH["no_results"])
def test_an_english_query_about_nothing_here_shows_no_results(search_en, query):
    assert search_en(query) == []


def test_the_english_list_is_long_enough_and_its_pages_exist():
    assert len(ENGLISH["first"]) >= 20
    for page in ENGLISH["first"].values():
        for one in [page] if isinstance(page, str) else page:
            stem = one.rstrip("/") or "index"
            assert (HANDBOOK / f"{stem}.md").exists() or (HANDBOOK / stem / "index.md").exists(), (
                one
            )
