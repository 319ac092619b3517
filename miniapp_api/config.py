"""Settings: defaults, then QUNBOOK_* environment variables, then a test mapping.

The embedded kit keeps its SQLite file, generated secrets and poster cache in an instance
folder: QUNBOOK_INSTANCE_DIR, or instance/ in the current directory (never inside a venv).
There `qunbook serve` also records the public URL it serves at, for the commands run later.
"""

import ipaddress
import json
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from werkzeug.middleware.proxy_fix import ProxyFix

from miniapp_api import kit, retention, wechat
from miniapp_api.db import ImproperlyConfigured


def instance_dir() -> str:
    return os.path.abspath(os.environ.get("QUNBOOK_INSTANCE_DIR") or "instance")


def configure(app, test_config):
    port = int(os.environ.get("QUNBOOK_PORT", "8000"))
    app.config.from_mapping(
        PORT=port,
        # Printed into every QR: change it (and re-render posters) if WeChat blocks a domain.
        # Unset: the URL this instance was last served at, else this computer at PORT.
        PUBLIC_URL=None,
        DATABASE_URL=os.environ.get("DATABASE_URL"),
        TIMEZONE="Asia/Shanghai",
        HANDBOOK_DIR=str(kit.built_handbook()),
        POSTER_CACHE_DIR=str(Path(app.instance_path) / "poster-cache"),
        # New places one network address may take in one campaign per hour (0: no limit).
        # Generous for a store's Wi-Fi full of real people; past it a scan is recorded and
        # flagged, and the page asks the person to switch to mobile data or ask staff.
        PLACES_PER_ADDRESS=100,
        # The class's read-only login (`qunbook demo --trainer`) from any address, not only
        # from the machine serving the kit: set it when students log in on their own phones.
        DEMO_TRAINER_ANYWHERE=False,
        # How many proxies in front of the app set X-Forwarded-For (0: none).
        TRUSTED_PROXIES=0,
        SESSION_COOKIE_SAMESITE="Lax",
        # A phone photo (avatars and check-in photos take up to 12 MB) with the form around it.
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,
        # Tokens last as long as the login session; the referrer check is on over HTTPS.
        WTF_CSRF_TIME_LIMIT=None,
        # An official account's AppID and secret turn on WeChat web authorisation (snsapi_base):
        # in WeChat a member is their openid, not a cookie. Without them, cookies identify.
        WECHAT_APPID=None,
        WECHAT_SECRET=None,
        WECHAT_AUTHORIZE_URL=wechat.AUTHORIZE_URL,
        WECHAT_EXCHANGE_URL=wechat.EXCHANGE_URL,
        WECHAT_TIMEOUT=5,
        # Where `qunbook send-alerts` sends alerts for campaigns without a webhook of their own
        # (a WeCom group robot's webhook URL, or any URL taking a JSON POST); "" sends none.
        ALERT_WEBHOOK="",
        # How many days `qunbook purge` keeps each kind of personal data: RETAIN_VISITS_DAYS
        # and the others of retention.PERIODS, where each default is justified.
        **{kind.setting: kind.days for kind in retention.PERIODS},
    )
    app.config.from_prefixed_env("QUNBOOK")
    if test_config:
        app.config.from_mapping(test_config)

    embedded = not app.config["DATABASE_URL"]
    if embedded:
        path = Path(app.instance_path) / "qunbook.sqlite3"
        app.config["DATABASE_URL"] = f"sqlite:///{path}"
    decide_public_url(app)
    load_secrets(app, embedded)
    check_wechat(app)
    check_retention(app)


def trust_proxies(app):
    """Behind QUNBOOK_TRUSTED_PROXIES proxies, the client's address, scheme and host are the
    forwarded ones. The outermost layer of the WSGI app, so every layer inside sees them."""
    if app.config["TRUSTED_PROXIES"]:
        n = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)


PUBLIC_URL_FILE = "public-url.txt"


