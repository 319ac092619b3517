"""Campaigns from playbook templates, their channels, and the upkeep of group QR codes."""

import functools
from datetime import datetime

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from peewee import JOIN, fn

from miniapp_api import playbooks
from miniapp_api.accounts.access import current_staff, editor_required, staff_required
from miniapp_api.accounts.rules import audit
from miniapp_api.checkins import events
from miniapp_api.config import only_this_computer
from miniapp_api.console import alerts
from miniapp_api.console.attention import (
    count_by_campaign,
    group_state,
    needs_attention,
    untrusted_proxy_warning,
)
from miniapp_api.console.blueprint import bp
from miniapp_api.console.pagination import MAX_PAGE, paginate
from miniapp_api.console.stats import channel_stats
from miniapp_api.csvexport import XLSX_MIMETYPE, csv_chunks, stream_rows, xlsx_chunks
from miniapp_api.db import db
from miniapp_api.i18n import _
from miniapp_api.livecode import lifecycle
from miniapp_api.livecode import rules as livecode
from miniapp_api.livecode.groupqr import InvalidGroupQr, check_group_qr
from miniapp_api.livecode.places import people_sent, with_sent
from miniapp_api.livecode.rules import QR_LIFETIME, VISIT_LABELS, SetupError
from miniapp_api.localtime import to_utc
from miniapp_api.models import MAX_INT, Campaign, Channel, Group, Visit, utcnow
from miniapp_api.posters.rules import unprintable_note
from miniapp_api.web.localtime import local_moment
from miniapp_api.web.params import form_number, query_number
from miniapp_api.web.proxies import forwarded_without_trust


@bp.get("/")
@staff_required()
def home():
    return render_template("console/home.html")


def loopback_note() -> str | None:
    """Said on every console page that gives out a printable QR (posters, the VIP sheet, the
    door poster): a QR pointing at this computer leads a scanning phone nowhere."""
    url = current_app.config["PUBLIC_URL"]
    if not only_this_computer(url):
        return None
    return _(
        "注意：现在海报和二维码里印的地址是 %(url)s，只有这台电脑打得开，手机扫了什么也打不开。"
        "打印或发出之前，请把 QUNBOOK_PUBLIC_URL 设成手机打得开的地址（例如 "
        "https://qun.example.cn），重启服务后再下载。",
        url=url,
    )


def campaign_or_404(slug: str) -> Campaign:
    campaign = Campaign.get_or_none(Campaign.slug == slug)
    if campaign is None:
        abort(404)
    return campaign


def _group(campaign: Campaign, group_id: int) -> Group:
    group = Group.get_or_none((Group.id == group_id) & (Group.campaign == campaign))
    if group is None:
        abort(404)
    return group


def _back(campaign: Campaign):
    return redirect(url_for("console.campaign", slug=campaign.slug))


def refused_back(view):
    """A change the rules refuse is flashed on the campaign page it came from; nothing stored."""

    @functools.wraps(view)
    def wrapped(slug, **kwargs):
        try:
            return view(slug, **kwargs)
        except (SetupError, InvalidGroupQr) as error:
            flash(_("没有保存：%(error)s", error=error), "error")
            return redirect(url_for("console.campaign", slug=slug))

    return wrapped


def page_number() -> int:
    """?page= of a console list: 1 when absent, a 400 page saying what to type when bad."""
    return query_number("page", 1, 1, MAX_PAGE, label=_("页码"))


def _tz() -> str:
    return current_app.config["TIMEZONE"]


@bp.context_processor
def console_helpers():
    # Callables, not values: a page pays only for what it uses (the home page calls the
    # attention list and the campaign list; the view in auth.py passes nothing).
    return {
        "attention_items": lambda: needs_attention(tz=_tz()),
        "campaign_page": campaign_page,
        "page_url": page_url,
    }


def page_url(number: int) -> str:
    """This page's URL with another page number, keeping its filters."""
    args = {**request.view_args, **request.args.to_dict(), "page": number}
    return url_for(request.endpoint, **args)


