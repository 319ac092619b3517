"""An event's door in the console: the door page (scan a ticket with the phone's camera, or
type its short code; add a walk-in; the live count against capacity), the event's tickets
(issue them to the VIP guests who accepted, revoke one) and the door poster to print.

Every page needs a logged-in staff member; every change an editor (trainers see, never
change). The door's POST answers JSON to the camera script (Accept: application/json), and
redirects with a flashed message otherwise.
"""

from flask import (
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)

from miniapp_api.accounts.access import current_staff, editor_required, staff_required
from miniapp_api.accounts.rules import audit
from miniapp_api.checkins import events
from miniapp_api.console.blueprint import bp
from miniapp_api.console.pagination import paginate
from miniapp_api.console.views.campaigns import campaign_or_404, loopback_note, page_number
from miniapp_api.i18n import _, lazy_gettext
from miniapp_api.posters.rules import door_poster as render_door_poster
from miniapp_api.web.localtime import local_time

EVENT = "/campaigns/<slug>/events/<int:event_id>"
HOW = {
    "door": lazy_gettext("扫码/票码"),
    "self": lazy_gettext("自助签到"),
    "walkin": lazy_gettext("现场登记"),
    "staff": lazy_gettext("工作人员"),
}


def _event(slug: str, event_id: int):
    campaign = campaign_or_404(slug)
    event = events.event_of(campaign.id, event_id)
    if event is None:
        abort(404)
    return campaign, event


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json"


def _answer(campaign, event, check: events.DoorCheck, refused_status: int | None = None):
    """The door's answer: JSON for the camera script, else a flash and back to the page."""
    if check.status == "already":
        message = _(
            "已签到：%(holder)s，%(time)s 签的到。",
            holder=check.ticket.holder,
            time=local_time(check.at, "%H:%M"),
        )
    else:
        message = check.message
    if _wants_json():
        status = 200
        if check.status == "refused":
            status = refused_status or (404 if check.ticket is None else 409)
        figures = events.door_count(event)
        body = {
            "status": check.status,
            "message": message,
            "count": figures["count"],
            "capacity": figures["capacity"],
        }
        return jsonify(body), status
    flash(message, "error" if check.status == "refused" else "info")
    ticket = check.ticket
    if request.form.get("back") == "ticket" and ticket is not None:
        # The check-in button on a ticket page: back to that ticket, which shows its state.
        return redirect(url_for("checkins.ticket", token=ticket.token))
    return redirect(url_for("console.door", slug=campaign.slug, event_id=event.id))


@bp.get(EVENT + "/door")
@staff_required()
def door(slug, event_id):
    campaign, event = _event(slug, event_id)
    return render_template(
        "console/campaigns/door.html",
        campaign=campaign,
        event=event,
        figures=events.door_count(event),
        recent=events.recent_check_ins(event),
        how=HOW,
        here_url=events.here_url(current_app.config["PUBLIC_URL"], campaign.slug, event.id),
        loopback=loopback_note(),
    )


@bp.post(EVENT + "/door")
@editor_required
def door_check_in(slug, event_id):
    campaign, event = _event(slug, event_id)
    return _answer(campaign, event, events.check_in_ticket(event, request.form.get("ticket")))


@bp.post(EVENT + "/door/walk-in")
@editor_required
def door_walk_in(slug, event_id):
    campaign, event = _event(slug, event_id)
    try:
        check = events.walk_in(event, request.form.get("holder"))
    except events.EventError as error:
        refused = events.DoorCheck("refused", _("没有登记：%(error)s", error=error))
        return _answer(campaign, event, refused, refused_status=400)
    audit(current_staff(), "event.walk_in", f"event:{event.id}", holder=check.ticket.holder)
    return _answer(campaign, event, check)


@bp.get(EVENT + "/tickets")
@staff_required()
def event_tickets(slug, event_id):
    campaign, event = _event(slug, event_id)
    page = paginate(events.ticket_list(event), page_number())
    return render_template(
        "console/campaigns/tickets.html",
        campaign=campaign,
        event=event,
        page=page,
        figures=events.door_count(event),
        waiting=events.waiting_invitations(event).count(),
    )


@bp.post(EVENT + "/tickets/vip")
@editor_required
def issue_vip_tickets(slug, event_id):
    _campaign, event = _event(slug, event_id)
    issued, left_out = events.issue_invitation_tickets(event)
    audit(current_staff(), "event.vip_tickets", f"event:{event.id}", issued=issued, full=left_out)
    if left_out:
        flash(
            _(
                "发出 %(issued)s 张票；还有 %(left)s 位已接受邀请的客户没有票：名额已满。"
                "要让他们都能来，先在活动设置里调高人数上限，再点一次。",
                issued=issued,
                left=left_out,
            ),
            "error",
        )
    else:
        flash(
            _(
                "发出 %(issued)s 张票：已接受邀请的客户现在打开邀请页就能看到入场券。",
                issued=issued,
            ),
            "info",
        )
    return redirect(url_for("console.event_tickets", slug=slug, event_id=event_id))


@bp.post(EVENT + "/tickets/<int:ticket_id>/revoke")
@editor_required
def revoke_event_ticket(slug, event_id, ticket_id):
    _campaign, event = _event(slug, event_id)
    try:
        revoked = events.revoke_ticket(event, ticket_id)
    except events.EventError as error:
        abort(404, str(error))
    if revoked:
        audit(current_staff(), "event.revoke_ticket", f"ticket:{ticket_id}", event=event.id)
        flash(_("票已作废：持票人打开票页会看到「已作废」，门口扫码也会被拒绝。"), "info")
    else:
        flash(_("这张票之前已经作废了。"), "info")
    return redirect(url_for("console.event_tickets", slug=slug, event_id=event_id))


@bp.get(EVENT + "/door-poster.png")
@staff_required()
def door_poster(slug, event_id):
    campaign, event = _event(slug, event_id)
    config = current_app.config
    data = render_door_poster(
        config["POSTER_CACHE_DIR"], campaign, event, config["PUBLIC_URL"], config["TIMEZONE"]
    )
    return Response(data, mimetype="image/png", headers={"Cache-Control": "private, max-age=60"})
