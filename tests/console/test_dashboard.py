"""The campaign dashboard: the funnel, per channel and per local day, as charts and tables."""

import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta

import pytest
from helpers import make_campaign, make_channel, make_group
from playhouse.test_utils import count_queries

from miniapp_api.console import charts, stats
from miniapp_api.livecode import rules as livecode
from miniapp_api.models import Visit, utcnow

SVG = "{http://www.w3.org/2000/svg}"


def visit(campaign, at, outcome="sent", agent="wechat", visitor="v1", channel=None):
    Visit.create(
        campaign=campaign,
        channel=channel,
        visitor=visitor,
        agent=agent,
        ip_hash="h",
        outcome=outcome,
        created_at=at,
    )


def scan(campaign, visitor, agent="wechat", channel=None, now=None):
    return livecode.record_scan(
        campaign.id, channel.id if channel else None, visitor, agent, "h", now=now
    )


# ---------------------------------------------------------------- the rules


def test_a_local_day_runs_from_local_midnight_to_local_midnight(app):
    campaign = make_campaign()
    # Asia/Shanghai is UTC+8: 15:59 UTC is 23:59 there, 16:00 UTC is the next day.
    visit(campaign, datetime(2026, 11, 21, 15, 59, 59))
    visit(campaign, datetime(2026, 11, 21, 16, 0, 0), outcome="full", visitor="v2")
    visit(campaign, datetime(2026, 11, 19, 16, 0, 0), visitor="v3")  # 11-20 00:00, the window
    visit(campaign, datetime(2026, 11, 19, 15, 59, 59), visitor="v4")  # 11-19: too early
    now = datetime(2026, 11, 22, 16, 30)  # 00:30 on 11-23 in Shanghai
    days = stats.daily_stats(campaign, "Asia/Shanghai", 4, now=now)
    assert days == [
        {"day": "2026-11-20", "scans": 1, "sent": 1, "full": 0},
        {"day": "2026-11-21", "scans": 1, "sent": 1, "full": 0},
        {"day": "2026-11-22", "scans": 1, "sent": 0, "full": 1},
        {"day": "2026-11-23", "scans": 0, "sent": 0, "full": 0},
    ]


def test_a_day_when_summer_time_ends_has_25_hours(app):
    campaign = make_campaign()
    # New York leaves summer time on 2026-11-01: that day runs 04:00 UTC → 05:00 UTC next day.
    visit(campaign, datetime(2026, 11, 1, 4, 0), visitor="first-minute")
    visit(campaign, datetime(2026, 11, 2, 4, 30), visitor="hour-25")
    visit(campaign, datetime(2026, 11, 2, 5, 0), visitor="next-day")
    days = stats.daily_stats(campaign, "America/New_York", 2, now=datetime(2026, 11, 2, 12))
    assert [(d["day"], d["scans"]) for d in days] == [("2026-11-01", 2), ("2026-11-02", 1)]


def test_bots_and_link_previews_are_kept_out_of_every_figure_but_their_own(app):
    campaign = make_campaign()
    counter = make_channel(campaign, "counter", "门店前台")
    make_channel(campaign, "moments", "朋友圈")
    make_group(campaign, "一群")
    scan(campaign, "阿花", channel=counter)
    scan(campaign, "阿花", channel=counter)  # the same day: shown again, not counted again
    scan(campaign, "小李")
    scan(campaign, "preview", agent="preview", channel=counter)
    scan(campaign, "crawler", agent="bot")
    figures = stats.campaign_stats(campaign, "Asia/Shanghai", 7)
    assert [(s["key"], s["count"]) for s in figures["funnel"]] == [
        ("scans", 3),
        ("people", 2),
        ("sent", 2),
    ]
    assert figures["channels"] == [
        {"code": "counter", "label": "门店前台", "scans": 2, "sent": 1, "full": 0, "bots": 1},
        {"code": "moments", "label": "朋友圈", "scans": 0, "sent": 0, "full": 0, "bots": 0},
        {"code": "", "label": "（无渠道）", "scans": 1, "sent": 1, "full": 0, "bots": 1},
    ]
    today = figures["days"][-1]
    assert (today["scans"], today["sent"]) == (3, 2)
    assert sum(d["scans"] for d in figures["days"]) == 3


