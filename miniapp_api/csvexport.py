"""CSV files staff open in Excel or WPS: UTF-8 with a BOM, and no cell that runs as a formula."""

import csv
import io
from collections.abc import Iterable

# A cell starting with one of these is read as a formula by spreadsheet programs
# (full-width forms included: WPS accepts them too).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def neutralise(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def to_csv(header: list[str], rows: Iterable[Iterable]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
    return "\ufeff".encode() + out.getvalue().encode("utf-8")
