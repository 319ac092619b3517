"""The built handbook, served from the same process as the mini-app at /handbook/."""

from pathlib import Path

from flask import Blueprint, current_app, redirect, render_template, send_from_directory
from werkzeug.security import safe_join

bp = Blueprint("handbook", __name__)


@bp.get("/")
def home():
    return render_template("home.html")


@bp.get("/handbook")
def handbook_root():
    return redirect("/handbook/", 301)


@bp.get("/handbook/", defaults={"path": ""})
@bp.get("/handbook/<path:path>")
def page(path):
    root = Path(current_app.config["HANDBOOK_DIR"])
    if not (root / "index.html").is_file():
        return render_template("handbook/missing.html"), 404
    if path == "" or path.endswith("/"):
        path += "index.html"
    else:
        target = safe_join(str(root), path)
        if target is not None and Path(target).is_dir():
            return redirect(f"/handbook/{path}/", 301)
    return send_from_directory(root, path, max_age=300)
