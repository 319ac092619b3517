"""One language per surface: every message a person sees goes through gettext and has its
English translation, and no template or module says anything in a fixed language beside it.

The scans read the package's own source, so a new page or message is covered the day it is
written. Content that staff or the playbooks wrote (campaign titles, the demo's campaigns)
is not a message and stays as written."""

import ast
import importlib.util
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from miniapp_api import i18n

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "miniapp_api"
TEMPLATES = PACKAGE / "templates"

# Chinese characters and the full-width punctuation that goes with them.
CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\U00020000-\U0003ffff]")
WORD = re.compile(r"[A-Za-z]{2,}")
URL = re.compile(r"https?://\S+")  # an example address reads the same in both languages
# Names that read the same in both languages.
SAME_IN_BOTH = {"Qunbook", "CSV", "xlsx", "PNG", "JPG", "ZIP", "API", "URL", "QR", "ID", "UTC"}
GETTEXT = {"_", "gettext", "ngettext", "pgettext", "lazy_gettext"}

# Modules whose Chinese is content, not interface: what the demo's staff "wrote", and text
# the code recognises rather than shows. Each with the reason.
CONTENT_MODULES = {
    "demo.py": "the demo's campaigns, written as staff would",
    "demo_checkins.py": "the demo's challenge and events, written as staff would",
    "demo_plan.py": "the demo's members and visits",
}


def _messages_module():
    spec = importlib.util.spec_from_file_location("messages", ROOT / "scripts" / "messages.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _catalogue():
    with (PACKAGE / "translations" / "en" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale="en")


def test_catalogue_is_in_step_with_the_code():
    messages = _messages_module()
    assert messages.CATALOGUE.read_bytes() == messages.updated(messages.extract()), (
        "run make messages, then translate what it adds"
    )


def test_every_message_has_its_english():
    catalogue = _catalogue()
    untranslated = [
        m.id
        for m in catalogue
        if m.id and (m.fuzzy or not all(m.string if isinstance(m.string, tuple) else [m.string]))
    ]
    assert untranslated == []


PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def test_translations_keep_the_placeholders_and_leave_no_chinese():
    wrong = []
    for m in _catalogue():
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        wanted = set(PLACEHOLDER.findall(ids[0]))
        for string in strings:
            if set(PLACEHOLDER.findall(string)) != wanted or CJK.search(string):
                wrong.append((ids[0], string))
    assert wrong == []


JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.S)
JINJA = re.compile(r"\{#.*?#\}|\{\{.*?\}\}|\{%.*?%\}", re.S)
SHOWN_ATTRIBUTES = {"title", "placeholder", "alt", "aria-label", "label"}


