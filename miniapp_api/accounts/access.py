"""Who may open a staff page: the logged-in staff member and the role decorators.

Every console and account view uses these; trainers see everything and change nothing, so a
view that changes state asks for an editor role.
"""

import functools

from flask import abort, g, redirect, request, session, url_for

from miniapp_api.accounts.roles import EDITORS, role_name
from miniapp_api.models import Staff


def current_staff() -> Staff | None:
    if "staff" not in g:
        staff_id = session.get("staff_id")
        g.staff = Staff.get_or_none((Staff.id == staff_id) & Staff.active) if staff_id else None
    return g.staff


def can_edit() -> bool:
    """Whether the staff member may change things (pages hide the forms otherwise)."""
    staff = current_staff()
    return staff is not None and staff.role in EDITORS


def staff_required(*roles):
    """Log in first; with roles given, only those roles may use the view."""

    def decorator(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            staff = current_staff()
            if staff is None:
                return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))
            if roles and staff.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


editor_required = staff_required(*EDITORS)


def template_helpers() -> dict:
    return {"current_staff": current_staff, "can_edit": can_edit, "role_name": role_name}
