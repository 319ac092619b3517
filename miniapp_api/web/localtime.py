"""Times on pages, in the app's time zone (QUNBOOK_TIMEZONE)."""

from datetime import datetime

from flask import current_app

from miniapp_api.csvexport import Moment
from miniapp_api.localtime import to_local


def local_time(moment: datetime | None, pattern: str = "%m-%d %H:%M") -> str:
    if moment is None:
        return ""
    return to_local(moment, current_app.config["TIMEZONE"]).strftime(pattern)


def local_moment(moment: datetime | None, pattern: str = "%Y-%m-%d %H:%M:%S") -> Moment | None:
    """A time for an export: text as `pattern` in CSV, a real date in xlsx."""
    if moment is None:
        return None
    local = to_local(moment, current_app.config["TIMEZONE"]).replace(tzinfo=None)
    return Moment(local, pattern)


def register(app):
    app.add_template_global(local_time)
