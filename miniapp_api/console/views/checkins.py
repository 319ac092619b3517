"""A campaign's check-ins in the console: the challenge (打卡) settings and per-day tasks, its
figures and today's check-ins, the wall with hide / show again; the offline events with their
tickets and door counts; the check-in and stickiness exports. Trainers see, never change."""

import re
from datetime import date, datetime, timedelta

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for

from miniapp_api.accounts.access import current_staff, editor_required, staff_required
from miniapp_api.accounts.rules import audit
from miniapp_api.checkins import events as event_rules
from miniapp_api.checkins import overview, rules
from miniapp_api.checkins.stickiness import figures
from miniapp_api.console.blueprint import bp
from miniapp_api.console.views.campaigns import campaign_or_404, sheet_response
from miniapp_api.console.views.referrals import hand_over
from miniapp_api.csvexport import Moment
from miniapp_api.i18n import _, pgettext
from miniapp_api.localtime import to_local, to_utc
from miniapp_api.metrics import percent
from miniapp_api.models import MAX_INT, Activity, utcnow
from miniapp_api.web.localtime import local_moment, local_time
from miniapp_api.web.params import form_number, query_number

# Strict shapes, ASCII digits only: what the date and datetime-local inputs send.
DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
DATETIME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2})?$")
YEARS = (2000, 2100)
TODAY_SHOWN = 200


def kind_label(kind: str) -> str:
    """An activity's kind, as the stickiness export's type column names it."""
    labels = {
        "day": _("挑战日"),
        "event": pgettext("a kind of activity", "线下活动"),
        "call": _("召集"),
    }
    return labels.get(kind, kind)


class FormError(ValueError):
    """A date or time the form sent that cannot be used; the message says what to type."""


def _tz() -> str:
    return current_app.config["TIMEZONE"]


def parse_date(text: str | None, label: str) -> date:
    text = (text or "").strip()
    try:
        if not DATE.match(text):
            raise ValueError
        day = date.fromisoformat(text)
    except ValueError:
        raise FormError(
            _("%(label)s要写成 2026-12-01 这样的日期：请用日期选择器填写。", label=label)
        ) from None
    if not YEARS[0] <= day.year <= YEARS[1]:
        raise FormError(
            _(
                "%(label)s要在 %(first)s–%(last)s 年之间。",
                label=label,
                first=YEARS[0],
                last=YEARS[1],
            )
        )
    return day


def parse_local_time(text: str | None, label: str) -> datetime:
    """A datetime-local value, as typed in the app's time zone (naive local)."""
    text = (text or "").strip()
    try:
        if not DATETIME.match(text):
            raise ValueError
        moment = datetime.fromisoformat(text.replace(" ", "T"))
    except ValueError:
        raise FormError(
            _(
                "%(label)s要写成 2026-12-20 14:00 这样的日期和时间：请用日期时间选择器填写。",
                label=label,
            )
        ) from None
    if not YEARS[0] <= moment.year <= YEARS[1]:
        raise FormError(
            _(
                "%(label)s要在 %(first)s–%(last)s 年之间。",
                label=label,
                first=YEARS[0],
                last=YEARS[1],
            )
        )
    return moment


# ---------------------------------------------------------------- the challenge


def _day_tasks(challenge) -> dict[int, str]:
    if challenge is None:
        return {}
    return dict(
        Activity.select(Activity.number, Activity.task)
        .where((Activity.campaign == challenge.campaign_id) & (Activity.kind == "day"))
        .tuples()
    )


def _values_of(challenge) -> dict:
    """What the settings form shows: the challenge's settings, or a new one's defaults
    (28 days from tomorrow in the app's time zone, as the 28 天打卡 template sets up)."""
    if challenge is None:
        tomorrow = to_local(utcnow(), _tz()).date() + timedelta(days=1)
        return {
            "days": 28,
            "starts_on": tomorrow.isoformat(),
            "timezone": _tz(),
            "task": "",
            "finish_days": 21,
            "reward": "",
            "makeup_cards": 2,
            "makeup_window": 3,
            "hidden": False,
        }
    return rules.settings_of(challenge)


def _challenge_page(campaign, before=None, values=None, day_tasks=None, status=200):
    challenge = rules.challenge_of(campaign.id)
    now = utcnow()
    stored_tasks = _day_tasks(challenge)
    days = []
    if challenge:
        days = [
            {
                "number": n,
                "date": rules.date_of(challenge, n),
                "task": (day_tasks or {}).get(n, stored_tasks.get(n, "")),
            }
            for n in range(1, challenge.days + 1)
        ]
    today = rules.today_check_ins(challenge, now) if challenge else []
    posts = overview.posts(campaign.id, before) if challenge else []
    page = render_template(
        "console/campaigns/challenge.html",
        campaign=campaign,
        challenge=challenge,
        values=values or _values_of(challenge),
        days=days,
        figures=overview.challenge_figures(challenge, now) if challenge else None,
        today=today[:TODAY_SHOWN],
        today_total=len(today),
        posts=posts,
        rewards=overview.rewards(challenge) if challenge else [],
        before=before,
        next_before=posts[-1]["id"] if len(posts) == overview.POSTS_PAGE else None,
        how_labels=overview.HOW_LABELS,
        tz_time=lambda moment: to_local(moment, challenge.timezone).strftime("%m-%d %H:%M"),
    )
    return page, status