def campaign_page(
    number: int = 1,
    per_page: int | None = None,
    attention: list | None = None,
    archived: bool = False,
):
    """One page of running (or, with archived=True, archived) campaigns, newest first, each
    with its group count, open groups, people sent and needs-attention flags (from `attention`
    when the caller has the list already); four queries at most, however many campaigns and
    groups."""
    open_groups = fn.SUM(livecode.open_condition(utcnow()).cast("integer"))
    query = (
        Campaign.select(
            Campaign,
            fn.COUNT(Group.id).alias("group_count"),
            people_sent(Campaign).alias("people_sent"),
            fn.COALESCE(open_groups, 0).alias("open_count"),
        )
        .join(Group, JOIN.LEFT_OUTER)
        .where(Campaign.archived_at.is_null(not archived))
        .group_by(Campaign.id)
        .order_by(Campaign.created_at.desc(), Campaign.id.desc())
    )
    page = paginate(query, number, **({"per_page": per_page} if per_page else {}))
    flags = count_by_campaign(needs_attention(tz=_tz()) if attention is None else attention)
    for campaign in page.items:
        campaign.flags = flags.get(campaign.slug, {})
    return page


@bp.get("/campaigns")
@staff_required()
def campaigns():
    page = campaign_page(page_number())
    return render_template("console/campaigns/list.html", page=page, archived=False)


@bp.get("/campaigns/archived")
@staff_required()
def archived_campaigns():
    page = campaign_page(page_number(), archived=True)
    return render_template("console/campaigns/list.html", page=page, archived=True)


def _new_form(key: str, status: int = 200):
    page = render_template(
        "console/campaigns/new.html",
        templates=playbooks.templates(),
        key=key,
        chosen=playbooks.template(key),
    )
    return page, status


@bp.route("/campaigns/new", methods=["GET", "POST"])
@editor_required
def new_campaign():
    key = request.values.get("template", "")
    if request.method == "GET":
        return _new_form(key)
    form = request.form
    try:
        campaign = playbooks.create_from_template(
            key,
            form.get("slug", ""),
            timezone=_tz(),
            **{name: form.get(name, "") for name in (*playbooks.FIELDS, "staff_contact")},
        )
    except SetupError as error:
        flash(_("没有建成：%(error)s", error=error), "error")
        return _new_form(key, 400)
    audit(current_staff(), "campaign.create", f"campaign:{campaign.slug}", template=key)
    name = playbooks.template(key)["name"]
    flash(_("已按「%(name)s」模板建好活动，下一步：给每个群上传二维码。", name=name), "info")
    return _back(campaign)


@bp.get("/campaigns/<slug>")
@staff_required()
def campaign(slug):
    return _campaign_page(campaign_or_404(slug))


def _campaign_page(found: Campaign, status: int = 200):
    """The campaign page; a refused text form comes back on it (400) with what was typed
    (the template reads request.form), so a long promise is not lost to one emoji."""
    now = utcnow()
    # Every column but the QR image, which the page links to rather than embeds.
    columns = [f for f in Group._meta.sorted_fields if f is not Group.qr_image]
    groups = list(
        with_sent(Group.select(*columns))
        .where(Group.campaign == found)
        .order_by(Group.position, Group.id)
    )
    for g in groups:
        g.state = group_state(g, now)
        g.expires_at = livecode.qr_expires_at(g)
    public_url = current_app.config["PUBLIC_URL"]
    # Running channels first; archived ones below them, marked.
    channels = list(found.channels.order_by(Channel.archived_at.is_null(False), Channel.id))
    for c in channels:
        c.live_url = livecode.join_url(public_url, found.slug, c.code)
    page = render_template(
        "console/campaigns/show.html",
        campaign=found,
        groups=groups,
        channels=channels,
        template=playbooks.template(found.template),
        stats=channel_stats(found),
        now=now,
        live_url=livecode.join_url(public_url, found.slug),
        events=events.events_of(found.id),
        unprintable=unprintable_note(found, channels),
        loopback=loopback_note(),
        alerts=alerts.recent_alerts(found.id, limit=10),
        webhook_host=alerts.webhook_host(found.alert_webhook),
        global_webhook=bool(current_app.config["ALERT_WEBHOOK"]),
    )
    return page, status


def refused_here(view):
    """A text form the rules refuse: the campaign page again, 400, the message on top and
    the form as it was typed; nothing stored."""

    @functools.wraps(view)
    def wrapped(slug, **kwargs):
        try:
            return view(slug, **kwargs)
        except SetupError as error:
            flash(_("没有保存：%(error)s", error=error), "error")
            return _campaign_page(campaign_or_404(slug), 400)

    return wrapped


