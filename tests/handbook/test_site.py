"""The handbook builds strictly, finds its own terms, stays in its own words, and every
live-example link it prints opens a working page of the mini-app."""

import json
import math
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

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


def test_every_live_example_link_of_the_english_edition_opens_a_working_page(
    built, app, client, runner
):
    """The English edition (built at en/) links the same live examples: each English page links
    what its Chinese page links (tests/handbook/test_english_parity.py), and each one opens."""
    site, _ = built
    assert runner.invoke(args=["demo"]).exit_code == 0
    english = live_links(site / "en")
    assert {"/j/demo?c=counter", "/j/demo?c=moments", "/j/demo?c=live"} <= english
    assert "/posters/demo.png?c=counter" in english
    chinese = live_links(site) - english  # the whole site's, less the English edition's
    assert not chinese, f"linked only by the Chinese edition: {sorted(chinese)}"
    for href in sorted(english):
        response = client.get(href, headers={"User-Agent": "Mozilla/5.0 (iPhone) Mobile"})
        assert response.status_code == (404 if "/no-such-" in href else 200), href
        if href.startswith("/j/"):
            assert "长按上方二维码" in response.get_data(as_text=True), href


def test_each_edition_searches_its_own_pages_and_english_stems(built):
    """One index per edition (handbook/hooks/search.py splits the i18n plugin's): the Chinese
    one as before (lang zh, jieba's cut), the English one for en/ with the stemmer kept."""
    site, _ = built
    chinese = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    english = json.loads((site / "en" / "search" / "search_index.json").read_text("utf-8"))
    assert chinese["config"]["lang"] == ["zh"]
    assert english["config"]["lang"] == ["en"] and "stemmer" in english["config"]["pipeline"]
    assert not [d for d in chinese["docs"] if d["location"].startswith("en/")]
    assert {d["location"] for d in english["docs"]} >= {"", "glossary/", "sources/"}
    glossary = [d for d in english["docs"] if d["location"].startswith("glossary/")]
    assert any("Dunbar" in d["text"] for d in glossary)
    assert not any("Dunbar" in d["text"] for d in chinese["docs"])
    # English pages ask for their edition's index: Material's base is en/, not the site's root.
    page = (site / "en" / "playbooks" / "fission" / "index.html").read_text(encoding="utf-8")
    assert '"base": "../.."' in page


SWITCH = re.compile(r'<a href="([^"]*)" hreflang="(\w+)" class="md-select__link">')


@pytest.mark.parametrize("page", ["", "glossary/", "playbooks/live-code/", "template/welcome/"])
def test_the_language_switcher_lands_on_the_same_page_in_the_other_edition(built, page):
    """From either edition, nested or not, 中文 and English open this page in that edition."""
    site, _ = built
    editions = {"zh": f"/handbook/{page}", "en": f"/handbook/en/{page}"}
    for url in editions.values():
        html = (site / url.removeprefix("/handbook/") / "index.html").read_text("utf-8")
        landed = {lang: urljoin(url, href) for href, lang in SWITCH.findall(html)}
        assert landed == editions, url


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
    # The English edition, beside the Chinese one.
    status, page, _ = fetch("/handbook/en/")
    assert status == 200 and '<html lang="en"' in page and "Qunbook" in page
    assert fetch("/handbook/en/playbooks/live-code/")[0] == 200
    assert fetch("/handbook/en")[0] == 301
    status, index, _ = fetch("/handbook/en/search/search_index.json")
    assert status == 200 and json.loads(index)["config"]["lang"] == ["en"]
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

# The trainer's kit: every playbook ends with a checklist, its live tool (or why there is none)
# and three exercises with answers, in this order (the shape the playbooks index teaches).
PLAYBOOK_SECTIONS = [
    *("when", "goal", "who", "steps", "figures", "pitfalls"),
    *("checklist", "try", "exercises", "source"),
]
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


def section(text: str, hid: str) -> str:
    """The body of the `##` section with id `hid` (up to the next `##`), or "" if none."""
    start = re.search(rf"^## .*\{{\s*#{hid}\s*\}}\s*$", text, re.MULTILINE)
    if not start:
        return ""
    return re.split(r"^## ", text[start.end() :], maxsplit=1, flags=re.MULTILINE)[0]


# - [ ] **<动作>** —— 负责：<角色>；完成标准：<可检查的结果>。
CHECKLIST_ITEM = re.compile(
    r"^- \[ \] \*\*(?P<action>[^*]+)\*\* —— 负责：(?P<owner>[^；]*)；完成标准：(?P<done>.*)。$"
)
LIVE_TOOL = re.compile(r"\]\(/(?:j|r|vip|posters|c|t|console)/[^)]*\)")
ANSWER = '??? success "参考答案"'
# The English edition's shape, word for word the Chinese one's.
#   - [ ] **<Action>** — owner: <role>; done when: <a result anyone can check>.
ENGLISH = {
    "item": re.compile(
        r"^- \[ \] \*\*(?P<action>[^*]+)\*\* — owner: (?P<owner>[^;]*); done when: (?P<done>.*)\.$"
    ),
    "answer": '??? success "Suggested answer"',
    "no tool": "No tool yet",
}
CHINESE = {"item": CHECKLIST_ITEM, "answer": ANSWER, "no tool": "还没有工具"}


