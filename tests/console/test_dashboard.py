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
    from helpers import sent_to_group

    from miniapp_api.referrals import rules as referrals

    campaign = make_campaign()
    referrals.set_up_program(campaign)
    first = referrals.sign_up(campaign.id, nickname="阿花", visitor="a", agent="wechat").member
    sent_to_group(campaign.id, "b")  # a friend counts once the live code has sent them
    referrals.sign_up(
        campaign.id, nickname="小李", visitor="b", agent="wechat", referrer_code=first.code
    )
    referrals.sign_up(
        campaign.id, nickname="爬虫", visitor="c", agent="bot", referrer_code=first.code
    )
    steps = {s["key"]: s["count"] for s in stats.funnel(campaign)}
    assert (steps["members"], steps["referred"]) == (3, 1)
    assert "members" not in {s["key"] for s in stats.funnel(make_campaign())}


# ---------------------------------------------------------------- stickiness


def _stickiness_case():
    """4 participants from day 1 (3 in 一群, 1 in 二群), 3 of them answer day 1; a late
    joiner from day 2; an event with 4 tickets, one revoked, and 2 door check-ins."""
    from datetime import datetime as at

    from helpers import make_challenge, make_participant, shanghai

    from miniapp_api.checkins import events
    from miniapp_api.checkins import rules as checkins

    campaign = make_campaign(slug="store")
    first, second = make_group(campaign, "一群"), make_group(campaign, "二群")
    challenge = make_challenge(campaign, days=3, finish_days=2)
    groups = [first, first, first, second]
    members = [
        make_participant(challenge, nickname=f"会员{i}", group_id=g.id)
        for i, g in enumerate(groups)
    ]
    for member in members[:3]:
        checkins.check_in(challenge, member, now=shanghai(1))
    late = make_participant(challenge, nickname="后来的", now=shanghai(2), group_id=second.id)
    checkins.check_in(challenge, late, now=shanghai(2))
    checkins.check_in(challenge, members[0], now=shanghai(2))
    event = events.create_event(
        campaign, title="<b>见面会</b>", starts_at=at(2026, 12, 20, 6), capacity=10
    )
    tickets = [events.issue_ticket(event, holder=f"来宾{i}", group_id=first.id) for i in range(4)]
    events.revoke_ticket(event, tickets[3].id)
    for ticket in tickets[:2]:
        events.check_in_ticket(event, ticket.token)
    return campaign, event


@pytest.fixture
def on_day(monkeypatch):
    """The dashboard's clock at 10:00 Shanghai time on day n of the test challenge."""
    from helpers import shanghai

    from miniapp_api.console.views import dashboard

    def set_day(n: int):
        monkeypatch.setattr(dashboard, "utcnow", lambda: shanghai(n))

    set_day(3)
    return set_day


def _rows(page: str, attr: str) -> dict[str, list[str]]:
    rows = re.findall(rf'<tr {attr}="([^"]+)">(.*?)</tr>', page, re.S)
    return {key: re.findall(r"<td[^>]*>(.*?)</td>", row, re.S) for key, row in rows}


def test_stickiness_table_chart_and_groups(client, login_as, on_day):
    _stickiness_case()
    login_as("trainer")
    page = client.get("/console/campaigns/store/dashboard").get_data(as_text=True)
    section = re.search(r'<section class="card" id="stickiness">(.*?)</section>', page, re.S)[1]
    activities = list(_rows(section, "data-activity").values())
    assert [cells[1:] for cells in activities] == [
        ["4", "3", "75%"],  # day 1: the late joiner was not called to it
        ["5", "2", "40%"],  # day 2: called to the four and the late joiner
        ["5", "0", "0%"],
        ["3", "2", "67%"],  # the event: 3 tickets not revoked, 2 at the door
    ]
    assert [cells[0] for cells in activities[:3]] == ["第 1 天", "第 2 天", "第 3 天"]
    assert activities[3][0] == "&lt;b&gt;见面会&lt;/b&gt;（2026-12-20 14:00）"
    groups = {cells[0]: cells[1:] for cells in _rows(section, "data-group").values()}
    # 一群: 3 members × 3 days + 3 tickets = 12 calls, 3 + 1 + 2 answers.
    # 二群: day 1 one member, days 2–3 two = 5 calls, 1 answer (the late joiner's day 2).
    assert groups == {"一群": ["12", "6", "50%"], "二群": ["5", "1", "20%"]}
    assert section.count('class="chart"') == 2
    charts_svg = re.findall(r"<svg.*?</svg>", section, re.S)
    days_chart = ET.fromstring(charts_svg[0])  # noqa: S314 -- our own markup
    tips = [t.text for t in days_chart.iter(f"{SVG}title")]
    assert tips[1:] == ["1 75%", "2 40%", "3 0%"]
    assert "<b>见面会" not in section and "&lt;b&gt;见面会" in charts_svg[1]
    assert 'href="/console/campaigns/store/stickiness.csv"' in section