@bp.post("/campaigns/<slug>/edit")
@editor_required
@refused_here
def edit_campaign(slug):
    found = campaign_or_404(slug)
    # A field the form did not send keeps its text; one sent empty is cleared.
    names = (*playbooks.FIELDS, "staff_contact")
    changes = playbooks.campaign_text({n: request.form.get(n, getattr(found, n)) for n in names})
    Campaign.update(**changes).where(Campaign.id == found.id).execute()
    changed = sorted(name for name, value in changes.items() if getattr(found, name) != value)
    audit(current_staff(), "campaign.edit", f"campaign:{found.slug}", fields=changed)
    flash(_("活动文字已保存。"), "info")
    return _back(found)


@bp.post("/campaigns/<slug>/channels")
@editor_required
@refused_here
def add_channel(slug):
    found = campaign_or_404(slug)
    channel = livecode.add_channel(found, request.form.get("code"), request.form.get("label"))
    audit(
        current_staff(),
        "channel.create",
        f"campaign:{found.slug}",
        code=channel.code,
        label=channel.label,
    )
    flash(_("已添加渠道 %(label)s：海报和活码链接见下方。", label=channel.label), "info")
    return _back(found)


@bp.post("/campaigns/<slug>/alert-webhook")
@editor_required
@refused_here
def set_alert_webhook(slug):
    found = campaign_or_404(slug)
    url = (request.form.get("alert_webhook") or "").strip()
    if url and (problem := alerts.check_webhook(url)):
        raise SetupError(problem)
    Campaign.update(alert_webhook=url).where(Campaign.id == found.id).execute()
    # The audit log keeps the host only: the URL's key is a secret.
    audit(
        current_staff(),
        "campaign.alert_webhook",
        f"campaign:{found.slug}",
        host=alerts.webhook_host(url) if url else "",
    )
    flash(
        _("提醒会发到 %(host)s。", host=alerts.webhook_host(url))
        if url
        else _("已改用全局设置的提醒地址。"),
        "info",
    )
    return _back(found)


@bp.post("/campaigns/<slug>/archive")
@editor_required
def archive_campaign(slug):
    found = campaign_or_404(slug)
    if lifecycle.archive_campaign(found.id):
        audit(current_staff(), "campaign.archive", f"campaign:{found.slug}")
        flash(
            _(
                "「%(title)s」已归档：对外页面不再开放，也不再出现在“需要处理”里；"
                "数据照旧可查，随时可以恢复。",
                title=found.title,
            ),
            "info",
        )
    else:
        flash(_("「%(title)s」已经归档过了。", title=found.title), "info")
    return _back(found)


@bp.post("/campaigns/<slug>/restore")
@editor_required
def restore_campaign(slug):
    found = campaign_or_404(slug)
    if lifecycle.restore_campaign(found.id):
        audit(current_staff(), "campaign.restore", f"campaign:{found.slug}")
        flash(
            _(
                "「%(title)s」已恢复：活码和对外页面重新开放，请检查群二维码是否过期。",
                title=found.title,
            ),
            "info",
        )
    else:
        flash(_("「%(title)s」没有归档，正在运行。", title=found.title), "info")
    return _back(found)


@bp.post("/campaigns/<slug>/delete")
@editor_required
def delete_campaign(slug):
    found = campaign_or_404(slug)
    try:
        lifecycle.delete_campaign(found)
    except SetupError as error:
        flash(_("没有删除：%(error)s", error=error), "error")
        return _back(found)
    audit(current_staff(), "campaign.delete", f"campaign:{found.slug}", title=found.title)
    flash(_("「%(title)s」已删除。", title=found.title), "info")
    return redirect(url_for("console.campaigns"))


def _channel(campaign: Campaign, channel_id: int) -> Channel:
    channel = Channel.get_or_none((Channel.id == channel_id) & (Channel.campaign == campaign))
    if channel is None:
        abort(404)
    return channel


