"""The end of WeChat web authorisation: /wx/back, where WeChat sends the visitor back with a
code. The code becomes the openid, the openid becomes the visitor key (a keyed hash: the
openid itself is never stored, logged or put in a cookie), and the visitor goes back to the
page they opened. Any failure leaves them a page that carries on with a cookie instead."""

import hmac

from flask import Blueprint, current_app, make_response, redirect, render_template, request

from miniapp_api import wechat
from miniapp_api.i18n import _
from miniapp_api.visitors import wechat_visitor_key
from miniapp_api.web.visitor import (
    LOCAL_PATH,
    WECHAT_NONCE_COOKIE,
    current_visitor,
    no_store,
    remember,
    set_visitor_cookie,
    wechat_configured,
    wechat_state,
    with_marker,
)

bp = Blueprint("wechat", __name__, url_prefix="/wx")


@bp.get("/back")
def back():
    next_path = request.args.get("next", "")
    nonce = request.cookies.get(WECHAT_NONCE_COOKIE, "")
    state = request.args.get("state", "")
    if not LOCAL_PATH.match(next_path):
        return _refused(None)
    if not (wechat_configured() and nonce) or not hmac.compare_digest(
        state.encode(), wechat_state(nonce, next_path).encode()
    ):
        return _refused(next_path)

    code = request.args.get("code")
    if not code:
        return _carry_on(next_path, _("微信没有给出你的身份"))
    config = current_app.config
    try:
        openid = wechat.fetch_openid(
            config["WECHAT_EXCHANGE_URL"],
            config["WECHAT_APPID"],
            config["WECHAT_SECRET"],
            code,
            timeout=float(config["WECHAT_TIMEOUT"]),
        )
    except wechat.WeChatError as error:
        # The operator's clue when every member lands here: a wrong secret, an unset
        # 网页授权域名, or WeChat's servers out of reach.
        current_app.logger.warning("WeChat web authorisation failed: %s", error)
        return _carry_on(next_path, _("微信暂时没能确认你的身份"))

    response = no_store(redirect(with_marker(next_path), code=302))
    set_visitor_cookie(
        response, wechat_visitor_key(config["HASH_KEY"], config["WECHAT_APPID"], openid)
    )
    response.delete_cookie(WECHAT_NONCE_COOKIE)
    return response


def _refused(next_path: str | None):
    """A state that is not this browser's (forged, or the link came from another phone) or a
    return path that is not on this site: nothing is set. The page still leads on, without
    WeChat, so a phone whose cookies do not reach this host is never stuck here."""
    page = render_template(
        "wechat/refused.html", next_url=with_marker(next_path) if next_path else None
    )
    return no_store(make_response(page, 400))


def _carry_on(next_path: str, what: str):
    """WeChat did not name the visitor: they carry on as a visitor known by a cookie."""
    page = render_template("wechat/carry_on.html", what=what, next_url=with_marker(next_path))
    response = no_store(make_response(page))
    remember(response, current_visitor())
    return response
