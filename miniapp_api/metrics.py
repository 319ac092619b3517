"""The figures the app shows as a share (stickiness, check-in and finish rates, attendance,
the dashboard's rates), defined once in assets/metrics.json. The handbook's 指标 page renders
the same file, its worked examples computed by these functions (handbook/hooks/metrics.py).

The display rule, one for every figure: a whole percent, rounded half up (72.5% shows 73%,
1 of 200 shows 1%); no share at all (a denominator of 0) shows "—". Rounding is done on the
decimal value, not the binary float, so 57 of 200 is 28.5% and shows 29%, never 28%.
"""

import functools
import json
from decimal import ROUND_HALF_UP, Decimal

from miniapp_api.kit import assets


class UnknownMetric(LookupError):
    pass


@functools.cache
def definitions() -> dict:
    """The whole file: its display rule and every metric, keyed as the handbook's markers."""
    with (assets() / "metrics.json").open(encoding="utf-8") as f:
        return json.load(f)


def definition(key: str) -> dict:
    known = definitions()["metrics"]
    if key not in known:
        raise UnknownMetric(
            f"no metric {key!r} in assets/metrics.json; the known ones are {', '.join(known)}"
        )
    return known[key]


def ratio(numerator: int, denominator: int) -> float | None:
    """numerator ÷ denominator, or None when there is nothing to divide by."""
    if numerator < 0 or denominator < 0:
        raise ValueError(f"a count cannot be negative: {numerator} ÷ {denominator}")
    if denominator == 0:
        return None
    return numerator / denominator


def percent(value: float | None) -> str:
    if value is None:
        return definitions()["display"]["empty"]
    whole = (Decimal(str(value)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return f"{whole}%"


def shown(numerator: int, denominator: int) -> str:
    """What the app shows for numerator ÷ denominator, wherever it shows a share."""
    return percent(ratio(numerator, denominator))


def stickiness(responded: int, called: int) -> float | None:
    """Of the members an activity was called to, the share who responded (each at most once)."""
    return ratio(responded, called)
