"""The audit log: who changed what and when, for admins."""

import json

from flask import render_template
from peewee import JOIN

from miniapp_api.accounts.access import staff_required
from miniapp_api.console.blueprint import bp
from miniapp_api.console.pagination import paginate
from miniapp_api.console.views.campaigns import page_number
from miniapp_api.i18n import _
from miniapp_api.models import AuditEntry, Staff


def _detail(text: str) -> str:
    """The stored JSON as `key: value` pairs, Chinese left readable."""
    try:
        detail = json.loads(text or "{}")
    except ValueError:
        return text
    if not isinstance(detail, dict):
        return text
    return _("；").join(
        f"{key}: {value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)}"
        for key, value in detail.items()
    )


@bp.get("/audit", endpoint="audit")
@staff_required("admin")
def audit_log():
    query = (
        AuditEntry.select(AuditEntry, Staff)
        .join(Staff, JOIN.LEFT_OUTER)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    )
    page = paginate(query, page_number())
    for entry in page.items:
        entry.readable = _detail(entry.detail)
    return render_template("console/audit.html", page=page)
