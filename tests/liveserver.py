"""Run the app under gunicorn on a loopback port, as production would (tests and benchmarks)."""

import os
import socket
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

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
    ):
        self.port = free_port()
        self.env = {**os.environ, **{f"QUNBOOK_{k}": str(v) for k, v in config.items()}}
        self.command = [
            sys.executable, "-m", "gunicorn",
            "--bind", f"127.0.0.1:{self.port}",
            "--workers", str(workers), "--threads", str(threads),
            "--worker-class", "gthread", "--log-level", "warning",
            *(["--pythonpath", pythonpath] if pythonpath else []),
            app,
        ]  # fmt: skip

    def __enter__(self) -> str:
        self.process = subprocess.Popen(self.command, env=self.env, cwd=ROOT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}")
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
