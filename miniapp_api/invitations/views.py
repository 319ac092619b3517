"""The VIP invitation page a customer opens from a personal link: /vip/<token>.

No login wall: the token is the key. Opening the link changes nothing but "opened" (and
never for a link-preview fetcher, a bot or a HEAD request); accepting or declining is a POST
with a CSRF token. An unknown, expired or revoked token gets one and the same page.
"""

from flask import Blueprint, current_app, make_response, redirect, render_template, request, url_for

from miniapp_api.checkins import events
from miniapp_api.invitations import rules
from miniapp_api.livecode.rules import record_scan
from miniapp_api.models import Campaign, utcnow
from miniapp_api.visitors import HUMAN_AGENTS
from miniapp_api.web.memberform import member_form
from miniapp_api.web.visitor import current_visitor, member_entry, remember

bp = Blueprint("invitations", __name__, url_prefix="/vip")


def _not_found():
    response = make_response(render_template("invitations/not_found.html"), 404)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/<token>")
@member_entry
def show(token):
    now = utcnow()
    invitation = rules.find(token, now)
    if invitation is None:
        return _not_found()
    visitor = current_visitor()
    # HEAD is what link checkers and Office send before the person clicks: it changes nothing.
    reading = request.method == "HEAD"
    if visitor.agent in HUMAN_AGENTS and not reading:
        rules.mark_opened(invitation, now)
    campaign = Campaign.get_by_id(invitation.campaign_id)
    program = rules.program_of(campaign.id)
    status = rules.state(invitation, now)
    group = None
    if status == "accepted" and not reading:
        # The same live code as the campaign's posters: the group open now, counted once a
        # day. Counted as the invitation, not the browser: the link is one person's, so
        # reloading it (with or without a cookie, on any device) never adds anyone.
        scan = record_scan(
            campaign.id,
            None,
            rules.visit_key(invitation),
            visitor.agent,
            visitor.ip_hash,
            tz=current_app.config["TIMEZONE"],
        )
        group = scan.group
    ticket = events.invitation_ticket(invitation.id) if status == "accepted" else None
    event = None
    if status == "accepted":
        event = events.event_of(campaign.id, ticket.activity_id) if ticket else None
        event = event or events.next_event(campaign.id, now)
    page = render_template(
        "invitations/show.html",
        invitation=invitation,
        customer=invitation.customer,
        campaign=campaign,
        program=program,
        status=status,
        group=group,
        ticket=ticket,
        event=event,
    )
    response = make_response(page)
    # The app-wide strict-origin-when-cross-origin already keeps the token (in the path)
    # from the offer's site; no-referrer would break the CSRF check of the answer over HTTPS.
    response.headers["Cache-Control"] = "no-store"
    if status == "accepted" and not reading:
        remember(response, visitor)
    return response


@bp.post("/<token>/answer")
@member_form
def answer(token):
    now = utcnow()
    invitation = rules.find(token, now)
    if invitation is None:
        return _not_found()
    decision = request.form.get("decision")
    visitor = current_visitor()
    if decision in ("accept", "decline"):
        # The accepting browser is the one the door poster later recognises.
        rules.answer(invitation, decision == "accept", now, visitor=visitor.key)
    response = redirect(url_for("invitations.show", token=token), code=303)
    remember(response, visitor)
    return response
