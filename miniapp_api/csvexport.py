"""Exports staff open in Excel or WPS, as CSV and as xlsx, and no cell that runs as a formula.

CSV is UTF-8 with a BOM. A spreadsheet program guesses each CSV cell's type, so an 18-digit
customer id comes back as 3.20102198001011e+17 and 000123 as 123 once the file is saved
again; the xlsx export types every text cell as text (format "@") and every time as a date,
so ids survive and dates sort and filter as dates.
"""

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

# A cell starting with one of these is read as a formula by spreadsheet programs
# (full-width forms included: WPS accepts them too).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")  # i18n: content
# strftime's pieces as a spreadsheet's number format, for the patterns the exports use.
DATE_FORMAT_PIECES = {"%Y": "yyyy", "%m": "mm", "%d": "dd", "%H": "hh", "%M": "mm", "%S": "ss"}
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Moment:
    """A local date or time: text in CSV as `pattern` writes it, a real date in xlsx shown
    the same way. `value` is naive local time (spreadsheets know no time zones)."""

    value: datetime | date
    pattern: str = "%Y-%m-%d %H:%M:%S"

    def text(self) -> str:
        return self.value.strftime(self.pattern)

    def shown(self) -> datetime:
        """The time as far as the pattern shows it: the xlsx cell holds no hidden seconds."""
        return datetime.strptime(self.text(), self.pattern)

    def number_format(self) -> str:
        shown = self.pattern
        for piece, excel in DATE_FORMAT_PIECES.items():
            shown = shown.replace(piece, excel)
        return shown


def neutralise(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def as_text(value) -> str:
    """A cell as CSV writes it."""
    if isinstance(value, Moment):
        return value.text()
    return neutralise(value)


def to_csv(header: list[str], rows: Iterable[Iterable]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([as_text(cell) for cell in row])
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


def to_xlsx(header: list[str], rows: Iterable[Iterable], title: str = "Sheet1") -> bytes:
    """One sheet: numbers as numbers, Moments as dates, everything else as text."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])
    sheet.freeze_panes = "A2"
    for index, name in enumerate(header):
        # Chinese characters take two columns' width; a time needs about 20.
        sheet.column_dimensions[get_column_letter(index + 1)].width = max(12, 2 * len(name) + 4)
    heading = []
    for name in header:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = Font(bold=True)
        heading.append(cell)
    sheet.append(heading)
    for row in rows:
        sheet.append([_xlsx_cell(sheet, value) for value in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _xlsx_cell(sheet, value) -> WriteOnlyCell:
    if isinstance(value, Moment):
        cell = WriteOnlyCell(sheet, value=value.shown())
        cell.number_format = value.number_format()
        return cell
    if isinstance(value, int | float) and not isinstance(value, bool):
        return WriteOnlyCell(sheet, value=value)
    if value is None or value == "":
        return WriteOnlyCell(sheet, value=None)
    # Text stays text: typed "s" (openpyxl would make "=..." a formula) and formatted "@",
    # so a spreadsheet keeps 000123 and 18-digit ids as typed, even when edited.
    cell = WriteOnlyCell(sheet, value=neutralise(value))
    cell.data_type = "s"
    cell.number_format = "@"
    return cell
