"""Personal API tokens: each staff member makes and revokes their own; admins see everyone's.

A new token is shown once, in the answer to the POST that made it: only its hash is stored,
and it never passes through the session or a flash message.
"""

from flask import abort, flash, redirect, render_template, request, url_for

from ..models import ApiToken, Staff, utcnow
from ..staff import audit, issue_api_token
from . import bp, current_staff, staff_required


def _visible_tokens(staff: Staff):
    query = (
        ApiToken.select(ApiToken, Staff)
        .join(Staff)
        .order_by(ApiToken.revoked_at.is_null(False), ApiToken.created_at.desc())
    )
    return query if staff.role == "admin" else query.where(ApiToken.staff == staff.id)


@bp.route("/tokens", methods=["GET", "POST"])
@staff_required()
def tokens():
    staff = current_staff()
    new_token = None
    if request.method == "POST":
        name = (request.form.get("name") or "").strip()
        if not name or len(name) > 60:
            flash("请给令牌起个 1–60 字的名字，写清它给哪个脚本或系统用。", "error")
            return redirect(url_for("console.tokens"))
        new_token = issue_api_token(staff, name)
        audit(staff, "token.create", f"staff:{staff.username}", name=name, prefix=new_token[:12])
    page = render_template(
        "console/tokens.html", tokens=list(_visible_tokens(staff)), new_token=new_token
    )
    # The page with a new token must not be kept by the browser or any proxy.
    return page, 200, {"Cache-Control": "no-store"}


@bp.post("/tokens/<int:token_id>/revoke")
@staff_required()
def revoke_token(token_id):
    staff = current_staff()
    token = _visible_tokens(staff).where(ApiToken.id == token_id).first()
    if token is None:
        abort(404)
    changed = (
        ApiToken.update(revoked_at=utcnow())
        .where((ApiToken.id == token.id) & ApiToken.revoked_at.is_null())
        .execute()
    )
    if changed:
        audit(staff, "token.revoke", f"staff:{token.staff.username}", prefix=token.prefix)
        flash(f"令牌 {token.prefix}… 已吊销，用它的脚本会收到 401。", "info")
    return redirect(url_for("console.tokens"))
