"""One language per surface, through gettext.

Every string a person sees is written in Chinese, the kit's first language, and wrapped in
`_()` (or `lazy_gettext()` where it is built before anyone asks, such as a module's table of
messages); Babel extracts them (`make messages`) into the English catalogue,
miniapp_api/translations/en/LC_MESSAGES/messages.po, which a translator fills in.

Who speaks which language: a page follows the staff member's setting, else the browser's
Accept-Language (web/language.py, through Flask-Babel); the API always answers in English
beside its machine codes; the command line follows the locale (LANGUAGE, LC_ALL, LC_MESSAGES,
LANG, as gettext reads them). This module imports no web framework, so the rules use it too:
a rule's message is translated when it is made, in the language of whoever asked.

Placeholders are Python's named ones, `%(name)s`, in templates and code alike. The catalogue
is read from the .po file itself, so there is no compiled file to keep in step.
"""

from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

CATALOGUES = Path(__file__).parent / "translations"
SOURCE = "zh"  # the language the messages are written in
LOCALES = ("zh", "en")

_speaking: ContextVar[str | None] = ContextVar("qunbook_locale", default=None)

# The web app's choice for the request being served (None outside a request); set by
# web/language.py, so that this module needs no Flask.
request_locale = None


def current_locale() -> str:
    chosen = request_locale() if request_locale else None
    return chosen or _speaking.get() or SOURCE


def handbook_url(path: str = "", locale: str | None = None) -> str:
    """Where the handbook's page `path` (as "playbooks/fission/") is in the reader's language:
    the Chinese edition at /handbook/, the English one at /handbook/en/ (same pages, same
    anchors), so an English page of the kit never sends its reader to the Chinese edition."""
    edition = "/handbook/en/" if (locale or current_locale()) == "en" else "/handbook/"
    return edition + path.lstrip("/")


@contextmanager
def speaking(locale: str):
    """Messages made inside the block are in `locale` (the command line's, a test's)."""
    token = _speaking.set(locale if locale in LOCALES else SOURCE)
    try:
        yield
    finally:
        _speaking.reset(token)


def locale_from_environment(environ) -> str:
    """The command line's language: the first of gettext's variables that is set; Chinese
    for zh_*, English for anything else (C, POSIX and en_* included), since a server's
    terminal in the C locale may not even show Chinese."""
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name, "")
        if value:
            return "zh" if value.split(":")[0].lower().startswith("zh") else "en"
    return "en"


@cache
def translations(locale: str):
    """The catalogue for `locale`, compiled from its .po file in memory (imports Babel only
    when first needed: `qunbook --help` must answer at once)."""
    from io import BytesIO

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    from babel.support import NullTranslations, Translations

    path = CATALOGUES / locale / "LC_MESSAGES" / "messages.po"
    if locale == SOURCE or not path.exists():
        return NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=locale)
    compiled = BytesIO()
    write_mo(compiled, catalog)  # fuzzy entries are left out, as msgfmt does
    compiled.seek(0)
    return Translations(compiled)


def gettext(message: str, **values) -> str:
    """`message` in the current language, with `%(name)s` placeholders filled from values."""
    text = translations(current_locale()).gettext(message)
    return text % values if values else text


def ngettext(singular: str, plural: str, n: int, **values) -> str:
    """The form for n (`%(num)s` is n), with the other placeholders filled from values."""
    text = translations(current_locale()).ngettext(singular, plural, n)
    return text % {"num": n, **values}


def unformatted_ngettext(singular: str, plural: str, n: int) -> str:
    """For Jinja, which fills the placeholders itself (and escapes the values)."""
    return translations(current_locale()).ngettext(singular, plural, n)


def pgettext(context: str, message: str, **values) -> str:
    """`message` where the same Chinese needs different English by context (活动 is the
    console's Campaigns in the navigation, a challenge day or an event in a table of them)."""
    text = translations(current_locale()).pgettext(context, message)
    return text % values if values else text


_ = gettext


def lazy_gettext(message: str, **values):
    """A message translated each time it is shown, for tables built when a module loads."""
    from babel.support import LazyProxy

    return LazyProxy(gettext, message, enable_cache=False, **values)
