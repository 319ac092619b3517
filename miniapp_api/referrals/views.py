"""Referral pages for members: sign up, see one's own poster and progress, the leaderboard.

A member is known by the visitor cookie the join page set, so there is no login: the page a
member saved to their home screen always brings them back to their own poster.
"""

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)

from miniapp_api.i18n import _
from miniapp_api.livecode.rules import SLUG, todays_group
from miniapp_api.models import Campaign, Member, utcnow
from miniapp_api.posters.rules import member_poster
from miniapp_api.referrals import rules
from miniapp_api.visitors import phone_hash
from miniapp_api.web.memberform import member_form
from miniapp_api.web.posters import poster_response
from miniapp_api.web.visitor import current_visitor, device_hash, member_entry, remember

bp = Blueprint("referrals", __name__, url_prefix="/r")


def _campaign_with_program(slug: str) -> tuple[Campaign, object]:
    campaign = Campaign.get_or_none(Campaign.slug == slug) if SLUG.match(slug) else None
    program = campaign and rules.program_of(campaign.id)
    if not program:
        abort(404)
    return campaign, program


def _member(campaign: Campaign) -> Member | None:
    visitor = current_visitor()
    return None if visitor.new else rules.member_for(campaign.id, visitor.key)


@bp.get("/<slug>/join")
@member_entry
def join_form(slug):
    campaign = _campaign_with_program(slug)[0]
    if _member(campaign):
        return redirect(url_for("referrals.me", slug=slug))
    return _form_page(campaign, request.args.get("r"), None, None, 200)


def _form_page(campaign, member_code, form, error, status):
    campaign.referral_count_on = True  # the form partial shows for a referral campaign
    page = render_template(
        "referrals/join.html",
        campaign=campaign,
        member_code=member_code if member_code and rules.MEMBER_CODE.match(member_code) else None,
        form=form,
        error=error,
    )
    return page, status


@bp.post("/<slug>/join")
@member_form
def join(slug):
    campaign = _campaign_with_program(slug)[0]
    form = request.form
    member_code = form.get("r")
    try:
        nickname = rules.clean_nickname(form.get("nickname"))
        phone = rules.clean_phone(form.get("phone"))
        if phone and form.get("consent") != "yes":
            raise rules.ReferralError(_("填了手机号，就请勾选同意；不想留手机号，清空它即可。"))
        upload = request.files.get("avatar")
        avatar = rules.clean_avatar(upload.read() if upload and upload.filename else None)
    except rules.ReferralError as error:
        return _form_page(campaign, member_code, form, str(error), 400)

    visitor = current_visitor()
    try:
        rules.sign_up(
            campaign.id,
            nickname=nickname,
            visitor=visitor.key,
            agent=visitor.agent,
            ip_hash=visitor.ip_hash,
            device_hash=device_hash(),
            phone_hash=phone_hash(current_app.config["HASH_KEY"], phone) if phone else None,
            avatar=avatar,
            referrer_code=member_code,
        )
    except rules.ReferralError as error:
        return _form_page(campaign, member_code, form, str(error), 409)
    response = redirect(url_for("referrals.me", slug=slug), code=303)
    remember(response, visitor)
    return response


@bp.get("/<slug>/me")
def me(slug):
    campaign = _campaign_with_program(slug)[0]
    member = _member(campaign)
    if member is None:
        return redirect(url_for("referrals.join_form", slug=slug))
    config = current_app.config
    response = Response(
        render_template(
            "referrals/me.html",
            campaign=campaign,
            member=member,
            progress=rules.progress(member),
            # The group the live code sent her to today: signing up is not the end of joining.
            group=todays_group(campaign.id, member.visitor, utcnow(), config["TIMEZONE"]),
        )
    )
    response.headers["Cache-Control"] = "no-store"  # progress changes as friends join
    return response


@bp.get("/<slug>/me/poster.png")
def poster(slug):
    visitor = current_visitor()
    member = (
        None if visitor.new or not SLUG.match(slug) else rules.member_in_program(slug, visitor.key)
    )
    if member is None:
        abort(404)
    config = current_app.config
    found = member_poster(config["POSTER_CACHE_DIR"], member.campaign, member, config["PUBLIC_URL"])
    # Private to this browser's cookie; ?v= (the member code) keys the browser's copy.
    return poster_response(found, "image/png", "private, max-age=300")


@bp.get("/<slug>/top")
def leaderboard(slug):
    campaign, program = _campaign_with_program(slug)
    rows = rules.leaderboard(campaign.id, program.leaderboard_size)
    member = _member(campaign)
    return render_template(
        "referrals/leaderboard.html",
        campaign=campaign,
        rows=rows,
        hidden=program.leaderboard_size == 0,
        member=member,
        rank=rules.rank_of(member) if member else None,
    )
