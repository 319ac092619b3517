"""Times on pages, in the app's time zone (QUNBOOK_TIMEZONE) and the reader's language."""

from datetime import datetime

from babel.dates import format_datetime
from flask import current_app

from miniapp_api.csvexport import Moment
from miniapp_api.i18n import current_locale, lazy_gettext
from miniapp_api.localtime import to_local

# Named styles as CLDR patterns (Babel's), so English gets "1 Nov 2026, 14:00" and Chinese
# keeps its 年月日; translated only when a style is asked for.
STYLES = {
    "date_time": lazy_gettext("yyyy年MM月dd日 HH:mm"),
    "day_time": lazy_gettext("MM月dd日 HH:mm"),
}


def local_time(moment: datetime | None, pattern: str = "%m-%d %H:%M") -> str:
    """`pattern` is a strftime pattern of digits (the same in every language) or one of the
    named styles, which read as the reader's language writes dates."""
    if moment is None:
        return ""
    local = to_local(moment, current_app.config["TIMEZONE"])
    style = STYLES.get(pattern)
    if style is not None:
        return format_datetime(local, str(style), locale=current_locale())
    return local.strftime(pattern)


def local_moment(moment: datetime | None, pattern: str = "%Y-%m-%d %H:%M:%S") -> Moment | None:
    """A time for an export: text as `pattern` in CSV, a real date in xlsx."""
    if moment is None:
        return None
    local = to_local(moment, current_app.config["TIMEZONE"]).replace(tzinfo=None)
    return Moment(local, pattern)


def register(app):
    app.add_template_global(local_time)
