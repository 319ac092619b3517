"""CSV exports open in Excel with Chinese intact and never run a formula."""

import csv
import io

import pytest
from helpers import make_campaign, make_channel, make_group

from miniapp_api.csvexport import neutralise, to_csv


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ('=HYPERLINK("http://x","点我")', '\'=HYPERLINK("http://x","点我")'),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("＝1+1", "'＝1+1"),
        ("宝妈交流1群", "宝妈交流1群"),
        (200, "200"),
        (None, ""),
    ],
)
def test_cells_that_would_run_as_formulas_are_quoted(cell, written):
    assert neutralise(cell) == written


def test_file_starts_with_a_bom_and_reads_back():
    data = to_csv(["群", "人数"], [["宝妈群", 12], ["=1+1", -3]])
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [["群", "人数"], ["宝妈群", "12"], ["'=1+1", "'-3"]]


def test_console_exports_visits_and_groups(client, login_as):
    campaign = make_campaign(slug="store")
    make_channel(campaign, "counter", "=门店前台")
    make_group(campaign, "@宝妈群")
    client.get("/j/store?c=counter", headers={"User-Agent": "Mozilla/5.0 (iPhone) Mobile"})
    client.get("/j/store", headers={"User-Agent": "curl/8"})
    login_as("trainer")
    visits = client.get("/console/campaigns/store/visits.csv")
    assert (
        visits.mimetype == "text/csv"
        and "store-visits.csv" in visits.headers["Content-Disposition"]
    )
    rows = list(csv.reader(io.StringIO(visits.data.decode("utf-8-sig"))))
    assert rows[0] == ["时间", "渠道", "访客类型", "结果", "群"]
    assert [r[1:] for r in rows[1:]] == [
        ["'=门店前台", "手机浏览器", "已进群", "'@宝妈群"],
        ["", "机器人", "机器人", "'@宝妈群"],
    ]
    body = visits.data.decode("utf-8-sig")
    assert "qb_v" not in body and len(rows[1]) == 5  # no visitor keys, no IP hashes
    groups = list(
        csv.reader(
            io.StringIO(client.get("/console/campaigns/store/groups.csv").data.decode("utf-8-sig"))
        )
    )
    assert groups[1][:5] == ["1", "'@宝妈群", "200", "1", "启用"]
    assert client.get("/console/campaigns/nope/visits.csv").status_code == 404
