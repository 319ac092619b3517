"""MkDocs hook: show each Mermaid diagram as the picture drawn for it ahead of time.

scripts/render_diagrams.py draws every ```mermaid block with Mermaid itself and keeps it as
handbook/assets/diagrams/<key>.svg. Here each block of a built page becomes that picture, so a
reader's phone downloads a few kilobytes of SVG instead of 3.6 MB of Mermaid and its second of
work. A block with no picture yet stays as it is and is drawn in the browser (weight.py loads
Mermaid for it), so a fresh edit never breaks a page; `make test` asks for every picture.

The picture's alt text lists the diagram's boxes in order, so a screen reader reads its content.
An English page (page.en.md) keeps the Chinese page's diagram block, so it shows the same
picture, whose boxes are in Chinese; its alt text and link title say so in English.
"""

import hashlib
import html
import logging
import re
from pathlib import Path

from mkdocs.utils import get_relative_url

DIAGRAMS = Path(__file__).resolve().parent.parent / "assets" / "diagrams"
BLOCK = re.compile(r'<pre class="mermaid"><code>(.*?)</code></pre>', re.DOTALL)
LABEL = re.compile(r'"([^"]+)"|\[([^\]"]+)\]|\(\[([^\]"]+)\]\)|\{([^}"]+)\}')
VIEWBOX = re.compile(r'viewBox="[-\d.]+ [-\d.]+ ([\d.]+) ([\d.]+)"')
log = logging.getLogger("mkdocs.hooks.diagrams")


def diagram_key(text: str) -> str:
    """The name of a diagram's picture: a hash of its text, trailing spaces aside."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()[:16]


WORDS = {
    "zh": {"alt": "图：", "sep": "；", "title": "看大图"},
    "en": {"alt": "Diagram (labels in Chinese): ", "sep": "; ", "title": "Open the full picture"},
}


def alt_text(text: str, lang: str = "zh") -> str:
    labels = []
    for match in LABEL.finditer(text):
        label = next(group for group in match.groups() if group)
        label = re.sub(r"<br\s*/?>", " ", label).strip()
        if label and label not in labels:
            labels.append(label)
    return WORDS[lang]["alt"] + WORDS[lang]["sep"].join(labels)


def picture(text: str, page_url: str, lang: str = "zh") -> str | None:
    key = diagram_key(text)
    svg = DIAGRAMS / f"{key}.svg"
    if not svg.is_file():
        return None
    size = VIEWBOX.search(svg.read_text(encoding="utf-8"))
    width, height = (round(float(size[1])), round(float(size[2]))) if size else (800, 400)
    src = get_relative_url(f"assets/diagrams/{key}.svg", page_url)
    # A wide diagram shrinks to a phone's width; tapping it opens the picture to zoom into.
    return (
        f'<figure class="diagram"><a href="{src}" title="{WORDS[lang]["title"]}">'
        f'<img src="{src}" alt="{html.escape(alt_text(text, lang))}" '
        f'width="{width}" height="{height}" decoding="async"></a></figure>'
    )


def on_post_page(output, page, config):
    lang = "en" if getattr(page.file, "locale", None) == "en" else "zh"

    def replace(match):
        text = html.unescape(match[1])
        drawn = picture(text, page.url, lang)
        if drawn is None:
            log.info(
                "%s: a diagram has no picture yet, so the browser draws it "
                "(python scripts/render_diagrams.py draws it ahead of time)",
                page.file.src_path,
            )
            return match[0]
        return drawn

    return BLOCK.sub(replace, output)