def test_the_period_is_bounded(app):
    campaign = make_campaign()
    for bad in (0, -1, stats.MAX_DAYS + 1):
        with pytest.raises(ValueError):
            stats.daily_stats(campaign, "Asia/Shanghai", bad)
    assert len(stats.daily_stats(campaign, "Asia/Shanghai", stats.MAX_DAYS)) == stats.MAX_DAYS


# ---------------------------------------------------------------- the charts


@pytest.mark.parametrize(
    ("value", "axis"), [(0, 1), (1, 1), (3, 5), (7, 10), (10, 10), (11, 20), (240, 500)]
)
def test_axes_end_on_a_round_number(value, axis):
    assert charts.nice_ceiling(value) == axis


def _tree(svg) -> ET.Element:
    return ET.fromstring(str(svg))  # noqa: S314 -- markup this test just made


def _rects(svg) -> list[ET.Element]:
    return _tree(svg).findall(f".//{SVG}rect")


def test_bars_are_drawn_to_scale_and_labels_escaped():
    svg = charts.bar_rows(
        "按渠道", [("<script>门店</script>", [40, 10]), ("朋友圈", [20, 0])], ["扫码", "送进群"]
    )
    tree = _tree(svg)  # well-formed XML: nothing unescaped got in
    assert "<script>" not in str(svg)
    assert "&lt;script&gt;门店" in str(svg)
    widths = [float(r.get("width")) for r in tree.findall(f".//{SVG}rect")]
    assert widths[0] == pytest.approx(4 * widths[1]) == pytest.approx(2 * widths[2])
    assert widths[3] == 0


