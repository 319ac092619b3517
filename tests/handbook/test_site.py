"""The handbook builds strictly, finds its own terms, stays in its own words, and every
live-example link it prints opens a working page of the mini-app."""

import json
import math
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HANDBOOK = ROOT / "handbook"
SEEDS = ROOT.parent / "shared" / "seeds"
sys.path.insert(0, str(ROOT / "scripts"))

import copycheck  # noqa: E402


def test_strict_build_passes_with_link_and_anchor_validation(built):
    site, result = built
    warnings = [line for line in result.stderr.splitlines() if "WARNING" in line]
    assert result.returncode == 0, result.stderr[-3000:]
    assert warnings == []
    assert (site / "index.html").is_file()


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs += [value for name, value in attrs if name == "href" and value]


LIVE = re.compile(r"^/(j|r|vip|posters|c|t)/")


def live_links(site: Path) -> set[str]:
    found = set()
    for page in site.rglob("*.html"):
        parser = Links()
        parser.feed(page.read_text(encoding="utf-8"))
        found |= {href for href in parser.hrefs if LIVE.match(href)}
    return found


def test_every_live_example_link_opens_a_working_page(built, app, client, runner):
    site, _ = built
    assert runner.invoke(args=["demo"]).exit_code == 0
    links = live_links(site)
    assert {"/j/demo?c=counter", "/j/demo-fission", "/r/demo-fission/top"} <= links
    assert "/vip/demo-invitation-wangli" in links
    assert {"/c/demo-challenge", "/c/demo-challenge/wall", "/j/demo-meetup"} <= links
    assert "/t/demo-ticket-wangxiaohong-0000000" in links
    for href in sorted(links):
        response = client.get(href, headers={"User-Agent": "Mozilla/5.0 (iPhone) Mobile"})
        # A handbook may show a dead link on purpose, to teach what it looks like.
        assert response.status_code == (404 if "/no-such-" in href else 200), href
        if href.startswith("/j/"):
            assert "长按上方二维码" in response.get_data(as_text=True), href


def test_app_serves_the_built_handbook(built, app, client):
    site, _ = built
    app.config["HANDBOOK_DIR"] = str(site)

    def fetch(url):
        with client.get(url) as response:  # file responses must be closed
            return response.status_code, response.get_data(as_text=True), response.headers

    status, page, _ = fetch("/handbook/")
    assert status == 200 and "Qunbook" in page
    assert fetch("/handbook")[0] == 301
    assert fetch("/handbook/playbooks/live-code/")[0] == 200
    assert fetch("/handbook/playbooks/live-code")[2]["Location"].endswith("/live-code/")
    status, index, _ = fetch("/handbook/search/search_index.json")
    assert status == 200 and '"docs"' in index
    assert fetch("/handbook/../pyproject.toml")[0] == 404
    assert fetch("/handbook/nope/")[0] == 404


def test_missing_handbook_build_gets_a_helpful_page(app, client, tmp_path):
    app.config["HANDBOOK_DIR"] = str(tmp_path / "not-built")
    response = client.get("/handbook/")
    assert response.status_code == 404
    assert "make run" in response.get_data(as_text=True)


# ---------------------------------------------------------------- search

SEPARATOR = re.compile(r"[\s\u200b\-]+")
# The pages a reader searching each term should land on first. Where a term is both taught
# by a playbook and defined by a role page, either is right; the glossary never is.
EXPECTED = {
    "裂变": {"playbooks/fission/"},
    "群规": {"template/group-rules/"},
    "陪聊": {"playbooks/seed-users/", "staffing/roles/"},
    "粘性": {"metrics/", "playbooks/seed-users/"},
    "舵主": {"playbooks/many-groups/", "staffing/roles/"},
    "打卡": {"playbooks/check-in-challenge/"},
    "集赞": {"playbooks/fission/"},
    "活码": {"playbooks/live-code/"},
}


def search(index: dict, term: str) -> list[str]:
    """Pages in the order Material's search shows them for `term`.

    Like lunr in the browser: each section is a document; a field scores by BM25 (k1 1.2,
    b 0.75) times the boost the index's own config gives it (titles far above text); the
    term must be a whole token as jieba cut it at build time. A page ranks by its best section.
    A model of the index, quick to run; what a reader sees is tested by typing into the real
    search box (test_search_browser.py), since the browser's query handling is not modelled here.
    """
    fields = {name: spec["boost"] for name, spec in index["config"]["fields"].items()}
    docs = index["docs"]
    tokens = {
        name: [SEPARATOR.split(re.sub(r"<[^>]+>", " ", d.get(name) or "")) for d in docs]
        for name in fields
    }
    best: dict[str, float] = {}
    for name, boost in fields.items():
        lengths = [len(t) for t in tokens[name]]
        average = sum(lengths) / len(lengths) or 1
        df = sum(term in t for t in tokens[name])
        idf = math.log(1 + (len(docs) - df + 0.5) / (df + 0.5))
        for doc, words, length in zip(docs, tokens[name], lengths, strict=True):
            tf = words.count(term)
            if not tf:
                continue
            score = boost * idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * length / average))
            score *= doc.get("boost", 1)
            page = doc["location"].split("#", 1)[0]
            best[page] = max(best.get(page, 0), score)
    return sorted(best, key=best.get, reverse=True)


