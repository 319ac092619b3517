"""Run the app under gunicorn on a loopback port, as production would (tests and benchmarks)."""

import http.client
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path
from urllib.parse import urlsplit

from privacy_grep import TRAIL_ENV

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """`with LiveServer(config) as base_url:` — config keys become QUNBOOK_* variables."""

    def __init__(
        self,
        config: dict,
        workers: int = 2,
        threads: int = 4,
        app: str = "miniapp_api:create_app()",
        pythonpath: str | None = None,
        access_log: str | None = None,
        worker_class: str = "gthread",
    ):
        self.port = free_port()
        # In the suite, every server keeps its access log and its output (gunicorn's error log,
        # the app's records, tracebacks) in the trail, for the privacy grep (privacy_grep.py).
        trail = os.environ.get(TRAIL_ENV)
        self.output = None
        if trail:
            logs = Path(trail, "logs")
            logs.mkdir(parents=True, exist_ok=True)
            name = f"gunicorn-{self.port}-{secrets.token_hex(3)}"
            access_log = access_log or str(logs / f"{name}-access.log")
            self.output = logs / f"{name}-output.log"
        self.env = {**os.environ, **{f"QUNBOOK_{k}": str(v) for k, v in config.items()}}
        self.command = [
            sys.executable, "-m", "gunicorn",
            "--bind", f"127.0.0.1:{self.port}",
            "--workers", str(workers), "--threads", str(threads),
            "--worker-class", worker_class, "--log-level", "warning",
            # As `qunbook serve`: no raw address, no token in the access log.
            "--logger-class", "miniapp_api.web.worker.AccessLogger",
            *(["--access-logfile", access_log] if access_log else []),
            *(["--pythonpath", pythonpath] if pythonpath else []),
            app,
        ]  # fmt: skip

    def __enter__(self) -> str:
        # A process group of its own: a test can kill gunicorn and its workers at once
        # (os.killpg), as a crash or the OOM killer would, and never hits pytest.
        output = self.output.open("ab") if self.output else None
        self.process = subprocess.Popen(
            self.command,
            env=self.env,
            cwd=ROOT,
            process_group=0,
            stdout=output,
            stderr=output,
        )
        if output:
            output.close()  # the server holds its own copy
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                said = self.output.read_text(errors="replace") if self.output else ""
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}\n{said}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return f"http://127.0.0.1:{self.port}"
            except OSError:
                time.sleep(0.1)
        self.__exit__()
        raise RuntimeError("gunicorn did not start listening within 30 s")

    def __exit__(self, *exc):
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.output:
            # Still shown with the test's captured output, as when it went to stderr.
            sys.stderr.write(self.output.read_text(encoding="utf-8", errors="replace"))


PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) MicroMessenger/8.0.50"


def scan_many(base_url, path, scans, clients=16, keep_cookie=True, agent=PHONE):
    """`scans` GETs of `path` over `clients` keep-alive connections, each a new phone: the
    first answer (a redirect that sets the visitor cookie) is followed with that cookie
    (keep_cookie), or without it, as a client that keeps none. [(status, body), ...]"""
    host = urlsplit(base_url).netloc
    results: list[tuple[int, str]] = []
    lock = threading.Lock()
    todo = iter(range(scans))

    def client():
        conn = http.client.HTTPConnection(host, timeout=30)
        while True:
            with lock:
                if next(todo, None) is None:
                    break
            headers = {"User-Agent": agent}
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            body = response.read().decode()
            if response.status == 302:
                if keep_cookie:
                    headers["Cookie"] = response.getheader("Set-Cookie").split(";")[0]
                conn.request("GET", response.getheader("Location"), headers=headers)
                response = conn.getresponse()
                body = response.read().decode()
            with lock:
                results.append((response.status, body))
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    return results
