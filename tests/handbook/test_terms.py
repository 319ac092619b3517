"""One term per concept: the build's term check (handbook/hooks/terms.py) names a page that
writes a form the term list rules out, and lets a form quoted as a word pass."""

import importlib.util
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
