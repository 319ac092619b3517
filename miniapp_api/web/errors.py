"""Friendly pages for people instead of bare HTTP errors; JSON under a prefix that a
programs' blueprint claimed with answer_in_json (the API does, for /api/v1)."""

from urllib.parse import urlsplit, urlunsplit

from flask import current_app, redirect, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from miniapp_api.web.inputs import InputRefused
from miniapp_api.web.params import NumberRefused

MESSAGES = {
    400: ("请求有误", "链接好像不完整。请重新扫描海报上的二维码。"),
    404: (
        "没有找到这个页面",
        "链接可能已失效或输错了。请重新扫描海报上的二维码，或联系门店工作人员。",
    ),
    405: ("无法这样打开", "请返回上一页，重新操作一次。"),
    413: (
        "文件太大",
        "上传的文件超过了 {limit}。请换一个小一些的文件再试：照片可以先压缩，表格可以分成几份。",
    ),
    500: ("服务暂时出了点问题", "我们已经记录下来。请稍后再扫一次二维码。"),
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


def megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"


def register(app):
    @app.before_request
    def routing_redirect():
        # Flask answers these itself, past every error handler; this comes first.
        if isinstance(request.routing_exception, RequestRedirect):
            return relative_redirect(request.routing_exception)
        return None

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        title, hint = "页面已过期", "为了安全，请返回上一页、刷新后再提交一次。"
        return render_template("errors/error.html", title=title, hint=hint), 400

    @app.errorhandler(NumberRefused)
    def number_refused(error):
        respond = json_responder()
        if respond:
            return respond(400)
        return render_template(
            "errors/error.html", title="数字填得不对", hint=error.description
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
            "errors/error.html", title="内容里有无法保存的字符", hint=error.description
        ), 400

    @app.errorhandler(HTTPException)
    def http_error(error):
        respond = json_responder()
        if respond:
            response = respond(error.code or 500)
        else:
            title, hint = MESSAGES.get(error.code, (error.name, "请返回上一页重试。"))
            hint = hint.format(limit=megabytes(app.config["MAX_CONTENT_LENGTH"] or 0))
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
        title, hint = MESSAGES[500]
        return render_template("errors/error.html", title=title, hint=hint), 500
