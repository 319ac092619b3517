"""Smoke test of the package as a user installs it: no checkout, a fresh venv, another folder.

    python scripts/smoke_wheel.py [--keep]

Builds an sdist of this checkout and a wheel from that sdist (as pip does from PyPI), installs
the wheel into a fresh venv in a temporary folder outside the checkout, and from another
temporary folder runs `qunbook init-db`, `qunbook demo` and `qunbook serve` on a spare port.
Then checks that the handbook, the demo live code, its poster (whose QR must decode to the
demo's join URL), a static file and the console's login page answer 200 (in English too, for
a browser that asks for it); that the instance folder (database, secrets, poster cache) is the
working folder's; that nothing was written into the venv; and that PostgreSQL without the
`postgres` extra is a message, not a traceback.
Every wait is bounded; exits 1 with the reason on the first failure. The venv is made with
the Python running this script, so `python3.13 scripts/smoke_wheel.py` tries 3.13.
"""

import gzip
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import closing, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class Failed(Exception):
    pass


def main() -> int:
    keep = "--keep" in sys.argv[1:]
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="qunbook-smoke-"))
    try:
        smoke(tmp)
    except Failed as failure:
        print(f"smoke_wheel: FAILED: {failure}\n(files kept in {tmp})", file=sys.stderr)
        return 1
    if keep:
        print(f"files kept in {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    python = sys.version.split()[0]
    print(f"smoke_wheel: OK in {time.monotonic() - started:.0f} s (Python {python})")
    return 0


def smoke(tmp: Path):
    wheel = build_wheel(tmp)
    print(f"wheel: {wheel.name}, {wheel.stat().st_size / 1e6:.1f} MB")

    venv = tmp / "venv"
    step("fresh venv", [sys.executable, "-m", "venv", str(venv)])
    step("install the wheel", [venv / "bin/python", "-m", "pip", "install", "-q", wheel], 600)
    qunbook = venv / "bin/qunbook"
    # From a folder of its own: Python puts the current folder first on the path of a -c script.
    found = run([venv / "bin/python", "-c", WHERE], cwd=tmp).stdout.split()
    where = [Path(path).resolve() for path in found]
    site = where[0]
    if not all(path.is_relative_to(site) for path in where):
        raise Failed(f"the installed package or its files are not in {site}: {where}")
    before = snapshot(venv)

    work = tmp / "work"
    work.mkdir()
    port = free_port()
    env = kit_env(port)
    step("qunbook --help", [qunbook, "--help"], cwd=work, env=env)
    step("qunbook init-db", [qunbook, "init-db"], cwd=work, env=env)
    step("qunbook demo", [qunbook, "demo"], cwd=work, env=env)
    check_postgres_without_its_extra(qunbook, work, env)

    base = f"http://127.0.0.1:{port}"
    serve = [qunbook, "serve", "--port", str(port), "--workers", "1"]
    with serving(serve, work, env, port, tmp / "serve.log"):
        body = get(f"{base}/handbook/", "text/html")
        if "Qunbook 社群运营手册" not in body.decode():
            raise Failed("/handbook/ answered, but not with the built handbook")
        # The sdist has no .git: its handbook/reviewed.json keeps each page's review date.
        reviewed = subprocess.run(
            ["git", "log", "-1", "--format=%cs", "--", "handbook/index.md"],
            cwd=ROOT, capture_output=True, text=True, check=False,
        ).stdout.strip()  # fmt: skip
        if reviewed and f"最后审阅：<time>{reviewed}</time>" not in body.decode():
            raise Failed(f"/handbook/ does not show its last-reviewed date {reviewed} from git")
        get(f"{base}/handbook/search/search_index.json", "application/json")
        # The wheel carries the gzip copies the build wrote, sent to browsers that take gzip.
        packed = get(f"{base}/handbook/", "text/html", {"Accept-Encoding": "gzip"})
        try:
            unpacked = gzip.decompress(packed)
        except OSError:
            unpacked = None
        if unpacked != body or len(packed) >= len(body):
            raise Failed("/handbook/ with Accept-Encoding: gzip is not the page, gzipped")
        # As a phone: the live code's cookie check redirects once, then shows an open group.
        if "/j/qr/" not in get(f"{base}/j/demo?c=counter", "text/html").decode():
            raise Failed("/j/demo?c=counter answered, but showed no group's QR")
        poster = tmp / "poster.png"
        poster.write_bytes(get(f"{base}/posters/demo.png?c=counter", "image/png"))
        get(f"{base}/static/app.css", "text/css")
        # The door page's QR decoder is vendored package data, not fetched from a CDN.
        get(f"{base}/static/vendor/jsQR.js", ("text/javascript", "application/javascript"))
        get(f"{base}/console/login", "text/html")
        # The English catalogue is package data: an English browser gets an English page.
        english = get(f"{base}/console/login", "text/html", {"Accept-Language": "en"}).decode()
        if "Staff login" not in english:
            raise Failed("/console/login with Accept-Language: en is not in English")

    decoded = run([venv / "bin/python", "-c", DECODE, poster], cwd=tmp).stdout.split()
    if decoded != [f"{base}/j/demo?c=counter"]:
        raise Failed(f"the poster's QR decodes to {decoded}, not {base}/j/demo?c=counter")

    for name in ("qunbook.sqlite3", "secrets.json", "poster-cache"):
        if not (work / "instance" / name).exists():
            raise Failed(f"no instance/{name} in the working folder {work}")
    written = sorted(changed(before, snapshot(venv)))
    if written:
        raise Failed(f"the kit wrote into its venv: {', '.join(written[:10])}")


def build_wheel(tmp: Path) -> Path:
    """An sdist first, then a wheel from it: the wheel can only hold what the sdist carries."""
    tools = tmp / "build-venv"
    dist = tmp / "dist"
    step("venv for the build tools", [sys.executable, "-m", "venv", str(tools)])
    step(
        "install build and setuptools",
        [tools / "bin/python", "-m", "pip", "install", "-q", "build", "setuptools>=77"],
        300,
    )
    # The sdist step only collects files; its build dependencies are the ones just installed.
    sdist_cmd = [tools / "bin/python", "-m", "build", "--sdist", "--no-isolation"]
    step("build the sdist", [*sdist_cmd, "--skip-dependency-check", "--outdir", dist, ROOT], 300)
    (sdist,) = dist.glob("qunbook-*.tar.gz")
    wheel_cmd = [tools / "bin/python", "-m", "pip", "wheel", "-q", "--no-deps", "-w", dist]
    step("build the wheel from the sdist (MkDocs builds the handbook)", [*wheel_cmd, sdist], 900)
    (wheel,) = dist.glob("qunbook-*.whl")
    return wheel


def check_postgres_without_its_extra(qunbook, work, env):
    postgres = {
        **env,
        "QUNBOOK_DATABASE_URL": "postgresql://qunbook@127.0.0.1:5432/qunbook",
        "QUNBOOK_SECRET_KEY": "smoke",
        "QUNBOOK_HASH_KEY": "smoke",
    }
    result = run([qunbook, "init-db"], cwd=work, env=postgres, check=False)
    if result.returncode != 1 or "qunbook[postgres]" not in result.stderr:
        raise Failed(f"PostgreSQL without its driver should name the extra: {result.stderr}")
    if "Traceback" in result.stderr:
        raise Failed(f"PostgreSQL without its driver gave a traceback: {result.stderr}")


@contextmanager
def serving(command, cwd, env, port, log_path):
    """The server in the background, in a process group of its own, ended on the way out."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(part) for part in command],
            cwd=cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_for_port(process, port, log_path)
            yield
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=10)


def wait_for_port(process, port: int, log_path: Path, seconds: int = 60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-20:])
            raise Failed(f"qunbook serve exited with {process.returncode}:\n{tail}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise Failed(f"qunbook serve did not listen on port {port} within {seconds} s")


# A phone's browser: it keeps cookies and says it is WeChat, so the live code takes it for a
# person (its cookie check, then a place counted), not for a bot.
PHONE = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
PHONE.addheaders = [("User-Agent", "Mozilla/5.0 (iPhone) Mobile MicroMessenger/8.0.50")]


def get(url: str, content_type: str | tuple[str, ...], headers: dict | None = None) -> bytes:
    try:
        with PHONE.open(urllib.request.Request(url, headers=headers or {}), timeout=30) as response:
            body = response.read()
            status, got = response.status, response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as error:
        raise Failed(f"GET {url} answered {error.code}, not 200") from None
    except OSError as error:
        raise Failed(f"GET {url} failed: {error}") from None
    if status != 200 or not got.startswith(content_type):
        raise Failed(f"GET {url} answered {status} {got}, not 200 {content_type}")
    print(f"GET {url.split('/', 3)[3]}: 200 {got}, {len(body)} bytes")
    return body


# Run by the kit's own Python: where the package, its assets and its handbook are.
WHERE = """
import sysconfig
from miniapp_api import kit
print(sysconfig.get_paths()["purelib"], kit.PACKAGE, kit.assets(), kit.built_handbook())
"""
DECODE = """
import sys, zxingcpp
from PIL import Image
print(*(found.text for found in zxingcpp.read_barcodes(Image.open(sys.argv[1]))))
"""


def clean_env() -> dict:
    """The caller's environment without Qunbook's settings or a path into this checkout."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("QUNBOOK_", "PYTHON", "VIRTUAL_ENV")) and key != "DATABASE_URL"
    }


