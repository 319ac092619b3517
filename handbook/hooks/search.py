"""MkDocs hook: the handbook's search reads Chinese queries the way the index was cut.

Material's search worker segments a Chinese query against the index itself, but never tries
the whole run as one token, so 群规 is searched as 群* (every page) and 150人 as one term no
token equals (tests/handbook/test_search_browser.py types such queries in Chromium). After the
build, this hook puts assets/search/query.js (qunbookQuery) at the top of the built worker and
calls it in place of Material's segmentation. If Material's worker changes so that the call
is not found exactly once, the build stops: read the new worker and update PATTERN.

Every page also gets assets/search/gate.js inline in its head: it holds Material's request for
the search index until the reader opens search, so a page costs its own weight alone.
"""

import functools
import re
from pathlib import Path

from mkdocs.exceptions import PluginError

ROOT = Path(__file__).resolve().parents[2]
QUERY_JS = ROOT / "assets" / "search" / "query.js"
GATE_JS = ROOT / "assets" / "search" / "gate.js"

# Material 9.7's worker, minified: e=e.replace(new RegExp("\\p{sc=Han}+","gu"),
#   s=>[...fe(s,this.index.invertedIndex)].join("* "))
PATTERN = re.compile(
    r'(?P<q>[\w$]+)=(?P=q)\.replace\(new RegExp\("\\\\p\{sc=Han\}\+","gu"\),'
    r'(?P<v>[\w$]+)=>\[\.\.\.[\w$]+\((?P=v),this\.index\.invertedIndex\)\]\.join\("\* "\)\)'
)


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
    head_end = output.index("</head>")
    return output[:head_end] + gate + output[head_end:]


def on_post_build(config, **kwargs):
    if not any(name.endswith("search") for name in config.plugins):  # "material/search"
        return
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
    code = PATTERN.sub(lambda m: f"{m['q']}=qunbookQuery({m['q']},this.index.invertedIndex)", code)
    worker.write_text(QUERY_JS.read_text(encoding="utf-8") + "\n" + code, encoding="utf-8")
