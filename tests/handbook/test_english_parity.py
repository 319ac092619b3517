"""The English edition keeps level with the Chinese, page by page (issue 17): every Chinese page
has its English page (handbook/X/page.en.md beside page.md), and each pair has the same front
matter keys, the same headings with the same ids at the same levels in the same order, every
figure of the Chinese page (each maximal run of ASCII digits), the same links to the mini-app
and to other handbook pages, and the same number of checklist items. A Chinese page changed
without its English page fails here until both are updated (by the checks below, and by git
history: the Chinese page's last commit must be in the English page's history), or until the
English page says `translation_behind: true` in its front matter, which puts a visible note on
it (handbook/hooks/review.py) and is accepted here instead of parity.

The glossary page presents every term of handbook/hooks/glossary.json, the one source of the
English renderings, with its characters and pinyin."""

import json
import re
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from helpers import handbook_hook

HANDBOOK = Path(__file__).resolve().parents[2] / "handbook"

# Chinese pages whose English page is still being written: none (every page has one). A page
# listed here must have no English page yet; one that exists is held to parity.
NOT_YET: set[str] = set()

FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.S)
FENCE = re.compile(r"^([ \t]*)(```|~~~).*?^\1\2[ \t]*$", re.M | re.S)
HEADING = re.compile(r"^(#{1,6})[ \t]+(.*?)[ \t]*$", re.M)
HEADING_ID = re.compile(r"\{[^}]*#([\w-]+)[^}]*\}\s*$")
DIGITS = re.compile(r"[0-9]+")
# A link's target: Markdown ](target) or an HTML href/src.
TARGET = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)|\b(?:href|src)=\"([^\"]+)\"")
TASK = re.compile(r"^[ \t]*[-*+] \[[ xX]\] ", re.M)


def chinese_pages() -> list[str]:
    return sorted(
        path.relative_to(HANDBOOK).as_posix()
        for path in HANDBOOK.rglob("*.md")
        if not path.name.endswith(".en.md") and "hooks" not in path.relative_to(HANDBOOK).parts
    )


def english_of(page: str) -> Path:
    return HANDBOOK / (page.removesuffix(".md") + ".en.md")


def front_matter(text: str) -> dict:
    found = FRONT_MATTER.match(text)
    return (yaml.safe_load(found[1]) or {}) if found else {}


def shape(text: str) -> dict:
    """What a page and its translation must share, read off its Markdown."""
    found = FRONT_MATTER.match(text)
    body = text[found.end() :] if found else text
    prose = FENCE.sub("", body)  # a # inside a code block is no heading
    links = [a or b for a, b in TARGET.findall(body)]
    return {
        "front matter keys": sorted(set(front_matter(text)) - {"translation_behind"}),
        "headings": [
            (len(hashes), (HEADING_ID.search(title) or [None, None])[1])
            for hashes, title in HEADING.findall(prose)
        ],
        "figures": set(DIGITS.findall(text)),
        # /handbook/ is the other edition (the home pages link each other), not the mini-app.
        "mini-app links": sorted(
            {link for link in links if link.startswith("/") and not link.startswith("/handbook/")}
        ),
        "page links": sorted({link for link in links if re.match(r"[\w./-]+\.md(#|$)", link)}),
        "checklist items": len(TASK.findall(body)),
    }


def differences(chinese: str, english: str) -> list[str]:
    """How an English page falls short of its Chinese page; [] when they are level."""
    zh, en = shape(chinese), shape(english)
    found = []
    for what in ("front matter keys", "headings", "mini-app links", "page links"):
        if zh[what] != en[what]:
            found.append(f"{what}: Chinese {zh[what]}, English {en[what]}")
    if zh["checklist items"] != en["checklist items"]:
        found.append(
            f"checklist items: Chinese {zh['checklist items']}, English {en['checklist items']}"
        )
    missing = sorted(zh["figures"] - en["figures"], key=int)
    if missing:
        found.append(f"figures of the Chinese page missing in English: {missing}")
    return found


@pytest.mark.parametrize("page", chinese_pages())
def test_every_chinese_page_has_its_english_page_at_parity(page):
    english = english_of(page)
    if page in NOT_YET:
        assert not english.exists(), f"{english.name} exists: remove {page} from NOT_YET"
        pytest.skip(f"{page}: English page not written yet (NOT_YET)")
    assert english.exists(), f"{page} has no English page {english.relative_to(HANDBOOK)}"
    chinese_text = (HANDBOOK / page).read_text(encoding="utf-8")
    english_text = english.read_text(encoding="utf-8")
    if front_matter(english_text).get("translation_behind") is True:
        return  # the page says so, visibly (handbook/hooks/review.py)
    assert differences(chinese_text, english_text) == [], page


def git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["git", "-C", str(HANDBOOK), *args], capture_output=True, text=True, check=False
    )


def last_commit(path: Path) -> str | None:
    done = git("log", "-1", "--format=%H", "--", str(path))
    return done.stdout.strip() or None if done.returncode == 0 else None


