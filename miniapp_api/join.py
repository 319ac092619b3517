"""The live code a poster points at: /j/<campaign>?c=<channel>."""

from flask import Blueprint, Response, abort, current_app, make_response, render_template, request

from . import fission
from .livecode import find_live_code, record_scan
from .models import Group
from .visitors import VISITOR_COOKIE, classify_agent, keyed_hash, visitor_key

bp = Blueprint("join", __name__)

VISITOR_COOKIE_AGE = 400 * 24 * 3600


@bp.get("/j/<slug>")
def scan(slug):
    code = request.args.get("c")
    campaign, channel_id = find_live_code(slug, code)
    if campaign is None:
        abort(404)
    if code and channel_id is None:
        # Never a dead end: the member can still join without the channel being known.
        return render_template("join/unknown_channel.html", campaign=campaign), 404

    visitor, new_visitor = visitor_key(request.cookies.get(VISITOR_COOKIE))
    agent = classify_agent(request.user_agent.string)
    ip_hash = keyed_hash(current_app.config["HASH_KEY"], request.remote_addr or "")
    result = record_scan(
        campaign.id,
        channel_id,
        visitor,
        agent,
        ip_hash,
        new_visitor=new_visitor,
        tz=current_app.config["TIMEZONE"],
    )
    member_code = request.args.get("r")
    member = None
    if campaign.referral_count_on:
        if member_code and result.outcome == "sent":
            fission.attribute_scan(campaign.id, member_code, visitor, agent, ip_hash)
        member = None if new_visitor else fission.member_for(campaign.id, visitor)
    template = "join/full.html" if result.group is None else "join/show.html"
    page = render_template(
        template, campaign=campaign, group=result.group, member=member, member_code=member_code
    )
    response = make_response(page)
    # Each scan must reach the server to be counted and to see the group open now.
    response.headers["Cache-Control"] = "no-store"
    if new_visitor:
        set_visitor_cookie(response, visitor)
    return response


def set_visitor_cookie(response, visitor: str) -> None:
    response.set_cookie(
        VISITOR_COOKIE,
        visitor,
        max_age=VISITOR_COOKIE_AGE,
        httponly=True,
        samesite="Lax",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )


@bp.get("/j/qr/<int:group_id>-<digest>.png")
def group_qr(group_id, digest):
    group = (
        Group.select(Group.qr_image)
        .where((Group.id == group_id) & (Group.qr_digest == digest))
        .first()
    )
    if group is None or group.qr_image is None:
        abort(404)
    # The digest is in the URL, so a replaced QR gets a new URL and this one never changes.
    return Response(
        bytes(group.qr_image),
        mimetype="image/png",
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )
