"""Every console export as .xlsx: opened and saved again in a real spreadsheet program
(LibreOffice Calc), 18-digit ids and leading zeros are still there, times are still dates,
and the rows are the CSV's rows."""

import csv
import io
import tempfile
from datetime import date, datetime, timedelta

import pytest
from helpers import (
    calc_convert,
    make_campaign,
    make_challenge,
    make_channel,
    make_group,
    make_member,
    sent_to_group,
    shanghai,
)
from openpyxl import load_workbook

from miniapp_api.checkins import rules as checkins
from miniapp_api.csvexport import Moment, to_xlsx
from miniapp_api.invitations import rules as invitations
from miniapp_api.models import Customer, Invitation, Reward, Visit, utcnow
from miniapp_api.referrals import rules as referrals

EXPORTS = ("visits", "groups", "referrals", "rewards", "stickiness", "check-ins", "vip")
LONG_ID = "320102198001011234"  # what came back as 3.20102198001011e+17


def grid(data_or_path) -> list[list]:
    source = io.BytesIO(data_or_path) if isinstance(data_or_path, bytes) else data_or_path
    book = load_workbook(source, read_only=True)
    try:
        rows = [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()
    # Calc may write trailing empty cells as absent: compare rows without them.
    return [_trim(row) for row in rows]


def _trim(row: list) -> list:
    while row and row[-1] in (None, ""):
        row.pop()
    return row


def as_csv_text(value, text: str) -> str:
    """An xlsx cell as the CSV writes it; for a date, the CSV's own text when it means the
    same moment (a time on the minute may be written with or without its :00 seconds)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        for pattern in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
            try:
                if datetime.strptime(text, pattern) == value:
                    return text
            except ValueError:
                continue
        return value.isoformat(" ")
    return str(value)


def test_text_is_typed_as_text_times_as_dates_and_formulas_never_run():
    data = to_xlsx(
        ["客户编号", "时间", "人数", "备注"],
        [
            [LONG_ID, Moment(datetime(2026, 12, 1, 23, 59, 59)), 12, '=HYPERLINK("x","点我")'],
            ["000123", Moment(date(2026, 12, 2), "%Y-%m-%d"), 0, "＋1"],
        ],
    )
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    assert [c.value for c in sheet[1]] == ["客户编号", "时间", "人数", "备注"]
    assert (sheet["A2"].value, sheet["A2"].data_type, sheet["A2"].number_format) == (
        LONG_ID,
        "s",
        "@",
    )
    assert sheet["A3"].value == "000123"
    assert sheet["B2"].value == datetime(2026, 12, 1, 23, 59, 59)
    assert sheet["B2"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert sheet["B3"].number_format == "yyyy-mm-dd" and sheet["C2"].value == 12
    assert sheet["D2"].value == '\'=HYPERLINK("x","点我")' and sheet["D2"].data_type == "s"
    assert sheet["D3"].value == "'＋1"


def test_text_no_sheet_can_hold_still_exports():
    # Control characters are not allowed in a sheet's XML (openpyxl refused the whole file);
    # written as Excel's _xHHHH_ escapes instead. A cell holds at most 32,767 characters.
    data = to_xlsx(["备注"], [["王\x00女士\x0b"], ["长" * 40_000], ["好"]])
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    assert sheet["A2"].value == "王_x0000_女士_x000B_"
    assert sheet["A3"].value == "长" * 32_767
    assert sheet["A4"].value == "好"


def _a_campaign_with_every_export(client):
    campaign = make_campaign(slug="store")
    make_channel(campaign, "counter", "007")
    make_group(campaign, "=宝妈群")
    client.get("/j/store?c=counter", headers={"User-Agent": "Mozilla/5.0 (iPhone) Mobile"})
    client.get("/j/store", headers={"User-Agent": "curl/8"})
    # On the minute (06:55:00 in Shanghai): a time whose seconds are :00 must come through
    # Calc and the CSV alike, whatever second the test runs in.
    Visit.update(created_at=datetime(2026, 11, 30, 22, 55)).execute()
    referrals.set_up_program(campaign, tiers=[(1, "电影票")])
    root = referrals.sign_up(
        campaign.id, nickname="000123", visitor="root-visitor", agent="wechat"
    ).member
    sent_to_group(campaign.id, "friend-visitor")
    referrals.sign_up(
        campaign.id,
        nickname="朋友",
        visitor="friend-visitor",
        agent="wechat",
        referrer_code=root.code,
    )
    challenge = make_challenge(campaign)
    member = make_member(campaign.id, nickname="0099")
    checkins.join(challenge, member, now=shanghai(1))
    checkins.check_in(challenge, member, note="-早起", now=shanghai(1, 6, 30, 15))
    invitations.set_up_program(
        campaign, rights="专享 8 折", offer_url="", offer_label="", valid_days=7
    )
    for external_id, name in ((LONG_ID, "王丽"), ("000123", "陈静")):
        customer = Customer.create(
            external_id=external_id, name=name, region="杭州", purchase_total=1_280_050
        )
        Invitation.create(
            campaign=campaign.id,
            customer=customer.id,
            token=f"t-{external_id}",
            expires_at=utcnow() + timedelta(days=7),
        )
    assert Reward.select().count() == 1  # every export has a row


@pytest.mark.slow
def test_every_export_survives_calc_opening_and_saving_it(client, login_as, tmp_path):
    _a_campaign_with_every_export(client)
    login_as("operator")
    exported = tmp_path / "exported"
    exported.mkdir()
    originals = {}
    for name in EXPORTS:
        url = f"/console/campaigns/store/{name}"
        response = client.get(url + ".xlsx")
        assert response.status_code == 200
        assert response.mimetype.endswith("spreadsheetml.sheet")
        assert f'filename="store-{name}' in response.headers["Content-Disposition"]
        originals[name] = grid(response.data)
        (exported / f"{name}.xlsx").write_bytes(response.data)
        # The same rows as the CSV, in Chinese, with the same quoting of formulas.
        text = client.get(url + ".csv").data.decode("utf-8-sig")
        rows = [_trim(row) for row in csv.reader(io.StringIO(text))]
        xlsx_as_csv = [
            [as_csv_text(v, t) for v, t in zip(row, text_row, strict=True)]
            for row, text_row in zip(originals[name], rows, strict=True)
        ]
        assert xlsx_as_csv == rows, name
        assert len(rows) >= 2, name

    vip = originals["vip"]
    assert [row[0] for row in vip[1:]] == [LONG_ID, "000123"]
    assert isinstance(vip[1][-1], datetime)  # 有效期至: a date, not text
    assert originals["visits"][1][1:4] == ["007", "手机浏览器", "已进群"]
    assert originals["visits"][2][2:4] == ["机器人", "机器人"]
    assert originals["groups"][1][1] == "'=宝妈群"
    assert originals["referrals"][1][1] == "000123"
    assert originals["check-ins"][1][2:5] == ["0099", "打卡", "'-早起"]
    assert originals["check-ins"][1][-1] == datetime(2026, 12, 1, 6, 30, 15)

    saved = calc_convert(
        [exported / f"{name}.xlsx" for name in EXPORTS], "xlsx", tmp_path / "saved"
    )
    for name, path in zip(EXPORTS, saved, strict=True):
        assert grid(path) == originals[name], name


def test_an_export_that_fails_leaves_no_rows_behind(tmp_path, monkeypatch):
    # The rows so far wait in a temporary file until the workbook is closed: the names in
    # them must not stay on disk when the export fails half-way.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    def rows():
        yield ["王丽", LONG_ID]
        raise ConnectionError("数据库断开")

    with pytest.raises(ConnectionError):
        to_xlsx(["客户", "编号"], rows())
    assert list(tmp_path.iterdir()) == []
