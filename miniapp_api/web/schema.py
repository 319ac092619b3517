"""Requests wait for a database at the schema version this code was written for.

Serving from an older or newer database would fail somewhere in the middle of a page with a
500; instead every page says the site is being upgraded, and the log says which command to
run. The built handbook needs no database and stays open.
"""

from flask import current_app, render_template, request

from miniapp_api.i18n import _
from miniapp_api.migrations import check_version
from miniapp_api.web.errors import json_responder

READY = "qunbook.schema_ready"


def schema_ready(app) -> bool:
    """Whether a request of this process has found the database at the current version (the
    scan lane serves only then, and leaves the first request to the check below)."""
    return app.extensions.get(READY, False)


def register(app):
    # Checked until it is right once; after that, a per-request query would only cost time.
    app.extensions[READY] = False

    @app.before_request
    def require_current_schema():
        if app.extensions[READY] or request.blueprint == "handbook":
            return None
        problem = check_version()
        if problem is None:
            app.extensions[READY] = True
            return None
        current_app.logger.error("Not serving: %s", problem)
        respond = json_responder()
        if respond:
            return respond(503, f"The service is being upgraded. {problem}")
        title = _("系统正在升级")
        hint = _(
            "数据库和程序的版本还没对上，请稍后再试。"
            "工作人员：服务日志里写着要运行的命令（通常是 qunbook init-db）。"
        )
        return render_template("errors/error.html", title=title, hint=hint), 503
