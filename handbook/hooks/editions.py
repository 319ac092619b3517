"""MkDocs hook: the two editions' pages link each other without Material's sitemap lookups.

mkdocs-static-i18n points each page's language switcher at the same page in the other edition,
and Material also writes those links into the head as <link rel="alternate" hreflang>. Material
treats every such link as the root of a language's site and asks for <link>/sitemap.xml, so
each page asked the kit for two sitemaps that do not exist (/handbook/glossary/sitemap.xml):
404s in every reader's console, for nothing, since the switcher's own links already land on
the same page. The head links go; the switcher stays.
"""

import re

HEAD_ALTERNATE = re.compile(r'[ \t]*<link rel="alternate" href="[^"]*" hreflang="[^"]*">\n?')


def on_post_page(output, page, config):
    head_end = output.find("</head>")
    if head_end < 0:
        return output
    return HEAD_ALTERNATE.sub("", output[:head_end]) + output[head_end:]