def shape(path: Path) -> dict:
    return ENGLISH if path.name.endswith(".en.md") else CHINESE


def checklist_problems(text: str, words: dict = CHINESE) -> list[str]:
    """What keeps a page's `checklist` section from the kit's shape ([] when it has it)."""
    lines = [line for line in section(text, "checklist").splitlines() if line.startswith("- ")]
    problems = [] if 5 <= len(lines) <= 8 else [f"{len(lines)} items, not 5 to 8"]
    for line in lines:
        item = words["item"].match(line)
        if not item:
            problems.append(f"not `- [ ] **动作** —— 负责：角色；完成标准：结果。`: {line}")
        elif not all(item[part].strip() for part in ("action", "owner", "done")):
            problems.append(f"empty 动作, 负责 or 完成标准: {line}")
    return problems


def try_problems(text: str, words: dict = CHINESE) -> list[str]:
    body = section(text, "try")
    if LIVE_TOOL.search(body) or words["no tool"] in body:
        return []
    return ["the try section neither links a live tool nor says 还没有工具"]


def exercises_problems(text: str, words: dict = CHINESE) -> list[str]:
    body = section(text, "exercises")
    ids = re.findall(r"^### .*\{\s*#([\w-]+)\s*\}\s*$", body, re.MULTILINE)
    if ids != ["exercise-1", "exercise-2", "exercise-3"]:
        return [f"exercises are {ids}, not exercise-1, exercise-2, exercise-3"]
    problems = []
    for number, exercise in enumerate(re.split(r"^### .*$", body, flags=re.MULTILINE)[1:], 1):
        lines = exercise.strip().splitlines()
        answers = [i for i, line in enumerate(lines) if line.rstrip() == words["answer"]]
        if len(answers) != 1 or answers[0] == 0:
            problems.append(f"exercise-{number}: a question, then one collapsed {words['answer']}")
            continue
        answer = lines[answers[0] + 1 :]
        if not any(line.startswith("    ") and line.strip() for line in answer):
            problems.append(f"exercise-{number}: the answer is empty (indent it 4 spaces)")
        if any(re.match(r"^(\?\?\?|!!!)", line) for line in answer):
            problems.append(f"exercise-{number}: more than one block after the question")
    return problems


# Both editions: page.md and page.en.md.
PLAYBOOKS = sorted(
    p for p in (HANDBOOK / "playbooks").glob("*.md") if p.name not in ("index.md", "index.en.md")
)


def steps_problems(text: str) -> list[str]:
    numbered = re.findall(r"^\d+\.\s+(.*)$", section(text, "steps"), re.MULTILINE)
    if len(numbered) < 3:
        return [f"{len(numbered)} numbered steps, not 3 or more"]
    return [f"a step without a bold action lead: {line}" for line in numbered if line[:2] != "**"]


