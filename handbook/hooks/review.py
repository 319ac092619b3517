"""MkDocs hook: every page ends with who keeps it, when it was last reviewed, and where to edit it.

    最后审阅：2026-11-30 · 维护：培训负责人 · 编辑本页

- The date is that of the last git commit touching the page's .md file (one `git log` for the
  whole handbook). A wheel is built from an sdist, which has no .git: setup.py's sdist step
  writes the same dates into handbook/reviewed.json, read for any page git knows nothing of.
  A page found in neither shows no date rather than a wrong one.
- The keeper is `extra: keeper:` in mkdocs.yml, or `keeper:` in a page's front matter.
- The edit link is <repo>/edit/main/handbook/<page>, the repo from QUNBOOK_REPO_URL at build
  time or git's remote origin when it is an http(s) URL (without any credentials in it). With
  neither known, the page names its source file as text, so a trainer knows which file to edit.

The line is put into the built page after search has indexed it, so it never shows up in
search results. In the English edition it is in English:

    Last reviewed: 2026-11-30 · Kept by: Head of Training · Edit this page

An English page whose front matter says `translation_behind: true` gets a visible note under
its title that the Chinese page is ahead, with a link to it; the parity test
(tests/handbook/test_english_parity.py) accepts such a page instead of a page at parity.
"""

import json
import os
import subprocess
from html import escape
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
DOCS = "handbook"
REVIEWED_JSON = ROOT / DOCS / "reviewed.json"
ARTICLE_END = "</article>"


def git(*args: str, root: Path = ROOT) -> str | None:
    """git's output in `root`, or None where there is no git or no repository at `root` (an
    unpacked sdist: git is not allowed to find a repository in a folder above it)."""
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "GIT_CEILING_DIRECTORIES": str(root.parent)},
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def git_dates(root: Path = ROOT) -> dict[str, str]:
    """{page (.md) path inside handbook/: date of the last commit touching it}, from one
    git call for the whole handbook."""
    out = git("log", "--format=%x00%cs", "--name-only", "--", DOCS, root=root)
    dates: dict[str, str] = {}
    for entry in (out or "").split("\0")[1:]:
        day, *names = entry.strip().splitlines()
        for name in names:
            if name.startswith(f"{DOCS}/") and name.endswith(".md"):
                dates.setdefault(name.removeprefix(f"{DOCS}/"), day)
    return dates


def web_url(url: str | None) -> str | None:
    """An http(s) repository URL fit to print: credentials, .git and a trailing / dropped."""
    parts = urlsplit((url or "").strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname + (f":{parts.port}" if parts.port else "")
    path = parts.path.rstrip("/").removesuffix(".git")
    return urlunsplit((parts.scheme, host, path, "", ""))


def repo_url(root: Path = ROOT) -> str | None:
    return web_url(os.environ.get("QUNBOOK_REPO_URL")) or web_url(
        git("remote", "get-url", "origin", root=root)
    )


def reviewed(root: Path = ROOT) -> dict:
    """What the footer line needs: {"dates": {page: day}, "repo": url or None}. Git first, then
    handbook/reviewed.json (an sdist's copy of the same), page by page."""
    saved_file = root / DOCS / "reviewed.json"
    saved = json.loads(saved_file.read_text(encoding="utf-8")) if saved_file.is_file() else {}
    return {
        "dates": {**saved.get("dates", {}), **git_dates(root)},
        "repo": repo_url(root) or web_url(saved.get("repo")),
    }


def write_reviewed_json(target: Path, root: Path = ROOT) -> None:
    """For setup.py's sdist: the checkout's dates and repository, for a build without git."""
    target.write_text(
        json.dumps(reviewed(root), ensure_ascii=False, indent=1, sort_keys=True) + "\n",
        encoding="utf-8",
    )


WORDS = {
    "zh": {"reviewed": "最后审阅：", "keeper": "维护：", "edit": "编辑本页", "colon": "："},
    "en": {
        "reviewed": "Last reviewed: ",
        "keeper": "Kept by: ",
        "edit": "Edit this page",
        "colon": ": ",
    },
}
BEHIND = (
    '<div class="admonition warning qb-behind"><p class="admonition-title">'
    "This translation is behind the Chinese page</p><p>The Chinese page has changed since this"
    " English page was last brought level with it: figures, steps or links here may be out of"
    ' date. <a href="{href}" hreflang="zh">Read the current Chinese page</a>.</p></div>'
)


def review_line(
    src_uri: str, day: str | None, keeper: str, repo: str | None, lang: str = "zh"
) -> str:
    words = WORDS.get(lang, WORDS["zh"])
    parts = [f"{words['reviewed']}<time>{escape(day)}</time>"] if day else []
    parts.append(f"{words['keeper']}{escape(keeper)}")
    source = f"{DOCS}/{src_uri}"
    if repo:
        parts.append(f'<a href="{escape(repo)}/edit/main/{escape(source)}">{words["edit"]}</a>')
    else:
        parts.append(f"{words['edit']}{words['colon']}<code>{escape(source)}</code>")
    return f'<p class="qb-review">{" · ".join(parts)}</p>'


def behind_note(output: str, page) -> str:
    """The page with the "translation is behind" note after its title, linking the Chinese page."""
    from mkdocs.exceptions import PluginError
    from mkdocs.utils import get_relative_url

    chinese = getattr(page.file, "alternates", {}).get("zh")
    if chinese is None:
        raise PluginError(f"review hook: {page.file.src_uri} is behind no Chinese page")
    note = BEHIND.format(href=escape(get_relative_url(chinese.url or ".", page.url or ".")))
    article = output.find("<article")
    title_end = output.find("</h1>", article)
    at = title_end + len("</h1>") if article >= 0 and title_end >= 0 else -1
    if at < 0:
        raise PluginError(f"review hook: no title in {page.file.src_uri}'s page for its note")
    return output[:at] + note + output[at:]


_found: dict = {}


def on_config(config, **kwargs):
    _found.clear()
    _found.update(reviewed())
    return config


def on_post_page(output, page, config, **kwargs):
    # Imported here: setup.py's sdist step uses this module where MkDocs is not installed.
    from mkdocs.exceptions import PluginError

    keeper = str(page.meta.get("keeper") or config.extra.get("keeper") or "").strip()
    if not keeper:
        raise PluginError("review hook: set extra.keeper in mkdocs.yml (who keeps the handbook)")
    lang = (getattr(config, "theme", None) and config.theme.get("language")) or "zh"
    line = review_line(
        page.file.src_uri, _found["dates"].get(page.file.src_uri), keeper, _found["repo"], lang
    )
    if page.meta.get("translation_behind") and getattr(page.file, "locale", None) == "en":
        output = behind_note(output, page)
    end = output.find(ARTICLE_END)
    if end < 0:
        raise PluginError(f"review hook: no {ARTICLE_END} in {page.file.src_uri}'s page")
    return output[:end] + line + output[end:]