class _Shown(HTMLParser):
    """The text a template shows outside Jinja expressions: text nodes, the attributes a
    person reads, button values and strings inside scripts."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found, self.tag, self.own_language = [], None, False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        # An element that declares its language (a language's own name in a language menu,
        # <option lang="zh-CN">中文</option>) says the same to every reader.
        self.tag, self.own_language = tag, "lang" in attrs and tag != "html"
        if tag == "meta" and attrs.get("name") == "description":
            self.found.append(("attr", attrs.get("content", "")))
        for name, value in attrs.items():
            # A button's value is sent, not shown; an input button shows its value.
            shown = name in SHOWN_ATTRIBUTES or (
                name == "value" and tag == "input" and attrs.get("type") in ("submit", "button")
            )
            if shown and value:
                self.found.append(("attr", value))

    def handle_data(self, data):
        if self.tag == "style" or self.own_language:
            return
        self.found.append(("script" if self.tag == "script" else "text", data))

    def handle_endtag(self, tag):
        self.tag, self.own_language = None, False


def _hard_coded(text: str, kind: str) -> bool:
    if CJK.search(text):
        return True
    if kind == "script":
        return False
    return any(word not in SAME_IN_BOTH for word in WORD.findall(URL.sub(" ", text)))


EXPRESSION = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)
LITERAL = re.compile(r"""(["'])((?:\\.|(?!\1).)*)\1""")
OPENS_GETTEXT = re.compile(r"(?:\b_|gettext)\($")
PGETTEXT_MESSAGE = re.compile(r"pgettext\(\s*([\"'])[^\"']*\1\s*,$")
NGETTEXT_PLURAL = re.compile(r"ngettext\(\s*([\"'])(?:(?!\1).)*\1\s*,$")


def _chinese_in_expressions(source: str) -> list[str]:
    """Chinese string literals inside {{ }} and {% %} that are not a gettext call's message
    (a date pattern, a dict of labels ...): the text scan cannot see them."""
    found = []
    for block in EXPRESSION.finditer(JINJA_COMMENT.sub(" ", source)):
        text = block.group()
        for literal in LITERAL.finditer(text):
            if not CJK.search(literal[2]):
                continue
            before = text[: literal.start()].rstrip()
            if not any(
                p.search(before) for p in (OPENS_GETTEXT, NGETTEXT_PLURAL, PGETTEXT_MESSAGE)
            ):
                found.append(literal[2])
    return found


@pytest.mark.parametrize(
    "template", sorted(p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*.html"))
)
def test_templates_say_nothing_outside_gettext(template):
    source = (TEMPLATES / template).read_text(encoding="utf-8")
    parser = _Shown()
    parser.feed(JINJA.sub(" ", source))
    hard_coded = [text.strip() for kind, text in parser.found if _hard_coded(text, kind)]
    hard_coded += _chinese_in_expressions(source)
    assert hard_coded == [], "wrap these in {{ _('…') }}"


CONTENT_MARK = "# i18n: content"  # at the end of a line whose Chinese is content, not interface


def _chinese_outside_gettext(path: Path) -> list[str]:
    source = path.read_text(encoding="utf-8")
    marked = {
        n for n, line in enumerate(source.splitlines(), 1) if line.rstrip().endswith(CONTENT_MARK)
    }
    tree = ast.parse(source)
    wrapped, docstrings = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name in GETTEXT:
                for arg in node.args[:2]:
                    wrapped.update(id(n) for n in ast.walk(arg))
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    return [
        f"{path.relative_to(PACKAGE)}:{node.lineno}: {node.value[:40]!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and CJK.search(node.value)
        and id(node) not in wrapped
        and id(node) not in docstrings
        and node.lineno not in marked
    ]


def test_modules_say_nothing_outside_gettext():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.relative_to(PACKAGE).as_posix() in CONTENT_MODULES:
            continue
        found += _chinese_outside_gettext(path)
    assert found == [], "wrap these in _() (or lazy_gettext for a module's tables)"


# ------------------------------------------------------------------ who speaks which language


@pytest.mark.parametrize(
    ("accept_language", "lang", "log_out"),
    [
        (None, "zh-CN", "退出"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN", "退出"),
        ("en-US,en;q=0.9", "en", "Log out"),
        ("en-GB,zh-CN;q=0.5", "en", "Log out"),
        ("fr-FR", "zh-CN", "退出"),  # neither language asked for: the kit's first one
    ],
)
def test_the_console_speaks_what_the_browser_asks_for(
    client, login_as, accept_language, lang, log_out
):
    if accept_language:
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = accept_language
    login_as("operator")
    page = client.get("/console/").get_data(as_text=True)
    assert f'<html lang="{lang}">' in page
    assert log_out in page


@pytest.mark.parametrize(
    ("accept_language", "edition"),
    [("zh-CN,zh;q=0.9", "/handbook/"), ("en-US,en;q=0.9", "/handbook/en/")],
)
def test_the_kit_links_the_handbook_edition_in_its_own_language(
    client, login_as, accept_language, edition
):
    """The handbook has an English edition at /handbook/en/ (same pages, same anchors): an
    English page of the kit links there, never to the Chinese edition."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = accept_language
    home = client.get("/").get_data(as_text=True)
    assert f'href="{edition}"' in home
    login_as("operator")
    console = client.get("/console/").get_data(as_text=True)
    assert f'href="{edition}"' in console and f'href="{edition}staffing/checklists/"' in console
    other = r'href="/handbook/(?!en/)' if edition.endswith("/en/") else 'href="/handbook/en/'
    assert not re.search(other, home + console)
    assert i18n.handbook_url("playbooks/fission/", "en") == "/handbook/en/playbooks/fission/"
    assert i18n.handbook_url("/metrics/#stickiness", "zh") == "/handbook/metrics/#stickiness"


def test_a_staff_members_own_setting_beats_the_browser(client, login_as):
    from miniapp_api.db import db
    from miniapp_api.models import Staff

    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    login_as("operator", username="amy")
    with db.connection_context():
        Staff.update(language="en").where(Staff.username == "amy").execute()
    page = client.get("/console/").get_data(as_text=True)
    assert "Log out" in page and "退出" not in page
    with db.connection_context():
        Staff.update(language="").where(Staff.username == "amy").execute()
    assert "退出" in client.get("/console/").get_data(as_text=True)


# Headers a browser may send, and the language each one asks for.
ACCEPT_LANGUAGE = [
    (None, "zh"),
    ("", "zh"),
    ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
    ("en-US,en;q=0.9", "en"),
    ("en-GB,zh-CN;q=0.5", "en"),
    ("zh;q=0.5,en;q=0.9", "en"),
    ("en;q=0", "zh"),  # refused outright: the kit's first language
    ("fr-FR", "zh"),
    ("*", "zh"),
]


@pytest.mark.parametrize(("accept_language", "locale"), ACCEPT_LANGUAGE)
def test_the_browser_locale_is_werkzeugs_best_match(app, accept_language, locale):
    from flask_babel import get_locale

    from miniapp_api.web.language import browser_locale

    headers = {"Accept-Language": accept_language} if accept_language is not None else {}
    with app.test_request_context("/", headers=headers):
        from flask import request

        expected = request.accept_languages.best_match(i18n.LOCALES, default=i18n.SOURCE)
        assert expected == locale
        assert browser_locale(accept_language) == locale
        assert browser_locale(accept_language) == locale  # the second answer, from the cache
        assert i18n.current_locale() == locale == str(get_locale())


def test_each_request_speaks_its_own_browsers_language(client):
    # The cache is per header: requests that alternate between languages each get their own.
    for _ in range(2):
        for accept_language, title in [
            ("en-US,en;q=0.9", "Page not found"),
            ("zh-CN", "没有找到这个页面"),
        ]:
            page = client.get("/no-such-page", headers={"Accept-Language": accept_language})
            assert page.status_code == 404
            assert title in page.get_data(as_text=True)


@pytest.mark.parametrize(
    ("environ", "locale"),
    [
        ({}, "en"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({"LANG": "zh_CN.UTF-8"}, "zh"),
        ({"LANG": "zh_CN.UTF-8", "LC_ALL": "en_US.UTF-8"}, "en"),
        ({"LANGUAGE": "zh_CN:en", "LANG": "en_US.UTF-8"}, "zh"),
    ],
)
def test_the_command_line_follows_the_locale(environ, locale):
    assert i18n.locale_from_environment(environ) == locale


def test_messages_made_outside_a_request_follow_the_speaker():
    with i18n.speaking("en"):
        assert i18n._("退出") == "Log out"
        with i18n.speaking("zh"):
            assert i18n._("退出") == "退出"
        label = i18n.lazy_gettext("审计日志")
        assert str(label) == "Audit log"
    assert str(label) == "审计日志"  # translated each time it is shown, not once


def test_the_campaign_templates_are_named_in_both_languages():
    from miniapp_api import playbooks

    with i18n.speaking("en"):
        english = playbooks.templates()
    chinese = playbooks.templates()
    assert english.keys() == chinese.keys() and len(english) >= 6
    for key, template in english.items():
        for field in ("name", "summary"):
            assert template[field] and not CJK.search(template[field]), (key, field)
            assert CJK.search(chinese[key][field]), (key, field)
        # What a template fills into a campaign is content: the same in both languages.
        assert template["title"] == chinese[key]["title"]
