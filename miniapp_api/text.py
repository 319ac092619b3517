"""Text people type, on every surface (forms, links, the API, the command line).

PostgreSQL refuses NUL in a string (psycopg2 raises before the query is sent) and neither
database stores a lone surrogate, so such text used to become a 500 somewhere in the middle of
a page; other control characters are invisible on every page and poster. They are refused at
the door (web/inputs.py, the command line) with a message naming the field and the character.
What passes is normalised to NFC, so "é" typed two ways is one name.
"""

import unicodedata

# Tab and line breaks are ordinary in a textarea; every other control character is not text.
KEPT_CONTROLS = frozenset("\t\n\r")


def unwanted_character(text: str) -> str | None:
    """The first character of text that no field takes, as "U+0000", or None when it is fine:
    control characters (C0 but tab and line breaks, DEL, C1) and lone surrogates."""
    for char in text:
        kind = unicodedata.category(char)
        if (kind == "Cc" and char not in KEPT_CONTROLS) or kind == "Cs":
            return f"U+{ord(char):04X}"
    return None


def normal(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def is_blank(text: str | None) -> bool:
    """True when text shows nothing: only spaces, zero-width and other format characters
    (U+200B, U+200D, U+FEFF, U+202E ...). A name, title or label made of them is empty."""
    return not any(
        not char.isspace() and unicodedata.category(char) not in ("Cf", "Cc", "Zs", "Mn")
        for char in text or ""
    )
