"""WeChat web authorisation (网页授权) with scope snsapi_base: the silent redirect that tells
the operator's official account which WeChat user opened a page, as an openid.

1. Send the visitor to authorize_url(); WeChat sends them back to redirect_uri with
   ?code=CODE&state=STATE (only ?state=STATE when there is no code).
2. fetch_openid() exchanges the code (single use, valid 5 minutes) for the openid.

Plain functions over the standard library, so the tests point them at a local server.
"""

import json
import urllib.error
import urllib.parse
import urllib.request

AUTHORIZE_URL = "https://open.weixin.qq.com/connect/oauth2/authorize"
EXCHANGE_URL = "https://api.weixin.qq.com/sns/oauth2/access_token"


class WeChatError(Exception):
    """The code could not be exchanged for an openid; the message says why (for the log)."""


def authorize_url(base: str, appid: str, redirect_uri: str, state: str) -> str:
    # WeChat reads the parameters in this order and needs the #wechat_redirect fragment.
    query = urllib.parse.urlencode(
        {
            "appid": appid,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": "snsapi_base",
            "state": state,
        }
    )
    return f"{base}?{query}#wechat_redirect"


def fetch_openid(base: str, appid: str, secret: str, code: str, timeout: float) -> str:
    """The openid the code stands for. Raises WeChatError for an errcode, a timeout, an
    unreachable server or an answer that is not the documented JSON."""
    query = urllib.parse.urlencode(
        {"appid": appid, "secret": secret, "code": code, "grant_type": "authorization_code"}
    )
    try:
        with urllib.request.urlopen(f"{base}?{query}", timeout=timeout) as answer:  # noqa: S310
            data = json.loads(answer.read(64 * 1024))
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        raise WeChatError(f"token endpoint not reached: {error}") from None
    except ValueError:
        raise WeChatError("token endpoint answered something that is not JSON") from None
    if not isinstance(data, dict):
        raise WeChatError("token endpoint answered JSON that is not an object")
    if data.get("errcode"):
        raise WeChatError(f"errcode {data.get('errcode')}: {data.get('errmsg')}")
    openid = data.get("openid")
    if not isinstance(openid, str) or not openid:
        raise WeChatError("token endpoint answered without an openid")
    return openid
