"""Whole numbers as people type them, on every surface (links, forms, the command line).

`str.isdigit()` is true for "²" and "٣", which `int()` then refuses or reads as another digit;
`int()` also takes "1_000" and 300 digits, which overflow every column. Only ASCII digits in a
stated range are a number here.
"""

import re

# The largest id or count taken from a link, a form, the API or the command line: well inside
# the 32-bit columns.
MAX_INT = 10**9
WHOLE = re.compile(r"-?[0-9]{1,18}")


def whole_number(text: str | None, low: int, high: int) -> int | None:
    """The number in text if it is written in ASCII digits and lies in [low, high], else None."""
    text = (text or "").strip()
    if not WHOLE.fullmatch(text):
        return None
    value = int(text)
    return value if low <= value <= high else None