@pytest.mark.parametrize(("term", "pages"), EXPECTED.items())
def test_chinese_search_finds_the_right_page(built, term, pages):
    site, _ = built
    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    ranked = search(index, term)
    assert ranked, f"{term} is not a token anywhere in the search index"
    assert ranked[0] in pages, ranked[:5]


def test_no_punctuation_mark_is_a_word_of_the_search_index(built):
    """jieba makes each mark a token; the index's separator drops them, so a mark alone finds
    nothing and the index carries no 4,600 entries for the comma."""
    site, _ = built
    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    separator = re.compile(index["config"]["separator"])
    assert separator.pattern == re.compile(config_separator()).pattern
    marks = {}
    for doc in index["docs"]:
        for word in separator.split(doc["text"]):
            if word and re.fullmatch(r"[，。、：；！？“”‘’（）【】「」《》…—·]+", word):
                marks[word] = marks.get(word, 0) + 1
    assert marks == {}
    assert separator.split("群规，打卡。") == ["群规", "打卡", ""]


def config_separator() -> str:
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    return re.search(r"separator: '(.+)'", text)[1]


# ---------------------------------------------------------------- our own words


def test_no_page_repeats_a_source_article():
    """No 20-character run shared with an article, and no sentence 0.80 or more alike to one,
    once every article is read in Simplified Chinese (tests/handbook/test_copycheck.py shows
    the check failing)."""
    if not SEEDS.is_dir():
        pytest.skip(f"the source articles are not beside the project ({SEEDS}); CI has them")
    seeds = copycheck.load_seeds(SEEDS)
    assert len(seeds) == 5
    copied = []
    for page in sorted(HANDBOOK.rglob("*.md")):
        for line in copycheck.findings(page.read_text(encoding="utf-8"), seeds):
            copied.append(f"{page.relative_to(ROOT)}: {line}")
    assert copied == []


# ---------------------------------------------------------------- page shapes

PLAYBOOK_SECTIONS = ["when", "goal", "who", "steps", "figures", "pitfalls", "source"]
HEADING = re.compile(r"^(#{2,6})\s+(.+?)\s*(?:\{\s*#([\w-]+)\s*\})?\s*$")


def headings(path: Path) -> list[tuple[int, str, str | None]]:
    found, fenced = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        match = None if fenced else HEADING.match(line)
        if match:
            found.append((len(match[1]), match[2], match[3]))
    return found


PLAYBOOKS = sorted(p for p in (HANDBOOK / "playbooks").glob("*.md") if p.name != "index.md")


@pytest.mark.parametrize("path", PLAYBOOKS, ids=lambda p: p.stem)
def test_every_playbook_has_the_same_sections_in_order(path):
    ids = [hid for level, _, hid in headings(path) if level == 2]
    expected = PLAYBOOK_SECTIONS[:-1] + (["try"] if "try" in ids else []) + ["source"]
    assert ids == expected
    steps = path.read_text(encoding="utf-8").split("{ #steps }", 1)[1].split("\n## ", 1)[0]
    numbered = re.findall(r"^\d+\.\s+(.*)$", steps, re.MULTILINE)
    assert len(numbered) >= 3
    assert all(line.startswith("**") for line in numbered), numbered


@pytest.mark.parametrize("path", sorted(HANDBOOK.rglob("*.md")), ids=lambda p: str(p.stem))
def test_every_section_heading_has_an_explicit_ascii_id(path):
    missing = [text for level, text, hid in headings(path) if level in (2, 3) and not hid]
    assert missing == []
    ids = [hid for _, _, hid in headings(path) if hid]
    assert len(ids) == len(set(ids)), "heading ids must be unique within a page"


@pytest.mark.parametrize("path", sorted(HANDBOOK.rglob("*.md")), ids=lambda p: str(p.stem))
def test_no_page_is_a_stub(path):
    text = path.read_text(encoding="utf-8")
    assert "待写" not in text
    assert len(re.findall(r"[\u4e00-\u9fff]", text)) >= 300
