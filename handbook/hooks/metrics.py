"""MkDocs hook: the handbook's metric definitions come from assets/metrics.json, the file the
app reads, and each worked example is computed by the app's own miniapp_api.metrics.

In a page, a line holding only

- `<!-- metric: KEY -->` becomes that metric's definition (formula, numerator, denominator,
  what counts once, the worked example as the app shows it);
- `<!-- metric-display -->` becomes the display rule with its examples;
- `<!-- demo-stickiness -->` becomes the demo challenge's stickiness by day, read off the plan
  `qunbook demo` loads (miniapp_api/demo_plan.py; tests/test_demo.py checks that the loaded
  demo gives the same figures).

A marker naming an unknown metric, or an example the app would show differently from the
file, stops the build with a message that says which. On an English page (page.en.md) the same
markers render the file's English texts (each entry's "en"), with the same figures.
"""

import re
import sys
from pathlib import Path

from mkdocs.exceptions import PluginError

ROOT = Path(__file__).resolve().parents[2]
# The checkout's own package, not an installed copy; MkDocs restores sys.path after loading us.
sys.path.insert(0, str(ROOT))
from miniapp_api import demo_plan, metrics  # noqa: E402

if Path(metrics.__file__).resolve().parents[1] != ROOT:
    raise PluginError(
        f"the handbook's metrics hook needs the checkout's miniapp_api ({ROOT}), "
        f"but Python imported {metrics.__file__}"
    )

MARKER = re.compile(
    r"^([ \t]*)<!-- (metric: (\S+)|metric-display|demo-stickiness) -->[ \t]*$", re.M
)
LEFTOVER = re.compile(r"<!-- *(metric|demo-stickiness)\b[^>]*-->")


def computed(example: dict, where: str) -> str:
    """What the app shows for an example of the file, which must be what the file says."""
    got = metrics.shown(example["numerator"], example["denominator"])
    if got != example["display"]:
        raise PluginError(
            f"{where}: the app shows {example['numerator']} ÷ {example['denominator']} as "
            f"{got}, assets/metrics.json says {example['display']}"
        )
    return got


LABELS = {
    "zh": {
        "numerator": "分子", "denominator": "分母", "counts_once": "只算一次", "example": "算例",
        "note": "说明", "title": "定义：", "item": "项目", "rule": "口径", "colon": "：",
        "shows": "显示", "sep": "；", "eg": "例如 ", "end": "。",
        "days": ("第几天", "被召集（已报名）", "打卡（含补卡）", "粘性"),
        "today": "（今天，打卡还在进行）",
    },
    "en": {
        "numerator": "Numerator", "denominator": "Denominator", "counts_once": "Counts once",
        "example": "Worked example", "note": "Note", "title": "Definition: ", "item": "Item",
        "rule": "What counts", "colon": ": ", "shows": "shows", "sep": "; ", "eg": "For example, ",
        "end": ".",
        "days": ("Day", "Called (signed up)", "Checked in (with make-ups)", "Stickiness"),
        "today": " (today, check-ins still open)",
    },
}  # fmt: skip


def texts(entry: dict, lang: str) -> dict:
    """An entry's words in the page's language: the file's "en" texts over the Chinese."""
    if lang == "zh":
        return entry
    if lang not in entry:
        raise PluginError(f"assets/metrics.json: {entry.get('name')} has no {lang!r} texts")
    return {**entry, **entry[lang]}


def definition(key: str, lang: str = "zh") -> str:
    entry = metrics.definition(key)
    words, label = texts(entry, lang), LABELS[lang]
    ex = entry["example"]
    case = words.get("case", ex.get("case"))
    rows = [
        (label["numerator"], words["numerator"]),
        (label["denominator"], words["denominator"]),
        (label["counts_once"], words["counts_once"]),
        (
            label["example"],
            f"{case}{label['colon']}{ex['numerator']:,} ÷ {ex['denominator']:,}"
            f" = **{computed(ex, key)}**",
        ),
    ]
    if "note" in words:
        rows.append((label["note"], words["note"]))
    return "\n".join(
        [
            f'!!! info "{label["title"]}{words["name"]}"',
            "    ```text",
            f"    {words['name']} = {words['formula']}",
            "    ```",
            "",
            f"    | {label['item']} | {label['rule']} |",
            "    | --- | --- |",
            *(f"    | {name} | {text} |" for name, text in rows),
        ]
    )


def display_rule(lang: str = "zh") -> str:
    display, label = metrics.definitions()["display"], LABELS[lang]
    shown = label["sep"].join(
        f"{ex['numerator']} ÷ {ex['denominator']} {label['shows']} {computed(ex, 'display')}"
        for ex in display["examples"]
    )
    rule = texts(display, lang)["rule"]
    return f"{rule}{' ' if lang != 'zh' else ''}{label['eg']}{shown}{label['end']}"


def demo_table(lang: str = "zh") -> str:
    """The demo challenge's days as a table: called, responded, stickiness as the app shows it."""
    label = LABELS[lang]
    rows = [
        "| " + " | ".join(label["days"]) + " |",
        "| ---: | ---: | ---: | ---: |",
    ]
    for row in demo_plan.stickiness_by_day():
        note = label["today"] if row["day"] == demo_plan.TODAY else ""
        rows.append(
            f"| {row['day']}{note} | {row['called']} | {row['responded']} | "
            f"{metrics.shown(row['responded'], row['called'])} |"
        )
    return "\n".join(rows)


def render(match: re.Match, page_name: str, lang: str = "zh") -> str:
    indent, what, key = match[1], match[2], match[3]
    if what == "demo-stickiness":
        return demo_table(lang)
    try:
        text = definition(key, lang) if key else display_rule(lang)
    except metrics.UnknownMetric as error:
        raise PluginError(f"{page_name}: <!-- metric: {key} --> names no metric: {error}") from None
    return "\n".join(indent + line if line else line for line in text.splitlines())


def on_page_markdown(markdown: str, *, page, **_) -> str:
    name = page.file.src_uri
    lang = "en" if getattr(page.file, "locale", None) == "en" or name.endswith(".en.md") else "zh"
    result = MARKER.sub(lambda match: render(match, name, lang), markdown)
    leftover = LEFTOVER.search(result)
    if leftover:
        raise PluginError(
            f"{name}: {leftover[0]} is not a marker this hook knows; write "
            "<!-- metric: KEY --> alone on its line, KEY from assets/metrics.json"
        )
    return result
