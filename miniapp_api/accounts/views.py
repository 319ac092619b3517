"""Staff accounts at /console: logging in and out, one's own password, personal API tokens.

A new API token is shown once, in the answer to the POST that made it: only its hash is
stored, and it never passes through the session or a flash message.
"""

import ipaddress
import re
import unicodedata

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from miniapp_api.accounts.access import current_staff, staff_required
from miniapp_api.accounts.rules import (
    DEMO_TRAINER,
    LoginRefused,
    StaffError,
    audit,
    authenticate,
    change_password,
    issue_api_token,
)
from miniapp_api.i18n import _
from miniapp_api.models import ApiToken, Staff, utcnow
from miniapp_api.web.language import refresh_locale
from miniapp_api.web.memberform import member_form
from miniapp_api.web.visitor import current_visitor, ip_hash, remember

bp = Blueprint("accounts", __name__, url_prefix="/console")


def _safe_next(target: str | None) -> str:
    """Back to the console page asked for, or the console home: never another site (an open
    redirect) and never a 500 from a header that cannot be sent."""
    if target and _plain_console_path(target):
        return target
    return url_for("console.home")


# Browsers read "\\" as "/", so "/\\evil.example" would be "//evil.example", another site.
NOT_PLAIN = re.compile(r"\\|//|/\.\.?(?:[/?#]|$)|\s")


def _plain_console_path(target: str) -> bool:
    path = target.split("?", 1)[0]
    return (
        (path == "/console" or path.startswith("/console/"))
        and not NOT_PLAIN.search(target)
        and not any(unicodedata.category(ch).startswith("C") for ch in target)
    )


@bp.route("/login", methods=["GET", "POST"])
@member_form  # the login page, seen by anyone: no session row until they are staff
def login():
    if request.method == "GET":
        if request.args.get("done") == "logout":
            flash(_("已退出。"), "info")  # shown now; a visitor's session is never stored
        page = make_response(
            render_template("accounts/login.html", next=request.args.get("next", ""))
        )
        remember(page, current_visitor())  # the cookie the form's token is signed for
        return page
    try:
        staff = authenticate(request.form.get("username"), request.form.get("password"), ip_hash())
    except LoginRefused as refused:
        flash(refused.message, "error")
        status = 429 if refused.throttled else 401
        return render_template("accounts/login.html", next=request.form.get("next", "")), status
    if staff.username == DEMO_TRAINER and not _demo_trainer_may_log_in_here():
        flash(
            _(
                "演示带教账号只能在运行小程序的这台电脑上登录。要让学员用自己的手机登录，"
                "请运行小程序时设置 QUNBOOK_DEMO_TRAINER_ANYWHERE=1。"
            ),
            "error",
        )
        return render_template("accounts/login.html", next=request.form.get("next", "")), 403
    session.clear()
    session.rotate = True  # a new token, so a session fixed before login is useless
    session["staff_id"] = staff.id
    audit(staff, "staff.login", f"staff:{staff.username}")
    return redirect(_safe_next(request.form.get("next")))


def _demo_trainer_may_log_in_here() -> bool:
    if current_app.config["DEMO_TRAINER_ANYWHERE"]:
        return True
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


@bp.post("/logout")
def logout():
    staff = current_staff()
    if staff:
        audit(staff, "staff.logout", f"staff:{staff.username}")
    # Emptied, the session's row is deleted now. The message goes in the URL: flashed, it
    # would keep the row (and the cookie) until the login page showed it.
    session.clear()
    return redirect(url_for("accounts.login", done="logout"))


@bp.route("/account", methods=["GET", "POST"])
@staff_required()
def account():
    staff = current_staff()
    if request.method == "POST":
        try:
            authenticate(
                staff.username,
                request.form.get("current_password"),
                ip_hash(),
            )
            change_password(staff, request.form.get("new_password", ""))
        except (LoginRefused, StaffError) as error:
            flash(getattr(error, "message", None) or str(error), "error")
            return render_template("accounts/account.html"), 400
        audit(staff, "staff.password", f"staff:{staff.username}")
        session.clear()
        flash(_("密码已更新，所有设备上的登录都已退出，请用新密码重新登录。"), "info")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/account.html")


# The console's language for one staff member: "" follows the browser (web/language.py).
LANGUAGES = ("", "zh", "en")


@bp.post("/account/language")
@staff_required()
def language():
    """Set one's own console language; trainers too (it changes nothing but their pages)."""
    staff = current_staff()
    chosen = request.form.get("language")
    if chosen not in LANGUAGES:
        flash(_("没有这个界面语言：请选跟随浏览器、中文或 English。"), "error")
        return redirect(url_for("accounts.account"))
    if chosen != staff.language:
        Staff.update(language=chosen).where(Staff.id == staff.id).execute()
        audit(staff, "staff.language", f"staff:{staff.username}", language=chosen)
        staff.language = chosen
        refresh_locale()  # the message below in the language just chosen
    flash(_("界面语言已保存。"), "info")
    return redirect(url_for("accounts.account"))


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
            flash(_("请给令牌起个 1–60 字的名字，写清它给哪个脚本或系统用。"), "error")
            return redirect(url_for("accounts.tokens"))
        new_token = issue_api_token(staff, name)
        audit(staff, "token.create", f"staff:{staff.username}", name=name, prefix=new_token[:12])
    page = render_template(
        "accounts/tokens.html", tokens=list(_visible_tokens(staff)), new_token=new_token
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
        flash(_("令牌 %(prefix)s… 已吊销，用它的脚本会收到 401。", prefix=token.prefix), "info")
    return redirect(url_for("accounts.tokens"))
