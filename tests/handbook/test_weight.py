"""The handbook stays light on a phone: Mermaid only where a diagram is drawn (and still
offline), text sent gzipped to browsers that take it, links readable (WCAG AA contrast), and
a content page within its transfer budget."""

import gzip
import re
import shutil
from html import escape as html_escape
from pathlib import Path
from types import SimpleNamespace

import pytest
from helpers import handbook_hook, handbook_kit

DIAGRAM = re.compile(r'<pre class="mermaid"')
MERMAID_TAG = re.compile(
    r'<script src="[^"]*assets/javascripts/mermaid-lazy\.js"'
    r' data-src="[^"]*assets/javascripts/mermaid\.min\.js" defer>'
)
TEXT = {".html", ".js", ".css", ".json", ".svg", ".xml", ".txt"}
LONGEST_PLAYBOOK = "playbooks/check-in-challenge/"
KB = 1024
# Everything a content page transfers before search is opened (the search index waits for that).
PAGE_BUDGET = 300 * KB


ROOT = Path(__file__).resolve().parents[2]
HOOKS = ROOT / "handbook" / "hooks"


def pages(site: Path) -> dict[str, str]:
    return {
        str(p.parent.relative_to(site)): p.read_text(encoding="utf-8")
        for p in site.rglob("index.html")
    }


def test_no_page_loads_mermaid_every_diagram_is_its_picture(built):
    site, _ = built
    shown = {name: html.count('<figure class="diagram"><a') for name, html in pages(site).items()}
    assert shown["playbooks/check-in-challenge"] == 1 and shown["."] == 1
    assert sum(shown.values()) >= 26
    for name, html in pages(site).items():
        assert not DIAGRAM.search(html), name
        assert "mermaid" not in html, name


def test_a_diagram_without_its_picture_is_still_drawn_by_mermaid_in_the_browser():
    diagrams, weight = handbook_hook("diagrams"), handbook_hook("weight")
    page = SimpleNamespace(url="playbooks/new/", file=SimpleNamespace(src_path="playbooks/new.md"))
    html = (
        '<html><head></head><body><pre class="mermaid"><code>flowchart LR\n'
        "    A[&quot;新画的图&quot;] --&gt; B[&quot;还没画成图片&quot;]</code></pre></body></html>"
    )
    kept = diagrams.on_post_page(html, page, {})
    assert kept == html
    tagged = weight.on_post_page(kept, page, {})
    assert len(MERMAID_TAG.findall(tagged)) == 1
    assert '<script src="../../assets/javascripts/mermaid-lazy.js"' in tagged


def test_every_text_file_has_a_gzip_copy_of_itself(built):
    site, _ = built
    texts = [p for p in site.rglob("*") if p.suffix in TEXT and p.is_file()]
    assert len(texts) > 40
    for path in texts:
        packed = path.with_name(path.name + ".gz")
        if packed.is_file():
            assert gzip.decompress(packed.read_bytes()) == path.read_bytes(), path
    big = [p for p in texts if p.stat().st_size > 4 * KB]
    assert all(p.with_name(p.name + ".gz").is_file() for p in big)


FILES = [
    "index.html",
    f"{LONGEST_PLAYBOOK}index.html",
    "search/search_index.json",
    "assets/javascripts/mermaid.min.js",
    "404.html",
    "assets/stylesheets/",  # main.<hash>.min.css
]


def served(client, url, **headers):
    with client.get(url, headers=headers) as response:  # file responses must be closed
        return response.status_code, response.get_data(), response.headers


@pytest.mark.parametrize("name", FILES)
def test_text_is_sent_gzipped_to_a_browser_that_takes_it(built, app, client, name):
    site, _ = built
    app.config["HANDBOOK_DIR"] = str(site)
    if name.endswith("/"):  # the stylesheet's name carries a hash
        name = next((site / name).glob("main.*.min.css")).relative_to(site).as_posix()
    plain_file = (site / name).read_bytes()
    url = "/handbook/" + name.removesuffix("index.html")

    status, plain, plain_headers = served(client, url)
    assert status == 200 and plain == plain_file
    assert "Content-Encoding" not in plain_headers
    assert "Accept-Encoding" in plain_headers["Vary"]

    status, body, headers = served(client, url, **{"Accept-Encoding": "gzip, deflate, br"})
    assert status == 200
    assert headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in headers["Vary"]
    assert headers["Content-Type"] == plain_headers["Content-Type"]
    assert int(headers["Content-Length"]) == len(body) < len(plain_file)
    assert gzip.decompress(body) == plain_file
    assert headers.get("Content-Security-Policy") == plain_headers.get("Content-Security-Policy")
    if name.endswith(".html"):
        assert "sha256-" in headers["Content-Security-Policy"]

    status, body, headers = served(client, url, **{"Accept-Encoding": "gzip;q=0, identity"})
    assert body == plain_file and "Content-Encoding" not in headers


