"""One term per concept: the build's term check (handbook/hooks/terms.py) names a page that
writes a form the term list rules out, and lets a form quoted as a word pass."""

import importlib.util
import json
import logging
from pathlib import Path
from types import SimpleNamespace

HOOK = Path(__file__).resolve().parents[2] / "handbook" / "hooks" / "terms.py"


def load_hook():
    spec = importlib.util.spec_from_file_location("terms_hook", HOOK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PAGE = SimpleNamespace(file=SimpleNamespace(src_uri="playbooks/example.md"))


def test_a_ruled_out_form_is_named_with_the_term_to_write(caplog):
    hook = load_hook()
    with caplog.at_level(logging.WARNING, logger="mkdocs.hooks.terms"):
        hook.on_page_markdown("第一行\n看群的黏性，也看活碼是否有效。", page=PAGE)
    assert [r.getMessage() for r in caplog.records] == [
        "playbooks/example.md:2: 写「粘性」，不写「黏性」（术语表 handbook/hooks/terms.json）",
        "playbooks/example.md:2: 写「活码」，不写「活碼」（术语表 handbook/hooks/terms.json）",
    ]


def test_a_form_quoted_as_a_word_is_a_mention(caplog):
    hook = load_hook()
    with caplog.at_level(logging.WARNING, logger="mkdocs.hooks.terms"):
        markdown = "“粘性”与“黏性”两种写法混用，手册统一写作“粘性”；「黏性」也一样。"
        assert hook.on_page_markdown(markdown, page=PAGE) == markdown
    assert caplog.records == []


def test_the_strict_build_treats_the_terms_warning_as_fatal():
    # MkDocs counts warnings of loggers under "mkdocs" and aborts a --strict build on them.
    assert load_hook().log.name.startswith("mkdocs.")


EN_PAGE = SimpleNamespace(file=SimpleNamespace(src_uri="playbooks/example.en.md", locale="en"))


def test_an_english_page_writing_an_avoided_rendering_is_named_with_the_glossary_term(caplog):
    hook = load_hook()
    markdown = (
        "## Repeat purchase { #repurchase }\n"
        "Print the Dynamic QR code, not the group's.\n"
        "Ask two chat partners, then see [fission](fission.md#viral-loop)."
    )
    with caplog.at_level(logging.WARNING, logger="mkdocs.hooks.terms"):
        assert hook.on_page_markdown(markdown, page=EN_PAGE) == markdown
    assert [r.getMessage() for r in caplog.records] == [
        "playbooks/example.en.md:2: write “live code” (活码), not “Dynamic QR code”"
        " (glossary handbook/hooks/glossary.json)",
        "playbooks/example.en.md:3: write “chat companion” (陪聊), not “chat partner”"
        " (glossary handbook/hooks/glossary.json)",
    ]


def test_english_mentions_and_chinese_pages_pass(caplog):
    hook = load_hook()
    with caplog.at_level(logging.WARNING, logger="mkdocs.hooks.terms"):
        hook.on_page_markdown("Write live code, never “dynamic QR code”.", page=EN_PAGE)
        hook.on_page_markdown("A shill, a viral loop: 英文写法不查中文页。", page=PAGE)
        hook.on_page_markdown("the captaincy, a seedling", page=EN_PAGE)  # longer words
    assert caplog.records == []


def test_every_glossary_term_has_one_rendering_and_no_avoided_form_is_a_rendering():
    glossary = json.loads((HOOK.parent / "glossary.json").read_text(encoding="utf-8"))
    terms = glossary["terms"]
    assert len({t["zh"] for t in terms}) == len(terms)
    renderings = {t["en"].lower() for t in terms}
    avoided = {form.lower() for t in terms for form in t["avoid"]}
    assert not renderings & avoided
    assert all(t["pinyin"] and t["en"] for t in terms)
