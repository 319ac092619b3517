"""An archived campaign's public pages answer one friendly page, not the campaign.

Members keep posters, links and tickets long after a campaign ends; each of those URLs
(/j/, /posters/, /r/, /c/, /vip/, /t/) gets a page that says the campaign is over and whom to
ask, with 410 Gone so link checkers learn it too. Nothing is recorded or counted.
"""

from flask import make_response, render_template, request

from miniapp_api.models import Activity, Campaign, Group, Invitation, Ticket

# Blueprints that serve members and customers; the live code's scan checks in its own query.
PUBLIC = ("livecode", "posters", "referrals", "checkins", "invitations")


def closed_page(title: str, staff_contact: str):
    page = render_template("errors/closed.html", title=title, staff_contact=staff_contact)
    response = make_response(page, 410)
    response.headers["Cache-Control"] = "no-store"
    # A token in the path (/vip/, /t/) stays on this site.
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _archived_campaign(args: dict) -> Campaign | None:
    """The archived campaign a public URL belongs to; None when it runs (or is unknown: the
    view answers that as it always has)."""
    fields = (Campaign.title, Campaign.staff_contact)
    query = Campaign.select(*fields).where(Campaign.archived_at.is_null(False))
    if "slug" in args:
        return query.where(Campaign.slug == args["slug"]).first()
    if "group_id" in args:  # /j/qr/<group>-<digest>.png
        return query.join(Group).where(Group.id == args["group_id"]).first()
    if "token" in args and request.blueprint == "invitations":
        return query.join(Invitation).where(Invitation.token == args["token"]).first()
    if "token" in args:  # /t/<token>: an event ticket
        tickets = query.join(Activity).join(Ticket)
        return tickets.where(Ticket.token == args["token"]).first()
    return None


def register(app):
    @app.before_request
    def archived_campaigns_closed():
        if request.blueprint not in PUBLIC or request.endpoint == "livecode.scan":
            return None
        campaign = _archived_campaign(request.view_args or {})
        if campaign is None:
            return None
        return closed_page(campaign.title, campaign.staff_contact)
