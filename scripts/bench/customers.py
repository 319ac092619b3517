"""Benchmark: importing 10,000 customers from a GBK CSV, then importing the same file again.

The floor, measured in the same run, is what any import must do: decode the bytes and split
them into CSV rows. The ratio import / floor says what checking each row and writing it to
the database cost on top. Runs on a fresh SQLite file, or PostgreSQL with --database-url.

    .venv/bin/python scripts/bench/customers.py [--rows 10000] [--database-url postgresql://…]
"""

import argparse
import csv
import io
import os
import random
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from miniapp_api import create_app  # noqa: E402
from miniapp_api.db import db  # noqa: E402
from miniapp_api.invitations import customers  # noqa: E402
from miniapp_api.migrations import migrate  # noqa: E402
from miniapp_api.models import Customer  # noqa: E402

REGIONS = ["杭州", "宁波", "温州", "上海", "苏州", "南京", "合肥", "福州"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"


def make_file(rows: int) -> bytes:
    rng = random.Random(7)
    lines = ["客户编号,姓名,地区,累计消费,最近活跃,手机"]
    for n in range(rows):
        name = rng.choice(SURNAMES) + rng.choice("丽静娜敏强伟芳军洋勇艳杰娟涛明超")
        amount = f"{rng.randint(0, 5_000_000) / 100:.2f}"
        day = f"2026-{rng.randint(1, 10):02d}-{rng.randint(1, 28):02d}"
        phone = f"13{rng.randint(0, 999_999_999):09d}" if n % 3 else ""
        lines.append(f"C{n:06d},{name},{rng.choice(REGIONS)},{amount},{day},{phone}")
    return ("\r\n".join(lines) + "\r\n").encode("gbk")


def floor(data: bytes) -> float:
    start = time.perf_counter()
    sum(1 for _ in csv.reader(io.StringIO(data.decode("gbk"), newline="")))
    return time.perf_counter() - start


@contextmanager
def scratch_schema(url: str | None):
    """On PostgreSQL, a schema of the benchmark's own, dropped afterwards: nothing is left in
    the database it was pointed at."""
    if not url:
        yield None
        return
    import psycopg2

    name = f"bench_{os.getpid()}"
    with psycopg2.connect(url) as conn, conn.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {name}")
    sep = "&" if "?" in url else "?"
    try:
        yield f"{url}{sep}options={quote(f'-csearch_path={name}')}"
    finally:
        db.close_all()  # pooled connections would hold the schema open
        with psycopg2.connect(url) as conn, conn.cursor() as cursor:
            cursor.execute(f"DROP SCHEMA {name} CASCADE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    data = make_file(args.rows)
    with tempfile.TemporaryDirectory() as tmp, scratch_schema(args.database_url) as url:
        url = url or f"sqlite:///{tmp}/bench.sqlite3"
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "HASH_KEY": "bench"})
        with app.app_context(), db.connection_context():
            migrate()
            Customer.delete().execute()
            base = min(floor(data) for _ in range(3))
            start = time.perf_counter()
            first = customers.import_customers(data, lambda phone: f"h{phone}")
            took = time.perf_counter() - start
            start = time.perf_counter()
            again = customers.import_customers(data, lambda phone: f"h{phone}")
            took_again = time.perf_counter() - start
            stored = Customer.select().count()
            Customer.delete().execute()
    kind = url.split(":", 1)[0]
    print(f"{args.rows} customers, GBK CSV of {len(data) / 1024:.0f} KB, database {kind}")
    print(f"floor (decode + split into rows)  {base * 1000:8.1f} ms")
    print(
        f"first import                      {took * 1000:8.1f} ms   {args.rows / took:8.0f} rows/s"
        f"   ratio {took / base:.1f}× the floor"
        f"   ({first.created} new, {len(first.errors)} refused)"
    )
    print(
        f"same file again                   {took_again * 1000:8.1f} ms   "
        f"{args.rows / took_again:8.0f} rows/s   ({again.created} new, {again.unchanged} unchanged)"
    )
    assert stored == args.rows, f"expected {args.rows} stored, found {stored}"


if __name__ == "__main__":
    main()