def test_a_file_without_a_gzip_copy_is_sent_plain(built, app, client):
    site, _ = built
    app.config["HANDBOOK_DIR"] = str(site)
    status, body, headers = served(
        client, "/handbook/assets/images/favicon.png", **{"Accept-Encoding": "gzip"}
    )
    assert status == 200 and "Content-Encoding" not in headers
    assert body == (site / "assets/images/favicon.png").read_bytes()
    assert served(client, "/handbook/nope.html", **{"Accept-Encoding": "gzip"})[0] == 404
    assert served(client, "/handbook/../pyproject.toml", **{"Accept-Encoding": "gzip"})[0] == 404


# ---------------------------------------------------------------- in Chromium


@pytest.mark.browser
@pytest.mark.slow
def test_a_diagram_is_its_picture_drawn_ahead_of_time(kit, phone):
    phone.goto(f"{kit}/handbook/{LONGEST_PLAYBOOK}", wait_until="networkidle")
    picture = phone.locator("figure.diagram img").first
    picture.scroll_into_view_if_needed()
    phone.wait_for_function("() => document.querySelector('figure.diagram img').complete")
    width, height, alt = picture.evaluate("i => [i.naturalWidth, i.naturalHeight, i.alt]")
    assert width > 300 and height > 100, (width, height)
    assert alt.startswith("图：") and "毕业生进会员群" in alt
    shown = picture.evaluate("i => i.getBoundingClientRect().width")
    assert 300 < shown <= 390  # scaled to the phone
    assert not [u for u in phone.requested if "mermaid" in u]
    assert phone.outside == []
    assert phone.errors == []


FENCE = re.compile(r"^```mermaid\n(.*?)^```$", re.MULTILINE | re.DOTALL)


@pytest.fixture(scope="module")
def unpictured_kit(tmp_path_factory, built):
    """The kit serving a copy of the handbook in which the longest playbook's diagram has no
    picture yet: the page as the build writes it for a diagram just written."""
    site, result = built
    copy = tmp_path_factory.mktemp("unpictured") / "site"
    shutil.copytree(site, copy)
    page_file = copy / LONGEST_PLAYBOOK / "index.html"
    source = (ROOT / "handbook" / LONGEST_PLAYBOOK.rstrip("/")).with_suffix(".md")
    text = FENCE.search(source.read_text(encoding="utf-8"))[1]
    block = f'<pre class="mermaid"><code>{html_escape(text)}</code></pre>'
    page_html = re.sub(
        r'<figure class="diagram">.*?</figure>', lambda _: block, page_file.read_text(), count=1
    )
    page = SimpleNamespace(url=LONGEST_PLAYBOOK)
    page_file.write_text(
        handbook_hook("weight").on_post_page(page_html, page, {}), encoding="utf-8"
    )
    page_file.with_name("index.html.gz").unlink()
    with handbook_kit(tmp_path_factory.mktemp("unpictured-kit"), (copy, result)) as base_url:
        yield base_url


@pytest.mark.browser
@pytest.mark.slow
def test_a_diagram_without_a_picture_is_drawn_offline_by_the_kits_own_mermaid(
    unpictured_kit, browser
):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone = context.new_page()
    requested, errors, outside = [], [], []
    context.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.startswith(unpictured_kit)
            else (outside.append(route.request.url), route.abort())
        ),
    )
    phone.on("request", lambda r: requested.append(r.url))
    phone.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    phone.goto(f"{unpictured_kit}/handbook/{LONGEST_PLAYBOOK}", wait_until="networkidle")
    # The diagram is screens down: Mermaid waits until the reader gets near it.
    assert not [u for u in requested if u.endswith("/mermaid.min.js")]
    phone.locator("pre.mermaid").first.scroll_into_view_if_needed()
    # Material swaps each <pre class="mermaid"> for a <div> holding the drawn SVG (in a closed
    # shadow root, so the SVG itself cannot be queried; its host's size shows it was drawn).
    phone.locator("div.mermaid").first.wait_for(state="attached", timeout=20000)
    assert phone.evaluate("typeof mermaid.mermaidAPI") == "object"  # the real one by now
    size = phone.locator("div.mermaid").first.evaluate("e => [e.offsetWidth, e.offsetHeight]")
    assert size[0] > 300 and size[1] > 20, size
    assert any(u.endswith("/assets/javascripts/mermaid.min.js") for u in requested)
    assert outside == []
    assert errors == []  # no CSP violation
    context.close()


