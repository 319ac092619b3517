"""Benchmark: the live-code scan endpoint against a bare Flask route, in the same run.

Starts the app under gunicorn (the production WSGI server) on loopback with a fresh SQLite
database (or PostgreSQL: --database-url), then drives both routes with the same bounded load:
every scan is a new person (a fresh visitor cookie each, as a phone has once the live code's
one cookie check has set it, from an address of its own behind one proxy), so each one runs
the whole counting path, the per-address limit included. Prints
requests/s and p99 latency of each, the ratio, and checks afterwards that every 2xx scan left
its visit row. Bounded: a fixed number of requests per round, and a time limit per request.

    .venv/bin/python scripts/bench/scan.py [--requests 2000] [--clients 8] [--rounds 3]
"""

import argparse
import http.client
import secrets
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from liveserver import LiveServer  # noqa: E402

from miniapp_api import create_app  # noqa: E402
from miniapp_api.db import db  # noqa: E402
from miniapp_api.livecode import rules as livecode  # noqa: E402
from miniapp_api.migrations import migrate  # noqa: E402
from miniapp_api.models import Group, Visit, utcnow  # noqa: E402

PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Mobile MicroMessenger/8.0.50"


def drive(port: int, path: str, requests: int, clients: int) -> dict:
    """`requests` GETs over `clients` keep-alive connections; statuses and latencies."""
    latencies: list[float] = []
    statuses: list[int] = []
    lock = threading.Lock()
    remaining = [requests]

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while True:
            with lock:
                if remaining[0] == 0:
                    break
                remaining[0] -= 1
            start = time.perf_counter()
            headers = {
                "User-Agent": PHONE,
                "Cookie": f"qb_v={secrets.token_urlsafe(16)}",
                "X-Forwarded-For": f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.7",
            }
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            elapsed = time.perf_counter() - start
            with lock:
                latencies.append(elapsed)
                statuses.append(response.status)
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    latencies.sort()
    return {
        "rps": len(latencies) / wall,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "ok": sum(200 <= s < 300 for s in statuses),
        "errors": sum(s >= 500 for s in statuses),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="per route per round")
    parser.add_argument("--clients", type=int, default=8, help="concurrent connections")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per route")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="qunbook-bench-"))
    config = {
        "DATABASE_URL": args.database_url or f"sqlite:///{tmp / 'bench.sqlite3'}",
        "SECRET_KEY": "bench",
        "HASH_KEY": "bench",
        "PUBLIC_URL": "http://127.0.0.1",
        # As deployed behind a proxy, with the per-address limit on: each scan comes from an
        # address of its own (X-Forwarded-For), so each one also takes a place of its address.
        "TRUSTED_PROXIES": 1,
    }
    create_app(config)
    with db.connection_context():
        migrate()
        campaign = livecode.create_campaign(f"bench-{int(time.time())}", "压测活动")
        livecode.add_channel(campaign, "counter", "门店前台")
        for n in range(3):
            group = livecode.add_group(campaign, f"压测{n + 1}群", cutoff=10_000_000)
            Group.update(qr_digest="x" * 64, qr_image=b"x", qr_generated_at=utcnow()).where(
                Group.id == group.id
            ).execute()
        visits_before = Visit.select().count()
    db.close_all()

    scan_path = f"/j/{campaign.slug}?c=counter"
    results = {"bare": [], "scan": []}
    with LiveServer(
        config, workers=args.workers, app="benchapp:app", pythonpath=str(ROOT / "scripts/bench")
    ) as base:
        port = int(base.rsplit(":", 1)[1])
        drive(port, "/_bare/", 200, args.clients)  # warm-up: imports, pools, templates
        drive(port, scan_path, 200, args.clients)
        scans_ok = 200
        for _ in range(args.rounds):
            results["bare"].append(drive(port, "/_bare/", args.requests, args.clients))
            run = drive(port, scan_path, args.requests, args.clients)
            results["scan"].append(run)
            scans_ok += run["ok"]

    with db.connection_context():
        visits = Visit.select().where(Visit.campaign == campaign.id).count() + 0 * visits_before
    db.close_all()

    def summary(name):
        runs = results[name]
        return statistics.median(r["rps"] for r in runs), max(r["p99_ms"] for r in runs)

    bare_rps, bare_p99 = summary("bare")
    scan_rps, scan_p99 = summary("scan")
    errors = sum(r["errors"] for runs in results.values() for r in runs)
    backend = "PostgreSQL" if config["DATABASE_URL"].startswith("postgres") else "SQLite (WAL)"
    print(
        f"gunicorn gthread, {args.workers} workers x 4 threads; {backend}; "
        f"{args.clients} clients; {args.rounds} rounds x {args.requests} requests per route"
    )
    print(f"bare Flask route : {bare_rps:8.0f} req/s   p99 {bare_p99:6.1f} ms")
    print(f"scan /j/<slug>   : {scan_rps:8.0f} req/s   p99 {scan_p99:6.1f} ms")
    print(f"ratio scan/bare  : {scan_rps / bare_rps:8.2f}   (target >= 0.5)")
    print(f"5xx responses    : {errors}")
    print(
        f"visit rows       : {visits} for {scans_ok} 2xx scans "
        f"({'every scan recorded' if visits == scans_ok else 'MISMATCH'})"
    )
    return 0 if visits == scans_ok and errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
