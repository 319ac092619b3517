"""Bar charts as inline SVG, drawn on the server.

No script and no chart library: the console works offline on a laptop, passes a CSP with no
script at all, and prints. Colours come from classes (s0, s1, …) that console.css styles.
Pure functions: numbers in, markup out.
"""

import math

from markupsafe import Markup, escape

from miniapp_api.metrics import percent

# In the SVG's own units. Narrow on purpose: a chart shrinks to a phone's width, and its
# 13-unit text must stay readable there.
ROW = 28  # per row of a horizontal chart
LABEL = 100  # for the labels on its left
WIDTH = 420


def nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5 × 10^k at or above value: an axis people can read."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


def _svg(width: int, height: int, title: str, body: list[str]) -> Markup:
    # Safe to mark: every text in the parts went through escape(); the rest are numbers.
    return Markup(  # noqa: S704
        '<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {width} {height}" preserveAspectRatio="xMinYMin meet">'
        f"<title>{escape(title)}</title>" + "".join(body) + "</svg>"
    )


def _bar(x: float, y: float, width: float, height: float, series: int, tip: str) -> str:
    return (
        f'<rect class="s{series}" x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" '
        f'height="{height:.1f}"><title>{escape(tip)}</title></rect>'
    )


def bar_rows(title: str, rows: list[tuple[str, list[int]]], names: list[str]) -> Markup:
    """Horizontal bars, one row per label; a row's values share the row, widest first.

    Each series is drawn inside the one before it (thinner), so a part of a whole, such as
    people sent out of people who scanned, reads as a share of its bar.
    """
    top = max((max(values, default=0) for _, values in rows), default=0)
    scale = (WIDTH - LABEL - 70) / nice_ceiling(top)
    body = []
    for i, (label, values) in enumerate(rows):
        y = i * ROW
        body.append(
            f'<text class="label" x="{LABEL - 6}" y="{y + ROW / 2 + 4:.1f}" '
            f'text-anchor="end">{escape(label)}</text>'
        )
        for s, value in enumerate(values):
            inset = 4 + s * 5
            body.append(
                _bar(
                    LABEL,
                    y + inset,
                    value * scale,
                    ROW - 2 * inset,
                    s,
                    f"{label} {names[s]} {value}",
                )
            )
        shown = " / ".join(str(v) for v in values)
        body.append(
            f'<text class="value" x="{LABEL + max(values, default=0) * scale + 6:.1f}" '
            f'y="{y + ROW / 2 + 4:.1f}">{escape(shown)}</text>'
        )
    return _svg(WIDTH, max(len(rows), 1) * ROW, title, body)


def day_columns(title: str, days: list[str], series: list[list[int]], names: list[str]) -> Markup:
    """One column per day, oldest on the left, with a readable axis; later series are drawn
    inside the earlier ones, as in bar_rows. At most six or seven day labels, so they stay apart."""
    height, left, right, bottom = 220, 36, 18, 24
    plot_h = height - bottom - 8
    top = nice_ceiling(max((max(values, default=0) for values in series), default=0))
    slot = (WIDTH - left - right) / max(len(days), 1)
    body = []
    for tick in (0, top // 2, top) if top >= 2 else (0, top):
        y = 8 + plot_h - tick / top * plot_h
        body.append(
            f'<line class="grid" x1="{left}" x2="{WIDTH - right}" y1="{y:.1f}" y2="{y:.1f}"/>'
        )
        body.append(
            f'<text class="axis" x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{tick}</text>'
        )
    every = math.ceil(len(days) / 6)
    for i, day in enumerate(days):
        x = left + i * slot
        for s, values in enumerate(series):
            value = values[i]
            h = value / top * plot_h
            inset = slot * (0.1 + 0.15 * s)
            tip = f"{day} {names[s]} {value}"
            body.append(_bar(x + inset, 8 + plot_h - h, slot - 2 * inset, h, s, tip))
        if (len(days) - 1 - i) % every == 0:  # counted back from today, which always shows
            body.append(
                f'<text class="axis" x="{x + slot / 2:.1f}" y="{height - 6}" '
                f'text-anchor="middle">{escape(day[5:])}</text>'
            )
    return _svg(WIDTH, height, title, body)


def _percent_axis(left: int, right: int, top: int, plot_h: float) -> list[str]:
    body = []
    for tick in (0, 50, 100):
        y = top + plot_h - tick / 100 * plot_h
        body.append(
            f'<line class="grid" x1="{left}" x2="{WIDTH - right}" y1="{y:.1f}" y2="{y:.1f}"/>'
        )
        body.append(
            f'<text class="axis" x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{tick}%</text>'
        )
    return body


def percent_columns(title: str, columns: list[tuple[str, float | None]]) -> Markup:
    """One column per label (a challenge's days, in order) of a share from 0 to 1 on a fixed
    0–100% axis, so two campaigns' charts compare at a glance. A share of None (nobody was
    called) draws no column; its tip says "—". At most about ten labels under the axis."""
    height, left, right, bottom, top = 220, 40, 12, 24, 8
    plot_h = height - bottom - top
    slot = (WIDTH - left - right) / max(len(columns), 1)
    body = _percent_axis(left, right, top, plot_h)
    every = math.ceil(len(columns) / 10)
    for i, (label, value) in enumerate(columns):
        x = left + i * slot
        h = (value or 0) * plot_h
        body.append(
            _bar(x + slot * 0.12, top + plot_h - h, slot * 0.76, h, 1, f"{label} {percent(value)}")
        )
        if i % every == 0 or i == len(columns) - 1:
            body.append(
                f'<text class="axis" x="{x + slot / 2:.1f}" y="{height - 6}" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    return _svg(WIDTH, height, title, body)


def percent_rows(title: str, rows: list[tuple[str, float | None]]) -> Markup:
    """Horizontal bars of a share from 0 to 1 against a full-width 100% track, one row per
    label (an event's title), the percentage written after the bar."""
    track = WIDTH - LABEL - 50
    body = []
    for i, (label, value) in enumerate(rows):
        y = i * ROW
        body.append(
            f'<text class="label" x="{LABEL - 6}" y="{y + ROW / 2 + 4:.1f}" '
            f'text-anchor="end">{escape(label)}</text>'
        )
        body.append(_bar(LABEL, y + 4, track, ROW - 8, 0, f"{label} {percent(value)}"))
        body.append(_bar(LABEL, y + 9, (value or 0) * track, ROW - 18, 1, percent(value)))
        body.append(
            f'<text class="value" x="{LABEL + track + 6:.1f}" y="{y + ROW / 2 + 4:.1f}">'
            f"{escape(percent(value))}</text>"
        )
    return _svg(WIDTH, max(len(rows), 1) * ROW, title, body)
