"""Importing customers from a spreadsheet, for VIP selection: an .xlsx workbook or a CSV.

Chinese spreadsheets save CSV as UTF-8 (with or without a BOM) or as GBK; both are read. An
.xlsx is read from its first sheet (openpyxl, read-only, the values the cells show).
Every bad row is reported with its row number and what to fix, and the good rows are still
imported. Importing the same file again changes nothing: customers are keyed by their
external id, and the database's unique index decides (an upsert), not a prior check.
"""

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from miniapp_api.db import db
from miniapp_api.i18n import _, current_locale
from miniapp_api.models import Customer, utcnow
from miniapp_api.visitors import normalise_phone

MAX_BYTES = 20 * 1024 * 1024
# An .xlsx is a zip: what it unpacks to is checked too, so a small file cannot fill memory.
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
XLSX_START = b"PK\x03\x04"
MAX_ROWS = 200_000
MAX_AMOUNT_FEN = 10**11  # 10 亿元: beyond any real customer, inside a 64-bit column
BATCH = 500
# A column can be headed in Chinese or English, as spreadsheets are made by people. The
# headings are what the code recognises in a file, not messages.
PURCHASE_TOTAL = ("累计消费", "累计消费金额", "消费金额")  # i18n: content
COLUMNS = {
    "external_id": ("客户编号", "编号", "会员号", "external_id", "id"),  # i18n: content
    "name": ("姓名", "客户姓名", "name"),  # i18n: content
    "region": ("地区", "区域", "城市", "region"),  # i18n: content
    "purchase_total": (*PURCHASE_TOTAL, "purchase_total", "amount"),
    "last_active": ("最近活跃", "最近活跃日期", "最近消费日期", "last_active"),  # i18n: content
    "phone": ("手机", "手机号", "电话", "phone"),  # i18n: content
}
REQUIRED = ("external_id", "name", "region", "purchase_total")
EXTERNAL_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
# How Excel, WPS and Calc write a long number they took an id for: 3.3010619851212E+017.
SCIENTIFIC_ID = re.compile(r"[0-9](?:\.[0-9]+)?[eE]\+[0-9]{1,3}")
# A cell a spreadsheet would run as a formula (ASCII and full-width forms).
FORMULA = re.compile(r"^[=+\-@＝＋－＠\t\r]")  # i18n: content
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日")  # i18n: content


