"""Logging in and out, and the staff member's own account."""

from flask import current_app, flash, redirect, render_template, request, session, url_for

from ..staff import LoginRefused, StaffError, audit, authenticate, change_password
from ..visitors import keyed_hash
from . import bp, current_staff, staff_required


def _safe_next(target: str | None) -> str:
    # Only back into the console: never an open redirect to another site.
    if target and target.startswith("/console") and not target.startswith("//"):
        return target
    return url_for("console.home")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        return render_template("console/login.html", next=request.args.get("next", ""))
    ip_hash = keyed_hash(current_app.config["HASH_KEY"], request.remote_addr or "")
    try:
        staff = authenticate(request.form.get("username"), request.form.get("password"), ip_hash)
    except LoginRefused as refused:
        flash(refused.message, "error")
        status = 429 if refused.throttled else 401
        return render_template("console/login.html", next=request.form.get("next", "")), status
    session.clear()
    session.rotate = True  # a new token, so a session fixed before login is useless
    session["staff_id"] = staff.id
    audit(staff, "staff.login", f"staff:{staff.username}")
    return redirect(_safe_next(request.form.get("next")))


@bp.post("/logout")
def logout():
    staff = current_staff()
    if staff:
        audit(staff, "staff.logout", f"staff:{staff.username}")
    session.clear()
    flash("已退出。", "info")
    return redirect(url_for("console.login"))


@bp.get("/")
@staff_required()
def home():
    return render_template("console/home.html")


@bp.route("/account", methods=["GET", "POST"])
@staff_required()
def account():
    staff = current_staff()
    if request.method == "POST":
        try:
            authenticate(
                staff.username,
                request.form.get("current_password"),
                keyed_hash(current_app.config["HASH_KEY"], request.remote_addr or ""),
            )
            change_password(staff, request.form.get("new_password", ""))
        except (LoginRefused, StaffError) as error:
            flash(getattr(error, "message", None) or str(error), "error")
            return render_template("console/account.html"), 400
        audit(staff, "staff.password", f"staff:{staff.username}")
        session.clear()
        flash("密码已更新，所有设备上的登录都已退出，请用新密码重新登录。", "info")
        return redirect(url_for("console.login"))
    return render_template("console/account.html")
