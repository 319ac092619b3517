"""Referral pages for members: sign up, see one's own poster and progress, the leaderboard.

A member is known by the visitor cookie the join page set, so there is no login: the page a
member saved to their home screen always brings them back to their own poster.
"""

import io
import os
import zipfile
from pathlib import Path

import click
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
from PIL import Image, ImageDraw

from . import fission, render
from .join import set_visitor_cookie
from .livecode import SLUG, SetupError, find_campaign, join_url
from .markdown_text import plain_text
from .models import Campaign, Member
from .posters import cached_poster
from .visitors import VISITOR_COOKIE, classify_agent, keyed_hash, phone_hash, visitor_key

bp = Blueprint("referrals", __name__, url_prefix="/r", cli_group=None)

LAYOUT = "member"


def _campaign_with_program(slug: str) -> tuple[Campaign, object]:
    campaign = Campaign.get_or_none(Campaign.slug == slug) if SLUG.match(slug) else None
    program = campaign and fission.program_of(campaign.id)
    if not program:
        abort(404)
    return campaign, program


def _member(campaign: Campaign) -> Member | None:
    visitor, new = visitor_key(request.cookies.get(VISITOR_COOKIE))
    return None if new else fission.member_for(campaign.id, visitor)


@bp.get("/<slug>/join")
def join_form(slug):
    campaign, _ = _campaign_with_program(slug)
    if _member(campaign):
        return redirect(url_for("referrals.me", slug=slug))
    return _form_page(campaign, request.args.get("r"), None, None, 200)


def _form_page(campaign, member_code, form, error, status):
    campaign.referral_count_on = True  # the form partial shows for a referral campaign
    page = render_template(
        "referrals/join.html",
        campaign=campaign,
        member_code=member_code if member_code and fission.MEMBER_CODE.match(member_code) else None,
        form=form,
        error=error,
    )
    return page, status


@bp.post("/<slug>/join")
def join(slug):
    campaign, _ = _campaign_with_program(slug)
    form = request.form
    member_code = form.get("r")
    try:
        nickname = fission.clean_nickname(form.get("nickname"))
        phone = fission.clean_phone(form.get("phone"))
        if phone and form.get("consent") != "yes":
            raise fission.ReferralError("填了手机号，就请勾选同意；不想留手机号，清空它即可。")
        upload = request.files.get("avatar")
        avatar = fission.clean_avatar(upload.read() if upload and upload.filename else None)
    except fission.ReferralError as error:
        return _form_page(campaign, member_code, form, str(error), 400)

    visitor, new_visitor = visitor_key(request.cookies.get(VISITOR_COOKIE))
    hash_key = current_app.config["HASH_KEY"]
    try:
        fission.sign_up(
            campaign.id,
            nickname=nickname,
            visitor=visitor,
            agent=classify_agent(request.user_agent.string),
            ip_hash=keyed_hash(hash_key, request.remote_addr or ""),
            phone_hash=phone_hash(hash_key, phone) if phone else None,
            avatar=avatar,
            referrer_code=member_code,
        )
    except fission.ReferralError as error:
        return _form_page(campaign, member_code, form, str(error), 409)
    response = redirect(url_for("referrals.me", slug=slug), code=303)
    if new_visitor:
        set_visitor_cookie(response, visitor)
    return response


@bp.get("/<slug>/me")
def me(slug):
    campaign, _ = _campaign_with_program(slug)
    member = _member(campaign)
    if member is None:
        return redirect(url_for("referrals.join_form", slug=slug))
    response = Response(
        render_template(
            "referrals/me.html",
            campaign=campaign,
            member=member,
            progress=fission.progress(member),
        )
    )
    response.headers["Cache-Control"] = "no-store"  # progress changes as friends join
    return response


@bp.get("/<slug>/me/poster.png")
def poster(slug):
    campaign, _ = _campaign_with_program(slug)
    member = _member(campaign)
    if member is None:
        abort(404)
    data = member_poster(campaign, member, current_app.config["PUBLIC_URL"])
    # Private to this browser's cookie; ?v= (the member code) keys the browser's copy.
    return Response(data, mimetype="image/png", headers={"Cache-Control": "private, max-age=300"})


def member_poster(campaign: Campaign, member: Member, public_url: str, fmt: str = "png"):
    return cached_poster(
        current_app.config["POSTER_CACHE_DIR"],
        render.load_layout(LAYOUT),
        poster_content(campaign, member, public_url),
        fmt,
    )


def poster_content(campaign: Campaign, member: Member, public_url: str) -> dict:
    return {
        "avatar": bytes(member.avatar) if member.avatar else initial_avatar(member.nickname),
        "nickname": member.nickname,
        "title": campaign.title,
        "subtitle": plain_text(campaign.promise),
        "qr_url": join_url(public_url, campaign.slug, member_code=member.code),
    }


def initial_avatar(nickname: str) -> bytes:
    """A member without a photo gets the first character of their nickname on a disc."""
    side = 256
    image = Image.new("RGB", (side, side), "#F3B33D")
    char = next((c for c in nickname if not render.missing_glyphs(c, "bold")), "")
    if char:
        draw = ImageDraw.Draw(image)
        font = render.load_font("bold", 140)
        draw.text((side / 2, side / 2), char, font=font, fill="#FFFFFF", anchor="mm")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@bp.get("/<slug>/top")
def leaderboard(slug):
    campaign, program = _campaign_with_program(slug)
    rows = fission.leaderboard(campaign.id, program.leaderboard_size)
    return render_template(
        "referrals/leaderboard.html",
        campaign=campaign,
        rows=rows,
        hidden=program.leaderboard_size == 0,
    )


@bp.cli.command("member-posters")
@click.argument("campaign")
@click.option("--out", "out_path", help="Zip file to write (default: <campaign>-posters.zip).")
@click.option(
    "--format", "fmt", type=click.Choice(["jpeg", "png"]), default="jpeg", show_default=True
)
def member_posters_command(campaign, out_path, fmt):
    """Render every member's personal poster of CAMPAIGN into one zip file."""
    try:
        found = find_campaign(campaign)
    except SetupError as error:
        raise click.ClickException(str(error)) from None
    if fission.program_of(found.id) is None:
        raise click.ClickException(
            f"{found.slug} has no referral programme: set one up in the console (推荐) first."
        )
    members = list(Member.select().where(Member.campaign == found).order_by(Member.id))
    if not members:
        raise click.ClickException(f"{found.slug} has no members yet: nothing to render.")
    out = Path(out_path or f"{found.slug}-posters.zip")
    count = write_poster_zip(found, members, out, fmt, current_app.config["PUBLIC_URL"])
    click.echo(f"Wrote {count} posters to {out}")


def write_poster_zip(campaign, members, out: Path, fmt: str, public_url: str) -> int:
    """One poster per member, named by position and member code (never the nickname, which
    can hold anything); written to a temporary file first, so a failed run leaves no half zip."""
    layout = render.load_layout(LAYOUT)
    suffix = "jpg" if fmt == "jpeg" else fmt
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    try:
        # Stored, not deflated: JPEG and PNG are compressed already.
        with (
            zipfile.ZipFile(partial, "w", zipfile.ZIP_STORED) as archive,
            click.progressbar(members, label="Rendering member posters") as bar,
        ):
            for number, member in enumerate(bar, start=1):
                content = poster_content(campaign, member, public_url)
                data = render.render_poster(layout, content, fmt)
                archive.writestr(f"{number:04d}-{member.code}.{suffix}", data)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return len(members)
