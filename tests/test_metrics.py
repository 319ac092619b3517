"""One definition of each figure: assets/metrics.json, read by the app (miniapp_api.metrics)
and by the handbook's hook, which renders it on the 指标 page with examples the app computes."""

import copy
import importlib.util
import re
from pathlib import Path
from types import SimpleNamespace

import markdown
import pytest
from mkdocs.exceptions import PluginError

from miniapp_api import metrics

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "handbook" / "metrics" / "index.md"
METRICS = metrics.definitions()["metrics"]
DISPLAY = metrics.definitions()["display"]


def load_hook():
    spec = importlib.util.spec_from_file_location(
        "qunbook_metrics_hook", ROOT / "handbook" / "hooks" / "metrics.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hook = load_hook()


def render(source: str, src_uri: str = "metrics/index.md") -> str:
    return hook.on_page_markdown(
        source, page=SimpleNamespace(file=SimpleNamespace(src_uri=src_uri))
    )


# ---------------------------------------------------------------- the app's numbers


@pytest.mark.parametrize(
    "example",
    [entry["example"] for entry in METRICS.values()] + DISPLAY["examples"],
    ids=[*METRICS, *(f"display-{i}" for i in range(len(DISPLAY["examples"])))],
)
def test_every_worked_example_shows_what_the_file_says(example):
    value = metrics.ratio(example["numerator"], example["denominator"])
    assert metrics.percent(value) == example["display"]
    assert metrics.shown(example["numerator"], example["denominator"]) == example["display"]


@pytest.mark.parametrize(
    ("numerator", "denominator", "display"),
    [
        (58, 100, "58%"),
        (57, 200, "29%"),  # 28.5%: half up, though 0.285 is a little under it as a float
        (1, 8, "13%"),  # 12.5%
        (5, 8, "63%"),  # 62.5%: half up, not to even
        (2, 3, "67%"),
        (1, 3, "33%"),
        (1, 201, "0%"),
        (0, 7, "0%"),
        (7, 7, "100%"),
        (3, 2, "150%"),  # a funnel step may exceed the first
    ],
)
def test_one_display_rule_whole_percent_half_up(numerator, denominator, display):
    assert metrics.shown(numerator, denominator) == display


def test_nothing_to_divide_by_is_none_and_shows_a_dash():
    assert metrics.ratio(5, 0) is None
    assert metrics.ratio(0, 0) is None
    assert metrics.stickiness(0, 0) is None
    assert metrics.percent(None) == "—"
    assert metrics.shown(3, 0) == "—"


def test_stickiness_is_responded_over_called():
    assert metrics.stickiness(58, 100) == pytest.approx(0.58)
    assert metrics.percent(metrics.stickiness(35, 40)) == "88%"


def test_a_negative_count_is_refused():
    with pytest.raises(ValueError, match="negative"):
        metrics.ratio(-1, 10)
    with pytest.raises(ValueError, match="negative"):
        metrics.stickiness(1, -10)


def test_an_unknown_metric_is_named_in_the_error():
    with pytest.raises(metrics.UnknownMetric, match=r"'loyalty'.*stickiness"):
        metrics.definition("loyalty")


def test_every_definition_is_complete_and_fits_a_table_cell():
    required = {"name", "formula", "numerator", "denominator", "counts_once", "example"}
    assert {"stickiness", "checkin_rate", "finish_rate", "attendance"} <= METRICS.keys()
    for key, entry in METRICS.items():
        assert required <= entry.keys(), key
        assert entry.get("same_as", "stickiness") in METRICS, key
        for field in ("numerator", "denominator", "counts_once", "note", "shown_in"):
            assert "|" not in entry.get(field, "") and "\n" not in entry.get(field, ""), key
        example = entry["example"]
        assert isinstance(example["numerator"], int) and isinstance(example["denominator"], int)


# ---------------------------------------------------------------- the handbook's page


@pytest.fixture(scope="module")
def page():
    return render(PAGE.read_text(encoding="utf-8"))


def test_the_metrics_page_shows_every_definition_in_the_file():
    keys = re.findall(r"^\s*<!-- metric: (\S+) -->\s*$", PAGE.read_text(encoding="utf-8"), re.M)
    assert sorted(keys) == sorted(METRICS)


@pytest.mark.parametrize("key", METRICS)
def test_each_marker_becomes_the_files_formula_and_the_apps_example(page, key):
    entry = METRICS[key]
    example = entry["example"]
    shown = metrics.shown(example["numerator"], example["denominator"])
    assert f'!!! info "定义：{entry["name"]}"' in page
    assert f"    ```text\n    {entry['name']} = {entry['formula']}\n    ```" in page
    assert f"| 分母 | {entry['denominator']} |" in page
    assert f"| 只算一次 | {entry['counts_once']} |" in page
    assert f"{example['numerator']:,} ÷ {example['denominator']:,} = **{shown}**" in page


def test_no_marker_is_left_and_the_demo_placeholder_renders_as_nothing(page):
    assert "<!--" not in page
    assert "## 演示数据的粘性 { #demo-stickiness }" in page
    assert DISPLAY["rule"] in page


def test_the_rendered_definitions_are_real_tables_and_code_blocks(page):
    html = markdown.markdown(
        page, extensions=["admonition", "attr_list", "tables", "pymdownx.superfences"]
    )
    boxes = html.split('<div class="admonition info">')[1:]
    assert len(boxes) == len(METRICS)
    for entry in METRICS.values():
        (box,) = [b for b in boxes if f"定义：{entry['name']}</p>" in b]
        assert f"<code>{entry['name']} = {entry['formula']}\n</code>" in box
        table = box.split("<table>", 1)[1].split("</table>", 1)[0]
        assert f"<td>{entry['counts_once']}</td>" in table


def test_a_marker_inside_a_list_keeps_its_indentation():
    rendered = render("1. 第一步\n\n    <!-- metric: attendance -->\n")
    assert '    !!! info "定义：到场率"' in rendered
    assert "        ```text" in rendered


def test_an_unknown_metric_fails_the_build_naming_it():
    with pytest.raises(PluginError, match=r"playbooks/x\.md.*<!-- metric: loyalty -->"):
        render("前文\n\n<!-- metric: loyalty -->\n", "playbooks/x.md")


@pytest.mark.parametrize(
    "marker", ["<!-- metric:stickiness -->", "见 <!-- metric: stickiness --> 这里", "<!--metric-->"]
)
def test_a_marker_the_hook_cannot_read_fails_the_build(marker):
    with pytest.raises(PluginError, match="not a marker"):
        render(f"前文\n\n{marker}\n")


def test_an_example_the_app_would_show_differently_fails_the_build(monkeypatch):
    wrong = copy.deepcopy(metrics.definitions())
    wrong["metrics"]["stickiness"]["example"]["display"] = "58.0%"
    monkeypatch.setattr(metrics, "definitions", lambda: wrong)
    with pytest.raises(PluginError, match=r"stickiness: the app shows 58 ÷ 100 as 58%"):
        render("<!-- metric: stickiness -->\n")


# ---------------------------------------------------------------- the English edition


def test_every_definition_has_its_english_texts_with_the_same_fields():
    assert set(DISPLAY["en"]) == {"rule"}
    for key, entry in METRICS.items():
        english = entry["en"]
        wanted = {"name", "formula", "numerator", "denominator", "counts_once", "case"}
        assert set(english) == wanted | ({"note"} if "note" in entry else set()), key
        for text in english.values():
            assert "|" not in text and "\n" not in text, key
            assert not re.search(r"[\u4e00-\u9fff]", text), key  # one language per page


def test_an_english_page_renders_the_english_definition_with_the_same_figures():
    page = SimpleNamespace(file=SimpleNamespace(src_uri="metrics/index.en.md", locale="en"))
    text = "\n".join(["<!-- metric: checkin_rate -->", "", "<!-- metric-display -->"])
    out = hook.on_page_markdown(text, page=page)
    assert '!!! info "Definition: daily check-in rate"' in out
    assert "| Worked example | day 7 of a challenge" in out and "87 ÷ 120 = **73%**" in out
    assert "For example, 58 ÷ 100 shows 58%; 87 ÷ 120 shows 73%" in out
    assert not re.search(r"[\u4e00-\u9fff]", out)
    table = hook.on_page_markdown("<!-- demo-stickiness -->", page=page)
    assert table.startswith("| Day | Called (signed up) |") and "今天" not in table
