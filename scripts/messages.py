"""Brings the English catalogue in step with the code: `make messages`.

Extracts every message marked with `_`, `gettext`, `ngettext`, `pgettext` or `lazy_gettext` from the
package's Python modules and templates (Babel's extractors, mapped by
miniapp_api/translations/babel.cfg), adds the new ones to
miniapp_api/translations/en/LC_MESSAGES/messages.po untranslated, keeps every translation
already made and drops messages the code no longer has. Entries are sorted and carry no line
numbers, so the file changes only where messages do. tests/test_i18n.py fails while any
message is untranslated.

    python scripts/messages.py            # update the catalogue
    python scripts/messages.py --check    # exit 1 if updating would change it
"""

import argparse
import sys
from datetime import datetime
from io import BytesIO
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "miniapp_api"
MAPPING = PACKAGE / "translations" / "babel.cfg"
CATALOGUE = PACKAGE / "translations" / "en" / "LC_MESSAGES" / "messages.po"
FIXED = datetime(2026, 11, 30)
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "pgettext": ((1, "c"), 2),
    "lazy_gettext": None,
}


def extract() -> Catalog:
    with MAPPING.open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    template = Catalog(project="Qunbook", locale="zh")
    for filename, lineno, message, comments, context in extract_from_dir(
        ROOT, method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True
    ):
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def updated(template: Catalog) -> bytes:
    if CATALOGUE.exists():
        with CATALOGUE.open("rb") as po:
            catalog = read_po(po, locale="en")
    else:
        catalog = Catalog(project="Qunbook", locale="en")
    # No fuzzy guesses: a new message stays untranslated until a person translates it.
    catalog.update(template, no_fuzzy_matching=True)
    catalog.obsolete.clear()
    catalog.project = "Qunbook"
    catalog.header_comment = "# Qunbook's English catalogue: the Chinese messages, in English.\n#"
    catalog.version, catalog.fuzzy = "1", False
    catalog.msgid_bugs_address = catalog.last_translator = catalog.language_team = ""
    catalog.revision_date = catalog.creation_date = FIXED  # no churn on every run
    out = BytesIO()
    write_po(out, catalog, width=100, sort_output=True, include_lineno=False)
    return out.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the catalogue is stale")
    args = parser.parse_args()
    text = updated(extract())
    if args.check:
        if not CATALOGUE.exists() or CATALOGUE.read_bytes() != text:
            print("The English catalogue is out of step with the code: run make messages.")
            return 1
        return 0
    CATALOGUE.parent.mkdir(parents=True, exist_ok=True)
    CATALOGUE.write_bytes(text)
    print(f"{CATALOGUE.relative_to(ROOT)}: {len(read_po(BytesIO(text)))} messages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