@pytest.mark.parametrize("page", chinese_pages())
def test_a_chinese_page_changed_after_its_english_page_is_marked_behind(page):
    """Parity above compares what can be compared mechanically; a change of wording is caught
    by history: the Chinese page's last commit must be in the history of its English page's
    last commit (both changed together, or the English after), else the English page says
    translation_behind: true."""
    english = english_of(page)
    if not english.exists():
        pytest.skip(f"{page}: no English page yet")
    zh, en = last_commit(HANDBOOK / page), last_commit(english)
    if zh is None or en is None:
        pytest.skip("no git history here (an unpacked sdist), or a page not committed yet")
    if front_matter(english.read_text(encoding="utf-8")).get("translation_behind") is True:
        return
    assert git("merge-base", "--is-ancestor", zh, en).returncode == 0, (
        f"{page} changed in {zh[:10]} after {english.name} was last updated ({en[:10]}):"
        f" update {english.name} in step, or mark it translation_behind: true"
    )


def test_every_english_page_translates_a_chinese_page():
    orphans = [
        path.relative_to(HANDBOOK).as_posix()
        for path in HANDBOOK.rglob("*.en.md")
        if not path.with_name(path.name.removesuffix(".en.md") + ".md").exists()
    ]
    assert orphans == []


def test_not_yet_names_only_chinese_pages():
    assert set(chinese_pages()) >= NOT_YET


CHINESE = """---
search:
  boost: 0.5
---

# 活码进群

## 什么时候用 { #when }

群满 200 人就不能扫码进群，二维码 7 天过期。打开 [/j/demo?c=counter](/j/demo?c=counter)，
再看[裂变](fission.md#try)。

```text
# 代码里的井号不是标题
```

- [ ] 上传群二维码
- [ ] 打印海报
"""

ENGLISH = """---
search:
  boost: 0.5
---

# Joining by live code

## When to use it { #when }

Past 200 members nobody can join by scanning, and the QR code expires after 7 days. Open
[/j/demo?c=counter](/j/demo?c=counter), then see [Fission](fission.md#try).

```text
# a hash in code is no heading
```

- [ ] Upload the group QR code
- [ ] Print the poster
"""


def test_a_page_at_parity_passes():
    assert differences(CHINESE, ENGLISH) == []


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (("## When to use it { #when }\n", ""), "headings"),
        (("{ #when }", "{ #when-to-use }"), "headings"),
        (("## When to use it", "### When to use it"), "headings"),
        (("Past 200 members", "Past two hundred members"), "figures"),
        (("(/j/demo?c=counter)", "(/j/demo?c=moments)"), "mini-app links"),
        (("fission.md#try", "fission.md"), "page links"),
        (("- [ ] Print the poster\n", ""), "checklist items"),
        (("  boost: 0.5\n", "  boost: 0.5\ndescription: x\n"), "front matter keys"),
    ],
)
def test_a_page_behind_its_chinese_page_fails(change, complaint):
    old, new = change
    english = ENGLISH.replace(old, new, 1)
    assert english != ENGLISH
    found = differences(CHINESE, english)
    assert len(found) == 1 and found[0].startswith(complaint), found


def test_a_page_marked_behind_shows_a_note_linking_the_chinese_page():
    review = handbook_hook("review")
    review._found.update({"dates": {}, "repo": None})
    page = SimpleNamespace(
        meta={"translation_behind": True},
        url="en/playbooks/fission/",
        file=SimpleNamespace(
            src_uri="playbooks/fission.en.md",
            locale="en",
            alternates={"zh": SimpleNamespace(url="playbooks/fission/")},
        ),
    )
    config = SimpleNamespace(extra={"keeper": "Head of Training"}, theme={"language": "en"})
    html = '<article class="md-content__inner"><h1>Fission</h1><p>Text</p></article>'
    out = review.on_post_page(html, page=page, config=config)
    assert out.index("</h1>") < out.index("This translation is behind the Chinese page")
    assert '<a href="../../../playbooks/fission/" hreflang="zh"' in out
    assert "Kept by: Head of Training" in out
    page.meta = {}
    assert "behind" not in review.on_post_page(html, page=page, config=config)


def test_the_glossary_page_presents_every_glossary_term():
    glossary = json.loads((HANDBOOK / "hooks" / "glossary.json").read_text(encoding="utf-8"))
    page = (HANDBOOK / "glossary.en.md").read_text(encoding="utf-8")
    missing = [
        term["zh"]
        for term in glossary["terms"]
        if f"({term['zh']} *{term['pinyin']}*)" not in page.replace("\n", " ")
        or term["en"].lower() not in page.lower()
    ]
    assert missing == []


def test_the_glossary_covers_every_chinese_glossary_term_with_characters():
    """Each ### term of the Chinese glossary written in Chinese is in glossary.json (or is made
    of terms that are), so translators have one rendering of it."""
    glossary = json.loads((HANDBOOK / "hooks" / "glossary.json").read_text(encoding="utf-8"))
    known = {term["zh"] for term in glossary["terms"]}
    chinese = (HANDBOOK / "glossary.md").read_text(encoding="utf-8")
    missing = []
    for title in re.findall(r"^### (.*?) \{", chinese, re.M):
        for part in re.split(r" / | → |（.*?）", title):
            part = part.strip()
            if re.search(r"[\u4e00-\u9fff]", part) and part not in known:
                missing.append(part)
    # Names the entries explain as phrases, not terms of art with one rendering.
    assert set(missing) <= {"私域 1.0", "总群", "150 人上限"}, missing
