"""The VIP invitation page a customer opens from a personal link: /vip/<token>.

No login wall: the token is the key. Opening the link changes nothing but "opened" (and
never for a link-preview fetcher or a bot); accepting or declining is a POST with a CSRF
token. An unknown, expired or revoked token gets one and the same page.
"""

from flask import Blueprint, current_app, make_response, redirect, render_template, request, url_for

from . import vip
from .join import set_visitor_cookie
from .livecode import record_scan
from .models import Campaign, utcnow
from .visitors import HUMAN_AGENTS, VISITOR_COOKIE, classify_agent, keyed_hash, visitor_key

bp = Blueprint("invitations", __name__, url_prefix="/vip")


def _not_found():
    response = make_response(render_template("invitations/not_found.html"), 404)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/<token>")
def show(token):
    now = utcnow()
    invitation = vip.find(token, now)
    if invitation is None:
        return _not_found()
    agent = classify_agent(request.user_agent.string)
    if agent in HUMAN_AGENTS:
        vip.mark_opened(invitation, now)
    campaign = Campaign.get_by_id(invitation.campaign_id)
    program = vip.program_of(campaign.id)
    status = vip.state(invitation, now)
    group = None
    visitor, new_visitor = visitor_key(request.cookies.get(VISITOR_COOKIE))
    if status == "accepted":
        # The same live code as the campaign's posters: the group open now, counted once a day.
        scan = record_scan(
            campaign.id,
            None,
            visitor,
            agent,
            keyed_hash(current_app.config["HASH_KEY"], request.remote_addr or ""),
            new_visitor=new_visitor,
            tz=current_app.config["TIMEZONE"],
        )
        group = scan.group
    page = render_template(
        "invitations/show.html",
        invitation=invitation,
        customer=invitation.customer,
        campaign=campaign,
        program=program,
        status=status,
        group=group,
    )
    response = make_response(page)
    # The app-wide strict-origin-when-cross-origin already keeps the token (in the path)
    # from the offer's site; no-referrer would break the CSRF check of the answer over HTTPS.
    response.headers["Cache-Control"] = "no-store"
    if new_visitor and status == "accepted":
        set_visitor_cookie(response, visitor)
    return response


@bp.post("/<token>/answer")
def answer(token):
    now = utcnow()
    invitation = vip.find(token, now)
    if invitation is None:
        return _not_found()
    decision = request.form.get("decision")
    if decision in ("accept", "decline"):
        vip.answer(invitation, decision == "accept", now)
    return redirect(url_for("invitations.show", token=token), code=303)