@bp.post("/campaigns/<slug>/challenge/rewards/<int:reward_id>/redeem")
@editor_required
def redeem_challenge_reward(slug, reward_id):
    """Mark a finishing reward handed over (the referral rewards' rule: a second click
    changes nothing)."""
    hand_over(campaign_or_404(slug), reward_id)
    return redirect(url_for("console.challenge", slug=slug) + "#rewards")


@bp.get("/campaigns/<slug>/challenge")
@staff_required()
def challenge(slug):
    campaign = campaign_or_404(slug)
    before = query_number("before", None, 1, MAX_INT, label=_("翻页位置"))
    return _challenge_page(campaign, before)


@bp.post("/campaigns/<slug>/challenge")
@editor_required
def save_challenge(slug):
    campaign = campaign_or_404(slug)
    form = request.form
    existing = rules.challenge_of(campaign.id)
    days = form_number("days", None, 1, rules.MAX_DAYS, label=_("天数"))
    finish_days = form_number("finish_days", None, 1, rules.MAX_DAYS, label=_("完成条件（天）"))
    makeup_cards = form_number("makeup_cards", 0, 0, rules.MAX_DAYS, label=_("补卡次数"))
    makeup_window = form_number("makeup_window", 0, 0, rules.MAX_DAYS, label=_("补卡期限（天）"))
    # A day's own task is sent as task_<n> for the days the page listed; a day the form did
    # not list (the challenge just grew) keeps what it has.
    day_tasks = {n: form[f"task_{n}"] for n in range(1, (days or 0) + 1) if f"task_{n}" in form}
    stored = _day_tasks(existing)
    try:
        challenge = rules.set_up_challenge(
            campaign,
            days=days,
            starts_on=parse_date(form.get("starts_on"), _("开始日期")),
            timezone=form.get("timezone") or _tz(),
            task=form.get("task", ""),
            finish_days=finish_days,
            reward=form.get("reward", ""),
            makeup_cards=makeup_cards,
            makeup_window=makeup_window,
            hidden=form.get("hidden") == "on",
            day_tasks=day_tasks,
        )
    except (rules.CheckinError, FormError) as error:
        flash(_("没有保存：%(error)s", error=error), "error")
        values = {**form.to_dict(), "hidden": form.get("hidden") == "on"}
        return _challenge_page(campaign, None, values, day_tasks, status=400)
    changed_days = sorted(n for n, text in day_tasks.items() if text.strip() != stored.get(n, ""))
    audit(
        current_staff(),
        "challenge.edit" if existing else "challenge.create",
        f"campaign:{campaign.slug}",
        days=challenge.days,
        starts_on=challenge.starts_on,
        timezone=challenge.timezone,
        finish_days=challenge.finish_days,
        reward=challenge.reward,
        makeup_cards=challenge.makeup_cards,
        makeup_window=challenge.makeup_window,
        hidden=challenge.hidden,
        task_changed=existing is None or existing.task != challenge.task,
        day_tasks_changed=changed_days,
    )
    flash(
        _("打卡挑战已保存。") if existing else _("打卡挑战已建好：把会员页链接发到群里。"), "info"
    )
    return redirect(url_for("console.challenge", slug=slug))


@bp.post("/campaigns/<slug>/challenge/posts/<int:response_id>")
@editor_required
def moderate_post(slug, response_id):
    """Hide a wall post (action=hide) or show it again (action=show)."""
    campaign = campaign_or_404(slug)
    action = request.form.get("action")
    if action not in ("hide", "show"):
        abort(400)
    if not rules.hide(campaign.id, response_id, hidden=action == "hide"):
        abort(404)
    audit(current_staff(), f"checkin.{action}", f"response:{response_id}", campaign=campaign.slug)
    flash(_("已从打卡墙隐藏。") if action == "hide" else _("已在打卡墙重新显示。"), "info")
    return redirect(url_for("console.challenge", slug=slug) + "#wall")


@bp.get("/campaigns/<slug>/challenge/posts/<int:response_id>-<digest>.jpg")
@staff_required()
def post_photo(slug, response_id, digest):
    """A check-in photo for staff, hidden ones too (so they can decide to show it again)."""
    campaign = campaign_or_404(slug)
    data = overview.post_photo(campaign.id, response_id, digest)
    if data is None:
        abort(404)
    return Response(data, mimetype="image/jpeg", headers={"Cache-Control": "private, no-cache"})


