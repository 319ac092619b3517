"""MkDocs hook: the handbook's search reads Chinese queries the way the index was cut.

Material's search worker segments a Chinese query against the index itself, but never tries
the whole run as one token, so 群规 is searched as 群* (every page) and 150人 as one term no
token equals (tests/handbook/test_search_browser.py types such queries in Chromium). After the
build, this hook puts assets/search/query.js (qunbookQuery) at the top of the built worker and
calls it in place of Material's segmentation. If Material's worker changes so that the call
is not found exactly once, the build stops: read the new worker and update PATTERN.

Every page also gets assets/search/gate.js inline in its head: it holds Material's request for
the search index until the reader opens search, so a page costs its own weight alone.

Two editions, two indexes. mkdocs-static-i18n builds the English pages (page.en.md) at en/
and writes one index for both editions. Once both are built, this hook splits it: the Chinese
pages stay in search/search_index.json with Chinese search's settings (lang zh, jieba's cut),
the English edition's pages go to en/search/search_index.json with lang en and the stemmer,
and every English page's `base` points at en/, where Material's worker fetches the index. So
a reader searches the edition they read, and an English query is stemmed (groups finds group).
"""

import functools
import json
import re
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority

ROOT = Path(__file__).resolve().parents[2]
QUERY_JS = ROOT / "assets" / "search" / "query.js"
GATE_JS = ROOT / "assets" / "search" / "gate.js"

# Material 9.7's worker, minified: e=e.replace(new RegExp("\\p{sc=Han}+","gu"),
#   s=>[...fe(s,this.index.invertedIndex)].join("* "))
PATTERN = re.compile(
    r'(?P<q>[\w$]+)=(?P=q)\.replace\(new RegExp\("\\\\p\{sc=Han\}\+","gu"\),'
    r'(?P<v>[\w$]+)=>\[\.\.\.[\w$]+\((?P=v),this\.index\.invertedIndex\)\]\.join\("\* "\)\)'
)

# The English edition's folder in the built site, and its index's settings: Material's
# English pipeline with the stemmer kept (Material drops it by default). The separator stays
# the Chinese one: an English page still quotes 活码 and 「生成海报」.
ENGLISH = "en"
ENGLISH_PIPELINE = ["trimmer", "stopWordFilter", "stemmer"]
BASE = re.compile(r'("base": ")([^"]*)(")')


def english_build(config) -> bool:
    """Whether MkDocs is building the English edition now (mkdocs-static-i18n sets the theme's
    language per edition)."""
    return config["theme"]["language"] == ENGLISH


def last_build(config) -> bool:
    """Whether this post_build is the last of the run: mkdocs-static-i18n builds the English
    edition from inside the Chinese build's post_build, and only then writes the search index
    of both. Without the plugin, every build is the last."""
    return not getattr(config.plugins.get("i18n"), "building", False)


def edition_base(base: str) -> str:
    """A page's relative base one level down: the English edition's root, not the site's
    (../../.. -> ../.., .. -> .)."""
    parts = base.split("/")
    if parts[-1] != "..":
        raise PluginError(f"search hook: an English page's base {base!r} is not above it")
    return "/".join(parts[:-1]) or "."


@functools.cache
def gate_js() -> str:
    return GATE_JS.read_text(encoding="utf-8")


def on_post_page(output, page, config):
    if not any(name.endswith("search") for name in config.plugins):
        return output
    gate = f"<script>{gate_js()}</script>"
    # Material's search panel is a dialog with no name; screen readers announce it by this one.
    name = "搜索" if config["theme"]["language"] == "zh" else "Search"
    output = output.replace(
        '<div class="md-search" data-md-component="search" role="dialog">',
        f'<div class="md-search" data-md-component="search" role="dialog" aria-label="{name}">',
        1,
    )
    if english_build(config) and page.url.startswith(f"{ENGLISH}/"):
        # Material's worker fetches <base>/search/search_index.json: the English edition's own.
        output, found = BASE.subn(lambda m: m[1] + edition_base(m[2]) + m[3], output, count=1)
        if not found:
            raise PluginError(f"search hook: no base in {page.file.src_uri}'s page config")
    head_end = output.index("</head>")
    return output[:head_end] + gate + output[head_end:]


def split_index(site: Path) -> None:
    """The one index of both editions -> search/search_index.json (Chinese pages) and
    en/search/search_index.json (English pages, locations relative to en/, stemmed)."""
    path = site / "search" / "search_index.json"
    index = json.loads(path.read_text(encoding="utf-8"))
    prefix = f"{ENGLISH}/"
    chinese = [doc for doc in index["docs"] if not doc["location"].startswith(prefix)]
    english = [
        {**doc, "location": doc["location"].removeprefix(prefix)}
        for doc in index["docs"]
        if doc["location"].startswith(prefix)
    ]
    chinese_langs = [lang for lang in index["config"]["lang"] if lang != ENGLISH] or ["zh"]
    for target, settings, docs in (
        (path, {"lang": chinese_langs}, chinese),
        (
            site / ENGLISH / path.relative_to(site),
            {"lang": [ENGLISH], "pipeline": ENGLISH_PIPELINE},
            english,
        ),
    ):
        target.parent.mkdir(parents=True, exist_ok=True)
        data = {"config": {**index["config"], **settings}, "docs": docs}
        target.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")


@event_priority(-200)  # after mkdocs-static-i18n's (-100), which writes the index last
def on_post_build(config, **kwargs):
    if not any(name.endswith("search") for name in config.plugins):  # "material/search"
        return
    if not last_build(config):
        return
    if "i18n" in config.plugins:
        split_index(Path(config.site_dir))
    workers = sorted(
        (Path(config.site_dir) / "assets" / "javascripts" / "workers").glob("search.*.min.js")
    )
    if len(workers) != 1:
        raise PluginError(f"search hook: expected one Material search worker, found {workers}")
    worker = workers[0]
    code = worker.read_text(encoding="utf-8")
    found = PATTERN.findall(code)
    if len(found) != 1:
        raise PluginError(
            f"search hook: Material's Chinese query segmentation is not where it was in"
            f" {worker.name} ({len(found)} matches); update PATTERN in handbook/hooks/search.py"
        )
    code = PATTERN.sub(
        lambda m: f"{m['q']}=qunbookQuery({m['q']},this.index.invertedIndex,this.index.pipeline)",
        code,
    )
    worker.write_text(QUERY_JS.read_text(encoding="utf-8") + "\n" + code, encoding="utf-8")
