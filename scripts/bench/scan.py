"""Benchmark: the live-code scan against a bare Flask route, interleaved in the same run.

Starts the app as `qunbook serve` deploys it (gunicorn, its threaded worker, 2 workers x 4
threads, an access log line per request) on loopback, on a scratch SQLite file and on a
scratch PostgreSQL database it creates and drops. For each case (16 and 32 connections; new
and repeat visitors; a plain and a referral campaign) it alternates rounds of at least 5 s of
the bare route and of the scan, so both see the same machine, and prints per case the
requests/s, the ratio scan/bare and the p99, the share of the machine's CPU time left idle
during the scan's rounds (a server waiting on locks or commits rather than on its cores), the
server's CPU per request split between the app's workers and the database server, and the
load's own CPU per request (one thread drives every connection, so it takes as little of the
server's cores as it can). Afterwards it checks that every scan answered 2xx left its visit
row (acknowledged vs stored); --kill also SIGKILLs a worker in every scan round.

New visitors: every scan carries a fresh visitor cookie and the redirect's marker (a phone
back from the live code's one redirect, with the cookie it set) from an address of its own
behind one proxy, so each runs the whole counting path, the per-address limit included.
Repeat visitors: cookies counted earlier today.

    .venv/bin/python scripts/bench/scan.py [--clients 16 32] [--seconds 5] [--rounds 2]
        [--databases sqlite postgresql] [--postgres-url postgresql://postgres@127.0.0.1/postgres]
"""

import argparse
import os
import random
import secrets
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from load import Load, deployed, server_cpu, worker_pids

from miniapp_api import create_app
from miniapp_api.db import db
from miniapp_api.livecode import rules as livecode
from miniapp_api.migrations import migrate
from miniapp_api.models import Group, Visit, utcnow
from miniapp_api.referrals import rules as referrals

PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Mobile MicroMessenger/8.0.50"
CAMPAIGNS = ("plain", "referral")
VISITORS = ("new", "repeat")
REPEAT_POOL = 400  # visitor keys per campaign counted in the warm-up, scanned again later


def uptime() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def scan_requests(port: int, path: str, cookies=None, marked=False):
    """A scan's requests for a Load: a fresh visitor each (cookies None), else one drawn from
    the pool `cookies`; `marked`: the scan back from the cookie's redirect."""
    rng = random.Random()

    def next_request() -> tuple[bytes, str]:
        key = rng.choice(cookies) if cookies else secrets.token_urlsafe(16)
        # A new visitor's counted scan is the one back from the cookie's redirect, whose
        # URL carries the time it was sent (web/visitor.py's MARKER).
        marked_path = f"{path}&_qbv={int(time.time())}" if marked else path
        request = (
            f"GET {marked_path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: {PHONE}\r\n"
            f"Cookie: qb_v={key}\r\n"
            f"X-Forwarded-For: 10.{rng.randrange(256)}.{rng.randrange(256)}.7\r\n\r\n"
        )
        return request.encode(), key

    return next_request


def set_up(config: dict) -> dict[str, str]:
    """The scratch database's schema and two campaigns, each with three open groups."""
    create_app(config)
    paths = {}
    with db.connection_context():
        migrate()
        for name in CAMPAIGNS:
            campaign = livecode.create_campaign(f"bench-{name}", "压测活动", rules="进群请改备注。")
            livecode.add_channel(campaign, "counter", "门店前台")
            for n in range(3):
                group = livecode.add_group(campaign, f"压测{n + 1}群", cutoff=10_000_000)
                Group.update(qr_digest="x" * 64, qr_image=b"x", qr_generated_at=utcnow()).where(
                    Group.id == group.id
                ).execute()
            if name == "referral":
                referrals.set_up_program(campaign, count_on="sent", tiers=[(3, "9 折券")])
            paths[name] = f"/j/{campaign.slug}?c=counter"
    db.close_all()
    return paths


def stored_visits() -> dict[str, int]:
    with db.connection_context():
        rows = {
            slug: Visit.select()
            .join_from(Visit, livecode.Campaign)
            .where(livecode.Campaign.slug == f"bench-{slug}")
            .count()
            for slug in CAMPAIGNS
        }
    db.close_all()
    return rows


