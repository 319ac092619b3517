"""Who is scanning (a person on a phone, or a bot or link-preview fetcher), and the keyed
hashes that are all we keep of an IP address, a phone number or a WeChat openid."""

import base64
import functools
import hashlib
import hmac
import re
import secrets
import unicodedata

# Link previews fetch a page when a link is pasted into a chat; they are not people. Office
# and Outlook fetch a link before opening it in the browser (ms-office, "Microsoft Office
# Existence Discovery", MicrosoftPreview); Mastodon and its fediverse peers fetch a card for
# every server that sees a post.
PREVIEW = re.compile(
    r"ms-office|msoffice|microsoft office|microsoft outlook|microsoftpreview|"
    r"mastodon/|pleroma|misskey|akkoma|bluesky cardyb|"
    r"facebookexternalhit|facebookcatalog|twitterbot|slackbot|slack-imgproxy|discordbot|"
    r"telegrambot|whatsapp|linkedinbot|skypeuripreview|iframely|embedly|pinterest|"
    r"redditbot|applebot|bingpreview|vkshare|w3c_validator|google-pagerenderer|"
    r"snapchat|viber|line-poker|kakaotalk-scrap|mattermost|zoom|qq-url-manager|"
    r"wechat-spider|weixin-spider|feishu|lark|dingtalkbot",
    re.IGNORECASE,
)
BOT = re.compile(
    r"bot\b|bot/|spider|crawl|slurp|scrapy|curl/|wget/|python-requests|python-urllib|"
    r"aiohttp|httpx|go-http-client|java/|okhttp|libwww|headlesschrome|phantomjs|"
    r"monitor|uptime|pingdom|lighthouse|bytespider|yisouspider|baiduspider|sogou|"
    r"google-apps-script|http\.rb/",
    re.IGNORECASE,
)
MOBILE = re.compile(r"mobile|android|iphone|ipad|harmonyos", re.IGNORECASE)

HUMAN_AGENTS = ("wechat", "mobile", "desktop")
COUNTED_NEVER = ("preview", "bot")

MOBILE_NUMBER = re.compile(r"1[3-9][0-9]{9}")  # mainland China
VISITOR_COOKIE = "qb_v"
VISITOR_TOKEN = re.compile(r"^[A-Za-z0-9_-]{22,43}$")


# Phones send a handful of distinct user agents, and the regexes above cost more than the rest
# of reading a request: each distinct one is classified once per process (bounded).
@functools.lru_cache(maxsize=512)
@functools.lru_cache(maxsize=1024)
def classify_agent(user_agent: str | None) -> str:
    """One of: wechat, mobile, desktop (people); preview, bot (never counted).

    Remembered for the agents seen last: a crowd scanning one poster comes with a few
    WeChat builds, and three patterns a scan add up."""
    ua = (user_agent or "").strip()
    if not ua:
        return "bot"
    if PREVIEW.search(ua):
        return "preview"
    if BOT.search(ua):
        return "bot"
    if "MicroMessenger" in ua:
        return "wechat"
    return "mobile" if MOBILE.search(ua) else "desktop"


def visitor_key(cookie_value: str | None) -> tuple[str, bool]:
    """The visitor's key from the first-party cookie, or a new one; (key, is_new)."""
    if cookie_value and VISITOR_TOKEN.match(cookie_value):
        return cookie_value, False
    return secrets.token_urlsafe(16), True


def wechat_visitor_key(key: str | bytes, appid: str, openid: str) -> str:
    """The visitor key of a WeChat user of the operator's official account: the same openid
    always gives the same key, so a cleared cookie does not make a new person; the openid
    cannot be read back from it. 43 URL-safe characters, a valid VISITOR_TOKEN."""
    if isinstance(key, str):
        key = key.encode()
    digest = hmac.new(key, f"wechat:{appid}:{openid}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def keyed_hash(key: str | bytes, value: str) -> str:
    """HMAC-SHA256, so a stored hash cannot be reversed by hashing every IPv4 address."""
    if isinstance(key, str):
        key = key.encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


@functools.lru_cache(maxsize=4096)
def address_hash(key: str | bytes, address: str) -> str:
    """The keyed hash of a network address, remembered for the addresses seen last: a live
    stream's viewers come through a few carrier gateways. Only addresses, never phone
    numbers, are kept in this cache (a request holds its address anyway)."""
    return keyed_hash(key, address)


def phone_hash(key: str | bytes, phone: str) -> str:
    """The only form a phone number is stored in: the same number gives the same hash in
    every table (members, customers), and without the key it cannot be reversed."""
    return keyed_hash(key, f"phone:{phone}")


def normalise_phone(text: str | None) -> str | None:
    """A mainland mobile number as its 11 ASCII digits; None when empty.

    Takes what people type and spreadsheets hold: spaces, dashes and brackets, full-width
    digits from a Chinese keyboard, and a +86, 0086 or 86 prefix. The sign-up form and the
    customer import both use it, so the same number gives the same hash in every table.
    Raises ValueError for anything else; the caller says what to type, in its own words.
    """
    compact = re.sub(r"[\s\-()]", "", unicodedata.normalize("NFKC", text or ""))
    if not compact:
        return None
    number = re.sub(r"^(?:\+|00)?86(?=[0-9]{11}$)", "", compact)
    if not MOBILE_NUMBER.fullmatch(number):
        raise ValueError(f"not a mainland mobile number: {text!r}")
    return number


# Secrets that travel in URLs, hidden before a URL is written to a log: the VIP invitation's
# and the ticket's token (/vip/<token>, /t/<token>, also URL-encoded inside ?next=), API tokens
# wherever they appear, and the value of any query parameter whose name says it is a key
# (?token=, WeChat's ?code= and ?state=, ...).
SECRET_PATH = re.compile(r"(/(?:vip|t)/|%2F(?:vip|t)%2F)[^/?#&%\s\"]+", re.IGNORECASE)
API_TOKEN_TEXT = re.compile(r"qbk_[A-Za-z0-9_-]+")
SECRET_PARAMETER = re.compile(
    r"((?:^|[?&;])[^=&;\s\"]*(?:token|code|state|key|secret|password|ticket|sig)[^=&;\s\"]*=)"
    r"[^&;#\s\"]*",
    re.IGNORECASE,
)
HIDDEN = "***"
# Every secret above contains one of these (lower-cased): a text holding none of them, as
# nearly every logged URL is, has nothing to hide and skips the three patterns.
SECRET_SIGNS = (
    *("/vip/", "/t/", "%2f", "qbk_"),
    *("token", "code", "state", "key", "secret", "password", "ticket", "sig"),
)


def without_secrets(text: str) -> str:
    """A request line, path, query or URL with its secrets replaced by ***."""
    lowered = text.lower()
    if not any(sign in lowered for sign in SECRET_SIGNS):
        return text
    text = SECRET_PATH.sub(rf"\1{HIDDEN}", text)
    text = API_TOKEN_TEXT.sub(f"qbk_{HIDDEN}", text)
    return SECRET_PARAMETER.sub(rf"\1{HIDDEN}", text)
