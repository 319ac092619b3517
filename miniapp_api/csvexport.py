"""Exports staff open in Excel or WPS, as CSV and as xlsx, and no cell that runs as a formula.

CSV is UTF-8 with a BOM. A spreadsheet program guesses each CSV cell's type, so an 18-digit
customer id comes back as 3.20102198001011e+17 and 000123 as 123 once the file is saved
again; the xlsx export types every text cell as text (format "@") and every time as a date,
so ids survive and dates sort and filter as dates.

Both are made row by row in constant memory, however many rows (a campaign's visits run to
millions): CSV in chunks as the rows come, xlsx through XlsxWriter's constant-memory mode
(inline strings, the sheet in a temporary file) into a temporary file sent in chunks; `stream_rows`
reads a query's rows from the database in batches.
"""

import csv
import io
import secrets
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime

import xlsxwriter

from miniapp_api.db import db, is_sqlite

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


ROWS_PER_CHUNK = 1000
CHUNK_BYTES = 64 * 1024


def csv_chunks(header: list[str], rows: Iterable[Iterable]) -> Iterator[bytes]:
    """The CSV (BOM, header, rows) in pieces of ROWS_PER_CHUNK rows, as the rows come."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    yield "\ufeff".encode() + out.getvalue().encode("utf-8")
    out.seek(0)
    out.truncate()
    for number, row in enumerate(rows, start=1):
        writer.writerow([as_text(cell) for cell in row])
        if number % ROWS_PER_CHUNK == 0:
            yield out.getvalue().encode("utf-8")
            out.seek(0)
            out.truncate()
    if out.tell():
        yield out.getvalue().encode("utf-8")


def to_csv(header: list[str], rows: Iterable[Iterable]) -> bytes:
    return b"".join(csv_chunks(header, rows))


def write_xlsx(out, header: list[str], rows: Iterable[Iterable], title: str = "Sheet1") -> None:
    """One sheet into the binary file `out`: numbers as numbers, Moments as dates, everything
    else as text. XlsxWriter's constant-memory mode writes each row to a temporary file as it
    comes, strings inline (no shared-string table growing with the rows). Measured on 50,000
    visits: 4.5 s where openpyxl's write-only mode took 13 s."""
    book = xlsxwriter.Workbook(out, {"constant_memory": True, "nan_inf_to_errors": True})
    try:
        sheet = book.add_worksheet(title[:31])
        styles = _Styles(book)
        sheet.freeze_panes(1, 0)
        for index, name in enumerate(header):
            # Chinese characters take two columns' width; a time needs about 20.
            sheet.set_column(index, index, max(12, 2 * len(name) + 4))
            sheet.write_string(0, index, name, styles.heading)
        for number, row in enumerate(rows, start=1):
            for index, value in enumerate(row):
                _write_cell(sheet, styles, number, index, value)
    finally:
        # Also when the rows fail (the database gone mid-export): closing is what removes
        # the temporary file holding the rows so far, names and all.
        book.close()


class _Styles:
    """A workbook's cell formats, each made once: the heading, text, and one per date pattern."""

    def __init__(self, book):
        self.book = book
        self.heading = book.add_format({"bold": True})
        # Text stays text: formatted "@", so a spreadsheet keeps 000123 and 18-digit ids as
        # typed, even when edited.
        self.text = book.add_format({"num_format": "@"})
        self.dates: dict[str, object] = {}

    def date(self, moment: Moment):
        shown = moment.number_format()
        if shown not in self.dates:
            self.dates[shown] = self.book.add_format({"num_format": shown})
        return self.dates[shown]


def _write_cell(sheet, styles: _Styles, row: int, column: int, value) -> None:
    if isinstance(value, Moment):
        sheet.write_datetime(row, column, value.shown(), styles.date(value))
    elif isinstance(value, int | float) and not isinstance(value, bool):
        sheet.write_number(row, column, value)
    elif value is None or value == "":
        return  # an empty cell
    else:
        # Written as a string whatever it looks like: never a formula, never a number.
        sheet.write_string(row, column, neutralise(value), styles.text)


def xlsx_chunks(
    header: list[str], rows: Iterable[Iterable], title: str = "Sheet1"
) -> Iterator[bytes]:
    """The workbook in pieces: a zip is complete only at its end, so it is built in a
    temporary file first, then read out."""
    with tempfile.TemporaryFile() as out:
        write_xlsx(out, header, rows, title)
        out.seek(0)
        while chunk := out.read(CHUNK_BYTES):
            yield chunk


def to_xlsx(header: list[str], rows: Iterable[Iterable], title: str = "Sheet1") -> bytes:
    out = io.BytesIO()
    write_xlsx(out, header, rows, title)
    return out.getvalue()


def stream_rows(query, batch: int = 2000) -> Iterator[tuple]:
    """A query's rows as tuples, fetched `batch` at a time rather than all at once.

    SQLite's cursor steps through the result as it is read. psycopg2's ordinary cursor would
    fetch every row into memory first; a named (server-side) cursor fetches a batch at a time,
    in a transaction that also gives the whole export one snapshot. WITH HOLD only because
    psycopg2 refuses a named cursor on a connection in autocommit mode (peewee's), not knowing
    about the BEGIN peewee sent; it is closed before the transaction ends, so nothing is held.
    Values come as the driver gives them (PostgreSQL's are already Python's).
    """
    if is_sqlite():
        yield from query.tuples().iterator()
        return
    sql, params = query.sql()
    with db.atomic():
        cursor = db.connection().cursor(name=f"export_{secrets.token_hex(8)}", withhold=True)
        cursor.itersize = batch
        try:
            cursor.execute(sql, params)
            yield from cursor
        finally:
            cursor.close()