def bench_database(name: str, url: str, args, scratch: Path) -> tuple[list[str], bool]:
    config = {
        "DATABASE_URL": url,
        "SECRET_KEY": "bench",
        "HASH_KEY": "bench",
        "PUBLIC_URL": "http://127.0.0.1",
        # As deployed behind a proxy, with the per-address limit on: each new visitor comes
        # from an address of its own (X-Forwarded-For), so each one also takes a place of it.
        "TRUSTED_PROXIES": 1,
    }
    paths = set_up(config)
    server = deployed(config, scratch / f"access-{name}.log", args.workers)
    acknowledged = dict.fromkeys(CAMPAIGNS, 0)
    results: dict[tuple, dict[str, list]] = {}

    def kill_a_worker():
        os.kill(random.choice(worker_pids(server.process.pid)), signal.SIGKILL)

    with server as base:
        port = int(base.rsplit(":", 1)[1])
        # A killed worker takes its CPU time with it: no per-request CPU then.
        meter = None if args.kill else lambda: server_cpu(server.process.pid)
        Load(port, scan_requests(port, "/_bare/"), 8, 1).run()  # warm-up: imports, pools, templates
        pools = {}
        for campaign in CAMPAIGNS:
            warm = Load(port, scan_requests(port, paths[campaign], marked=True), 8, 1)
            warm.run()
            acknowledged[campaign] += len(warm.keys_ok)
            pools[campaign] = warm.keys_ok[:REPEAT_POOL]
        for clients in args.clients:
            for campaign in CAMPAIGNS:
                for visitor in VISITORS:
                    runs = results.setdefault(
                        (clients, campaign, visitor), {"bare": [], "scan": []}
                    )
                    cookies = pools[campaign] if visitor == "repeat" else None
                    for _ in range(args.rounds):
                        bare = Load(port, scan_requests(port, "/_bare/"), clients, args.seconds)
                        runs["bare"].append(bare.run(meter=meter))
                        scans = scan_requests(port, paths[campaign], cookies, cookies is None)
                        load = Load(port, scans, clients, args.seconds)
                        run = load.run(during=kill_a_worker if args.kill else None, meter=meter)
                        runs["scan"].append(run)
                        acknowledged[campaign] += run["ok"]
    stored = stored_visits()
    lines = [
        f"{name}: gunicorn (qunbook's worker), {args.workers} workers x 4 threads, access log on;"
        f" {args.rounds} interleaved rounds of {args.seconds:g} s per route and case",
        f"{'conns':>5} {'campaign':<9} {'visitors':<8} {'bare req/s':>10} {'scan req/s':>10}"
        f" {'ratio':>6} {'scan p99':>9} {'bare p99':>9} {'5xx/drop':>8} {'idle':>5}"
        + ("" if args.kill else "  server CPU µs/req: bare, scan app + database"),
    ]
    for (clients, campaign, visitor), runs in results.items():
        bare = statistics.median(r["rps"] for r in runs["bare"])
        scan = statistics.median(r["rps"] for r in runs["scan"])
        lines.append(
            f"{clients:>5} {campaign:<9} {visitor:<8} {bare:>10.0f} {scan:>10.0f}"
            f" {scan / bare:>6.2f} {max(r['p99_ms'] for r in runs['scan']):>7.1f}ms"
            f" {max(r['p99_ms'] for r in runs['bare']):>7.1f}ms"
            f" {sum(r['errors'] for r in runs['scan']):>8}"
            f" {statistics.median(r['idle'] for r in runs['scan']):>5.0%}"
            + ("" if args.kill else "  " + cpu_per_request(runs))
        )
    every = [r for runs in results.values() for r in runs["bare"]]
    scans = [r for runs in results.values() for r in runs["scan"]]
    lines.append(
        "the load's own CPU, on the same cores: "
        f"{statistics.median(r['client_us'] for r in every):.0f} µs a bare request, "
        f"{statistics.median(r['client_us'] for r in scans):.0f} µs a scan (medians)"
    )
    intact = True
    for campaign in CAMPAIGNS:
        # A scan killed with its worker may or may not have been stored; one acknowledged
        # (answered 2xx) must have been.
        ok = stored[campaign] >= acknowledged[campaign]
        bound = (
            ""
            if args.kill
            else (" (exactly)" if stored[campaign] == acknowledged[campaign] else "")
        )
        intact &= ok if args.kill else stored[campaign] == acknowledged[campaign]
        lines.append(
            f"{campaign} campaign: {acknowledged[campaign]} scans acknowledged, "
            f"{stored[campaign]} visit rows stored{bound}: "
            f"{'none lost' if ok else 'LOST ' + str(acknowledged[campaign] - stored[campaign])}"
        )
    return lines, intact


def cpu_per_request(runs: dict[str, list]) -> str:
    """The server's CPU per request (medians of the rounds): the bare route's (the app's
    workers and, on PostgreSQL, the database's, which it does not use), then the scan's."""

    def median(route: str, part: str) -> float:
        return statistics.median(r["server_us"][part] for r in runs[route])

    bare = median("bare", "app") + median("bare", "database")
    return f"{bare:>5.0f}, {median('scan', 'app'):>5.0f} + {median('scan', 'database'):<5.0f}"


def scratch_postgres(admin_url: str):
    """A database of its own on the server of `admin_url`: (url, drop)."""
    import psycopg2

    name = f"qunbook_bench_{os.getpid()}"
    admin = psycopg2.connect(admin_url)
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(admin_url)
    url = urlunsplit(parts._replace(path=f"/{name}"))

    def drop():
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()

    return url, drop


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[16, 32])
    parser.add_argument("--seconds", type=float, default=5.0, help="per round, at least 5")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds per case")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--kill", action="store_true", help="SIGKILL a worker in each scan round")
    args = parser.parse_args()

    print(f"load average before: {uptime()}  ({os.cpu_count()} CPUs)", flush=True)
    intact = True
    with tempfile.TemporaryDirectory(prefix="qunbook-bench-") as scratch:
        for name in args.databases:
            drop = None
            if name == "sqlite":
                url = f"sqlite:///{Path(scratch) / 'bench.sqlite3'}"
            else:
                url, drop = scratch_postgres(args.postgres_url)
            try:
                lines, ok = bench_database(name, url, args, Path(scratch))
            finally:
                db.close_all()
                if drop:
                    drop()
            intact &= ok
            print("\n".join(lines), flush=True)
    print(f"load average after: {uptime()}")
    return 0 if intact else 1


if __name__ == "__main__":
    sys.exit(main())