@bp.post("/campaigns/<slug>/channels/<int:channel_id>/archive", defaults={"action": "archive"})
@bp.post("/campaigns/<slug>/channels/<int:channel_id>/restore", defaults={"action": "restore"})
@bp.post("/campaigns/<slug>/channels/<int:channel_id>/delete", defaults={"action": "delete"})
@editor_required
def change_channel(slug, channel_id, action):
    found = campaign_or_404(slug)
    channel = _channel(found, channel_id)
    if action == "delete":
        try:
            lifecycle.delete_channel(channel)
        except SetupError as error:
            flash(_("没有删除：%(error)s", error=error), "error")
            return _back(found)
        changed = True
    elif action == "archive":
        changed = lifecycle.archive_channel(channel.id)
    else:
        changed = lifecycle.restore_channel(channel.id)
    if changed:
        audit(
            current_staff(),
            f"channel.{action}",
            f"campaign:{found.slug}",
            code=channel.code,
            label=channel.label,
        )
    if not changed:
        done = _("渠道「%(label)s」没有变化。", label=channel.label)
    elif action == "delete":
        done = _("渠道「%(label)s」已删除。", label=channel.label)
    elif action == "archive":
        done = _("渠道「%(label)s」已归档：海报仍能把人带到活动。", label=channel.label)
    else:
        done = _("渠道「%(label)s」已恢复。", label=channel.label)
    flash(done, "info")
    return _back(found)


@bp.post("/campaigns/<slug>/groups")
@editor_required
@refused_back
def add_group(slug):
    found = campaign_or_404(slug)
    cutoff = form_number("cutoff", 200, 1, MAX_INT, label=_("截止人数"))
    group = livecode.add_group(found, request.form.get("name"), cutoff=cutoff)
    audit(
        current_staff(),
        "group.create",
        f"group:{group.id}",
        campaign=found.slug,
        name=group.name,
        cutoff=cutoff,
    )
    flash(_("已添加 %(name)s，请上传它的二维码。", name=group.name), "info")
    return _back(found)


@bp.post("/campaigns/<slug>/groups/<int:group_id>/qr")
@editor_required
@refused_back
def upload_group_qr(slug, group_id):
    found = campaign_or_404(slug)
    group = _group(found, group_id)
    upload = request.files.get("qr")
    if upload is None or not upload.filename:
        raise SetupError(_("请选择群二维码图片（PNG 或 JPEG）。"))
    with upload.stream:
        data = upload.read()
    stored, payload, digest = check_group_qr(data)
    generated_at = _generated_at(request.form.get("generated"))
    livecode.set_group_qr(group, stored, digest, payload, generated_at)
    audit(
        current_staff(),
        "group.qr",
        f"group:{group.id}",
        campaign=found.slug,
        name=group.name,
        generated_at=generated_at,
    )
    flash(_("%(name)s 的二维码已更新，7 天内有效。", name=group.name), "info")
    return _back(found)


def _generated_at(text: str | None) -> datetime:
    """The form's local time (datetime-local input), as naive UTC; empty means now."""
    if not text:
        return utcnow()
    try:
        local = datetime.fromisoformat(text)
    except ValueError:
        raise SetupError(_("生成时间格式不对：请用日期时间选择器填写。")) from None
    return to_utc(local, _tz())


@bp.post("/campaigns/<slug>/groups/<int:group_id>")
@editor_required
@refused_back
def update_group(slug, group_id):
    found = campaign_or_404(slug)
    group = _group(found, group_id)
    active = {"on": True, "off": False}.get(request.form.get("active", ""))
    updated = livecode.update_group(
        group,
        cutoff=form_number("cutoff", None, 1, MAX_INT, label=_("截止人数")),
        sent=form_number("sent", None, 0, MAX_INT, label=_("已送人数")),
        active=active,
        position=form_number("position", None, -MAX_INT, MAX_INT, label=_("顺序号")),
    )
    audit(
        current_staff(),
        "group.update",
        f"group:{group.id}",
        campaign=found.slug,
        name=updated.name,
        cutoff=updated.cutoff,
        sent=updated.sent,
        active=updated.active,
        position=updated.position,
    )
    flash(_("%(name)s 已更新。", name=updated.name), "info")
    return _back(found)


