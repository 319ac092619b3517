"""Event tickets for members: sign up from the join page (/c/<campaign>/events/<id>/signup),
the ticket (/t/<token>: a QR of its own URL and a short code to read out), and the door
poster's page (/c/<campaign>/events/<id>/here), where a member checks in the ticket their
browser holds. Opening any of these changes nothing; signing up and checking in are POSTs.
"""

import base64
import io

import qrcode
from flask import (
    abort,
    current_app,
    get_flashed_messages,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)

from miniapp_api.accounts.access import can_edit, current_staff
from miniapp_api.checkins import events
from miniapp_api.checkins.blueprint import bp
from miniapp_api.i18n import _
from miniapp_api.livecode.rules import SLUG, group_of
from miniapp_api.models import Activity, Campaign
from miniapp_api.referrals import rules as referrals
from miniapp_api.visitors import phone_hash
from miniapp_api.web.memberform import member_form
from miniapp_api.web.visitor import current_visitor, member_entry, remember


def _event_or_404(slug: str, event_id: int) -> tuple[Campaign, Activity]:
    campaign = Campaign.get_or_none(Campaign.slug == slug) if SLUG.match(slug) else None
    event = campaign and events.event_of(campaign.id, event_id)
    if not event:
        abort(404)
    return campaign, event


def _private(response, referrer="no-referrer"):
    """A ticket is a key: never cached, never indexed, its URL never sent on as a referrer."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    response.headers["Referrer-Policy"] = referrer
    return response


# ---------------------------------------------------------------- sign up


@bp.get("/c/<slug>/events/<int:event_id>/signup")
@member_entry
def signup_form(slug, event_id):
    campaign, event = _event_or_404(slug, event_id)
    visitor = current_visitor()
    held = None if visitor.new else events.held_ticket(event, visitor.key)
    if held:
        return redirect(url_for("checkins.ticket", token=held.token))
    return _signup_page(campaign, event, None, None, 200)


def _signup_page(campaign, event, form, error, status):
    page = render_template(
        "checkins/signup.html",
        campaign=campaign,
        event=event,
        full=events.is_full(event),
        form=form,
        error=error,
    )
    return page, status


@bp.post("/c/<slug>/events/<int:event_id>/signup")
@member_form
def signup(slug, event_id):
    campaign, event = _event_or_404(slug, event_id)
    form = request.form
    try:
        nickname = events.clean_holder(form.get("nickname"))
        phone = referrals.clean_phone(form.get("phone"))
        if phone and form.get("consent") != "yes":
            raise events.EventError(_("填了手机号，就请勾选同意；不想留手机号，清空它即可。"))
    except (events.EventError, referrals.ReferralError) as error:
        return _signup_page(campaign, event, form, str(error), 400)

    visitor = current_visitor()
    try:
        ticket = events.sign_up(
            event,
            nickname=nickname,
            visitor=visitor.key,
            agent=visitor.agent,
            ip_hash=visitor.ip_hash,
            phone_hash=phone_hash(current_app.config["HASH_KEY"], phone) if phone else None,
            group_id=None if visitor.new else group_of(campaign.id, visitor.key),
        )
    except events.EventError as error:
        return _signup_page(campaign, event, form, str(error), 409)
    response = redirect(url_for("checkins.ticket", token=ticket.token), code=303)
    remember(response, visitor)
    return response


# ---------------------------------------------------------------- the ticket


def qr_data_uri(text: str) -> str:
    """A QR code as an inline PNG (the app's CSP allows data: images, nothing else outside)."""
    image = qrcode.make(text, box_size=8, border=4)
    out = io.BytesIO()
    image.save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def _unknown_ticket():
    """One page for every token that is not a ticket: the same bytes, nothing stored."""
    return _private(make_response(render_template("checkins/ticket_not_found.html"), 404))


@bp.get("/t/<token>")
def ticket(token):
    found = events.ticket_by_token(token)
    if found is None:
        return _unknown_ticket()
    event = Activity.get_by_id(found.activity_id)
    campaign = Campaign.get_by_id(event.campaign_id)
    staff = current_staff()  # no session cookie: no query
    page = render_template(
        "checkins/ticket.html",
        campaign=campaign,
        event=event,
        ticket=found,
        checked_in_at=events.checked_in_at(found),
        qr=qr_data_uri(events.ticket_url(current_app.config["PUBLIC_URL"], found.token)),
        staff=staff,
        editor=staff is not None and can_edit(),
        messages=get_flashed_messages(with_categories=True) if staff else [],
    )
    # Staff get the check-in button, whose POST needs the referrer for the CSRF check over
    # HTTPS: for them the URL goes no further than this site.
    return _private(make_response(page), "same-origin" if staff else "no-referrer")


# ---------------------------------------------------------------- the door poster


def _here_page(campaign, event, visitor, error=None, status=200):
    held = None if visitor.new else events.ticket_for_visitor(event, visitor.key)
    checked_in_at = held and events.checked_in_at(held)
    page = render_template(
        "checkins/here.html",
        campaign=campaign,
        event=event,
        ticket=held,
        checked_in_at=checked_in_at,
        error=error,
        message=_door_message(held, checked_in_at) if checked_in_at else None,
    )
    return _private(make_response(page, status))


def _door_message(ticket, checked_in_at) -> str | None:
    """What the check-in's redirect (?done=in or again) says, only while the ticket really is
    checked in: a message carried in the URL, not flashed, so a visitor has no session."""
    done = request.args.get("done")
    if done == "in":
        return _("签到成功：%(holder)s", holder=ticket.holder)
    if done == "again":
        return _("你已经签到过了。")
    return None


@bp.get("/c/<slug>/events/<int:event_id>/here")
def here(slug, event_id):
    campaign, event = _event_or_404(slug, event_id)
    return _here_page(campaign, event, current_visitor())


@bp.post("/c/<slug>/events/<int:event_id>/here")
@member_form
def here_check_in(slug, event_id):
    campaign, event = _event_or_404(slug, event_id)
    visitor = current_visitor()
    check = events.check_in_visitor(event, "" if visitor.new else visitor.key)
    if check.status == "refused":
        return _here_page(campaign, event, visitor, check.message, 409)
    done = "in" if check.status == "checked_in" else "again"
    return redirect(url_for("checkins.here", slug=slug, event_id=event_id, done=done), code=303)
