"""CSV exports open in Excel with Chinese intact and never run a formula."""

import csv
import io
from datetime import datetime

import peewee
import pytest
from helpers import make_campaign, make_channel, make_group

from miniapp_api.csvexport import neutralise, to_csv
from miniapp_api.models import DateTimeField, Visit


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


def test_a_long_csv_comes_in_pieces_that_add_up_to_the_whole_file():
    from miniapp_api.csvexport import ROWS_PER_CHUNK, csv_chunks

    rows = [[f"{n:06d}", "=1", n] for n in range(2 * ROWS_PER_CHUNK + 7)]
    pieces = list(csv_chunks(["编号", "公式", "数"], iter(rows)))
    assert len(pieces) == 4  # the header, two full pieces, the rest
    assert b"".join(pieces) == to_csv(["编号", "公式", "数"], rows)


def test_the_visits_export_streams_every_visit_in_order(app, client, login_as):
    """Read in batches on both databases (a server-side cursor on PostgreSQL), sent as made:
    every visit once, oldest first, however the batches fall."""
    from datetime import datetime, timedelta

    from miniapp_api.csvexport import stream_rows
    from miniapp_api.models import Visit

    campaign = make_campaign(slug="store")
    start = datetime(2026, 11, 1, 8)
    Visit.insert_many(
        [
            {
                "campaign": campaign.id,
                "visitor": f"v{n}",
                "agent": "wechat",
                "ip_hash": "h",
                "outcome": "repeat",
                "created_at": start + timedelta(minutes=(n * 37) % 101),
            }
            for n in range(101)
        ]
    ).execute()
    query = (
        Visit.select(Visit.created_at, Visit.visitor)
        .where(Visit.campaign == campaign.id)
        .order_by(Visit.created_at, Visit.id)
    )
    with app.app_context():
        streamed = list(stream_rows(query, batch=7))
    assert streamed == list(query.tuples())
    assert [at for at, _ in streamed] == [start + timedelta(minutes=n) for n in range(101)]
    login_as("trainer")
    for kind in ("csv", "xlsx"):
        answer = client.get(f"/console/campaigns/store/visits.{kind}", buffered=False)
        assert answer.is_streamed
        data = b"".join(answer.response)
        answer.close()
        if kind == "csv":
            rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
            assert [r[0] for r in rows[1:]] == [
                f"2026-11-01 {16 + n // 60:02d}:{n % 60:02d}:00" for n in range(101)
            ]
        else:
            assert data.startswith(b"PK")


@pytest.mark.parametrize(
    "stored",
    [
        "2026-12-01 10:00:00.123456",
        "2026-12-01 10:00:00",
        "2026-12-01",
        # What peewee's own parsing leaves as text is still text: no aware time slips in.
        "2026-12-01T10:00:00+08:00",
        "二〇二六年",
        "",
    ],
)
def test_stored_times_read_as_peewee_reads_them(stored):
    # The export's time column reads SQLite's text with fromisoformat (models.DateTimeField).
    assert DateTimeField().python_value(stored) == peewee.DateTimeField().python_value(stored)


def test_visits_export_reads_stored_times_and_labels(app, client, login_as):
    campaign = make_campaign(slug="times")
    group = make_group(campaign, "宝妈群")
    for at in ("2026-03-01 02:30:00.5", "2026-03-01 03:00:00"):
        Visit.create(
            campaign=campaign, group=group, visitor="v", agent="wechat", ip_hash="", outcome="sent",
            created_at=datetime.fromisoformat(at),
        )  # fmt: skip
    login_as("trainer")
    rows = list(csv.reader(io.StringIO(client.get("/console/campaigns/times/visits.csv").text)))
    # Shanghai is eight hours ahead of the stored UTC.
    assert rows[1:] == [
        ["2026-03-01 10:30:00", "", "微信", "已进群", "宝妈群"],
        ["2026-03-01 11:00:00", "", "微信", "已进群", "宝妈群"],
    ]
