"""MkDocs hook: one term per concept. handbook/hooks/terms.json maps each term the handbook
uses to the forms it does not (黏性 for 粘性, Traditional forms a copy from article 002 would
bring ...). A page that uses such a form stops the strict build with the page, the form and
the term to write instead; a form quoted as a word (“黏性”, 「黏性」) is only mentioned, and
passes. The search box finds a term only as it is written, so this keeps it findable."""

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


def on_page_markdown(markdown, page, **kwargs):
    for number, line in enumerate(markdown.splitlines(), 1):
        for found in USED.finditer(line):
            form = found[1]
            log.warning(
                f"{page.file.src_uri}:{number}: 写「{FORMS[form]}」，不写「{form}」"
                "（术语表 handbook/hooks/terms.json）"
            )
    return markdown
