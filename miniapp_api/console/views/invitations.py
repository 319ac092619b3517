"""VIP invitations in the console: import customers, set up a campaign's invitation, preview
and create invitations by rule, follow them by state, region and purchase band, revoke, and
export the personal links (CSV for phone outreach, a printable sheet of QR codes)."""

import io

import qrcode
from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)

from miniapp_api.accounts.access import (
    can_edit,
    current_staff,
    editor_required,
    staff_required,
)
from miniapp_api.accounts.rules import audit
from miniapp_api.console.blueprint import bp
from miniapp_api.console.pagination import paginate
from miniapp_api.console.views.campaigns import (
    campaign_or_404,
    loopback_note,
    page_number,
    sheet_response,
)
from miniapp_api.i18n import _, lazy_gettext
from miniapp_api.invitations import customers
from miniapp_api.invitations import rules as invitations
from miniapp_api.models import Customer, Invitation, utcnow
from miniapp_api.visitors import phone_hash
from miniapp_api.web.localtime import local_moment
from miniapp_api.web.params import NumberRefused, form_number, number_in

STATE_LABELS = {
    "created": lazy_gettext("已发出"),
    "opened": lazy_gettext("已打开"),
    "accepted": lazy_gettext("已接受"),
    "declined": lazy_gettext("已婉拒"),
    "expired": lazy_gettext("已过期"),
    "revoked": lazy_gettext("已撤回"),
}


@bp.route("/customers", methods=["GET", "POST"])
@staff_required()
def customers_page():
    report = error = None
    status = 200
    if request.method == "POST":
        if current_staff().role == "trainer":
            abort(403)
        upload = request.files.get("file")
        key = current_app.config["HASH_KEY"]
        try:
            data = upload.read() if upload and upload.filename else b""
            report = customers.import_customers(data, lambda phone: phone_hash(key, phone))
        except customers.CustomerFileError as problem:
            error, status = str(problem), 400
        else:
            audit(
                current_staff(),
                "customers.import",
                "customers",
                rows=report.rows,
                created=report.created,
                updated=report.updated,
                refused=len(report.errors),
            )
    page = render_template(
        "console/customers.html",
        total=Customer.select().count(),
        report=report,
        error=error,
    )
    return page, status


def link_of(invitation) -> str:
    return f"{current_app.config['PUBLIC_URL']}/vip/{invitation.token}"


def _selection() -> invitations.Selection:
    """The rules from the form (or the preview link), in yuan and days as staff think."""
    args = request.values
    yuan = number_in(args, "min_purchase", 0, 0, 10**8, label=_("累计消费至少（元）"))
    return invitations.Selection(
        min_purchase_fen=yuan * 100,
        active_within_days=number_in(
            args, "active_days", None, 1, 3650, label=_("最近多少天内活跃")
        ),
        regions_in=invitations.parse_regions(args.get("regions_in")),
        regions_out=invitations.parse_regions(args.get("regions_out")),
    )


@bp.get("/campaigns/<slug>/vip")
@staff_required()
def vip_page(slug):
    campaign = campaign_or_404(slug)
    now = utcnow()
    number = page_number()
    preview = selection = None
    problem = None
    status = 200
    if "preview" in request.args:
        try:
            selection = _selection()
            preview = invitations.preview(campaign.id, selection, now.date())
        except NumberRefused as error:
            problem, status = error.description, 400
    state = request.args.get("state")
    query = (
        Invitation.select(Invitation, Customer)
        .join(Customer)
        .where(Invitation.campaign == campaign.id)
        .order_by(Invitation.created_at.desc(), Invitation.id.desc())
    )
    if state in ("created", "opened", "accepted", "declined", "revoked"):
        query = query.where(Invitation.status == state)
        if state in ("created", "opened"):
            query = query.where(Invitation.expires_at > now)
    elif state == "expired":
        query = query.where(
            Invitation.status.in_(("created", "opened")) & (Invitation.expires_at <= now)
        )
    page = paginate(query, number)
    for invitation in page.items:
        invitation.shown = invitations.state(invitation, now)
    html = render_template(
        "console/campaigns/vip.html",
        campaign=campaign,
        program=invitations.program_of(campaign.id),
        figures=invitations.counts(campaign.id, now),
        labels=STATE_LABELS,
        page=page,
        state=state,
        preview=preview,
        problem=problem,
        form=request.args,
        customers_total=Customer.select().count(),
    )
    return html, status