@pytest.mark.browser
@pytest.mark.slow
def test_a_page_without_a_diagram_fetches_no_mermaid(kit, phone):
    phone.goto(f"{kit}/handbook/glossary/", wait_until="networkidle")
    assert not [u for u in phone.requested if "mermaid" in u]
    assert phone.outside == []
    assert phone.errors == []


def contrast(foreground: str, background: str) -> float:
    def luminance(css: str) -> float:
        channels = [int(c) / 255 for c in re.findall(r"[\d.]+", css)[:3]]
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_contrast_ratio_of_known_colours():
    assert round(contrast("rgb(76, 175, 80)", "rgb(255, 255, 255)"), 1) == 2.8  # Material green
    assert contrast("rgb(0, 0, 0)", "rgb(255, 255, 255)") == pytest.approx(21)


@pytest.mark.browser
@pytest.mark.slow
def test_links_and_header_read_at_aa_contrast(kit, phone):
    phone.goto(f"{kit}/handbook/{LONGEST_PLAYBOOK}")
    colours = phone.evaluate(
        """() => {
            const style = (selector, property) =>
                getComputedStyle(document.querySelector(selector))[property];
            return {
                link: style('.md-content .md-typeset a[href]:not(.headerlink)', 'color'),
                page: style('.md-main', 'backgroundColor') === 'rgba(0, 0, 0, 0)'
                    ? getComputedStyle(document.body).backgroundColor
                    : style('.md-main', 'backgroundColor'),
                headerText: style('.md-header', 'color'),
                header: style('.md-header', 'backgroundColor'),
            };
        }"""
    )
    assert contrast(colours["link"], colours["page"]) >= 4.5, colours
    assert contrast(colours["headerText"], colours["header"]) >= 4.5, colours


@pytest.mark.browser
@pytest.mark.slow
def test_the_longest_playbook_fits_its_budget_on_a_phone(kit, phone):
    """Everything the longest playbook transfers, document included, until the page has
    settled (search not opened, not scrolled): at most 300 KB. Sizes are transferSize from the
    page's resource timing, and for what the search worker loads itself (lunr's language
    files), Playwright's request sizes.

    The search index (search/search_index.json, about 260 KB gzipped) is not among them: it is
    fetched when the reader opens search (assets/search/gate.js), and then it is, and search
    answers. Mermaid is not fetched at all: diagrams are pictures drawn ahead of time."""
    worker = {}

    def finished(request):
        sizes = request.sizes()
        worker[request.url] = sizes["responseBodySize"] + sizes["responseHeadersSize"]

    phone.on("requestfinished", finished)
    phone.goto(f"{kit}/handbook/{LONGEST_PLAYBOOK}", wait_until="networkidle")
    timed = dict(
        phone.evaluate(
            """() => [...performance.getEntriesByType('navigation'),
                      ...performance.getEntriesByType('resource')]
                     .map(e => [e.name, e.transferSize])"""
        )
    )
    sizes = {**worker, **timed}
    assert all(size > 0 for size in timed.values()), timed  # nothing from a cache
    report = {u.removeprefix(kit): s for u, s in sorted(sizes.items())}
    assert not [u for u in phone.requested if "search_index" in u], report
    assert not [u for u in sizes if "mermaid" in u], report
    assert any(u.endswith(".svg") for u in sizes), report  # the diagram's picture counted
    assert sum(sizes.values()) <= PAGE_BUDGET, report

    with phone.expect_response(lambda r: r.url.endswith("/search/search_index.json")) as index:
        phone.locator("label.md-header__button[for=__search]").click()
    assert index.value.ok
    assert len(index.value.body()) > 0 and index.value.headers["content-encoding"] == "gzip"
    phone.locator("input[data-md-component=search-query]").fill("打卡")
    first = phone.locator(".md-search-result__item a").first
    first.wait_for(timeout=20000)
    assert "check-in-challenge" in first.get_attribute("href")
    assert phone.outside == []
    assert phone.errors == []
