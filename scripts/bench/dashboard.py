"""Benchmark: a campaign's dashboard and its visits export at 1,000,000 visits.

Loads the visits straight into a scratch database it creates and drops (a SQLite file in a
temporary folder; on PostgreSQL a database qunbook_bench_<random>), evenly over the last
--days days up to now and in time order (as scans store them), from 5 channels and none, a
third by repeat visitors, one in ten a bot. Then,
through the app's test client (the whole Flask request: login cookie, the view, the template;
no HTTP server):

- the dashboard's first view, which counts every complete hour into the rollup once;
- the dashboard afterwards (30 and 90 days), interleaved with the queries it ran before the
  rollup (a direct count of every visit) for the ratio, median of --rounds;
- visits.csv and visits.xlsx in a fresh worker process: time, size, and its memory growth
  (peak RSS during the export minus RSS before it; Linux's clear_refs resets the peak).

    .venv/bin/python scripts/bench/dashboard.py [--visits 1000000] [--days 90]
        [--database sqlite|postgresql|both] [--postgres postgresql://postgres@127.0.0.1:5432/postgres]
"""

import argparse
import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from peewee import Case, fn  # noqa: E402

from miniapp_api import create_app  # noqa: E402
from miniapp_api.accounts import rules as accounts  # noqa: E402
from miniapp_api.db import db, is_sqlite  # noqa: E402
from miniapp_api.livecode import rules as livecode  # noqa: E402
from miniapp_api.migrations import migrate  # noqa: E402
from miniapp_api.models import Channel, Group, Visit, utcnow  # noqa: E402
from miniapp_api.visitors import HUMAN_AGENTS  # noqa: E402

PASSWORD = "bench-password-1"  # noqa: S105 -- a scratch database's only account
SLUG = "bench"
CHANNELS = 5


def config(url: str, tmp: str) -> dict:
    return {
        "DATABASE_URL": url,
        "SECRET_KEY": "bench",
        "HASH_KEY": "bench",
        "PUBLIC_URL": "https://qun.example.cn",
        "POSTER_CACHE_DIR": f"{tmp}/posters",
    }


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


@contextmanager
def scratch(kind: str, admin_url: str):
    """A database of the benchmark's own, removed afterwards whatever happens."""
    with tempfile.TemporaryDirectory() as tmp:
        if kind == "sqlite":
            yield f"sqlite:///{tmp}/bench.sqlite3", tmp
            db.close_all()
            return
        import psycopg2

        name = f"qunbook_bench_{secrets.token_hex(4)}"
        admin = psycopg2.connect(admin_url)
        admin.autocommit = True
        admin.cursor().execute(f"CREATE DATABASE {name}")
        try:
            yield admin_url.rsplit("/", 1)[0] + f"/{name}", tmp
        finally:
            db.close_all()  # pooled connections would keep the database open
            admin.cursor().execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            admin.close()


def load(visits: int, days: int) -> dict:
    """The campaign, its channels and groups, and `visits` visits over the last `days` days."""
    campaign = livecode.create_campaign(slug=SLUG, title="百万扫码直播间", promise="进群领券")
    channels = [livecode.add_channel(campaign, f"ch{i}", f"渠道{i}").id for i in range(CHANNELS)]
    groups = [livecode.add_group(campaign, f"{i}群", cutoff=500).id for i in range(3)]
    accounts.create_staff("bench", PASSWORD, "operator", "压测")
    now = utcnow()
    start = time.perf_counter()
    if is_sqlite():
        _load_sqlite(campaign.id, channels, groups, visits, days, now)
    else:
        _load_postgres(campaign.id, channels, groups, visits, days, now)
    took = time.perf_counter() - start
    if is_sqlite():
        db.execute_sql("ANALYZE")
    else:
        db.execute_sql("VACUUM ANALYZE")  # what autovacuum would have done by now
    return {"campaign": campaign.id, "load_s": took}


