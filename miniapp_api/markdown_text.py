"""Staff-written Markdown, made safe before it reaches a public page.

Markdown passes raw HTML through, so its output is sanitised with nh3 against a short
allow-list: text formatting, lists and links (http, https, mailto only). No images, no
styles, no event attributes survive.
"""

import functools
import html

import markdown
import nh3
from markupsafe import Markup

TAGS = {"p", "br", "strong", "em", "ul", "ol", "li", "a", "blockquote", "code", "h3", "h4", "hr"}
ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = {"http", "https", "mailto"}


@functools.lru_cache(maxsize=512)
def render_markdown(text: str | None) -> Markup:
    """Safe HTML for `text`; cached because the join page renders the same text per scan."""
    if not text or not text.strip():
        return Markup("")
    html = markdown.markdown(text, extensions=["sane_lists", "nl2br"], output_format="html")
    cleaned = nh3.clean(
        html,
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        clean_content_tags={"script", "style", "template", "textarea", "xmp", "noscript"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return Markup(cleaned)  # noqa: S704 -- sanitised by nh3 just above


def register(app):
    app.jinja_env.filters["markdown"] = render_markdown


def plain_text(text: str | None) -> str:
    """The words of `text` without Markdown or HTML, for posters and other plain surfaces."""
    words = nh3.clean(str(render_markdown(text)), tags=set())
    return " ".join(html.unescape(words).split())