def kit_env(port: int) -> dict:
    # The port the QR codes point at (PUBLIC_URL) is the one the server listens on.
    return {**clean_env(), "QUNBOOK_PORT": str(port)}


def snapshot(folder: Path) -> dict:
    """Every file's size and modification time; bytecode is left out (Python may cache
    compiled modules, which is not the kit writing)."""
    state = {}
    for path in folder.rglob("*"):
        if path.suffix != ".pyc":
            stat = path.lstat()
            state[str(path.relative_to(folder))] = (stat.st_size, stat.st_mtime_ns)
    return state


def changed(before: dict, after: dict):
    return (path for path, state in after.items() if before.get(path) != state)


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def step(what: str, command, timeout: int = 120, **kwargs):
    started = time.monotonic()
    result = run(command, timeout=timeout, **kwargs)
    print(f"{what}: {time.monotonic() - started:.2f} s")
    return result


def run(command, timeout: int = 120, check: bool = True, **kwargs):
    kwargs.setdefault("env", clean_env())
    args = [str(part) for part in command]
    try:
        result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kwargs)
    except subprocess.TimeoutExpired:
        raise Failed(f"{' '.join(args)} did not finish within {timeout} s") from None
    if check and result.returncode != 0:
        output = "\n".join((result.stdout + result.stderr).splitlines()[-30:])
        raise Failed(f"{' '.join(args)} exited with {result.returncode}:\n{output}")
    return result


if __name__ == "__main__":
    sys.exit(main())