@bp.post("/campaigns/<slug>/groups/<int:group_id>/move")
@editor_required
def move_group(slug, group_id):
    found = campaign_or_404(slug)
    group = _group(found, group_id)
    with db.atomic():
        ordered = list(found.groups.order_by(Group.position, Group.id))
        index = next(i for i, g in enumerate(ordered) if g.id == group.id)
        other = index + (-1 if request.form.get("direction") == "up" else 1)
        if not 0 <= other < len(ordered):
            flash(
                _("%(name)s 已经在最前面了。", name=group.name)
                if other < 0
                else _("%(name)s 已经在最后面了。", name=group.name),
                "info",
            )
            return _back(found)
        # Renumbered 1..n rather than swapping two values: positions may repeat (groups
        # made with the same position), and a swap of equal numbers would change nothing.
        ordered[index], ordered[other] = ordered[other], ordered[index]
        for position, g in enumerate(ordered, start=1):
            if g.position != position:
                Group.update(position=position).where(Group.id == g.id).execute()
    audit(
        current_staff(),
        "group.move",
        f"group:{group.id}",
        campaign=found.slug,
        name=group.name,
        position=other + 1,
    )
    flash(
        _("%(name)s 已上移。", name=group.name)
        if other < index
        else _("%(name)s 已下移。", name=group.name),
        "info",
    )
    return _back(found)


@bp.get("/campaigns/<slug>/visits.csv", defaults={"kind": "csv"})
@bp.get("/campaigns/<slug>/visits.xlsx", defaults={"kind": "xlsx"})
@staff_required()
def export_visits(slug, kind):
    """Every visit of the campaign, oldest first, in local time. Never visitor keys or IP
    hashes: an export leaves the system, so it carries nothing that identifies a person."""
    found = campaign_or_404(slug)
    labels = {c.id: c.label for c in found.channels}
    names = {g.id: g.name for g in found.groups}
    # Translated once, not twice a row.
    kinds = {code: str(label) for code, label in VISIT_LABELS.items()}
    # Streamed: a campaign's visits run to millions, and neither the rows nor the file are
    # ever held whole (csvexport.py).
    visits = stream_rows(
        Visit.select(Visit.created_at, Visit.channel, Visit.agent, Visit.outcome, Visit.group)
        .where(Visit.campaign == found)
        .order_by(Visit.created_at, Visit.id)
    )
    rows = (
        (
            local_moment(at),
            labels.get(channel_id, ""),
            kinds.get(agent, agent),
            kinds.get(outcome, outcome),
            names.get(group_id, ""),
        )
        for at, channel_id, agent, outcome, group_id in visits
    )
    header = [_("时间"), _("渠道"), _("访客类型"), _("结果"), _("群")]
    return sheet_response(f"{found.slug}-visits", kind, header, rows)


@bp.get("/campaigns/<slug>/groups.csv", defaults={"kind": "csv"})
@bp.get("/campaigns/<slug>/groups.xlsx", defaults={"kind": "xlsx"})
@staff_required()
def export_groups(slug, kind):
    found = campaign_or_404(slug)

    def local(moment):
        return local_moment(moment, "%Y-%m-%d %H:%M")

    rows = (
        (
            g.position,
            g.name,
            g.cutoff,
            g.sent,
            _("启用") if g.active else _("停用"),
            local(g.qr_generated_at),
            local(g.qr_generated_at + QR_LIFETIME if g.qr_generated_at else None),
        )
        for g in with_sent(found.groups).order_by(Group.position, Group.id)
    )
    header = [
        _("顺序"),
        _("群"),
        _("截止人数"),
        _("已送人数"),
        _("状态"),
        _("二维码生成"),
        _("二维码过期"),
    ]
    return sheet_response(f"{found.slug}-groups", kind, header, rows)


def sheet_response(name: str, kind: str, header: list[str], rows) -> Response:
    """An export as `name`.csv or `name`.xlsx (kind), the same rows either way, sent as it is
    made: `rows` is read while the response streams, in this request's context (translations,
    the staff member's role, the database connection closed only at its end)."""
    if kind == "xlsx":
        chunks, mimetype = xlsx_chunks(header, rows), XLSX_MIMETYPE
    else:
        chunks, mimetype = csv_chunks(header, rows), "text/csv"
    return Response(
        stream_with_context(chunks),
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{name}.{kind}"'},
    )


@bp.get("/attention")
@staff_required()
def attention():
    return render_template(
        "console/attention.html",
        items=needs_attention(tz=_tz()),
        alerts=alerts.recent_alerts(),
        proxy_warning=untrusted_proxy_warning(
            forwarded_without_trust(), current_app.config["TRUSTED_PROXIES"]
        ),
    )
