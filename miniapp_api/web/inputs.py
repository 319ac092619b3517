"""One gate for the text of every request, before any view reads it: each value of the path,
the query string, a form and a JSON body. A control character or a lone surrogate is refused
with a 400 that names the field (a page for people, JSON under the API); the rest is put back
in NFC, so views and rules only ever see text the databases store. JSON whole numbers beyond
what the columns hold are refused too (forms and links go through web/params.py)."""

from flask import request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import BadRequest, NotFound

from miniapp_api.i18n import _
from miniapp_api.numbers import MAX_INT
from miniapp_api.text import normal, unwanted_character


class InputRefused(BadRequest):
    """A value no field takes; `field` names where it came, description says what to do (in
    the page's language), `message` and `code` are the API's (English, and a machine code)."""

    def __init__(self, field: str, message: str, hint: str, code: str):
        self.field, self.message, self.code = field, message, code
        super().__init__(hint)


def _plain(text: str) -> bool:
    """Printable ASCII: no character a field refuses, and already NFC. What nearly every path,
    link and form value is, told apart in C rather than character by character."""
    return text.isascii() and text.isprintable()


def _checked(field: str, text: str) -> str:
    if _plain(text):
        return text
    char = unwanted_character(text)
    if char is not None:
        raise InputRefused(
            field,
            f"'{field}' holds a control character ({char}) that no field takes: "
            "send plain text without it.",
            _(
                "「%(field)s」里有一个看不见的控制字符（%(char)s），可能是从别处复制时带进来的。"
                "请删掉这一项重新输入（不要粘贴），再提交一次。",
                field=field,
                char=char,
            ),
            "control_character",
        )
    return normal(text)


def _cleaned(values, where: str):
    """A copy of a MultiDict with every key and value checked and in NFC (the MultiDict itself
    when all of it is plain already: there is nothing to change)."""
    if isinstance(values, ImmutableMultiDict) and all(
        _plain(key) and _plain(value) for key, value in values.items(multi=True)
    ):
        return values
    return ImmutableMultiDict(
        [
            (_checked(f"{where} name", key), _checked(key, value))
            for key, value in values.items(multi=True)
        ]
    )


def _cleaned_json(value, field: str = "body"):
    if isinstance(value, str):
        return _checked(field, value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        if not -MAX_INT <= value <= MAX_INT:
            raise InputRefused(
                field,
                f"'{field}' must be between -{MAX_INT} and {MAX_INT}.",
                _("「%(field)s」的数字太大了。", field=field),
                "out_of_range",
            )
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, list):
        return [_cleaned_json(item, field) for item in value]
    return {_checked(field, key): _cleaned_json(item, str(key)) for key, item in value.items()}


def check_request() -> None:
    req = request._get_current_object()  # one context lookup, not one per attribute
    view_args = req.view_args
    if view_args and not all(_plain(v) for v in view_args.values() if isinstance(v, str)):
        # A path is an address, not a field someone typed: one no page has is simply not found.
        if any(
            isinstance(value, str) and unwanted_character(value) for value in view_args.values()
        ):
            raise NotFound()
        req.view_args = {
            name: normal(value) if isinstance(value, str) else value
            for name, value in view_args.items()
        }
    # request.args and .form are cached properties: the cleaned copies replace them.
    req.args = _cleaned(req.args, "query")
    if req.method in ("POST", "PUT", "PATCH") and req.mimetype in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        req.form = _cleaned(req.form, "form")
    # No Content-Type, no body to read as JSON: skips parsing an empty header on every GET.
    if req.environ.get("CONTENT_TYPE") and req.is_json:
        try:
            body = req.get_json(silent=True)
        except RecursionError:  # deeply nested: the view answers that it cannot read it
            return
        if body is not None:
            body = _cleaned_json(body)
            req._cached_json = (body, body)  # what get_json() returns from now on


def register(app):
    # Ahead of every other before_request hook (the schema check, the API's authentication):
    # none of them should see such text either.
    app.before_request_funcs.setdefault(None, []).insert(0, check_request)
