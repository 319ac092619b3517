"""Whole numbers typed into URLs and forms.

`str.isdigit()` is true for "²" and "٣", which `int()` then refuses or reads as another digit,
and `int()` of 300 digits is slow and overflows every column; so numbers are read here, once:
in the query string and forms by query_number and form_number, in the path by the bounded
`<int:…>` converter that create_app puts in place of Werkzeug's.
"""

from flask import request
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

from miniapp_api.i18n import _
from miniapp_api.models import MAX_INT
from miniapp_api.numbers import whole_number


class NumberRefused(BadRequest):
    """A number in the query string or a form that is not a whole number in its range.

    People get a 400 page saying what to type (web/errors.py); the API answers its own 422.
    """

    def __init__(self, name: str, label: str, text: str, low: int, high: int, choices=()):
        self.field, self.text, self.low, self.high = name, text, low, high
        shown = text if len(text) <= 20 else text[:20] + "…"
        if choices:
            message = _(
                "「%(label)s」要填 %(choices)s 或 %(last)s（收到的是「%(shown)s」）。"
                "请返回上一页改正后再试。",
                label=label,
                choices=_("、").join(map(str, choices[:-1])),
                last=choices[-1],
                shown=shown,
            )
        else:
            message = _(
                "「%(label)s」要填 %(low)s 到 %(high)s 之间的整数，只用 0–9 这几个数字"
                "（收到的是「%(shown)s」）。请返回上一页改正后再试。",
                label=label,
                low=low,
                high=high,
                shown=shown,
            )
        super().__init__(message)


def number_in(values, name: str, default, low: int, high: int, label: str | None = None):
    """values[name] (a MultiDict: request.args, .form or .values) as a whole number in
    [low, high]; default when absent or blank; NumberRefused otherwise."""
    text = values.get(name)
    if text is None or not text.strip():
        return default  # not given: a blank form field, or a link without it
    value = whole_number(text, low, high)
    if value is None:
        raise NumberRefused(name, label or name, text, low, high)
    return value


def query_number(name: str, default, low: int, high: int, label: str | None = None):
    """?name= as a whole number in [low, high]; default when absent; NumberRefused otherwise."""
    return number_in(request.args, name, default, low, high, label)


def form_number(name: str, default, low: int, high: int, label: str | None = None):
    """The form field as a whole number in [low, high]; default when blank; NumberRefused
    otherwise."""
    return number_in(request.form, name, default, low, high, label)


class BoundedIntConverter(IntegerConverter):
    """`<int:…>` in every route. Werkzeug's own matches `\\d+`, which takes "٣" as 3 and 300
    digits as a number no column holds (SQLite cannot even compare it: OverflowError); this one
    takes ASCII digits up to MAX_INT, so any other such URL is a 404."""

    regex = r"[0-9]{1,18}"

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_INT, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def register(app):
    """Before any blueprint adds its routes: a rule makes its converters as it is added."""
    app.url_map.converters["int"] = BoundedIntConverter
