"""MkDocs hook: one term per concept. handbook/hooks/terms.json maps each term the handbook
uses to the forms it does not (黏性 for 粘性, Traditional forms a copy from article 002 would
bring ...). A page that uses such a form stops the strict build with the page, the form and
the term to write instead; a form quoted as a word (“黏性”, 「黏性」) is only mentioned, and
passes. The search box finds a term only as it is written, so this keeps it findable.

The English edition's pages (page.en.md) are held to handbook/hooks/glossary.json, the one
source of the English renderings: a page that writes a form listed under "avoid" (dynamic QR
code for live code, viral loop for fission ...) stops the strict build with the page, the form
and the glossary term to write instead. Case does not matter; a form in quotes ("viral loop",
“viral loop”) is a mention, and passes."""

import json
import logging
import re
from pathlib import Path

log = logging.getLogger("mkdocs.hooks.terms")
TERMS = json.loads((Path(__file__).with_name("terms.json")).read_text(encoding="utf-8"))
FORMS = {form: term for term, forms in TERMS.items() if term != "_" for form in forms}
# A form used as a word in the text, not named in quotes.
USED = re.compile(
    "(?<![“「‘『])("
    + "|".join(map(re.escape, sorted(FORMS, key=len, reverse=True)))
    + ")(?![”」’』])"
)

GLOSSARY = json.loads((Path(__file__).with_name("glossary.json")).read_text(encoding="utf-8"))
AVOID = {form.lower(): term for term in GLOSSARY["terms"] for form in term["avoid"]}
# An avoided form (or its plural) as words of the text, not part of a longer word, not quoted.
AVOIDED = re.compile(
    r"(?<![“\"‘'\w-])("
    + "|".join(map(re.escape, sorted(AVOID, key=len, reverse=True)))
    + r")(?:e?s)?(?![”\"’'\w-])",
    re.IGNORECASE,
)


def english_page(page) -> bool:
    """A page of the English edition written in English (not the Chinese page it falls back to)."""
    return getattr(page.file, "locale", None) == "en" or page.file.src_uri.endswith(".en.md")


def on_page_markdown(markdown, page, **kwargs):
    for number, line in enumerate(markdown.splitlines(), 1):
        for found in USED.finditer(line):
            form = found[1]
            log.warning(
                f"{page.file.src_uri}:{number}: 写「{FORMS[form]}」，不写「{form}」"
                "（术语表 handbook/hooks/terms.json）"
            )
    if english_page(page):
        check_english(markdown, page.file.src_uri)
    return markdown


# What is no wording: heading ids and attribute lists ({ #repurchase }), link targets.
NOT_WORDING = re.compile(r"\{[^}]*\}|\]\([^)]*\)")


def check_english(markdown: str, name: str) -> None:
    for number, line in enumerate(markdown.splitlines(), 1):
        for found in AVOIDED.finditer(NOT_WORDING.sub(" ", line)):
            term = AVOID[found[1].lower()]
            log.warning(
                f"{name}:{number}: write “{term['en']}” ({term['zh']}), not “{found[1]}”"
                " (glossary handbook/hooks/glossary.json)"
            )
