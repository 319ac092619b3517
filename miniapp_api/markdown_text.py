"""Staff-written Markdown, made safe before it reaches a public page.

Markdown passes raw HTML through, so its output is sanitised with nh3 against a short
allow-list: text formatting, lists and absolute links (http, https, mailto only). No images, no
styles, no event attributes survive.
"""

import functools
import html
import re

import markdown
import nh3
from markupsafe import Markup

TAGS = {"p", "br", "strong", "em", "ul", "ol", "li", "a", "blockquote", "code", "h3", "h4", "hr"}
# "*" must be given: otherwise nh3 keeps its default title and lang on every tag.
ATTRIBUTES = {"*": set(), "a": {"href"}}
# Staff write "# 标题"; the page already has h1 (campaign) and h2 (群规), so levels fold to h3/h4.
HEADING_LEVEL = re.compile(r"<(/?)h([1-6])\b", re.IGNORECASE)
URL_SCHEMES = {"http", "https", "mailto"}


@functools.lru_cache(maxsize=512)
def render_markdown(text: str | None) -> Markup:
    """Safe HTML for `text`; cached because the join page renders the same text per scan."""
    if not text or not text.strip():
        return Markup("")
    rendered = markdown.markdown(text, extensions=["sane_lists", "nl2br"], output_format="html")
    rendered = HEADING_LEVEL.sub(_fold_heading, rendered)
    cleaned = nh3.clean(
        rendered,
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        # A relative or protocol-relative href ("//evil.example") has no scheme to check.
        url_relative="deny",
        clean_content_tags={"script", "style", "template", "textarea", "xmp", "noscript"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return Markup(cleaned)  # noqa: S704 -- sanitised by nh3 just above


def _fold_heading(match: re.Match) -> str:
    level = min(max(int(match[2]), 3), 4)
    return f"<{match[1]}h{level}"


def register(app):
    app.jinja_env.filters["markdown"] = render_markdown


def plain_text(text: str | None) -> str:
    """The words of `text` without Markdown or HTML, for posters and other plain surfaces."""
    words = nh3.clean(str(render_markdown(text)), tags=set())
    return " ".join(html.unescape(words).split())
