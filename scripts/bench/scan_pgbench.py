"""pgbench over the scan's own statements: do scans of one campaign queue on one row?

Creates a scratch PostgreSQL database, one campaign with three open groups as scan.py does,
and a pgbench script holding what a new visitor's scan runs (the live code's lookup with
the counted-today read, then the one statement that takes a place, the address's place and
stores the visit, outside a transaction as the app runs it), taken from livecode.rules.hot_sql
so it is the statements the app runs, prepared as the app prepares them (db.execute_prepared).
Runs it with 1 client and with 8 for the same time and prints both rates and their ratio,
beside the same for the lookup alone and for SELECT 1 (what this machine allows statements that
queue on nothing), with the machine's CPU time per run; drops the database. The groups'
cut-offs are never reached, so every scan takes a place: each in a share of its group's places
(livecode/places.py) that no other scan holds, looking from a share it draws.

    .venv/bin/python scripts/bench/scan_pgbench.py [--seconds 10] [--clients 8]
        [--postgres-url postgresql://postgres@127.0.0.1:5432/postgres]
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts/bench"))

from scan import scratch_postgres, set_up, uptime  # noqa: E402

from miniapp_api.db import db  # noqa: E402
from miniapp_api.livecode.places import SHARES  # noqa: E402
from miniapp_api.livecode.rules import hot_sql  # noqa: E402
from miniapp_api.models import Campaign  # noqa: E402


def bind(statement: str, *values: str) -> str:
    """The statement with its %s placeholders replaced, in order, by pgbench expressions."""
    parts = statement.split("%s")
    assert len(parts) == len(values) + 1, (statement, values)
    return "".join(p + v for p, v in zip(parts, values, strict=False)) + parts[-1]


def script(campaign_id: int) -> str:
    sql = hot_sql("%s")
    now, opened_after = "now()::timestamp", "(now() - interval '7 days')::timestamp"
    visitor, address = "'bench-' || :n", "md5(:a::text)"
    window, today = "date_trunc('hour', now())::timestamp", "current_date"
    quota = (str(campaign_id), address, window, "2")
    visit = (str(campaign_id), "NULL", visitor, "'wechat'", address, today, now)
    lines = [
        # Wide enough that no two scans of a run share a visitor or an address: the one
        # statement stops (divides by zero) when it meets a visitor counted meanwhile, as
        # the app then counts in a transaction, and pgbench would abort the client.
        r"\set n random(1, 9000000000000000000)",
        r"\set a random(1, 9000000000000000000)",
        # The share a scan looks for room from (livecode/places.py's share_start()).
        rf"\set s random(0, {SHARES - 1})",
        # The live code's lookup reads the visitor's membership and count today in the same
        # query.
        bind(sql["live_code"], "'counter'", visitor, visitor, today, opened_after, "'bench-plain'"),
        # Outside a transaction, as record_scan counts a new person (_count_person_at_once).
        bind(sql["count_person_once"], str(campaign_id), opened_after, ":s", *quota, *visit),
    ]
    # One command per line: SQL ends with a semicolon, a meta-command (\set) without one.
    lines = [re.sub(r"\s+", " ", line) for line in lines]
    return "".join(f"{line}\n" if "\\" in line else f"{line};\n" for line in lines)


def busy_ticks() -> int:
    """The machine's busy CPU time so far, in clock ticks (/proc/stat: all but idle and
    iowait)."""
    ticks = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(ticks) - ticks[3] - ticks[4]


def pgbench(url: str, path: Path, clients: int, seconds: int) -> tuple[float, float]:
    """(transactions a second, µs of the machine's CPU a transaction: pgbench's and the
    server's, the kernel's included)."""
    before = busy_ticks()
    out = subprocess.run(
        ["pgbench", "-n", "-M", "prepared", "-f", str(path), "-c", str(clients),
         "-j", str(min(clients, 4)), "-T", str(seconds), url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    tps = float(re.search(r"tps = ([0-9.]+)", out)[1])
    cpu = (busy_ticks() - before) / os.sysconf("SC_CLK_TCK") * 1e6 / (tps * seconds)
    return tps, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2, help="alternating 1 and N clients")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    url, drop = scratch_postgres(args.postgres_url)
    try:
        set_up({"DATABASE_URL": url, "SECRET_KEY": "bench", "HASH_KEY": "bench"})
        with db.connection_context():
            campaign_id = Campaign.get(Campaign.slug == "bench-plain").id
            # Off, dead row versions pile up for the whole run (a server's own setting).
            autovacuum = db.execute_sql("SHOW autovacuum").fetchone()[0]
        db.close_all()
        scan = script(campaign_id)
        # What the same pgbench reaches on this machine with statements that queue on
        # nothing: with 1 client pgbench and the server take turns on the cores, so N
        # clients can reach at most about cores x the 1-client rate even then.
        scripts = {
            "scan": scan,
            "its lookup alone": "".join(scan.splitlines(keepends=True)[:4]),
            "SELECT 1": "SELECT 1;\n",
        }
        with tempfile.TemporaryDirectory(prefix="qunbook-pgbench-") as scratch:
            paths = {}
            for name, text in scripts.items():
                paths[name] = Path(scratch) / f"{len(paths)}.sql"
                paths[name].write_text(text)
            print(f"load average before: {uptime()}  ({os.cpu_count()} CPUs)")
            print(f"the server's autovacuum: {autovacuum}")
            print(scan)
            runs = {name: {1: [], args.clients: []} for name in scripts}
            for _ in range(args.rounds):
                for name, path in paths.items():
                    for clients in (1, args.clients):
                        runs[name][clients].append(pgbench(url, path, clients, args.seconds))
            print(
                f"{'script':<17} {'1 client/s':>10} {f'{args.clients} clients/s':>12}"
                f" {'ratio':>6} {'CPU µs a run, 1 client':>23} {f'{args.clients} clients':>10}"
            )
            for name, by_clients in runs.items():
                one = max(by_clients[1])
                many = max(by_clients[args.clients])
                print(
                    f"{name:<17} {one[0]:>10.0f} {many[0]:>12.0f} {many[0] / one[0]:>6.2f}"
                    f" {statistics.median(c for _, c in by_clients[1]):>23.0f}"
                    f" {statistics.median(c for _, c in by_clients[args.clients]):>10.0f}"
                )
            scan_runs = runs["scan"]
            ratio = max(scan_runs[args.clients])[0] / max(scan_runs[1])[0]
            print(f"scan ratio: {ratio:.2f}   (target >= 2)")
            print(f"load average after: {uptime()}")
    finally:
        db.close_all()
        drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
