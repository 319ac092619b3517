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
file, stops the build with a message that says which.
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


def definition(key: str) -> str:
    entry = metrics.definition(key)
    ex = entry["example"]
    rows = [
        ("分子", entry["numerator"]),
        ("分母", entry["denominator"]),
        ("只算一次", entry["counts_once"]),
        (
            "算例",
            f"{ex['case']}：{ex['numerator']:,} ÷ {ex['denominator']:,} = **{computed(ex, key)}**",
        ),
    ]
    if "note" in entry:
        rows.append(("说明", entry["note"]))
    return "\n".join(
        [
            f'!!! info "定义：{entry["name"]}"',
            "    ```text",
            f"    {entry['name']} = {entry['formula']}",
            "    ```",
            "",
            "    | 项目 | 口径 |",
            "    | --- | --- |",
            *(f"    | {label} | {text} |" for label, text in rows),
        ]
    )


def display_rule() -> str:
    display = metrics.definitions()["display"]
    shown = "；".join(
        f"{ex['numerator']} ÷ {ex['denominator']} 显示 {computed(ex, 'display')}"
        for ex in display["examples"]
    )
    return f"{display['rule']}例如 {shown}。"


def demo_table() -> str:
    """The demo challenge's days as a table: called, responded, stickiness as the app shows it."""
    rows = [
        "| 第几天 | 被召集（已报名） | 打卡（含补卡） | 粘性 |",
        "| ---: | ---: | ---: | ---: |",
    ]
    for row in demo_plan.stickiness_by_day():
        note = "（今天，打卡还在进行）" if row["day"] == demo_plan.TODAY else ""
        rows.append(
            f"| {row['day']}{note} | {row['called']} | {row['responded']} | "
            f"{metrics.shown(row['responded'], row['called'])} |"
        )
    return "\n".join(rows)


def render(match: re.Match, page_name: str) -> str:
    indent, what, key = match[1], match[2], match[3]
    if what == "demo-stickiness":
        return demo_table()
    try:
        text = definition(key) if key else display_rule()
    except metrics.UnknownMetric as error:
        raise PluginError(f"{page_name}: <!-- metric: {key} --> names no metric: {error}") from None
    return "\n".join(indent + line if line else line for line in text.splitlines())


def on_page_markdown(markdown: str, *, page, **_) -> str:
    name = page.file.src_uri
    result = MARKER.sub(lambda match: render(match, name), markdown)
    leftover = LEFTOVER.search(result)
    if leftover:
        raise PluginError(
            f"{name}: {leftover[0]} is not a marker this hook knows; write "
            "<!-- metric: KEY --> alone on its line, KEY from assets/metrics.json"
        )
    return result
