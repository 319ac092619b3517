"""MkDocs hook: keep the handbook light on a phone.

- Mermaid (3.6 MB) is loaded only by the pages that draw a diagram, and there only when a
  diagram comes near the screen: those pages alone get assets/javascripts/mermaid-lazy.js,
  deferred (it blocks neither parsing nor painting). It sets `window.mermaid` to a stand-in
  before Material mounts its components (deferred scripts run before DOMContentLoaded), so
  Material's own mermaid integration never reaches for its CDN: the kit works offline. The
  stand-in loads the kit's copy of Mermaid and hands Material's calls on to it.
- After the build every text file (.html .js .css .json .svg .xml .txt) gets a gzip copy beside
  it (name.gz), which the kit sends to browsers that accept gzip
  (miniapp_api/handbook/views.py). The copies are reproducible (no timestamp inside). With the
  English edition (mkdocs-static-i18n builds it at en/ from inside the Chinese build), this
  waits for the end of the whole run, after search.py has split the search index, so the en/
  tree is compressed too and no copy is of a file rewritten later.
"""

import gzip
import re
from pathlib import Path

from mkdocs.plugins import event_priority
from mkdocs.utils import get_relative_url

MERMAID = "assets/javascripts/mermaid.min.js"
LAZY = "assets/javascripts/mermaid-lazy.js"
DIAGRAM = re.compile(r'<(?:pre|div)\s+class="mermaid"')
COMPRESSED = {".html", ".js", ".css", ".json", ".svg", ".xml", ".txt"}


def has_diagram(html: str) -> bool:
    return DIAGRAM.search(html) is not None


def on_post_page(output, page, config):
    if not has_diagram(output):
        return output
    lazy = get_relative_url(LAZY, page.url)
    mermaid = get_relative_url(MERMAID, page.url)
    tag = f'<script src="{lazy}" data-src="{mermaid}" defer></script>'
    head_end = output.index("</head>")
    return output[:head_end] + tag + output[head_end:]


@event_priority(-300)  # after search.py's (-200) and mkdocs-static-i18n's (-100)
def on_post_build(config):
    if getattr(config.plugins.get("i18n"), "building", False):
        return  # the English edition, built inside the Chinese build: wait for its end
    for path in Path(config["site_dir"]).rglob("*"):
        if path.suffix not in COMPRESSED or not path.is_file():
            continue
        data = path.read_bytes()
        packed = gzip.compress(data, compresslevel=9, mtime=0)
        target = path.with_name(path.name + ".gz")
        if len(packed) < len(data):
            target.write_bytes(packed)
        else:
            target.unlink(missing_ok=True)