# ---------------------------------------------------------------- events


def _events_page(campaign, status=200, editing=None, values=None):
    rows = overview.events_with_counts(campaign.id)
    page = render_template(
        "console/campaigns/events.html",
        campaign=campaign,
        rows=rows,
        editing=editing,
        values=values or {},
        local_input=lambda moment: local_time(moment, "%Y-%m-%dT%H:%M"),
    )
    return page, status


def _event_form() -> dict:
    form = request.form
    capacity = form_number("capacity", None, 1, event_rules.MAX_CAPACITY, label=_("人数上限"))
    starts_at = to_utc(parse_local_time(form.get("starts_at"), _("开始时间")), _tz())
    return {
        "title": form.get("title", ""),
        "starts_at": starts_at,
        "place": form.get("place", ""),
        "capacity": capacity,
    }


def _event_audit(action: str, campaign, event: Activity) -> None:
    audit(
        current_staff(),
        action,
        f"activity:{event.id}",
        campaign=campaign.slug,
        title=event.title,
        starts_at=event.starts_at,
        place=event.place,
        capacity=event.capacity,
    )


@bp.get("/campaigns/<slug>/events")
@staff_required()
def events(slug):
    return _events_page(campaign_or_404(slug))


@bp.post("/campaigns/<slug>/events")
@editor_required
def add_event(slug):
    campaign = campaign_or_404(slug)
    try:
        event = event_rules.create_event(campaign, **_event_form())
    except (event_rules.EventError, FormError) as error:
        flash(_("没有建成：%(error)s", error=error), "error")
        return _events_page(campaign, 400, values=request.form.to_dict())
    _event_audit("event.create", campaign, event)
    flash(_("已建好活动「%(title)s」。", title=event.title), "info")
    return redirect(url_for("console.events", slug=slug))


@bp.post("/campaigns/<slug>/events/<int:event_id>")
@editor_required
def save_event(slug, event_id):
    campaign = campaign_or_404(slug)
    event = event_rules.event_of(campaign.id, event_id)
    if event is None:
        abort(404)
    try:
        event = event_rules.update_event(event, **_event_form())
    except (event_rules.EventError, FormError) as error:
        flash(_("没有保存：%(error)s", error=error), "error")
        return _events_page(campaign, 400, editing=event.id, values=request.form.to_dict())
    _event_audit("event.edit", campaign, event)
    flash(_("活动「%(title)s」已保存。", title=event.title), "info")
    return redirect(url_for("console.events", slug=slug))


# ---------------------------------------------------------------- exports


@bp.get("/campaigns/<slug>/stickiness.csv", defaults={"kind": "csv"})
@bp.get("/campaigns/<slug>/stickiness.xlsx", defaults={"kind": "xlsx"})
@staff_required()
def export_stickiness(slug, kind):
    """Every activity's called, responded and stickiness, as the dashboard's table; days and
    events still to come say so instead."""
    campaign = campaign_or_404(slug)
    rows = (
        (
            f.title,
            kind_label(f.kind),
            f.number or "",
            local_moment(f.starts_at, "%Y-%m-%d %H:%M"),
            f.called if f.started else "",
            f.responded if f.started else "",
            percent(f.stickiness) if f.started else _("未开始"),
        )
        for f in figures(campaign.id, now=utcnow())
    )
    header = [
        pgettext("a challenge day or an event", "活动"),
        _("类型"),
        _("第几天"),
        _("开始时间"),
        _("应到（被召集）"),
        _("响应"),
        _("粘性"),
    ]
    return sheet_response(f"{campaign.slug}-stickiness", kind, header, rows)


@bp.get("/campaigns/<slug>/check-ins.csv", defaults={"kind": "csv"})
@bp.get("/campaigns/<slug>/check-ins.xlsx", defaults={"kind": "xlsx"})
@staff_required()
def export_check_ins(slug, kind):
    """Every check-in and door check-in, oldest first. Staff see full nicknames; never a
    phone, a visitor key or a photo's bytes (whether there is a photo, yes)."""
    campaign = campaign_or_404(slug)
    challenge = rules.challenge_of(campaign.id)
    tz = challenge.timezone if challenge else _tz()
    rows = (
        (
            title,
            number or "",
            name,
            overview.HOW_LABELS.get(how, how),
            note,
            _("有") if has_photo else "",
            _("已隐藏") if hidden else "",
            Moment(to_local(at, tz).replace(tzinfo=None)),
        )
        for at, _kind, number, title, name, how, note, has_photo, hidden in (
            overview.check_in_rows(campaign.id)
        )
    )
    header = [
        pgettext("a challenge day or an event", "活动"),
        _("第几天"),
        _("会员"),
        _("方式"),
        _("心得"),
        _("照片"),
        _("打卡墙"),
        _("时间（%(tz)s）", tz=tz),
    ]
    return sheet_response(f"{campaign.slug}-check-ins", kind, header, rows)
