"""Friendly pages for people instead of bare HTTP errors; JSON under a prefix that a
programs' blueprint claimed with answer_in_json (the API does, for /api/v1)."""

from urllib.parse import urlsplit, urlunsplit

from flask import current_app, redirect, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from miniapp_api.accounts.access import current_staff
from miniapp_api.i18n import _, lazy_gettext
from miniapp_api.models import Staff
from miniapp_api.web.inputs import InputRefused
from miniapp_api.web.params import NumberRefused

# Hints may name the upload limit as %(limit)s.
MESSAGES = {
    400: (lazy_gettext("请求有误"), lazy_gettext("链接好像不完整。请重新扫描海报上的二维码。")),
    404: (
        lazy_gettext("没有找到这个页面"),
        lazy_gettext("链接可能已失效或输错了。请重新扫描海报上的二维码，或联系门店工作人员。"),
    ),
    405: (lazy_gettext("无法这样打开"), lazy_gettext("请返回上一页，重新操作一次。")),
    413: (
        lazy_gettext("文件太大"),
        lazy_gettext(
            "上传的文件超过了 %(limit)s。请换一个小一些的文件再试：照片可以先压缩，"
            "表格可以分成几份。"
        ),
    ),
    500: (
        lazy_gettext("服务暂时出了点问题"),
        lazy_gettext("我们已经记录下来。请稍后再扫一次二维码。"),
    ),
}


def answer_in_json(blueprint, respond) -> None:
    """Errors under the blueprint's URL prefix, even for a URL that matches none of its routes
    and so never reaches its own handlers, are answered by respond(status) instead of a page."""

    def claim(state):
        state.app.extensions.setdefault("qunbook.json_errors", []).append(
            (blueprint.url_prefix, respond)
        )

    blueprint.record_once(claim)


def json_responder():
    for prefix, respond in current_app.extensions.get("qunbook.json_errors", []):
        if request.path == prefix or request.path.startswith(prefix + "/"):
            return respond
    return None


def relative_redirect(error: RequestRedirect):
    """Werkzeug's own redirects (a missing trailing slash, merged double slashes) name the site
    from the Host header, which the client chooses; a path alone cannot lead off this site."""
    url = urlsplit(error.new_url)
    path = "/" + url.path.lstrip("/")  # never "//host", which browsers read as another site
    return redirect(urlunsplit(("", "", path, url.query, "")), error.code)


# The same errors as staff meet them inside the console.
CONSOLE_MESSAGES = {
    400: (
        lazy_gettext("请求有误"),
        lazy_gettext("页面可能已经过期：请返回上一页，刷新后再提交一次。"),
    ),
    404: (
        lazy_gettext("没有找到这个页面"),
        lazy_gettext(
            "活动、群或记录可能已经删除或归档，也可能是链接输错了：从下面的活动列表重新进入。"
        ),
    ),
    405: (
        lazy_gettext("无法这样打开"),
        lazy_gettext("这个地址只接受表单提交：请返回上一页，用页面上的按钮操作。"),
    ),
    413: (
        lazy_gettext("文件太大"),
        lazy_gettext("上传的文件超过了 %(limit)s：照片可以先压缩，表格可以分成几份。"),
    ),
}

# What each role may do, in the words of the console's navigation.
ROLE_CAN = {
    "admin": lazy_gettext("你的角色是管理员：可以查看和修改一切，包括员工账号和审计日志。"),
    "operator": lazy_gettext(
        "你的角色是运营：可以建活动、改群和渠道、上传二维码、发奖和导入客户；"
        "员工账号和审计日志归管理员。"
    ),
    "trainer": lazy_gettext(
        "你的角色是培训师：可以查看所有活动、数据、名单和手册，但不能新建或修改任何东西。"
    ),
}


def forbidden_page(staff: Staff) -> str:
    """A console page, with its navigation, that says what this role may do and whom to ask
    (the active admins, by name) rather than a bare Forbidden."""
    admins = (
        Staff.select(Staff.username, Staff.display_name)
        .where((Staff.role == "admin") & Staff.active)
        .order_by(Staff.id)
    )
    names = [a.display_name or a.username for a in admins]
    return render_template(
        "console/forbidden.html",
        role_can=str(ROLE_CAN[staff.role]),
        admins=names,
        trainer=staff.role == "trainer",
    )


def megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"


def _messages(table: dict, error: HTTPException, app) -> tuple[str, str]:
    """The title and hint for an error, in the reader's language, the upload limit filled in."""
    if error.code not in table:  # not werkzeug's English name: the reader's language
        return _("出错了（%(code)s）", code=error.code), _("请返回上一页重试。")
    title, hint = table[error.code]
    return str(title), str(hint) % {"limit": megabytes(app.config["MAX_CONTENT_LENGTH"] or 0)}


def register(app):
    @app.before_request
    def routing_redirect():
        # Flask answers these itself, past every error handler; this comes first.
        if isinstance(request.routing_exception, RequestRedirect):
            return relative_redirect(request.routing_exception)
        return None

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        title, hint = _("页面已过期"), _("为了安全，请返回上一页、刷新后再提交一次。")
        return render_template("errors/error.html", title=title, hint=hint), 400

    @app.errorhandler(NumberRefused)
    def number_refused(error):
        respond = json_responder()
        if respond:
            return respond(400)
        return render_template(
            "errors/error.html", title=_("数字填得不对"), hint=error.description
        ), 400

    @app.errorhandler(InputRefused)
    def input_refused(error):
        respond = json_responder()
        if respond:
            return respond(422, error.message)  # the API's status for a value it cannot take
        if request.accept_mimetypes.best_match(["application/json", "text/html"]) == (
            "application/json"
        ):
            # A page's own script (the door's camera) shows the message where it shows answers.
            return {"status": "refused", "message": error.description}, 400
        return render_template(
            "errors/error.html", title=_("内容里有无法保存的字符"), hint=error.description
        ), 400

    @app.errorhandler(HTTPException)
    def http_error(error):
        respond = json_responder()
        if respond:
            response = respond(error.code or 500)
        elif error.code == 403 and current_staff() is not None:
            response = current_app.make_response((forbidden_page(current_staff()), 403))
        elif request.path.startswith("/console/") and current_staff() is not None:
            # Staff stay in the console: its navigation, and words for staff, not members.
            title, hint = _messages(CONSOLE_MESSAGES, error, app)
            page = render_template("console/error.html", title=title, hint=hint)
            response = current_app.make_response((page, error.code))
        else:
            title, hint = _messages(MESSAGES, error, app)
            page = render_template("errors/error.html", title=title, hint=hint)
            response = current_app.make_response((page, error.code))
        # The error's own headers go along: Allow on every 405, Retry-After, WWW-Authenticate.
        for name, value in error.get_headers():
            if name.lower() != "content-type":
                response.headers.setdefault(name, value)
        return response

    @app.errorhandler(Exception)
    def unexpected(error):
        app.logger.exception("unhandled error")
        respond = json_responder()
        if respond:
            return respond(500)
        title, hint = (str(text) for text in MESSAGES[500])
        return render_template("errors/error.html", title=title, hint=hint), 500