@pytest.mark.parametrize("path", PLAYBOOKS, ids=lambda p: p.name)
def test_every_playbook_has_the_same_sections_in_order(path):
    ids = [hid for level, _, hid in headings(path) if level == 2]
    assert ids == PLAYBOOK_SECTIONS
    assert steps_problems(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("path", PLAYBOOKS, ids=lambda p: p.name)
def test_every_playbook_checklist_names_an_owner_and_a_done_criterion(path):
    assert checklist_problems(path.read_text(encoding="utf-8"), shape(path)) == []


@pytest.mark.parametrize("path", PLAYBOOKS, ids=lambda p: p.name)
def test_every_playbook_links_its_live_tool_or_says_there_is_none(path):
    assert try_problems(path.read_text(encoding="utf-8"), shape(path)) == []


@pytest.mark.parametrize("path", PLAYBOOKS, ids=lambda p: p.name)
def test_every_playbook_has_three_exercises_with_collapsed_answers(path):
    assert exercises_problems(path.read_text(encoding="utf-8"), shape(path)) == []


KIT_SAMPLE = """
## 检查清单 { #checklist }

勾选会保存在这台设备的浏览器里，下次打开还在。

- [ ] **定好奖励档位** —— 负责：活动负责人；完成标准：档位写进活动方案，3 位和 10 位两档各有奖品。
- [ ] **算好每位新成员的成本** —— 负责：活动负责人；完成标准：方案里写着每人摊到多少元。
- [ ] **挑出种子发起人** —— 负责：社群运营；完成标准：名单上有 20 位，每位都已报名拿到海报。
- [ ] **写好防作弊规则** —— 负责：社群运营；完成标准：群公告里写明自己推荐自己不计数。
- [ ] **排好复盘时间** —— 负责：社群运营；完成标准：活动结束后 3 天内的复盘会已发出邀请。

## 在小程序里试试 { #try }

打开 [/j/demo-fission](/j/demo-fission)，看报名卡在群二维码下面。

## 练习 { #exercises }

### 练习一 { #exercise-1 }

（本手册虚构）一次裂变送出 40 张券，带来 200 位新成员，每位摊到几张？

??? success "参考答案"

    0.2 张：40 ÷ 200。见第 4 步。

### 练习二 { #exercise-2 }

店长想把奖励改成按名次发，你怎么看？

??? success "参考答案"

    不建议：名次奖励让人刷量。见常见坑。

### 练习三 { #exercise-3 }

下面的方案哪里有坑？

??? success "参考答案"

    海报直接印了群二维码，7 天后就失效。见第 10 步。

"""


def kit_sample(tmp_path: Path, replace: tuple[str, str] = ("", "")) -> Path:
    """The fission playbook up to its pitfalls and from its sources, with the well-formed kit
    sections above between them, one edit applied: what the checkers must pass, or fail."""
    text = (HANDBOOK / "playbooks" / "fission.md").read_text(encoding="utf-8")
    kit = re.compile(r"^## .*\{ #(checklist|try|exercises|source) \}", re.MULTILINE)
    before = text[: kit.search(text).start()]
    source = text[re.search(r"^## .*\{ #source \}", text, re.MULTILINE).start() :]
    sample = tmp_path / "fission.md"
    sample.write_text(before + KIT_SAMPLE.replace(*replace) + "\n" + source, encoding="utf-8")
    return sample


def kit_problems(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    ids = [hid for level, _, hid in headings(path) if level == 2]
    order = [] if ids == PLAYBOOK_SECTIONS else [f"sections {ids}"]
    checkers = (steps_problems, checklist_problems, try_problems, exercises_problems)
    return order + [problem for checker in checkers for problem in checker(text)]


def test_the_kit_checkers_pass_a_well_formed_playbook(tmp_path):
    assert kit_problems(kit_sample(tmp_path)) == []
    no_tool = ("打开 [/j/demo-fission](/j/demo-fission)", '!!! note "还没有工具"\n    用手工表。')
    assert kit_problems(kit_sample(tmp_path, no_tool)) == []


ITEM = "- [ ] **排好复盘时间** —— 负责：社群运营；完成标准：活动结束后 3 天内的复盘会已发出邀请。"
BROKEN = {
    "four items": (ITEM + "\n", ""),
    "nine items": (ITEM, "\n".join([ITEM.replace("排好", f"排好第{i}次") for i in range(5)])),
    "no owner": ("负责：社群运营；完成标准：活动结束", "负责：；完成标准：活动结束"),
    "no done-criterion": ("完成标准：活动结束后 3 天内的复盘会已发出邀请。", "完成标准：。"),
    "ASCII punctuation": ("负责：社群运营；完成", "负责: 社群运营; 完成"),
    "one dash": ("**排好复盘时间** ——", "**排好复盘时间** —"),
    "no bold action": ("**排好复盘时间**", "排好复盘时间"),
    "no live tool": ("[/j/demo-fission](/j/demo-fission)", "演示活动"),
    "answer shown open": (f"{ANSWER}\n\n    0.2", f"{ANSWER.replace('???', '???+')}\n\n    0.2"),
    "answer fixed": (f"{ANSWER}\n\n    不建", f"{ANSWER.replace('???', '!!!')}\n\n    不建"),
    "two answers": ("见第 10 步。", '见第 10 步。\n\n??? success "参考答案"\n\n    又一个。'),
    "empty answer": ("    不建议：名次奖励让人刷量。见常见坑。", ""),
    "no question": ("下面的方案哪里有坑？", ""),
    "two exercises": ("### 练习三 { #exercise-3 }", ""),
    "wrong id": ("{ #exercise-2 }", "{ #exercise-two }"),
    "try section renamed": ("## 在小程序里试试 { #try }", "## 在小程序里试试 { #tryit }"),
}


@pytest.mark.parametrize("replace", BROKEN.values(), ids=BROKEN.keys())
def test_the_kit_checkers_fail_a_broken_playbook(tmp_path, replace):
    assert replace[0] in KIT_SAMPLE
    assert kit_problems(kit_sample(tmp_path, replace)) != []


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
    if path.name.endswith(".en.md"):  # the English edition: words, not characters
        assert "coming soon" not in text.lower()
        assert len(re.findall(r"[A-Za-z]+", text)) >= 300
    else:
        assert len(re.findall(r"[\u4e00-\u9fff]", text)) >= 300
