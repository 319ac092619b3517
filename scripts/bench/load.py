"""The benchmarks' load: one thread drives every connection from a selector, and what the
server's processes and the machine spent meanwhile."""

import os
import re
import selectors
import socket
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parents[1] / "tests"))

from liveserver import LiveServer  # noqa: E402

CONTENT_LENGTH = re.compile(r"content-length: *(\d+)")


def deployed(config: dict, access_log: Path, workers: int = 2) -> LiveServer:
    """The app with the bare routes beside it (benchapp.py) under gunicorn, as `qunbook serve`
    runs it: the kit's worker class, 4 threads a worker, an access log line per request."""
    return LiveServer(
        config,
        workers=workers,
        app="benchapp:app",
        pythonpath=str(BENCH),
        access_log=str(access_log),
        worker_class="miniapp_api.web.worker.Worker",
    )


class Load:
    """Sends requests over `clients` keep-alive connections for `seconds` (None: until
    `next_request` has no more), each connection's next as soon as its answer is whole.

    One thread serves every connection from a selector, with each request's bytes written
    out by hand: 32 http.client threads took about 0.3 ms of CPU per request on the cores
    the server runs on, and a thread woken by its answer queued for the GIL before it could
    read the clock, so the client's own waits showed up in the server's p99.
    """

    def __init__(self, port: int, next_request, clients: int, seconds: float | None = None):
        # next_request(): (the request's bytes, a key to tell which were answered 2xx), or
        # None when there is nothing more to send.
        self.port, self.next_request = port, next_request
        self.clients, self.seconds = clients, seconds
        self.latencies: list[float] = []
        self.statuses: list[int] = []
        self.failures = 0  # no answer (a worker killed mid-request): not acknowledged
        self.keys_ok: list[str] = []

    def _send(self, selector, connection: "Connection | None") -> None:
        """The next request, on `connection` or on a new connection in its place."""
        following = self.next_request()
        if following is None:
            if connection is not None:
                self._close(selector, connection)
            return
        if connection is None:
            sock = socket.create_connection(("127.0.0.1", self.port))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connection = Connection(sock)
            selector.register(sock, selectors.EVENT_READ, connection)
        request, connection.key = following
        connection.buffer, connection.started = b"", time.perf_counter()
        try:
            connection.sock.sendall(request)
        except OSError:
            self._lost(selector, connection)

    def _read(self, selector, connection: "Connection", deadline: float) -> None:
        """What came on `connection`; once its answer is whole, the next request."""
        answered = time.perf_counter()
        try:
            data = connection.sock.recv(65536)
        except OSError:
            data = b""
        if not data:
            self._lost(selector, connection)
            if answered < deadline:
                self._send(selector, None)
            return
        connection.buffer += data
        status, complete, keep = connection.answer()
        if not complete:
            return
        self.latencies.append(answered - connection.started)
        self.statuses.append(status)
        if 200 <= status < 300:
            self.keys_ok.append(connection.key)
        if answered < deadline and keep:
            self._send(selector, connection)
            return
        self._close(selector, connection)
        if answered < deadline:
            self._send(selector, None)

    def _lost(self, selector, connection) -> None:
        """No answer came on `connection` (its worker was killed): not acknowledged."""
        self.failures += 1
        self._close(selector, connection)

    @staticmethod
    def _close(selector, connection) -> None:
        selector.unregister(connection.sock)
        connection.sock.close()

    def run(self, during=None, meter=None) -> dict:
        """One round; `meter`: a callable giving the server's CPU seconds by part (server_cpu)."""
        selector = selectors.DefaultSelector()
        before = meter() if meter else {}
        idle = machine_ticks()
        began, cpu = time.perf_counter(), time.process_time()
        length = self.seconds if self.seconds is not None else float("inf")
        deadline, halfway = began + length, began + length / 2
        for _ in range(self.clients):
            self._send(selector, None)
        while selector.get_map():
            if during and time.perf_counter() >= halfway:
                during()
                during = None
            for key, _ in selector.select(timeout=0.05):
                self._read(selector, key.data, deadline)
            # A request with no answer in 10 s counts as lost, as http.client's timeout did.
            now = time.perf_counter()
            for key in list(selector.get_map().values()):
                if now - key.data.started > 10:
                    self._lost(selector, key.data)
        selector.close()
        wall, cpu = time.perf_counter() - began, time.process_time() - cpu
        after = meter() if meter else {}
        idle = [now - then for now, then in zip(machine_ticks(), idle, strict=True)]
        latencies = sorted(self.latencies)
        served = max(1, len(latencies))
        return {
            # The share of the machine's CPU time nobody used: a server held up by waits
            # (locks, commits) rather than by its cores.
            "idle": idle[0] / max(1, idle[1]),
            # The server's CPU per request, by part (the app's workers, the database server).
            "server_us": {part: (after[part] - before[part]) / served * 1e6 for part in after},
            "rps": len(latencies) / wall,
            # The load's own CPU per request, on the cores the server runs on.
            "client_us": cpu / max(1, len(latencies)) * 1e6,
            "p99_ms": latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000 if latencies else 0,
            "ok": sum(200 <= s < 300 for s in self.statuses),
            "errors": sum(s >= 500 for s in self.statuses) + self.failures,
        }


class Connection:
    """One keep-alive connection of a Load and the answer it is reading."""

    def __init__(self, sock):
        self.sock, self.buffer, self.started, self.key = sock, b"", 0.0, ""

    def answer(self) -> tuple[int, bool, bool]:
        """(status, whether the whole answer is in, whether the connection stays open)."""
        head_end = self.buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return 0, False, True
        head = self.buffer[:head_end].decode("latin-1").lower()
        status = int(head[9:12])
        keep = "connection: close" not in head
        body = len(self.buffer) - head_end - 4
        length = CONTENT_LENGTH.search(head)
        if length:
            return status, body >= int(length[1]), keep
        if "transfer-encoding: chunked" in head:
            return status, self.buffer.endswith(b"\r\n0\r\n\r\n"), keep
        raise RuntimeError(f"an answer with neither a length nor chunks: {head!r}")


TICK = os.sysconf("SC_CLK_TCK")


def machine_ticks() -> tuple[int, int]:
    """(idle, all) clock ticks of the machine's CPUs so far; waiting on I/O counts as idle."""
    fields = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return fields[3] + fields[4], sum(fields)


def server_cpu(master: int) -> dict[str, float]:
    """CPU seconds used so far by the app's workers and by the PostgreSQL server's processes
    (every process named postgres on the machine: the benchmark's own backends, mostly)."""
    seconds = {"app": 0.0, "database": 0.0}
    workers = set(worker_pids(master))
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # gone meanwhile
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        ticks = int(fields[11]) + int(fields[12])  # utime, stime
        if int(stat.parent.name) in workers:
            seconds["app"] += ticks / TICK
        elif name == "postgres":
            seconds["database"] += ticks / TICK
    return seconds


def worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children")
    return [int(p) for p in children.read_text().split()] if children.exists() else []
