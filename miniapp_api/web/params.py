"""Whole numbers typed into URLs and forms.

`str.isdigit()` is true for "²" and "٣", which `int()` then refuses or reads as another digit,
and `int()` of 300 digits is slow and overflows every column; so numbers are read here, once.
"""

import re

WHOLE = re.compile(r"-?[0-9]{1,18}")


def whole_number(text: str | None, low: int, high: int) -> int | None:
    """The number in text if it is written in ASCII digits and lies in [low, high], else None."""
    text = (text or "").strip()
    if not WHOLE.fullmatch(text):
        return None
    value = int(text)
    return value if low <= value <= high else None
