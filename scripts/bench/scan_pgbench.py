"""pgbench over the scan's own statements: do scans of one campaign queue on one row?

Creates a scratch PostgreSQL database, one campaign with three open groups as scan.py does,
and a pgbench script holding what a new visitor's scan runs (the live code's lookup with
the counted-today read, then the one statement that takes a place, the address's place and
stores the visit, outside a transaction as the app runs it), taken from livecode.rules.hot_sql
so it is the statements the app runs, prepared as the app prepares them (db.execute_prepared).
Runs it with 1 client and with 8 for the same time and prints both rates and their ratio;
drops the database. The groups' cut-offs are never reached, so every scan takes a place: each in a
share of its group's places (livecode/places.py) that no other scan holds, looking from a share
it draws.

    .venv/bin/python scripts/bench/scan_pgbench.py [--seconds 10] [--clients 8]
        [--postgres-url postgresql://postgres@127.0.0.1:5432/postgres]
"""

import argparse
import os
import re
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


def pgbench(url: str, path: Path, clients: int, seconds: int) -> float:
    out = subprocess.run(
        ["pgbench", "-n", "-M", "prepared", "-f", str(path), "-c", str(clients),
         "-j", str(min(clients, 4)), "-T", str(seconds), url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return float(re.search(r"tps = ([0-9.]+)", out)[1])


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
        db.close_all()
        with tempfile.TemporaryDirectory(prefix="qunbook-pgbench-") as scratch:
            path = Path(scratch) / "scan.sql"
            path.write_text(script(campaign_id))
            print(f"load average before: {uptime()}  ({os.cpu_count()} CPUs)")
            print(path.read_text())
            one, many = [], []
            for _ in range(args.rounds):
                one.append(pgbench(url, path, 1, args.seconds))
                many.append(pgbench(url, path, args.clients, args.seconds))
            rounds = ", ".join(f"{t:.0f}" for t in one)
            print(f"1 client : {max(one):8.0f} scans/s  (rounds: {rounds})")
            print(
                f"{args.clients} clients: {max(many):8.0f} scans/s  "
                f"(rounds: {', '.join(f'{t:.0f}' for t in many)})"
            )
            print(f"ratio    : {max(many) / max(one):8.2f}   (target >= 2)")
            print(f"load average after: {uptime()}")
    finally:
        db.close_all()
        drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
