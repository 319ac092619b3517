"""The live code a poster points at: /j/<campaign>?c=<channel>."""

from flask import Blueprint, Response, abort, current_app, make_response, render_template, request

from miniapp_api.checkins import events
from miniapp_api.checkins import rules as checkins
from miniapp_api.console import alerts
from miniapp_api.livecode.rules import HELD_BACK, find_live_code, record_scan
from miniapp_api.models import Group, utcnow
from miniapp_api.referrals import rules as referrals
from miniapp_api.web.archived import closed_page
from miniapp_api.web.pagecache import render_shared
from miniapp_api.web.visitor import (
    current_visitor,
    device_hash,
    entry_url,
    member_entry,
    remember,
)

bp = Blueprint("livecode", __name__)

# What a shared join page is made of besides its campaign and group (pagecache's key).
SHARED_KEYS = ("member_code", "outcome", "invited_by", "retry_url", "staff_alerted")


def campaign_state(campaign) -> tuple:
    """Every field of the campaign the join page can show: find_live_code loads only these,
    so a page keyed by them changes the moment any of them does."""
    return (
        campaign.id,
        campaign.slug,
        campaign.title,
        campaign.description,
        campaign.rules,
        campaign.promise,
        campaign.staff_contact,
        campaign.referral_count_on,
        campaign.channel_archived,
    )


@bp.get("/j/<slug>")
@member_entry
def scan(slug):
    code = request.args.get("c")
    visitor = current_visitor()
    now = utcnow()
    tz = current_app.config["TIMEZONE"]
    # The visitor's count today comes with the campaign: one query for a repeat visitor.
    campaign, channel_id = find_live_code(slug, code, None if visitor.new else visitor.key, now, tz)
    if campaign is None:
        abort(404)
    if campaign.archived_at is not None:
        # Nothing recorded, nothing counted: the campaign is over.
        return closed_page(campaign.title, campaign.staff_contact)
    if code and channel_id is None and not campaign.channel_archived:
        # Never a dead end: the member can still join without the channel being known.
        return render_template("livecode/unknown_channel.html", campaign=campaign), 404

    # HEAD is what link checkers send: recorded like a bot's visit, it never takes a place.
    agent = "bot" if request.method == "HEAD" else visitor.agent
    result = record_scan(
        campaign.id,
        channel_id,
        visitor.key,
        agent,
        visitor.ip_hash,
        new_visitor=visitor.new,
        counted_today=campaign.counted_today,
        proven=visitor.proven,
        address_limit=current_app.config["PLACES_PER_ADDRESS"] or None,
        now=now,
        tz=tz,
    )
    member_code = request.args.get("r")
    member = invited_by = None
    if campaign.referral_count_on:
        if result.outcome == "sent":
            signals = referrals.Signals(visitor.ip_hash, device_hash())
            if member_code and campaign.referral_count_on == "sent":
                referrals.attribute_scan(
                    campaign.id, member_code, visitor.key, visitor.agent, signals
                )
            elif campaign.referral_count_on == "signup" and not visitor.new:
                # A friend who signed up before being sent to a group counts from now.
                referrals.settle_pending(campaign.id, visitor.key, visitor.agent, signals)
        member = None if visitor.new else referrals.member_on_join_page(campaign.id, visitor.key)
        # A friend's landing page says who invited them (not to the inviter herself).
        invited_by = (
            referrals.inviter(campaign.id, member_code)
            if member_code and (member is None or member.code != member_code)
            else None
        )
    event = events.next_event(campaign.id) if campaign.has_events else None
    # The campaign's daily challenge, when there is one to join: a card under the group QR.
    challenge_offer = (
        checkins.join_offer(campaign.id, None if visitor.new else visitor.key, now)
        if campaign.has_challenge
        else None
    )
    if result.outcome in HELD_BACK:
        template = "livecode/held.html"
    elif result.group is None:
        template = "livecode/full.html"
    else:
        template = "livecode/show.html"
    context = {
        "campaign": campaign,
        "group": result.group,
        "member": member,
        "member_code": member_code,
        "event": event,
        "challenge_offer": challenge_offer,
        "outcome": result.outcome,
        "invited_by": invited_by,
        "retry_url": entry_url(),
        "staff_alerted": result.group is None and alerts.all_full_notified(campaign.id),
    }
    if member is None and event is None and challenge_offer is None:
        # Everyone sent to this group of this campaign sees this page: render it once.
        group = result.group
        key = (
            campaign_state(campaign),
            group and (group.id, group.name, group.qr_digest),
            *(context[name] for name in SHARED_KEYS),
        )
        page = render_shared(key, template, **context)
    else:
        page = render_template(template, **context)
    response = make_response(page)
    # Each scan must reach the server to be counted and to see the group open now.
    response.headers["Cache-Control"] = "no-store"
    remember(response, visitor)
    return response


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
