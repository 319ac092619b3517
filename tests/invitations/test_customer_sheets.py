"""Customer sheets as operators make them: .xlsx next to CSV, amounts in a ¥ format, and ids
the spreadsheet turned into scientific notation refused with the way to keep them as text."""

import io
from datetime import date
from xml.sax.saxutils import escape

import pytest
from helpers import calc_convert
from openpyxl import Workbook

from miniapp_api.invitations import customers
from miniapp_api.models import Customer
from miniapp_api.visitors import phone_hash

TODAY = date(2026, 12, 1)
HEADER = ["客户编号", "姓名", "地区", "累计消费", "最近活跃", "手机"]
LONG_ID = "320102198001011234"


def hash_phone(phone):
    # The app's keyed hash: a fake that kept the number in clear would put it in the database.
    return phone_hash("test-hash-key", phone)


def load(data: bytes):
    return customers.import_customers(data, hash_phone, today=TODAY)


def xlsx_bytes(rows, header=HEADER) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def stored() -> dict:
    return {
        c.external_id: (c.name, c.region, c.purchase_total, c.last_active, c.phone_hash)
        for c in Customer.select()
    }


@pytest.mark.parametrize(
    ("amount", "fen"),
    [
        ("¥12,800.50", 1_280_050),
        ("￥ 12 800.50", 1_280_050),
        ("12,800.50 元", 1_280_050),
        ("?12,800.50", 1_280_050),  # a GBK CSV's ¥: the issue's 「?12,800.50」不是金额
        ("\u00a5\u00a012,800.50\u00a0", 1_280_050),
    ],
)
def test_amounts_in_a_currency_format_are_read(amount, fen):
    assert customers.parse_amount(amount) == fen


@pytest.mark.parametrize("amount", ["12?800", "??12", "12,800.50?", "?-12"])
def test_a_question_mark_is_a_lost_sign_only_in_front_of_an_amount(amount):
    with pytest.raises(ValueError, match=r"金额|负数"):
        customers.parse_amount(amount)


def test_xlsx_is_read_with_the_same_row_by_row_report(app):
    report = load(
        xlsx_bytes(
            [
                [LONG_ID, "王丽", "杭州", 12800.5, date(2026, 10, 20), "13800138000"],
                ["000123", "陈静", "苏州", "¥6,000.00", "2026-11-01", None, "备注：老客户"],
                ["V3", "", "上海", 100],
                [],
                [123, "数字编号", "上海", 0],
            ]
        )
    )
    assert (report.rows, report.created, report.errors) == (4, 3, [(4, report.errors[0][1])])
    assert "姓名是空的" in report.errors[0][1]
    assert stored() == {
        LONG_ID: ("王丽", "杭州", 1_280_050, date(2026, 10, 20), hash_phone("13800138000")),
        "000123": ("陈静", "苏州", 600_000, date(2026, 11, 1), None),
        "123": ("数字编号", "上海", 0, None, None),
    }


@pytest.mark.parametrize(
    "cell",
    [
        "3.3010619851212E+017",  # how Excel and Calc write it into a CSV
        "3.20102198001011e+17",
        330106198512121234,  # an .xlsx number cell too long to be exact
        3.3010619851212e17,
    ],
)
def test_an_id_the_spreadsheet_made_scientific_is_refused_with_how_to_keep_it_text(app, cell):
    data = xlsx_bytes([[cell, "王丽", "杭州", 100]])
    if isinstance(cell, str):
        data = ("客户编号,姓名,地区,累计消费\r\n" + f"{cell},王丽,杭州,100\r\n").encode("gbk")
    report = load(data)
    assert report.created == 0 and [n for n, _ in report.errors] == [2]
    reason = report.errors[0][1]
    assert "科学计数法" in reason and "设置单元格格式为「文本」" in reason, reason


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"PK\x03\x04not really a zip", "打不开"),
        (xlsx_bytes([], header=[]), "没有表头"),
        (xlsx_bytes([["V1", "王"]], header=["客户编号", "姓名"]), "缺少这些列"),
    ],
)
def test_unreadable_workbooks_are_refused_whole_with_what_to_do(app, data, message):
    with pytest.raises(customers.CustomerFileError, match=message):
        load(data)


# ---------------------------------------------------------------- made in LibreOffice Calc

NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:number="urn:oasis:names:tc:opendocument:xmlns:datastyle:1.0" '
    'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"'
)
STYLES = (
    '<number:currency-style style:name="yuan"><number:currency-symbol number:language="zh" '
    'number:country="CN">¥</number:currency-symbol><number:number number:decimal-places="2" '
    'number:min-integer-digits="1" number:grouping="true"/></number:currency-style>'
    '<number:date-style style:name="day"><number:year number:style="long"/><number:text>-'
    '</number:text><number:month number:style="long"/><number:text>-</number:text>'
    '<number:day number:style="long"/></number:date-style>'
    '<style:style style:name="money" style:family="table-cell" style:data-style-name="yuan"/>'
    '<style:style style:name="date" style:family="table-cell" style:data-style-name="day"/>'
)
# As an operator keeps it: ids as text, amounts with the ¥ currency format, dates as dates,
# one id typed as a number (Calc shows it as 3.3010619851212E+17), one row without a name.
CALC_ROWS = [
    HEADER,
    [LONG_ID, "王丽", "杭州", ("currency", "12800.5"), ("date", "2026-10-20"), "13800138000"],
    ["000123", "陈静", "苏州", ("currency", "6000"), ("date", "2026-11-01"), ""],
    [("float", "330106198512121234"), "李强", "上海", ("currency", "100"), "", ""],
    ["V004", "", "上海", ("currency", "100"), "", ""],
]


