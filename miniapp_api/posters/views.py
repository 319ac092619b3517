"""Channel posters: the campaign's live code printed with its channel, 1080×1920."""

from flask import Blueprint, abort, current_app, request

from miniapp_api.livecode.rules import CHANNEL_CODE, SLUG
from miniapp_api.models import Campaign, Channel
from miniapp_api.posters.rules import campaign_poster
from miniapp_api.web.posters import poster_response

bp = Blueprint("posters", __name__)

FORMATS = {
    "png": ("png", "image/png"),
    "jpg": ("jpeg", "image/jpeg"),
    "jpeg": ("jpeg", "image/jpeg"),
}


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
    config = current_app.config
    found = campaign_poster(
        config["POSTER_CACHE_DIR"], campaign, channel, config["PUBLIC_URL"], fmt_name
    )
    return poster_response(found, mimetype, "public, max-age=300")
