"""Channel posters: the campaign's live code printed with its channel, 1080×1920."""

import threading
from pathlib import Path

import click
from flask import Blueprint, Response, abort, current_app, request

from . import render
from .livecode import CHANNEL_CODE, SLUG, SetupError, find_campaign, join_url
from .markdown_text import plain_text
from .models import Campaign, Channel

bp = Blueprint("posters", __name__, cli_group=None)

FORMATS = {
    "png": ("png", "image/png"),
    "jpg": ("jpeg", "image/jpeg"),
    "jpeg": ("jpeg", "image/jpeg"),
}
LAYOUT = "campaign"
# FreeType faces are shared by the cached fonts and are not safe to draw with from two
# threads at once; a render is rare (results are cached), so one at a time costs nothing.
RENDER_LOCK = threading.Lock()


def poster_content(campaign: Campaign, channel: Channel | None, public_url: str) -> dict:
    return {
        "title": campaign.title,
        "subtitle": plain_text(campaign.promise),
        "qr_url": join_url(public_url, campaign.slug, channel.code if channel else None),
        "channel_label": channel.label if channel else "",
    }


def cached_poster(cache_dir: str, layout: dict, content: dict, fmt: str) -> bytes:
    """Render once per distinct layout + content; later requests read the file."""
    key = render.poster_key(layout, content, fmt)
    path = Path(cache_dir) / f"{key}.{fmt}"
    if path.is_file():
        return path.read_bytes()
    with RENDER_LOCK:
        data = render.render_poster(layout, content, fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{fmt}.tmp{id(data)}")
    tmp.write_bytes(data)
    tmp.replace(path)  # atomic, so a concurrent reader never sees half a file
    return data


@bp.get("/posters/<slug>.<fmt>")
def poster(slug, fmt):
    if fmt not in FORMATS or not SLUG.match(slug):
        abort(404)
    campaign = Campaign.get_or_none(Campaign.slug == slug)
    if campaign is None:
        abort(404)
    channel = None
    code = request.args.get("c")
    if code:
        if CHANNEL_CODE.match(code):
            channel = Channel.get_or_none((Channel.campaign == campaign) & (Channel.code == code))
        if channel is None:
            abort(404)
    fmt_name, mimetype = FORMATS[fmt]
    content = poster_content(campaign, channel, current_app.config["PUBLIC_URL"])
    data = cached_poster(
        current_app.config["POSTER_CACHE_DIR"], render.load_layout(LAYOUT), content, fmt_name
    )
    return Response(data, mimetype=mimetype, headers={"Cache-Control": "public, max-age=300"})


@bp.cli.command("render-posters")
@click.argument("campaign")
@click.option("--out", "out_dir", default="posters", show_default=True, help="Folder to write.")
@click.option(
    "--format",
    "formats",
    type=click.Choice(["png", "jpeg"]),
    multiple=True,
    help="Repeat for both; default: png and jpeg.",
)
def render_posters_command(campaign, out_dir, formats):
    """Write one poster per channel (and one without a channel) of CAMPAIGN."""
    try:
        found = find_campaign(campaign)
    except SetupError as error:
        raise click.ClickException(str(error)) from None
    formats = formats or ("png", "jpeg")
    layout = render.load_layout(LAYOUT)
    channels = [None, *found.channels.order_by(Channel.id)]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(channel, fmt) for channel in channels for fmt in formats]
    with click.progressbar(jobs, label="Rendering posters") as bar:
        for channel, fmt in bar:
            content = poster_content(found, channel, current_app.config["PUBLIC_URL"])
            data = cached_poster(current_app.config["POSTER_CACHE_DIR"], layout, content, fmt)
            suffix = "jpg" if fmt == "jpeg" else fmt
            name = f"{found.slug}-{channel.code if channel else 'all'}.{suffix}"
            (out / name).write_bytes(data)
    click.echo(f"Wrote {len(jobs)} posters to {out}/")