class CustomerFileError(ValueError):
    """The file as a whole cannot be read; the message says what to do."""


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def check_size(data: bytes) -> None:
    if not data:
        raise CustomerFileError(_("文件是空的：请从表格软件保存为 .xlsx 或 CSV 再上传。"))
    if len(data) > MAX_BYTES:
        raise CustomerFileError(
            _("文件超过 %(mb)s MB：请分成几个文件导入。", mb=MAX_BYTES // 1024 // 1024)
        )


# Old Excel (.xls) is an OLE2 compound file; openpyxl reads neither it nor OpenDocument (.ods).
XLS_START = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ODS_MIMETYPE = b"mimetypeapplication/vnd.oasis.opendocument.spreadsheet"


def refuse_other_workbooks(data: bytes) -> None:
    """A workbook openpyxl cannot read is named, with how to save it as one it can."""
    if data.startswith(XLS_START):
        raise CustomerFileError(
            _("这是旧版 Excel 文件（.xls）：请在 Excel 或 WPS 里另存为 .xlsx 再上传。")
        )
    if data.startswith(XLSX_START) and ODS_MIMETYPE in data[:100]:
        raise CustomerFileError(
            _("这是 OpenDocument 表格（.ods）：请在 LibreOffice 里另存为 .xlsx 再上传。")
        )


def decode(data: bytes) -> str:
    check_size(data)
    refuse_other_workbooks(data)
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            break
        return text
    raise CustomerFileError(
        _("文件编码看不懂：请在表格软件里“另存为 Excel 工作簿（.xlsx）”或“CSV（UTF-8）”再上传。")
    )


def is_xlsx(data: bytes) -> bool:
    return data.startswith(XLSX_START)


def rows_in(data: bytes) -> int:
    """About how many rows the file has, for a progress bar (at least 1)."""
    if not is_xlsx(data):
        return max(data.count(b"\n"), 1)
    try:
        book = open_workbook(data)
    except CustomerFileError:
        return 1  # import_customers says what is wrong with the file
    try:
        return max((book.worksheets[0].max_row or 1) - 1, 1)
    finally:
        book.close()


def spreadsheet_rows(data: bytes):
    """The file's rows as lists of text, whichever kind it is; the header first."""
    if is_xlsx(data):
        return xlsx_rows(data)
    return csv.reader(io.StringIO(decode(data), newline=""))


def open_workbook(data: bytes):
    check_size(data)
    refuse_other_workbooks(data)
    unreadable = CustomerFileError(
        _("这个 .xlsx 文件打不开：请在表格软件里重新“另存为 Excel 工作簿（.xlsx）”再上传。")
    )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise unreadable from None
    if unpacked > MAX_UNPACKED_BYTES:
        raise CustomerFileError(_("这个 .xlsx 解开后太大：请分成几个文件导入。"))
    try:
        return load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise unreadable from None


def xlsx_rows(data: bytes):
    book = open_workbook(data)
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        header = _trimmed([cell_text(v) for v in next(rows, ())])
        yield header
        for values in rows:
            # Columns in a workbook cannot shift as a stray comma shifts a CSV line: cells
            # right of the header (notes staff keep beside the list) are left out.
            cells = [cell_text(v) for v in values[: len(header)]]
            yield cells + [""] * (len(header) - len(cells))
    finally:
        book.close()


def _trimmed(cells: list[str]) -> list[str]:
    while cells and not cells[-1].strip():
        cells.pop()
    return cells


# A spreadsheet keeps 15 significant digits of a number: a longer one is not what was typed.
EXACT_DIGITS = 15


def cell_text(value) -> str:
    """A workbook cell as the text the spreadsheet shows, so CSV and .xlsx rows are checked
    alike. A number too long to be exact is written as the spreadsheet shows it
    (3.20102198001011E+17), which the checks below refuse with the reason."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int) and abs(value) < 10**EXACT_DIGITS:
        return str(value)
    if isinstance(value, int | float):
        return f"{value:.{EXACT_DIGITS}g}".replace("e", "E")
    return str(value)


def header_map(header: list[str]) -> dict[str, int]:
    """Which column holds which field; CustomerFileError names the missing ones."""
    names = [h.strip().lower() for h in header]
    found = {}
    for key, aliases in COLUMNS.items():
        for alias in aliases:
            if alias.lower() in names:
                found[key] = names.index(alias.lower())
                break
    missing = [heading(key) for key in REQUIRED if key not in found]
    if missing:
        raise CustomerFileError(
            _(
                "第 1 行（表头）缺少这些列：%(missing)s。表头示例：%(example)s",
                missing=_("、").join(missing),
                example=",".join(heading(key) for key in COLUMNS),
            )
        )
    return found


def heading(key: str) -> str:
    """A column's heading in the reader's language (a file may use either: both are read)."""
    aliases = COLUMNS[key]
    return aliases[0] if current_locale() == "zh" else next(a for a in aliases if a.isascii())


AMOUNT = re.compile(r"-?[0-9]{1,30}(?:\.[0-9]+)?")
SCIENTIFIC = re.compile(r"-?[0-9]+(?:\.[0-9]+)?[eE][+-]?[0-9]+")  # how Excel shows 1E+26


# What a currency format adds around an amount: the yen/yuan sign (half- and full-width),
# thousands separators and spaces (also the no-break and thin ones accounting formats use).
AMOUNT_DECORATION = re.compile(r"[¥￥,，\s\u00a0\u2009\u202f\u3000]")  # i18n: content


def parse_amount(text: str) -> int:
    cleaned = AMOUNT_DECORATION.sub("", text).removesuffix("元")  # i18n: content
    if cleaned[:1] in ("?", "？") and AMOUNT.fullmatch(cleaned[1:]):  # i18n: content
        # GBK has no half-width ¥: a sheet saved as GBK CSV writes it as "?". Only in front
        # of an amount, where the sign stood; a "?" anywhere else is still refused.
        cleaned = cleaned[1:]
    # Decimal() alone also reads "1e3", "٣" and "NaN": an amount is ASCII digits and a point.
    if SCIENTIFIC.fullmatch(cleaned):
        raise ValueError(
            _(
                "累计消费「%(text)s」不是金额：表格把它显示成了科学计数法，"
                "请把这一列设成“数值”格式（两位小数）再导出",
                text=text[:20],
            )
        )
    if not AMOUNT.fullmatch(cleaned):
        raise ValueError(_("累计消费「%(text)s」不是金额：写数字，如 1280.50", text=text))
    if len(cleaned.lstrip("-").split(".")[0].lstrip("0")) > len(str(MAX_AMOUNT_FEN // 100)):
        # Checked on the digits: 29 of them are past Decimal's precision, and quantize() below
        # would raise instead of saying what is wrong with this row.
        raise ValueError(_("累计消费「%(text)s」大得不真实：请检查是否多了几位", text=text[:20]))
    amount = Decimal(cleaned)
    if amount < 0:
        raise ValueError(_("累计消费「%(text)s」是负数：退款后请写 0 或实际余额", text=text))
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError(_("累计消费「%(text)s」超过两位小数：金额只到分", text=text))
    fen = int(amount * 100)
    if fen > MAX_AMOUNT_FEN:
        raise ValueError(_("累计消费「%(text)s」大得不真实：请检查是否多了几位", text=text))
    return fen


def parse_date(text: str, today: date) -> date | None:
    if not text:
        return None
    for pattern in DATE_FORMATS:
        try:
            day = datetime.strptime(text, pattern).date()
        except ValueError:
            continue
        if day > today:
            raise ValueError(_("最近活跃「%(text)s」在未来：请写已经发生的日期", text=text))
        if day.year < 2000:
            raise ValueError(_("最近活跃「%(text)s」太早了：请检查年份", text=text))
        return day
    raise ValueError(_("最近活跃「%(text)s」不是日期：写成 2026-11-20", text=text))


def parse_row(cells: list[str], columns: dict[str, int], width: int, today: date, hash_phone):
    """One data row as Customer fields, or ValueError saying what to fix."""
    if len(cells) != width:
        raise ValueError(
            _(
                "这一行有 %(cells)s 列，表头有 %(width)s 列：检查是否多了或少了逗号",
                cells=len(cells),
                width=width,
            )
        )

    def cell(key: str) -> str:
        return cells[columns[key]].strip() if key in columns else ""

    for key in columns:
        # A phone number may start with +86; it is checked as a phone below, and only its
        # hash is stored, so it never reaches an export.
        if FORMULA.match(cell(key)) and key not in ("purchase_total", "phone"):
            raise ValueError(
                _("「%(text)s」以 = + - @ 开头，像表格公式：请改成普通文字", text=cell(key)[:20])
            )
    external_id = cell("external_id")
    if not external_id:
        raise ValueError(_("客户编号是空的：每位客户要有编号，重复导入时靠它认人"))
    if SCIENTIFIC_ID.fullmatch(external_id):
        raise ValueError(
            _(
                "客户编号「%(id)s」被表格转换成了科学计数法，后几位已经丢了：在表格里选中"
                "客户编号这一列，设置单元格格式为「文本」，再从原系统重新粘贴编号后保存，重新导入",
                id=external_id,
            )
        )
    if not EXTERNAL_ID.match(external_id):
        raise ValueError(
            _("客户编号「%(id)s」只能用字母、数字、. _ -，最长 64 位", id=external_id[:20])
        )
    name = cell("name")
    if not name:
        raise ValueError(_("姓名是空的：请填写，邀请页会用它称呼客户"))
    if len(name) > 40:
        raise ValueError(_("姓名超过 40 个字：请检查是否把别的列粘进来了"))
    region = cell("region")
    if not region or len(region) > 40:
        raise ValueError(_("地区是空的或超过 40 个字：请填写城市或区域，如 杭州"))
    amount_text = cell("purchase_total")
    if not amount_text:
        raise ValueError(_("累计消费是空的：没有消费请写 0"))
    if FORMULA.match(amount_text) and not re.match(r"^-\d", amount_text):
        raise ValueError(
            _("「%(text)s」以 = + - @ 开头，像表格公式：请改成数字", text=amount_text[:20])
        )
    purchase_total = parse_amount(amount_text)
    last_active = parse_date(cell("last_active"), today)
    try:
        phone = normalise_phone(cell("phone"))
    except ValueError:
        raise ValueError(
            _("手机号「%(text)s」不是 11 位大陆手机号：改正或留空", text=cell("phone")[:20])
        ) from None
    return {
        "external_id": external_id,
        "name": name,
        "region": region,
        "purchase_total": purchase_total,
        "last_active": last_active,
        "phone_hash": hash_phone(phone) if phone else None,
    }


def import_customers(data: bytes, hash_phone, today: date | None = None, progress=None):
    """Read the file, store the good rows, report the bad ones by row number (the header is
    row 1, as the spreadsheet numbers it). `progress(n)` is told how many rows were read."""
    today = today or utcnow().date()
    reader = spreadsheet_rows(data)
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        header = []
    if not any(h.strip() for h in header):
        raise CustomerFileError(
            _(
                "文件里没有表头：第一行要写 %(example)s …",
                example=",".join(heading(key) for key in REQUIRED),
            )
        )
    columns = header_map(header)
    report = ImportReport()
    seen: dict[str, int] = {}
    good: list[dict] = []
    try:
        for number, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue  # blank lines that spreadsheets leave at the end
            report.rows += 1
            if report.rows > MAX_ROWS:
                raise CustomerFileError(_("一次最多导入 %(n)s 行：请分成几个文件。", n=MAX_ROWS))
            try:
                row = parse_row(cells, columns, len(header), today, hash_phone)
            except ValueError as error:
                report.errors.append((number, str(error)))
                continue
            if row["external_id"] in seen:
                first = seen[row["external_id"]]
                report.errors.append(
                    (number, _("客户编号和第 %(first)s 行重复：同一位客户只留一行", first=first))
                )
                continue
            seen[row["external_id"]] = number
            good.append(row)
            if progress:
                progress(1)
    except csv.Error as error:
        raise CustomerFileError(
            _("CSV 格式有问题（%(error)s）：请用表格软件重新导出。", error=error)
        ) from None
    for start in range(0, len(good), BATCH):
        _store(good[start : start + BATCH], report)
    return report


FIELDS = ("name", "region", "purchase_total", "last_active", "phone_hash")


def _store(rows: list[dict], report: ImportReport) -> None:
    ids = [row["external_id"] for row in rows]
    existing = {c.external_id: c for c in Customer.select().where(Customer.external_id.in_(ids))}
    changed = []
    for row in rows:
        before = existing.get(row["external_id"])
        if before is None:
            report.created += 1
            changed.append(row)
        elif any(getattr(before, f) != row[f] for f in FIELDS):
            report.updated += 1
            changed.append(row)
        else:
            report.unchanged += 1
    if not changed:
        return
    now = utcnow()
    with db.atomic():
        # The unique index on external_id decides: a row imported by someone else meanwhile
        # is updated, never duplicated.
        Customer.insert_many([{**row, "imported_at": now} for row in changed]).on_conflict(
            conflict_target=[Customer.external_id],
            preserve=[*(getattr(Customer, f) for f in FIELDS), Customer.imported_at],
        ).execute()
