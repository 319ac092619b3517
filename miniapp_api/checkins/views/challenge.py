"""A challenge's pages for members: /c/<campaign>.

The member is the campaign's member the visitor cookie names (the same identity as the
referral pages), so there is no login. Opening a page never changes anything; 打卡, 补卡 and
joining are POSTs that redirect back to the challenge page, whose ?done=<day> shows the
success message only while that day really is checked in.
"""

from flask import abort, current_app, make_response, redirect, render_template, request, url_for

from miniapp_api.checkins import rules
from miniapp_api.checkins.blueprint import bp
from miniapp_api.i18n import _
from miniapp_api.livecode.rules import SLUG, group_of
from miniapp_api.localtime import to_local
from miniapp_api.models import MAX_INT, Campaign, Challenge, utcnow
from miniapp_api.posters.rules import checkin_headline, checkin_poster
from miniapp_api.referrals import rules as referrals
from miniapp_api.visitors import HUMAN_AGENTS, phone_hash
from miniapp_api.web.memberform import member_form
from miniapp_api.web.params import form_number, query_number
from miniapp_api.web.visitor import current_visitor, member_entry, remember

CARD_FORMATS = {"png": ("png", "image/png"), "jpg": ("jpeg", "image/jpeg")}


# ---------------------------------------------------------------- lookups


def _challenge(slug: str) -> Challenge:
    """The campaign's challenge with its campaign, in one query; a 404 page when there is
    none, or staff hid it."""
    challenge = None
    if SLUG.match(slug):
        challenge = (
            Challenge.select(Challenge, Campaign)
            .join(Campaign)
            .where(Campaign.slug == slug)
            .first()
        )
    if challenge is None or challenge.hidden:
        abort(
            make_response(
                render_template(
                    "errors/error.html",
                    title=_("没有找到这个打卡挑战"),
                    hint=_(
                        "挑战不存在或已经关闭：回到活动群里问问群主，或重新扫描海报上的二维码。"
                    ),
                ),
                404,
            )
        )
    return challenge


def _member(challenge: Challenge, visitor=None):
    visitor = visitor or current_visitor()
    return None if visitor.new else referrals.member_for(challenge.campaign_id, visitor.key)


def _person(visitor) -> None:
    """A link preview or a bot that POSTs (some follow forms) never joins or checks in."""
    if visitor.agent not in HUMAN_AGENTS:
        abort(
            make_response(
                render_template(
                    "errors/error.html",
                    title=_("这里只能本人打卡"),
                    hint=_(
                        "链接预览和自动程序不能报名或打卡：请在微信或手机浏览器里打开这个页面，自己点按钮。"
                    ),
                ),
                403,
            )
        )


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"  # the streak and the calendar change daily
    return response


# ---------------------------------------------------------------- joining


@bp.get("/c/<slug>/join")
@member_entry
def join_form(slug):
    challenge = _challenge(slug)
    member = _member(challenge)
    if member and rules.participant_of(member):
        return redirect(url_for("checkins.challenge", slug=slug))
    return _join_page(challenge, member, None, None, 200)


def _join_page(challenge, member, form, error, status):
    code = (form or request.args).get("r")
    page = render_template(
        "checkins/join.html",
        challenge=challenge,
        campaign=challenge.campaign,
        member=member,
        member_code=code if code and referrals.MEMBER_CODE.match(code) else None,
        ended=rules.ended(challenge, utcnow()),
        form=form,
        error=error,
    )
    return _no_store(make_response(page, status))


@bp.post("/c/<slug>/join")
@member_form
def join(slug):
    challenge = _challenge(slug)
    visitor = current_visitor()
    _person(visitor)
    now = utcnow()
    form = request.form
    member = _member(challenge, visitor)
    if rules.ended(challenge, now):  # refused before a membership is made for nothing
        return _join_page(
            challenge, member, form, _("这期挑战已经结束了：留在群里，等下一期开始。"), 409
        )
    if member is None:
        try:
            member = _sign_up(challenge, visitor, form, now)
        except referrals.ReferralError as error:
            return _join_page(challenge, None, form, str(error), 400)
    try:
        rules.join(
            challenge, member, group_id=group_of(challenge.campaign_id, visitor.key), now=now
        )
    except rules.CheckinError as error:
        return _join_page(challenge, member, form, str(error), 409)
    response = redirect(url_for("checkins.challenge", slug=slug), code=303)
    remember(response, visitor)
    return response