def test_days_and_events_still_to_come_call_nobody_yet(client, login_as, on_day):
    from datetime import datetime as at

    from miniapp_api.checkins import events

    campaign, _ = _stickiness_case()
    later = events.create_event(campaign, title="结营会", starts_at=at(2026, 12, 28, 6))
    events.issue_ticket(later, holder="甲")
    on_day(2)
    login_as("trainer")
    page = client.get("/console/campaigns/store/dashboard").get_data(as_text=True)
    section = re.search(r'<section class="card" id="stickiness">(.*?)</section>', page, re.S)[1]
    rows = _rows(section, "data-activity")
    assert [cells[1:] for cells in rows.values()] == [
        ["4", "3", "75%"],
        ["5", "2", "40%"],
        ["3", "2", "67%"],  # its doors opened early: answered, so it has started
        ["—", "—", "未开始"],  # 结营会: a ticket out, nobody called yet
        ["—", "—", "还没到"],
    ]
    assert rows["to-come"][0] == "第 3 天"
    # Day 3 and the later event are left out of the groups' sums.
    groups = {cells[0]: cells[1:] for cells in _rows(section, "data-group").values()}
    assert groups == {"一群": ["9", "6", "67%"], "二群": ["3", "1", "33%"]}
    days_chart = ET.fromstring(re.findall(r"<svg.*?</svg>", section, re.S)[0])  # noqa: S314
    assert [t.text for t in days_chart.iter(f"{SVG}title")][1:] == ["1 75%", "2 40%", "3 —"]


def test_no_stickiness_section_without_activities(client, login_as, on_day):
    login_as()
    make_campaign(slug="store")
    page = client.get("/console/campaigns/store/dashboard").get_data(as_text=True)
    assert 'id="stickiness"' not in page
    assert "粘性" not in page


def test_percent_columns_and_rows_draw_to_scale_and_escape():
    svg = charts.percent_columns("粘性", [("1", 0.75), ("2", None), ("<3>", 0.5)])
    rects = _rects(svg)
    heights = [float(r.get("height")) for r in rects]
    assert heights[0] == pytest.approx(1.5 * heights[2]) and heights[1] == 0
    assert [r.find(f"{SVG}title").text for r in rects] == ["1 75%", "2 —", "<3> 50%"]
    assert "&lt;3&gt;" in str(svg)
    rows = _rects(charts.percent_rows("活动", [("见面会", 2 / 3), ("空场", None)]))
    track, part = float(rows[0].get("width")), float(rows[1].get("width"))
    assert part == pytest.approx(track * 2 / 3) and float(rows[3].get("width")) == 0


def _bulk_challenge(campaign, challenge, members: int, prefix: str):
    """`members` participants and their check-ins on days 1–3, inserted in bulk."""
    from miniapp_api.models import Activity, Member, Participant, Response

    start = Member.select().count()
    rows = [
        {
            "campaign": campaign.id,
            "code": f"bulk{prefix}{start + i:07d}",
            "nickname": f"会员{i}",
            "visitor": f"bulk-{prefix}-{start + i}",
        }
        for i in range(members)
    ]
    for chunk in range(0, len(rows), 200):
        Member.insert_many(rows[chunk : chunk + 200]).execute()
    ids = [
        m
        for (m,) in Member.select(Member.id)
        .where(Member.visitor.startswith(f"bulk-{prefix}-"))
        .order_by(Member.id)
        .tuples()
    ]
    days = dict(
        Activity.select(Activity.number, Activity.id)
        .where((Activity.campaign == campaign.id) & (Activity.kind == "day"))
        .tuples()
    )
    participants = [{"campaign": campaign.id, "member": m, "first_day": 1} for m in ids]
    responses = [
        {"campaign": campaign.id, "activity": days[d], "member": m, "how": "button"}
        for i, m in enumerate(ids)
        for d in (1, 2, 3)
        if (i + d) % (d + 1)  # fewer answer as the days go on
    ]
    for chunk in range(0, len(participants), 200):
        Participant.insert_many(participants[chunk : chunk + 200]).execute()
    for chunk in range(0, len(responses), 200):
        Response.insert_many(responses[chunk : chunk + 200]).execute()


def test_the_stickiness_dashboard_costs_the_same_queries_with_10_or_1000_members(client, login_as):
    from helpers import make_challenge

    from miniapp_api.checkins import stickiness

    login_as()
    campaign, _ = _stickiness_case()
    challenge = make_challenge(campaign, days=3, finish_days=2)
    _bulk_challenge(campaign, challenge, 5, "s")  # 10 participants in all
    with count_queries(only_select=True) as small:
        assert client.get("/console/campaigns/store/dashboard").status_code == 200
    day_one = stickiness.figures(campaign.id)[0]
    _bulk_challenge(campaign, challenge, 990, "l")  # 1,000
    with count_queries(only_select=True) as large:
        page = client.get("/console/campaigns/store/dashboard").get_data(as_text=True)
    assert large.count == small.count
    bigger = stickiness.figures(campaign.id)[0]
    assert (day_one.called, bigger.called) == (9, 999)  # the late joiner starts on day 2
    assert bigger.responded == 3 + 3 + 495  # the hand-built three, then every other member
    assert f'<td class="num">{bigger.called}</td>' in page
