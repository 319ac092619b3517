"""The staff console at /console: every view needs a logged-in staff member.

Trainers see everything and change nothing: views that change state ask for an editor role.
"""

import functools

from flask import Blueprint, abort, g, redirect, request, session, url_for

from ..models import Staff
from ..staff import EDITORS

bp = Blueprint("console", __name__, url_prefix="/console")


def current_staff() -> Staff | None:
    if "staff" not in g:
        staff_id = session.get("staff_id")
        g.staff = Staff.get_or_none((Staff.id == staff_id) & Staff.active) if staff_id else None
    return g.staff


def staff_required(*roles):
    """Log in first; with roles given, only those roles may use the view."""

    def decorator(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            staff = current_staff()
            if staff is None:
                return redirect(url_for("console.login", next=request.full_path.rstrip("?")))
            if roles and staff.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


editor_required = staff_required(*EDITORS)


@bp.app_context_processor
def inject_staff():
    return {"current_staff": current_staff}


from . import auth, campaigns, dashboard, referrals, tokens, vip  # noqa: E402,F401  (register views on bp)
