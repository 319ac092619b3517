"""A campaign's dashboard: the funnel, per channel and per day, as charts and tables; for a
campaign with a challenge or events, the stickiness of each activity and of each group."""

from flask import current_app, render_template

from miniapp_api.accounts.access import staff_required
from miniapp_api.checkins import stickiness
from miniapp_api.console import charts
from miniapp_api.console.blueprint import bp
from miniapp_api.console.stats import MAX_DAYS, campaign_stats
from miniapp_api.console.views.campaigns import campaign_or_404
from miniapp_api.i18n import _, ngettext
from miniapp_api.metrics import percent, shown
from miniapp_api.models import utcnow
from miniapp_api.web.params import NumberRefused, query_number

PERIODS = (7, 30, 90)


@bp.get("/campaigns/<slug>/dashboard")
@staff_required()
def dashboard(slug):
    found = campaign_or_404(slug)
    # The page links to 7, 30 and 90 days; no link means 30, any other number a 400 page.
    days = query_number("days", 30, 1, MAX_DAYS, label=_("天数"))
    if days not in PERIODS:
        raise NumberRefused("days", _("天数"), str(days), 7, 90, choices=PERIODS)
    figures = campaign_stats(found, current_app.config["TIMEZONE"], days)
    funnel, channels, daily = figures["funnel"], figures["channels"], figures["days"]
    # Shares as assets/metrics.json defines them (funnel_share, sent_rate), as the handbook shows.
    first = funnel[0]["count"]
    funnel = [{**step, "share": shown(step["count"], first)} for step in funnel]
    channels = [{**c, "sent_rate": shown(c["sent"], c["scans"])} for c in channels]
    # Channels nobody has scanned yet stay in the table but would only pad the chart.
    scanned = [c for c in channels if c["scans"] or c["sent"]]
    return render_template(
        "console/campaigns/dashboard.html",
        campaign=found,
        days=days,
        periods=PERIODS,
        funnel=funnel,
        channels=channels,
        daily=daily,
        funnel_chart=charts.bar_rows(
            _("漏斗"), [(step["label"], [step["count"]]) for step in funnel], [_("人次")]
        ),
        channel_chart=charts.bar_rows(
            _("按渠道：扫码与送进群"),
            [(c["label"], [c["scans"], c["sent"]]) for c in scanned],
            [_("扫码"), _("送进群")],
        ),
        day_chart=charts.day_columns(
            ngettext(
                "最近 %(num)s 天：每天扫码与送进群", "最近 %(num)s 天：每天扫码与送进群", days
            ),
            [d["day"] for d in daily],
            [[d["scans"] for d in daily], [d["sent"] for d in daily]],
            [_("扫码"), _("送进群")],
        ),
        **stickiness_figures(found),
    )


def stickiness_figures(campaign) -> dict:
    """The activities' figures with their charts; empty when the campaign has none. Days
    still to come are one line in the table and blank columns in the chart. A fixed number of
    grouped queries, however many members, responses or activities."""
    now = utcnow()
    activities = stickiness.figures(campaign.id, now=now)
    if not activities:
        return {"activities": []}
    days = [f for f in activities if f.kind == "day"]
    others = [f for f in activities if f.kind != "day"]
    to_come = [f.number for f in days if not f.started]
    return {
        "activities": [f for f in activities if f.started or f.kind != "day"],
        "days_to_come": (to_come[0], to_come[-1]) if to_come else None,
        "groups": stickiness.by_group(campaign.id, now=now),
        "percent": percent,
        "day_stickiness_chart": charts.percent_columns(
            _("挑战每天的粘性"), [(str(f.number), f.stickiness) for f in days]
        )
        if days
        else None,
        "event_stickiness_chart": charts.percent_rows(
            _("活动的粘性"), [(f.title, f.stickiness) for f in others if f.started]
        )
        if any(f.started for f in others)
        else None,
    }
