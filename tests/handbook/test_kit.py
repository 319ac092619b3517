"""The trainer's kit around the pages: each page ends with its last-reviewed date (from git, or
from the sdist's handbook/reviewed.json), its keeper and where to edit it; checklist ticks are
kept in the reader's browser and can be cleared."""

import json
import os
import re
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
from helpers import handbook_hook

ROOT = Path(__file__).resolve().parents[2]
review = handbook_hook("review")

REVIEW_LINE = re.compile(r'<p class="qb-review">(.*?)</p>')
PAGES = ["index.md", "playbooks/fission.md", "staffing/talent.md", "start/index.md"]


def git_date(path: str) -> str:
    done = subprocess.run(
        ["git", "log", "-1", "--format=%cs", "--", f"handbook/{path}"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"no git history here: {done.stderr.strip()}")
    return done.stdout.strip()


def built_page(site: Path, path: str) -> str:
    name = "index.html" if path == "index.md" else path.removesuffix(".md") + "/index.html"
    return (site / name.replace("index/index.html", "index.html")).read_text(encoding="utf-8")


@pytest.mark.parametrize("path", PAGES)
def test_a_page_ends_with_its_git_date_keeper_and_where_to_edit_it(built, path):
    site, _ = built
    lines = REVIEW_LINE.findall(built_page(site, path))
    assert len(lines) == 1
    line = lines[0]
    day = git_date(path)
    if day:
        assert f"最后审阅：<time>{day}</time>" in line
    else:  # a page not committed yet has no review date
        assert "最后审阅" not in line
    assert "维护：培训负责人" in line  # extra.keeper in mkdocs.yml
    repo = review.repo_url()
    if repo:
        assert f'<a href="{repo}/edit/main/handbook/{path}">编辑本页</a>' in line
    else:
        assert f"编辑本页：<code>handbook/{path}</code>" in line


def test_every_page_has_one_review_line_and_search_never_finds_it(built):
    site, _ = built
    for page in site.rglob("index.html"):
        if page.parent.name != "search":
            assert len(REVIEW_LINE.findall(page.read_text(encoding="utf-8"))) == 1, page
    index = (site / "search" / "search_index.json").read_text(encoding="utf-8")
    assert "最后审阅" not in index and "编辑本页" not in index
    index = (site / "en" / "search" / "search_index.json").read_text(encoding="utf-8")
    # The line's own words: "Edit this page" is also a button the start page explains.
    assert "Last reviewed:" not in index and "Kept by:" not in index


def test_the_english_edition_has_the_review_line_in_english(built):
    site, _ = built
    lines = REVIEW_LINE.findall((site / "en" / "glossary" / "index.html").read_text("utf-8"))
    assert len(lines) == 1
    assert "Kept by: Head of Training" in lines[0]  # the en language's extra.keeper
    assert "handbook/glossary.en.md" in lines[0] and "维护" not in lines[0]
    day = git_date("glossary.en.md")
    assert (f"Last reviewed: <time>{day}</time>" in lines[0]) if day else "Last" not in lines[0]


def commit(root: Path, path: str, day: str):
    target = root / "handbook" / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(f"# {path}\n\n{day}\n", encoding="utf-8")
    env = {
        **os.environ,
        **{f"GIT_{who}_{what}": value for who in ("AUTHOR", "COMMITTER")
           for what, value in (("NAME", "测试"), ("EMAIL", "t@example.cn"),
                               ("DATE", f"{day}T12:00:00+08:00"))},
    }  # fmt: skip
    for args in (["add", target], ["commit", "-q", "-m", path]):
        subprocess.run(["git", "-C", root, *args], env=env, check=True, capture_output=True)


def test_dates_come_from_git_then_reviewed_json_then_nowhere(tmp_path, monkeypatch):
    monkeypatch.delenv("QUNBOOK_REPO_URL", raising=False)
    root = tmp_path / "checkout"
    (root / "handbook").mkdir(parents=True)
    # No git, no reviewed.json (an sdist made without git): no dates rather than wrong ones.
    assert review.reviewed(root) == {"dates": {}, "repo": None}

    # An sdist's copy: the dates (and repository) the checkout had when it was made.
    saved = {"dates": {"a.md": "2026-01-02", "b/c.md": "2026-03-04"}, "repo": None}
    (root / "handbook" / "reviewed.json").write_text(json.dumps(saved), encoding="utf-8")
    assert review.reviewed(root)["dates"] == saved["dates"]

    # Git knows better for what it has; reviewed.json still answers for the rest.
    subprocess.run(["git", "init", "-q", "-b", "main", root], check=True)
    commit(root, "a.md", "2026-11-29")
    commit(root, "b/c.md", "2026-11-30")
    commit(root, "a.md", "2026-12-01")  # touched again: its newest date wins
    (root / "handbook" / "reviewed.json").write_text(
        json.dumps({"dates": {"a.md": "2026-01-02", "old.md": "2025-12-31"}}), encoding="utf-8"
    )
    assert review.reviewed(root)["dates"] == {
        "a.md": "2026-12-01",
        "b/c.md": "2026-11-30",
        "old.md": "2025-12-31",
    }

    # What setup.py's sdist step writes, read back where there is no git.
    review.write_reviewed_json(tmp_path / "reviewed.json", root)
    sdist = tmp_path / "sdist"
    (sdist / "handbook").mkdir(parents=True)
    (tmp_path / "reviewed.json").rename(sdist / "handbook" / "reviewed.json")
    assert review.reviewed(sdist)["dates"]["b/c.md"] == "2026-11-30"


def test_the_edit_link_uses_only_a_known_web_address(tmp_path, monkeypatch):
    monkeypatch.delenv("QUNBOOK_REPO_URL", raising=False)
    root = tmp_path / "checkout"
    subprocess.run(["git", "init", "-q", root], check=True)
    assert review.repo_url(root) is None  # no remote: the page names its file instead
    remote = ["git", "-C", root, "remote", "add", "origin"]
    subprocess.run([*remote, "git@example.cn:qun/qunbook.git"], check=True)
    assert review.repo_url(root) is None  # ssh is no address a trainer's browser opens
    monkeypatch.setenv("QUNBOOK_REPO_URL", "https://bot:s3cret@git.example.cn/qun/qunbook.git/")
    assert review.repo_url(root) == "https://git.example.cn/qun/qunbook"  # no credentials
    assert review.web_url("/srv/git/qunbook") is None
    assert review.web_url("http://git.example.cn:8080/q") == "http://git.example.cn:8080/q"


def test_the_review_line_names_the_page_keeper_from_front_matter():
    config = SimpleNamespace(extra={"keeper": "培训负责人"})
    html = '<article class="md-content__inner">正文</article>'

    def line(meta, src="playbooks/fission.md"):
        page = SimpleNamespace(meta=meta, file=SimpleNamespace(src_uri=src))
        out = review.on_post_page(html, page=page, config=config)
        return REVIEW_LINE.search(out)[1], out

    review._found.update({"dates": {"playbooks/fission.md": "2026-11-30"}, "repo": None})
    text, out = line({})
    assert text == (
        "最后审阅：<time>2026-11-30</time> · 维护：培训负责人"
        " · 编辑本页：<code>handbook/playbooks/fission.md</code>"
    )
    assert out.endswith("</p></article>")
    assert "维护：社群运营负责人" in line({"keeper": "社群运营负责人"})[0]
    assert "最后审阅" not in line({}, src="new.md")[0]
    review._found.update({"repo": "https://git.example.cn/qun/qunbook"})
    assert (
        '<a href="https://git.example.cn/qun/qunbook/edit/main/handbook/new.md">'
        in (line({}, src="new.md")[0])
    )


# ---------------------------------------------------------------- in Chromium

CHECKLIST_PAGE = "staffing/talent/"
BOX = ".md-content ul.task-list > li.task-list-item > label > input[type=checkbox]"


def tap_box(phone, number: int):
    """Tap the box a reader sees: Material draws it (.task-list-indicator::before) left of
    the item, outside the input and its label."""
    box = phone.locator(BOX).nth(number)
    box.locator("xpath=ancestor::li[1]").scroll_into_view_if_needed()
    point = box.evaluate(
        """box => {
            const mark = box.nextElementSibling, drawn = getComputedStyle(mark, '::before');
            const item = box.closest('li').getBoundingClientRect();
            const x = item.left + parseFloat(drawn.left) + parseFloat(drawn.width) / 2;
            const y = item.top + parseFloat(drawn.top) + parseFloat(drawn.height) / 2;
            return {x, y, hit: document.elementFromPoint(x, y) === mark};
        }"""
    )
    assert point["hit"], point
    phone.touchscreen.tap(point["x"], point["y"])


def ticked(phone) -> list[bool]:
    return phone.locator(BOX).evaluate_all("boxes => boxes.map(b => b.checked)")


@pytest.mark.browser
@pytest.mark.slow
def test_checklist_ticks_survive_a_reload_until_cleared(kit, phone):
    url = f"{kit}/handbook/{CHECKLIST_PAGE}"
    response = phone.goto(url, wait_until="networkidle")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    boxes = phone.locator(BOX)
    count = boxes.count()
    assert count >= 5 and ticked(phone) == [False] * count
    # Enabled by the script, so the CSP let it run; each box is named by its item's text.
    assert boxes.evaluate_all("boxes => boxes.every(b => !b.disabled)")
    assert boxes.first.get_attribute("aria-label").startswith("列名单。")

    tap_box(phone, 0)  # by touch
    boxes.nth(2).focus()
    phone.keyboard.press("Space")  # by keyboard
    expected = [i in (0, 2) for i in range(count)]
    assert ticked(phone) == expected
    phone.reload(wait_until="networkidle")
    assert ticked(phone) == expected
    keys = phone.evaluate("Object.keys(localStorage)")
    assert f"qunbook:tick:/handbook/{CHECKLIST_PAGE}\n列名单。 把团队里" in "|".join(keys)

    clear = phone.get_by_role("button", name="清空勾选")
    assert clear.count() >= 1
    clear.first.click()
    assert ticked(phone) == [False] * count
    phone.reload(wait_until="networkidle")
    assert ticked(phone) == [False] * count
    assert phone.evaluate("Object.keys(localStorage)") == []
    assert phone.errors == []


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("path", ["playbooks/check-in-challenge/", "staffing/checklists/"])
def test_every_box_is_enabled_named_and_under_a_clear_button(kit, phone, path):
    """Long pages, one with a loose item (<li><p><label>) in a list that is not all tasks."""
    phone.goto(f"{kit}/handbook/{path}", wait_until="networkidle")
    boxes = phone.locator(".md-typeset .task-list-control > input[type=checkbox]")
    assert boxes.count() >= 10
    states = boxes.evaluate_all(
        """boxes => boxes.map(b => [b.disabled, b.getAttribute('aria-label'),
            !!b.closest('ul, ol').parentElement.querySelector(':scope > .qb-clear')])"""
    )
    assert all(not disabled and label for disabled, label, _ in states), states
    assert all(has_button for *_, has_button in states), states
    assert phone.errors == []


# Safari's private mode (before 11) has localStorage, but writing to it throws; with cookies
# blocked, Chromium throws on touching localStorage at all (Material's own scripts stumble
# there too, so only errors from checklist.js count in that case).
NO_STORAGE = {
    "writes-throw": "Storage.prototype.setItem = function () {"
    " throw new DOMException('full', 'QuotaExceededError'); };",
    "blocked": "Object.defineProperty(window, 'localStorage', {get() {"
    " throw new DOMException('denied', 'SecurityError'); }});",
}


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("script", NO_STORAGE.values(), ids=NO_STORAGE.keys())
def test_checklist_ticks_for_the_visit_without_local_storage(kit, phone, script):
    phone.add_init_script(script)
    phone.goto(f"{kit}/handbook/{CHECKLIST_PAGE}", wait_until="networkidle")
    tap_box(phone, 0)
    assert ticked(phone)[0] is True
    phone.get_by_role("button", name="清空勾选").first.click()
    assert ticked(phone)[0] is False
    tap_box(phone, 1)
    phone.reload(wait_until="networkidle")
    assert not any(ticked(phone))  # nowhere to keep it
    errors = phone.errors if "setItem" in script else [e for e in phone.errors if "checklist" in e]
    assert errors == []