@bp.post("/campaigns/<slug>/vip/settings")
@editor_required
def vip_settings(slug):
    campaign = campaign_or_404(slug)
    form = request.form
    days = form_number("valid_days", 14, 1, 365, label=_("链接有效天数"))
    try:
        invitations.set_up_program(
            campaign,
            rights=form.get("rights", ""),
            offer_url=form.get("offer_url", ""),
            offer_label=form.get("offer_label", ""),
            valid_days=days,
        )
    except invitations.VipError as error:
        flash(_("没有保存：%(error)s", error=error), "error")
    else:
        audit(current_staff(), "vip.settings", f"campaign:{slug}")
        flash(_("邀请设置已保存。"), "info")
    return redirect(url_for("console.vip_page", slug=slug))


@bp.post("/campaigns/<slug>/vip/invite")
@editor_required
def vip_invite(slug):
    campaign = campaign_or_404(slug)
    try:
        selection = _selection()
        created = invitations.invite(campaign.id, selection, utcnow().date())
    except invitations.VipError as error:
        flash(_("没有发出邀请：%(error)s", error=error), "error")
        return redirect(url_for("console.vip_page", slug=slug))
    audit(
        current_staff(),
        "vip.invite",
        f"campaign:{slug}",
        created=created,
        min_purchase_fen=selection.min_purchase_fen,
        active_within_days=selection.active_within_days,
        regions_in=selection.regions_in,
        regions_out=selection.regions_out,
    )
    flash(
        _(
            "新建了 %(n)s 份邀请；已经邀请过的客户不会重复。下一步：导出链接去打电话。",
            n=created,
        ),
        "info",
    )
    return redirect(url_for("console.vip_page", slug=slug))


@bp.post("/campaigns/<slug>/vip/<int:invitation_id>/revoke")
@editor_required
def vip_revoke(slug, invitation_id):
    campaign = campaign_or_404(slug)
    if not Invitation.get_or_none(
        (Invitation.id == invitation_id) & (Invitation.campaign == campaign.id)
    ):
        abort(404)
    if invitations.revoke(invitation_id, campaign.id, utcnow()):
        audit(current_staff(), "vip.revoke", f"invitation:{invitation_id}", campaign=slug)
        flash(_("邀请已撤回：这个链接现在打开是“链接打不开了”。"), "info")
    return redirect(url_for("console.vip_page", slug=slug))


def _live_invitations(campaign):
    now = utcnow()
    return (
        Invitation.select(Invitation, Customer)
        .join(Customer)
        .where(
            (Invitation.campaign == campaign.id)
            & (Invitation.status != "revoked")
            & (Invitation.expires_at > now)
        )
        .order_by(Customer.region, Customer.name, Invitation.id)
    )


@bp.get("/campaigns/<slug>/vip.csv", defaults={"kind": "csv"})
@bp.get("/campaigns/<slug>/vip.xlsx", defaults={"kind": "xlsx"})
@staff_required()
def vip_export(slug, kind):
    """For phone outreach: name, region, state and the personal link. No phone hashes.

    A personal link lets whoever holds it answer for the customer, so only the roles that
    call customers get it; trainers get the same list without the link."""
    campaign = campaign_or_404(slug)
    now = utcnow()
    with_links = can_edit()
    header = [_("客户编号"), _("姓名"), _("地区"), _("状态"), _("专属链接"), _("有效期至")]
    if not with_links:
        del header[4]
    rows = (
        (
            i.customer.external_id,
            i.customer.name,
            i.customer.region,
            str(STATE_LABELS[invitations.state(i, now)]),
            *([link_of(i)] if with_links else []),
            local_moment(i.expires_at, "%Y-%m-%d"),
        )
        for i in _live_invitations(campaign)
    )
    return sheet_response(f"{campaign.slug}-vip-invitations", kind, header, rows)


# The sheet and its QR codes are nothing but personal links: for the roles that send them.
@bp.get("/campaigns/<slug>/vip/sheet")
@editor_required
def vip_sheet(slug):
    campaign = campaign_or_404(slug)
    # Links still waiting for an answer: an accepted or declined one needs no sending.
    waiting = _live_invitations(campaign).where(Invitation.status.in_(("created", "opened")))
    invitations = list(waiting.limit(2000))
    return render_template(
        "console/campaigns/vip_sheet.html",
        campaign=campaign,
        invitations=invitations,
        link_of=link_of,
        loopback=loopback_note(),
    )


@bp.get("/campaigns/<slug>/vip/<int:invitation_id>/qr.png")
@editor_required
def vip_qr(slug, invitation_id):
    campaign = campaign_or_404(slug)
    invitation = Invitation.get_or_none(
        (Invitation.id == invitation_id) & (Invitation.campaign == campaign.id)
    )
    if invitation is None:
        abort(404)
    image = qrcode.make(link_of(invitation), box_size=6, border=4)
    out = io.BytesIO()
    image.save(out, "PNG")
    # A personal link: kept out of shared caches.
    return Response(out.getvalue(), mimetype="image/png", headers={"Cache-Control": "private"})
