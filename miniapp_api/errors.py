"""Friendly pages for people instead of bare HTTP errors."""

from flask import render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from . import api

MESSAGES = {
    400: ("请求有误", "链接好像不完整。请重新扫描海报上的二维码。"),
    404: (
        "没有找到这个页面",
        "链接可能已失效或输错了。请重新扫描海报上的二维码，或联系门店工作人员。",
    ),
    405: ("无法这样打开", "请返回上一页，重新操作一次。"),
    413: ("文件太大", "请换一张小一些的图片再试。"),
    500: ("服务暂时出了点问题", "我们已经记录下来。请稍后再扫一次二维码。"),
}


def register(app):
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        title, hint = "页面已过期", "为了安全，请返回上一页、刷新后再提交一次。"
        return render_template("errors/error.html", title=title, hint=hint), 400

    @app.errorhandler(HTTPException)
    def http_error(error):
        # A URL under /api/v1 that matches no route never reaches the API blueprint's
        # handlers, yet its caller is a program that expects JSON.
        if api.is_api_request():
            return api.error_response(error.code or 500)
        title, hint = MESSAGES.get(error.code, (error.name, "请返回上一页重试。"))
        return render_template("errors/error.html", title=title, hint=hint), error.code

    @app.errorhandler(Exception)
    def unexpected(error):
        app.logger.exception("unhandled error")
        if api.is_api_request():
            return api.error_response(500)
        title, hint = MESSAGES[500]
        return render_template("errors/error.html", title=title, hint=hint), 500