def decide_public_url(app):
    """The one address printed into every QR and link, the same for the server, every command
    and the API: the setting (QUNBOOK_PUBLIC_URL), else the one this instance was last served
    at (recorded by `qunbook serve`), else this computer at PORT. PUBLIC_URL_FROM says which:
    `qunbook serve` keeps a setting and replaces the others with where it listens."""
    stored = Path(app.instance_path) / PUBLIC_URL_FILE
    if app.config["PUBLIC_URL"]:
        url, source = app.config["PUBLIC_URL"], "QUNBOOK_PUBLIC_URL"
    elif stored.is_file() and stored.read_text().strip():
        url, source = stored.read_text().strip(), str(stored)
    else:
        url, source = served_at("127.0.0.1", app.config["PORT"]), "QUNBOOK_PORT"
    use_public_url(app, url, source)


def use_public_url(app, url: str, source: str):
    app.config["PUBLIC_URL"] = str(url).rstrip("/")
    app.config["PUBLIC_URL_FROM"] = source
    app.config["SESSION_COOKIE_SECURE"] = app.config["PUBLIC_URL"].startswith("https://")


def record_public_url(app):
    """Called by `qunbook serve`: the commands run later from this folder print this URL."""
    path = Path(app.instance_path) / PUBLIC_URL_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(app.config["PUBLIC_URL"] + "\n")


def served_at(host: str, port: int) -> str:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return f"http://{host or '127.0.0.1'}:{port}"  # a name, e.g. localhost
    if address.is_unspecified:  # every address: this computer reaches it at 127.0.0.1
        return f"http://127.0.0.1:{port}"
    return f"http://[{address}]:{port}" if address.version == 6 else f"http://{address}:{port}"


def only_this_computer(url: str) -> bool:
    """A loopback address: a phone that scans a QR pointing there opens nothing."""
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_wechat(app):
    """Both of the official account's AppID and secret, or neither."""
    names = ("WECHAT_APPID", "WECHAT_SECRET")
    for name in names:
        # The environment is read as JSON: a secret of digits only must stay a string.
        if app.config[name] not in (None, ""):
            app.config[name] = str(app.config[name])
    given = [name for name in names if app.config[name]]
    if len(given) == 1:
        missing = next(f"QUNBOOK_{name}" for name in names if name not in given)
        # A start-up error for whoever deploys, in English as the server's log is; the menu
        # path names WeChat's own admin pages, which are in Chinese only.
        menu = "公众号 → 设置与开发 → 基本配置"  # i18n: content
        raise ImproperlyConfigured(
            f"QUNBOOK_{given[0]} is set but {missing} is not: set both ({menu}) "
            "to identify members by WeChat, or neither to identify them by cookie."
        )


def check_retention(app):
    """Each QUNBOOK_RETAIN_*_DAYS a whole number of days in its range, else a start-up error
    naming it: a purge must never run with a period nobody meant."""
    for kind in retention.PERIODS:
        try:
            app.config[kind.setting] = retention.period_days(kind, app.config[kind.setting])
        except retention.RetentionError as error:
            raise ImproperlyConfigured(str(error)) from None


def retention_periods(config) -> dict[str, int]:
    """The periods `qunbook purge` uses, by kind (checked at start-up)."""
    return {kind.key: config[kind.setting] for kind in retention.PERIODS}


def load_secrets(app, embedded):
    """SECRET_KEY signs cookies; HASH_KEY keys the hashes of IPs and phone numbers.

    A deployment sets both in the environment. The embedded kit (SQLite in the instance
    folder) keeps generated ones in instance/secrets.json, so `make run` works on a laptop.
    """
    names = ("SECRET_KEY", "HASH_KEY")
    if all(app.config.get(name) for name in names):
        return
    if not embedded:
        missing = [f"QUNBOOK_{name}" for name in names if not app.config.get(name)]
        raise ImproperlyConfigured(
            f"{' and '.join(missing)} must be set when QUNBOOK_DATABASE_URL is: every app "
            "process must share them. Generate each with: "
            'python -c "import secrets; print(secrets.token_hex(32))"'
        )
    path = Path(app.instance_path) / "secrets.json"
    stored = json.loads(path.read_text()) if path.exists() else {}
    if not all(stored.get(name) for name in names):
        stored = {name: stored.get(name) or secrets.token_hex(32) for name in names}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(json.dumps(stored))
    for name in names:
        app.config[name] = app.config.get(name) or stored[name]