def _load_sqlite(campaign, channels, groups, visits, days, now):
    rng = random.Random(15)
    span = days * 86400
    agents = ["wechat"] * 6 + ["mobile", "mobile", "desktop", "bot"]

    def rows():
        for n in range(visits):
            agent = rng.choice(agents)
            human = agent in HUMAN_AGENTS
            outcome = rng.choice(("sent", "sent", "repeat", "full")) if human else "bot"
            # A third of the scans are by people who scanned before (another day, or again).
            visitor = f"v{rng.randrange(visits // 3) if n % 3 == 0 else n}"
            # In time order, as the live code stores them.
            at = now - timedelta(seconds=span * (visits - n) / visits)
            yield (
                campaign,
                rng.choice([*channels, None]),
                rng.choice(groups) if outcome == "sent" else None,
                visitor,
                agent,
                "h",
                outcome,
                None,
                at.isoformat(" "),
            )

    conn = db.connection()
    with db.atomic():
        conn.executemany(
            "INSERT INTO visit (campaign_id, channel_id, group_id, visitor, agent, ip_hash,"
            " outcome, counted_day, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows(),
        )


def _load_postgres(campaign, channels, groups, visits, days, now):
    # One statement: the server makes the rows (generate_series), as fast as it can write.
    db.execute_sql(
        """
        INSERT INTO visit (campaign_id, channel_id, group_id, visitor, agent, ip_hash, outcome,
                           counted_day, created_at)
        SELECT %(campaign)s, (%(channels)s::int[])[1 + (n * 7919) %% (%(nch)s + 1)],
               CASE WHEN o = 'sent' THEN (%(groups)s::int[])[1 + n %% 3] END,
               CASE WHEN n %% 3 = 0 THEN 'v' || (n * 104729) %% (%(visits)s / 3) ELSE 'v' || n END,
               a, 'h', o, NULL, %(now)s - make_interval(secs => %(span)s * (%(visits)s - n)
                                                                  / %(visits)s::float8)
        FROM (SELECT n, a,
                     CASE WHEN a = 'bot' THEN 'bot'
                          ELSE (ARRAY['sent', 'sent', 'repeat', 'full'])[1 + (n / 7) %% 4] END AS o
              FROM (SELECT n, (ARRAY['wechat', 'wechat', 'wechat', 'wechat', 'wechat', 'wechat',
                                     'mobile', 'mobile', 'desktop', 'bot'])[1 + (n * 31) %% 10] AS a
                    FROM generate_series(1::bigint, %(visits)s) AS n) AS numbered) AS made
        ORDER BY n  -- in time order, as the live code stores them
        """,
        {
            "campaign": campaign,
            # channel "None" is the last slot: an index past the array's end gives NULL
            "channels": [*channels],
            "nch": len(channels),
            "groups": groups,
            "visits": visits,
            "now": now,
            "span": days * 86400,
        },
    )