def test_day_columns_have_one_column_per_day_and_series():
    days = [f"2026-11-{d:02d}" for d in range(1, 31)]
    scans = list(range(30))
    sent = [n // 2 for n in scans]
    svg = charts.day_columns("每天", days, [scans, sent], ["扫码", "送进群"])
    rects = _rects(svg)
    assert len(rects) == 60
    heights = [float(r.get("height")) for r in rects]
    assert heights[2 * 29] == pytest.approx(max(heights))  # the busiest day is the tallest
    assert heights[0] == 0
    labels = [t.text for t in _tree(svg).findall(f"{SVG}text")]
    assert "11-30" in labels  # today is always labelled
    assert len([t for t in labels if t and t.startswith("11-")]) <= 7


def test_an_empty_campaign_draws_empty_charts():
    rects = _rects(charts.day_columns("每天", ["2026-11-23"], [[0], [0]], ["扫码", "送进群"]))
    assert [(r.get("class"), float(r.get("height"))) for r in rects] == [("s0", 0), ("s1", 0)]
    assert _rects(charts.bar_rows("漏斗", [], [])) == []


# ---------------------------------------------------------------- the page


def test_dashboard_shows_funnel_channels_and_days(client, login_as):
    login_as("trainer")  # seeing is for everyone on the team
    campaign = make_campaign(slug="store", title="门店活码")
    counter = make_channel(campaign, "counter", "门店前台")
    make_group(campaign, "一群")
    scan(campaign, "阿花", channel=counter)
    scan(campaign, "小李", channel=counter)
    visit(campaign, utcnow() - timedelta(days=3), visitor="老王", channel=counter)
    response = client.get("/console/campaigns/store/dashboard?days=7")
    assert response.status_code == 200
    page = response.get_data(as_text=True)

    def cells(attr, key):
        row = re.search(rf'<tr {attr}="{key}">(.*?)</tr>', page, re.S)[1]
        return re.findall(r"<td[^>]*>([^<]*)</td>", row)

    assert cells("data-step", "scans")[1:] == ["3", "100%"]
    assert cells("data-step", "sent")[1:] == ["3", "100%"]
    assert cells("data-channel", "counter") == ["门店前台", "3", "3", "100%", "0", "0"]
    today = stats.daily_stats(campaign, "Asia/Shanghai", 1)[0]["day"]
    assert cells("data-day", today)[1:] == ["2", "2", "0"]
    assert len(re.findall(r'<tr data-day="', page)) == 7
    assert page.count('class="chart"') == 3


def test_dashboard_shares_follow_the_metrics_file(client, login_as):
    """占第一步 and 送进群率 as assets/metrics.json defines and displays them: 5 of 8 is 62.5%,
    shown 63% (half up, as the handbook's 指标 page says); a channel nobody scanned shows —."""
    login_as("trainer")
    campaign = make_campaign(slug="store", title="门店活码")
    counter = make_channel(campaign, "counter", "门店前台")
    make_channel(campaign, "moments", "朋友圈")
    for i in range(8):
        visit(
            campaign,
            utcnow(),
            outcome="sent" if i < 5 else "full",
            visitor=f"v{i}",
            channel=counter,
        )
    page = client.get("/console/campaigns/store/dashboard").get_data(as_text=True)

    def cells(attr, key):
        row = re.search(rf'<tr {attr}="{key}">(.*?)</tr>', page, re.S)[1]
        return re.findall(r"<td[^>]*>([^<]*)</td>", row)

    assert cells("data-step", "sent")[1:] == ["5", "63%"]
    assert cells("data-channel", "counter")[3] == "63%"
    assert cells("data-channel", "moments")[3] == "—"


@pytest.mark.parametrize(("query", "shown"), [("?days=7", 7), ("?days=90", 90), ("", 30)])
def test_the_period_comes_from_the_link_and_none_means_30_days(client, login_as, query, shown):
    login_as()
    make_campaign(slug="store")
    response = client.get(f"/console/campaigns/store/dashboard{query}")
    assert response.status_code == 200
    assert len(re.findall(r'<tr data-day="', response.get_data(as_text=True))) == shown


@pytest.mark.parametrize(
    ("asked", "message"),
    [
        ("14", "「天数」要填 7、30 或 90（收到的是「14」）"),  # a number, not one the page offers
        *(
            (asked, "「天数」要填 1 到 90 之间的整数")
            for asked in ("365", "0", "七", "²", "٣", "-1", "1e9", "9" * 300)
        ),
    ],
)
def test_any_other_period_is_a_400_page_saying_what_to_choose(client, login_as, asked, message):
    login_as()
    make_campaign(slug="store")
    response = client.get(f"/console/campaigns/store/dashboard?days={asked}")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "数字填得不对" in page and message in page


def test_unknown_campaign_is_a_friendly_404(client, login_as):
    login_as()
    response = client.get("/console/campaigns/nope/dashboard")
    assert response.status_code == 404
    assert "没有找到" in response.get_data(as_text=True)


def test_campaign_page_and_list_link_to_the_dashboard(client, login_as):
    login_as()
    make_campaign(slug="store")
    for url in ("/console/campaigns/store", "/console/campaigns"):
        assert 'href="/console/campaigns/store/dashboard"' in client.get(url).get_data(as_text=True)


def test_dashboard_costs_the_same_queries_however_much_data(client, login_as):
    login_as()
    campaign = make_campaign(slug="store")
    make_channel(campaign, "counter", "门店前台")
    with count_queries(only_select=True) as small:
        assert client.get("/console/campaigns/store/dashboard?days=90").status_code == 200
    channels = [make_channel(campaign, f"ch{i}", f"渠道{i}") for i in range(8)]
    make_group(campaign, "一群")
    for day in range(60):
        for i, channel in enumerate(channels):
            at = utcnow() - timedelta(days=day, minutes=i)
            visit(campaign, at, visitor=f"v{day}-{i}", channel=channel)
    with count_queries(only_select=True) as large:
        assert client.get("/console/campaigns/store/dashboard?days=90").status_code == 200
    assert large.count == small.count


def test_a_referral_campaign_funnel_goes_on_to_members_and_friends(app):
    from miniapp_api.referrals import rules as referrals

    campaign = make_campaign()
    referrals.set_up_program(campaign)
    first = referrals.sign_up(campaign.id, nickname="阿花", visitor="a", agent="wechat").member
    referrals.sign_up(
        campaign.id, nickname="小李", visitor="b", agent="wechat", referrer_code=first.code
    )
    referrals.sign_up(
        campaign.id, nickname="爬虫", visitor="c", agent="bot", referrer_code=first.code
    )
    steps = {s["key"]: s["count"] for s in stats.funnel(campaign)}
    assert (steps["members"], steps["referred"]) == (3, 1)
    assert "members" not in {s["key"] for s in stats.funnel(make_campaign())}