def _sign_up(challenge, visitor, form, now):
    """The visitor as a member of the campaign, from the join form: through the referral
    programme where the campaign has one (so the friend whose card brought them is credited),
    else as a plain member."""
    nickname = referrals.clean_nickname(form.get("nickname"))
    phone = referrals.clean_phone(form.get("phone"))
    if phone and form.get("consent") != "yes":
        raise referrals.ReferralError(_("填了手机号，就请勾选同意；不想留手机号，清空它即可。"))
    upload = request.files.get("avatar")
    avatar = referrals.clean_avatar(upload.read() if upload and upload.filename else None)
    hashed = phone_hash(current_app.config["HASH_KEY"], phone) if phone else None
    if referrals.program_of(challenge.campaign_id):
        return referrals.sign_up(
            challenge.campaign_id,
            nickname=nickname,
            visitor=visitor.key,
            agent=visitor.agent,
            ip_hash=visitor.ip_hash,
            phone_hash=hashed,
            avatar=avatar,
            referrer_code=form.get("r"),
            now=now,
        ).member
    return referrals.join_without_referrals(
        challenge.campaign_id,
        nickname=nickname,
        visitor=visitor.key,
        ip_hash=visitor.ip_hash,
        phone_hash=hashed,
        avatar=avatar,
        now=now,
    )


# ---------------------------------------------------------------- the challenge page


@bp.get("/c/<slug>")
def challenge(slug):
    challenge = _challenge(slug)
    done = query_number("done", None, 1, challenge.days, _("打卡成功的日子（第几天）"))
    return _page(challenge, _member(challenge), utcnow(), done=done)


def _page(challenge, member, now, *, done=None, error=None, note="", status=200):
    participant = member and rules.participant_of(member)
    today = rules.today_number(challenge, now)
    standing = rules.standing(challenge, member, now, participant) if participant else None
    message = _success(standing, done) if standing and done else None
    page = render_template(
        "checkins/challenge.html",
        challenge=challenge,
        campaign=challenge.campaign,
        member=member,
        participant=participant,
        standing=standing,
        today=today,
        phase="before" if today < 1 else "ended" if today > challenge.days else "running",
        task=rules.task_of(challenge, min(max(today, 1), challenge.days)),
        reward=rules.reward_of(member) if standing and standing["finished"] else None,
        makeup=[(n, rules.date_of(challenge, n)) for n in standing["makeup_days"]]
        if standing
        else [],
        message=message,
        error=error,
        note=note,
        # The share card's QR is the member's own (credited) link only with a programme.
        personal_card=bool(standing) and referrals.program_of(challenge.campaign_id) is not None,
    )
    return _no_store(make_response(page, status))


def _success(standing, number: int) -> str | None:
    """The message after a check-in or a make-up of day `number` (?done=), said only while
    that day is checked in: the link changes nothing, so reopening it can only tell the truth."""
    cells = {c["number"]: c["state"] for m in standing["calendar"] for w in m["weeks"] for c in w}
    state = cells.get(number)
    if state == "done":
        return _(
            "第 %(num)s 天打卡成功，已连续 %(streak)s 天", num=number, streak=standing["current"]
        )
    if state == "made_up":
        return _(
            "第 %(num)s 天补卡成功，已连续 %(streak)s 天", num=number, streak=standing["current"]
        )
    return None


@bp.post("/c/<slug>/checkin")
@member_form
def check_in(slug):
    challenge = _challenge(slug)
    visitor = current_visitor()
    _person(visitor)
    now = utcnow()
    member = _member(challenge, visitor)
    note = request.form.get("note", "")
    try:
        cleaned, photo = _note_and_photo(note)
    except rules.CheckinError as error:
        return _page(challenge, member, now, error=str(error), note=note, status=400)
    if member is None:
        return _page(
            challenge, None, now, error=_("你还没有报名这个挑战：先点「参加挑战」。"), status=409
        )
    try:
        done = rules.check_in(challenge, member, note=cleaned, photo=photo, now=now)
    except rules.CheckinError as error:
        # Every refusal of today's check-in is about the state: already done, not joined,
        # not started, ended.
        return _page(challenge, member, now, error=str(error), note=note, status=409)
    return redirect(url_for("checkins.challenge", slug=slug, done=done.number), code=303)


