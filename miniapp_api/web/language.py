"""Which language a page speaks: the staff member's own setting, else what the browser asks
for (Accept-Language), else Chinese. The API answers in English whatever it is sent: its
messages sit beside stable machine codes that programs read.

choose_locale picks the locale (Flask-Babel is given the same selector); templates and code
translate through miniapp_api.i18n, whose catalogue is compiled from the .po file when first
used."""

import functools

from flask import g, has_request_context, request
from flask_babel import Babel, refresh
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from miniapp_api import i18n
from miniapp_api.accounts.access import current_staff

API_PREFIX = "/api/"


def choose_locale() -> str:
    if request.path.startswith(API_PREFIX):
        return "en"
    staff = current_staff() if request.path.startswith("/console") else None
    if staff is not None and staff.language in i18n.LOCALES:
        return staff.language
    return browser_locale(request.headers.get("Accept-Language"))


# Browsers send a handful of distinct headers: each is parsed once per process (bounded).
@functools.lru_cache(maxsize=256)
def browser_locale(accept_language: str | None) -> str:
    """The language a browser asks for: request.accept_languages' best match, by header."""
    accepted = parse_accept_header(accept_language, LanguageAccept)
    return accepted.best_match(i18n.LOCALES, default=i18n.SOURCE)


def _request_locale() -> str | None:
    # Asked for by every message: chosen once per request, without a babel.Locale round trip.
    if not has_request_context():
        return None
    store = g._get_current_object()
    locale = getattr(store, "qunbook_locale", None)
    if locale is None:
        locale = store.qunbook_locale = choose_locale()
    return locale


def refresh_locale() -> None:
    """Choose again, after the staff member changed their language in this request."""
    refresh()
    g.pop("qunbook_locale", None)


def register(app):
    Babel(app, locale_selector=choose_locale, default_locale=i18n.SOURCE, configure_jinja=False)
    i18n.request_locale = _request_locale
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.install_gettext_callables(
        i18n.gettext, i18n.unformatted_ngettext, newstyle=True, pgettext=i18n.pgettext
    )
    app.add_template_global(lambda: "zh-CN" if _request_locale() == "zh" else "en", "html_lang")
    app.add_template_global(i18n.handbook_url, "handbook_url")
