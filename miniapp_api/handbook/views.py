"""The built handbook, served from the same process as the mini-app at /handbook/."""

import base64
import functools
import hashlib
import mimetypes
import re
from pathlib import Path

from flask import (
    Blueprint,
    current_app,
    redirect,
    render_template,
    request,
    send_file,
    send_from_directory,
)
from werkzeug.security import safe_join

bp = Blueprint("handbook", __name__)


@bp.get("/")
def home():
    return render_template("home.html")


@bp.get("/favicon.ico")
def favicon():
    # Browsers ask for it on every site; "no content" keeps their consoles free of 404s.
    return "", 204, {"Cache-Control": "public, max-age=86400"}


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
    response = compressed(root, path) or send_from_directory(root, path, max_age=300)
    if path.endswith(".html"):
        target = Path(safe_join(str(root), path))
        response.headers["Content-Security-Policy"] = handbook_policy(
            script_hashes(str(target), target.stat().st_mtime_ns)
        )
    return response


def compressed(root: Path, path: str):
    """The gzip copy the build wrote beside a text file (handbook/hooks/weight.py), for a
    client that accepts gzip: about a fifth of the bytes. None where there is no copy; a
    client that does not take gzip gets the plain file. (Every build rewrites the copies, so
    they are never staler than the files; an installed wheel sets no useful mtimes to compare.)"""
    target = safe_join(str(root), path)
    if target is None or not Path(target).is_file():
        return None
    packed = Path(target + ".gz")
    if not packed.is_file():
        return None
    if not request.accept_encodings["gzip"]:
        return vary(send_from_directory(root, path, max_age=300))
    mimetype = mimetypes.guess_type(path)[0] or "application/octet-stream"
    response = send_file(packed, mimetype=mimetype, max_age=300)
    response.headers["Content-Encoding"] = "gzip"
    return vary(response)


def vary(response):
    response.vary.add("Accept-Encoding")
    return response


# The theme's executable inline scripts (a few small snippets, the same on every page) are
# allowed by hash; JSON data blocks never run. Mermaid draws its diagrams with <style>
# elements, so styles may be inline; scripts may not.
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)([^>]*)>(.*?)</script>", re.S)


@functools.lru_cache(maxsize=1024)
def script_hashes(path: str, mtime_ns: int) -> tuple[str, ...]:
    html = Path(path).read_text(encoding="utf-8")
    found = []
    for attributes, body in INLINE_SCRIPT.findall(html):
        if "application/json" in attributes:
            continue
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        found.append(f"'sha256-{digest}'")
    return tuple(dict.fromkeys(found))


def handbook_policy(hashes: tuple[str, ...]) -> str:
    return (
        f"default-src 'self'; script-src 'self' {' '.join(hashes)}; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
        "worker-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
    )