def _calc_cell(value) -> str:
    if isinstance(value, str):
        text = f"<text:p>{escape(value)}</text:p>" if value else ""
        return f'<table:table-cell office:value-type="string">{text}</table:table-cell>'
    kind, number = value
    if kind == "currency":
        return (
            '<table:table-cell table:style-name="money" office:value-type="currency" '
            f'office:currency="CNY" office:value="{number}"/>'
        )
    if kind == "date":
        return (
            '<table:table-cell table:style-name="date" office:value-type="date" '
            f'office:date-value="{number}"/>'
        )
    return f'<table:table-cell office:value-type="float" office:value="{number}"/>'


def calc_sheet() -> str:
    """A flat ODF spreadsheet (.fods), the file Calc itself would save."""
    rows = "".join(
        "<table:table-row>" + "".join(_calc_cell(c) for c in row) + "</table:table-row>"
        for row in CALC_ROWS
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document {NS} office:version="1.2" '
        'office:mimetype="application/vnd.oasis.opendocument.spreadsheet">'
        f"<office:automatic-styles>{STYLES}</office:automatic-styles><office:body>"
        f'<office:spreadsheet><table:table table:name="客户">{rows}</table:table>'
        "</office:spreadsheet></office:body></office:document>"
    )


# Calc's CSV filter options: comma, double quote, character set (67 GBK, 76 UTF-8), and
# cells saved as shown (the ¥ format included).
CSV_FILTER = "csv:Text - txt - csv (StarCalc):44,34,{},1,,0,false,true,true"


@pytest.fixture(scope="module")
def calc_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("calc")
    sheet = folder / "客户.fods"
    sheet.write_text(calc_sheet(), encoding="utf-8")
    return {
        "xlsx": calc_convert([sheet], "xlsx", folder / "xlsx")[0],
        "gbk": calc_convert([sheet], CSV_FILTER.format(67), folder / "gbk")[0],
        "utf8": calc_convert([sheet], CSV_FILTER.format(76), folder / "utf8")[0],
        "ods": calc_convert([sheet], "ods", folder / "ods")[0],
        "xls": calc_convert([sheet], "xls:MS Excel 97", folder / "xls")[0],
    }


@pytest.mark.slow
def test_a_sheet_saved_by_calc_as_xlsx_gbk_csv_or_utf8_csv_imports_alike(app, calc_files):
    gbk = calc_files["gbk"].read_bytes()
    assert b'"?12,800.50"' in gbk and b"3.30106198512121E+017" in gbk  # as in the issue
    assert "¥12,800.50" in calc_files["utf8"].read_text(encoding="utf-8")
    results = {}
    for kind in ("xlsx", "gbk", "utf8"):
        report = load(calc_files[kind].read_bytes())
        results[kind] = (
            (report.rows, report.created, [n for n, _ in report.errors]),
            stored(),
        )
        assert "科学计数法" in report.errors[0][1] and "姓名是空的" in report.errors[1][1]
        Customer.delete().execute()
    assert results["xlsx"] == results["gbk"] == results["utf8"]
    assert results["xlsx"][0] == (4, 2, [4, 5])
    assert results["xlsx"][1] == {
        LONG_ID: ("王丽", "杭州", 1_280_050, date(2026, 10, 20), hash_phone("13800138000")),
        "000123": ("陈静", "苏州", 600_000, date(2026, 11, 1), None),
    }


def test_cli_imports_an_xlsx(app, runner, tmp_path):
    path = tmp_path / "客户.xlsx"
    path.write_bytes(xlsx_bytes([[LONG_ID, "王丽", "杭州", "¥12,800.50"], ["V2", "", "杭州", 1]]))
    result = runner.invoke(args=["import-customers", str(path)])
    assert result.exit_code == 1 and "2 rows: 1 new" in result.output
    assert "row 3: Name is empty" in result.output and "Traceback" not in result.output
    assert Customer.get().external_id == LONG_ID


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "named"), [("ods", "（.ods）"), ("xls", "（.xls）")])
def test_a_workbook_openpyxl_cannot_read_is_named_with_how_to_save_it(app, calc_files, kind, named):
    """Calc's own .ods and an old-Excel .xls are not read (openpyxl reads .xlsx only), but the
    refusal says which file it is and how to save it, instead of "encoding not understood"."""
    with pytest.raises(customers.CustomerFileError) as refused:
        load(calc_files[kind].read_bytes())
    assert named in str(refused.value) and "另存为 .xlsx" in str(refused.value)
    assert Customer.select().count() == 0