@bp.post("/c/<slug>/makeup")
@member_form
def make_up(slug):
    challenge = _challenge(slug)
    visitor = current_visitor()
    _person(visitor)
    now = utcnow()
    member = _member(challenge, visitor)
    day = form_number("day", None, 1, challenge.days, _("补卡的日子（第几天）"))
    note = request.form.get("note", "")
    try:
        cleaned, photo = _note_and_photo(note)
    except rules.CheckinError as error:
        return _page(challenge, member, now, error=str(error), status=400)
    if member is None:
        return _page(
            challenge, None, now, error=_("你还没有报名这个挑战：先点「参加挑战」。"), status=409
        )
    try:
        done = rules.make_up(challenge, member, day, note=cleaned, photo=photo, now=now)
    except rules.CheckinConflict as error:  # the day is done already, or no card is left
        return _page(challenge, member, now, error=str(error), status=409)
    except rules.CheckinError as error:  # a day a card cannot fill
        return _page(challenge, member, now, error=str(error), status=400)
    return redirect(url_for("checkins.challenge", slug=slug, done=done.number), code=303)


def _note_and_photo(note: str):
    upload = request.files.get("photo")
    photo = rules.clean_photo(upload.read() if upload and upload.filename else None)
    return rules.clean_note(note), photo


# ---------------------------------------------------------------- leaderboard and wall


@bp.get("/c/<slug>/top")
def leaderboard(slug):
    challenge = _challenge(slug)
    member = _member(challenge)
    participant = member and rules.participant_of(member)
    mine = None
    if participant:
        mine = {
            "rank": rules.rank(challenge, participant),
            "done": participant.done,
            "nickname": referrals.mask_nickname(member.nickname),
        }
    page = render_template(
        "checkins/leaderboard.html",
        challenge=challenge,
        campaign=challenge.campaign,
        rows=rules.leaderboard(challenge),
        mine=mine,
    )
    return _no_store(make_response(page))


@bp.get("/c/<slug>/wall")
def wall(slug):
    challenge = _challenge(slug)
    before = query_number("before", None, 1, MAX_INT, _("翻页位置"))
    posts = rules.wall(challenge.campaign_id, before=before)
    page = render_template(
        "checkins/wall.html",
        challenge=challenge,
        campaign=challenge.campaign,
        posts=posts,
        older=posts[-1]["id"] if len(posts) == rules.WALL_PAGE else None,
        at=lambda moment: to_local(moment, challenge.timezone).strftime("%m-%d %H:%M"),
    )
    return _no_store(make_response(page))


@bp.get("/c/<slug>/photos/<int:response_id>-<digest>.jpg")
def photo(slug, response_id, digest):
    challenge = _challenge(slug)
    data = rules.photo(challenge.campaign_id, response_id, digest)
    if data is None:
        abort(404)
    # The digest is in the URL, so the bytes never change; but staff may hide the photo, and
    # a long-lived shared copy would outlast that: browsers keep it an hour, proxies not at all.
    response = make_response(data)
    response.mimetype = "image/jpeg"
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


# ---------------------------------------------------------------- share card


@bp.get("/c/<slug>/card")
def card_page(slug):
    """The share card at phone width, where a long-press saves it. (Opened bare, a PNG shows
    in the browser's own image page, whose fit-to-screen styles the app's CSP blocks.)"""
    challenge = _challenge(slug)
    member = _member(challenge)
    if member is None or rules.participant_of(member) is None:
        return redirect(url_for("checkins.challenge", slug=slug))
    standing = rules.standing(challenge, member, utcnow())
    page = render_template(
        "checkins/card.html",
        challenge=challenge,
        campaign=challenge.campaign,
        member=member,
        standing=standing,
        headline=checkin_headline(standing["days_done"], standing["current"]),
        personal=referrals.program_of(challenge.campaign_id) is not None,
    )
    return _no_store(make_response(page))


@bp.get("/c/<slug>/card.<fmt>")
def card(slug, fmt):
    if fmt not in CARD_FORMATS:
        abort(404)
    challenge = _challenge(slug)
    member = _member(challenge)
    if member is None or rules.participant_of(member) is None:
        abort(404)
    standing = rules.standing(challenge, member, utcnow())
    config = current_app.config
    fmt_name, mimetype = CARD_FORMATS[fmt]
    data = checkin_poster(
        config["POSTER_CACHE_DIR"],
        challenge.campaign,
        member,
        standing["days_done"],
        standing["current"],
        config["PUBLIC_URL"],
        personal=referrals.program_of(challenge.campaign_id) is not None,
        fmt=fmt_name,
    )
    response = make_response(data)
    response.mimetype = mimetype
    # Private to this browser's cookie; the page's ?v= (days and streak) keys the browser's copy.
    response.headers["Cache-Control"] = "private, max-age=300"
    return response