def login(app):
    import re

    client = app.test_client()
    page = client.get("/console/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
    answer = client.post(
        "/console/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token}
    )
    assert answer.status_code == 302, answer.status_code
    return client


def timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def dashboard(client, days: int):
    answer = client.get(f"/console/campaigns/{SLUG}/dashboard?days={days}")
    assert answer.status_code == 200, answer.status_code


def direct_count(campaign: int):
    """The funnel and per-channel queries the dashboard ran before the rollup: every visit."""

    def count(condition):
        return fn.COALESCE(fn.SUM(Case(None, [(condition, 1)], 0)), 0)

    human = Visit.agent.in_(HUMAN_AGENTS)
    funnel = (
        Visit.select(
            count(human),
            fn.COUNT(Case(None, [(human, Visit.visitor)], None).distinct()),
            count(Visit.outcome == "sent"),
        )
        .where(Visit.campaign == campaign)
        .tuples()
        .get()
    )
    channels = (
        Visit.select(Visit.channel, count(human), count(Visit.outcome == "sent"))
        .where(Visit.campaign == campaign)
        .group_by(Visit.channel)
        .tuples()
    )
    return [int(n) for n in funnel], {c: (int(s), int(t)) for c, s, t in channels}


def same_as_direct(app, campaign: int) -> bool:
    """The dashboard's figures (rollup + visits since) against a direct count of every visit."""
    from miniapp_api.console import stats
    from miniapp_api.models import Campaign

    with app.app_context(), db.connection_context():
        figures = stats.campaign_stats(Campaign.get_by_id(campaign), "Asia/Shanghai", 7)
        funnel, channels = direct_count(campaign)
    codes = {c.code: c.id for c in Channel.select()}
    shown = {codes.get(c["code"]): (c["scans"], c["sent"]) for c in figures["channels"]}
    return [s["count"] for s in figures["funnel"]] == funnel and shown == channels


def measure_figures(app, campaign: int, rounds: int) -> dict:
    client = login(app)
    with app.app_context():
        cold = timed(lambda: dashboard(client, 30))
        warm30, warm90, direct = [], [], []
        for _ in range(rounds):  # interleaved: the machine's load varies
            warm30.append(timed(lambda: dashboard(client, 30)))
            warm90.append(timed(lambda: dashboard(client, 90)))
            with db.connection_context():
                direct.append(timed(lambda: direct_count(campaign)))
    return {
        "cold": cold,
        "warm30": statistics.median(warm30),
        "warm90": statistics.median(warm90),
        "warm_max": max(warm30 + warm90),
        "direct": statistics.median(direct),
    }


def export_worker(url: str, tmp: str, kind: str) -> None:
    """In a fresh process: one export through the test client, read chunk by chunk as a
    server would send it; prints JSON with time, bytes and memory."""
    app = create_app(config(url, tmp))
    client = login(app)
    client.get(f"/console/campaigns/{SLUG}/groups.{kind}").close()  # imports, first request
    before = _rss_kib()
    Path("/proc/self/clear_refs").write_text("5")  # the peak (VmHWM) starts again from here
    start = time.perf_counter()
    answer = client.get(f"/console/campaigns/{SLUG}/visits.{kind}", buffered=False)
    size, lines = 0, 0
    for chunk in answer.response:
        size += len(chunk)
        lines += chunk.count(b"\n")
    answer.close()
    took = time.perf_counter() - start
    print(
        json.dumps(
            {
                "seconds": took,
                "bytes": size,
                "lines": lines,
                "rss_before_mib": before / 1024,
                "peak_mib": _status("VmHWM") / 1024,
                "growth_mib": (_status("VmHWM") - before) / 1024,
            }
        )
    )


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def _rss_kib() -> int:
    return _status("VmRSS")


def measure_export(url: str, tmp: str, kind: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, __file__, "--export-worker", kind, "--url", url, "--tmp", tmp],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode:
        raise SystemExit(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(kind: str, args) -> None:
    with scratch(kind, args.postgres) as (url, tmp):
        app = create_app(config(url, tmp))
        with app.app_context(), db.connection_context():
            migrate()
            loaded = load(args.visits, args.days)
            stored = Visit.select().count()
            channels = Channel.select().count()
            assert Group.select().count() == 3
        print(f"\n== {kind}: {stored:,} visits over {args.days} days, {channels} channels")
        print(f"load {loaded['load_s']:.1f} s   ({uptime()})")
        figures = measure_figures(app, loaded["campaign"], args.rounds)
        print(f"dashboard, first view (counts every complete hour once) {figures['cold']:8.3f} s")
        print(
            f"dashboard after, median of {args.rounds}: 30 days {figures['warm30'] * 1000:7.1f} ms,"
            f" 90 days {figures['warm90'] * 1000:7.1f} ms, slowest {figures['warm_max'] * 1000:.1f}"
            " ms"
        )
        print(
            f"before the rollup: funnel + channel queries alone {figures['direct'] * 1000:8.1f} ms"
            f"  (ratio {figures['direct'] / figures['warm30']:.0f}× the whole dashboard now)"
        )
        exact = same_as_direct(app, loaded["campaign"])
        print(f"figures equal a direct count of every visit: {exact}")
        print(f"   ({uptime()})")
        for export in args.exports:
            result = measure_export(url, tmp, export)
            print(
                f"visits.{export}: {result['seconds']:6.1f} s, {result['bytes'] / 2**20:6.1f} MiB"
                f" sent, worker RSS {result['rss_before_mib']:.0f} MiB before, peak "
                f"{result['peak_mib']:.0f} MiB: grew {result['growth_mib']:.1f} MiB"
                + (f", {result['lines'] - 1:,} rows" if export == "csv" else "")
            )
        print(f"   ({uptime()})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visits", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--exports", nargs="*", default=["csv", "xlsx"])
    parser.add_argument("--export-worker", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--tmp", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.export_worker:
        export_worker(args.url, args.tmp, args.export_worker)
        return
    kinds = ("sqlite", "postgresql") if args.database == "both" else (args.database,)
    for kind in kinds:
        run(kind, args)


if __name__ == "__main__":
    main()
