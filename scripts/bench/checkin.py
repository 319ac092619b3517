"""Benchmark: the 打卡 POST against a bare Flask POST on the same server, in the same run; and
the dashboard's stickiness figures at a million responses against a plain count of them.

Part 1 starts the app under gunicorn (as deployed) on loopback with a fresh SQLite database
(or PostgreSQL: --database-url), with a challenge on its day 10 and one participant per
request; every POST is a different member's check-in (its own visitor cookie and its own
member-form token), so each runs the whole path: parse, lock, insert, count, redirect.
One thread drives every connection (load.py, as scan.py does), so the load takes as little of
the server's cores as it can. Rounds alternate between the two routes. Afterwards every 303
must have left exactly one response row.

Part 2 fills a second challenge with --responses responses (28 days, ~36,000 participants in
two groups) and times checkins.stickiness.figures and by_group (what the dashboard runs)
against SELECT COUNT(*) of the same campaign's responses, interleaved, median of 5 each.

    .venv/bin/python scripts/bench/checkin.py [--requests 1000] [--clients 8] [--rounds 3]
        [--responses 1000000] [--database-url postgresql://...]
"""

import argparse
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

from load import Load, deployed

from miniapp_api import create_app
from miniapp_api.checkins import rules as checkins
from miniapp_api.checkins import stickiness
from miniapp_api.db import db
from miniapp_api.livecode import rules as livecode
from miniapp_api.localtime import to_local
from miniapp_api.migrations import migrate
from miniapp_api.models import Activity, Member, Participant, Response, utcnow
from miniapp_api.web.memberform import FIELD, token_for

PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Mobile MicroMessenger/8.0.50"
TZ = "Asia/Shanghai"


def challenge_on_day_ten(slug: str, title: str):
    campaign = livecode.create_campaign(slug, title)
    today = to_local(utcnow(), TZ).date()
    checkins.set_up_challenge(
        campaign, days=28, starts_on=today - timedelta(days=9), timezone=TZ, finish_days=21,
        reward="结营礼盒",
    )  # fmt: skip
    return campaign


def add_participants(campaign, count: int, prefix: str, groups=(None,)) -> list[int]:
    """`count` members in the challenge, by bulk insert; their member ids."""
    for start in range(0, count, 500):
        Member.insert_many(
            [
                {
                    "campaign": campaign.id,
                    "code": f"{prefix}{n:09d}",  # at most 16 characters, as the column
                    "nickname": f"会员{n}",
                    "visitor": f"{prefix}-visitor-{n:012d}",
                    "ip_hash": "",
                    "created_at": utcnow(),
                }
                for n in range(start, min(count, start + 500))
            ]
        ).execute()
    ids = [m.id for m in Member.select(Member.id).where(Member.campaign == campaign.id)]
    for start in range(0, len(ids), 500):
        Participant.insert_many(
            [
                {
                    "campaign": campaign.id,
                    "member": member_id,
                    "group": groups[n % len(groups)],
                    "first_day": 1,
                    "joined_at": utcnow(),
                }
                for n, member_id in enumerate(ids[start : start + 500], start=start)
            ]
        ).execute()
    return ids


def drive(port, path, bodies, cookies, clients) -> dict:
    """POST each body (with its cookie header) once, over `clients` keep-alive connections."""
    todo = iter(zip(bodies, cookies, strict=True))

    def next_request():
        item = next(todo, None)
        if item is None:
            return None
        body, cookie = item
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: {PHONE}\r\n"
            f"Cookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body, cookie

    load = Load(port, next_request, clients)
    run = load.run()
    return {**run, "redirects": load.statuses.count(303)}


def part_one(args, config, tmp: Path) -> bool:
    create_app(config)
    rounds, per_round = args.rounds, args.requests
    with db.connection_context():
        migrate()
        campaign = challenge_on_day_ten(f"bench-dk-{int(time.time())}", "压测打卡")
        members = add_participants(
            campaign, rounds * per_round + 1, f"b{int(time.time()) % 100_000}"
        )
        visitors = dict(
            Member.select(Member.id, Member.visitor).where(Member.id.in_(members)).tuples()
        )
    db.close_all()
    order = [visitors[m] for m in members]
    results = {"bare": [], "checkin": []}
    with deployed(config, tmp / "access.log", args.workers) as base:
        port = int(base.rsplit(":", 1)[1])
        for n in range(rounds):
            chunk = order[1 + n * per_round : 1 + (n + 1) * per_round]
            cookies = [f"qb_v={visitor}" for visitor in chunk]
            # Each member's form carries its own token, as the page gives it (web/memberform.py).
            bodies = [
                urlencode({FIELD: token_for(config["SECRET_KEY"], v), "note": "压测打卡"}).encode()
                for v in chunk
            ]
            results["bare"].append(drive(port, "/_bare/", bodies, cookies, args.clients))
            path = f"/c/{campaign.slug}/checkin"
            results["checkin"].append(drive(port, path, bodies, cookies, args.clients))
    with db.connection_context():
        stored = Response.select().where(Response.campaign == campaign.id).count()
    db.close_all()

    def summary(name):
        runs = results[name]
        return statistics.median(r["rps"] for r in runs), max(r["p99_ms"] for r in runs)

    bare_rps, bare_p99 = summary("bare")
    rps, p99 = summary("checkin")
    redirects = sum(r["redirects"] for r in results["checkin"])
    errors = sum(r["errors"] for runs in results.values() for r in runs)
    print(f"bare Flask POST     : {bare_rps:8.0f} req/s   p99 {bare_p99:6.1f} ms")
    print(f"打卡 POST /c/…/checkin: {rps:8.0f} req/s   p99 {p99:6.1f} ms")
    print(f"ratio checkin/bare  : {rps / bare_rps:8.2f}")
    print(f"5xx responses       : {errors}")
    ok = stored == redirects == rounds * per_round and errors == 0
    print(
        f"response rows       : {stored} for {redirects} check-ins "
        f"({'one each' if ok else 'MISMATCH'})"
    )
    return ok


def part_two(args, config) -> None:
    create_app(config)
    with db.connection_context():
        campaign = challenge_on_day_ten(f"bench-sticky-{int(time.time())}", "百万打卡")
        first = livecode.add_group(campaign, "一群")
        second = livecode.add_group(campaign, "二群")
        people = -(-args.responses // 28)
        started = time.perf_counter()
        members = add_participants(
            campaign, people, f"s{int(time.time()) % 100_000}", (first.id, second.id)
        )
        days = dict(
            Activity.select(Activity.number, Activity.id)
            .where((Activity.campaign == campaign.id) & (Activity.kind == "day"))
            .tuples()
        )
        group_of = {m: (first.id, second.id)[n % 2] for n, m in enumerate(members)}
        rows = (
            (campaign.id, days[d], m, group_of[m], "button", "", False, utcnow())
            for m in members
            for d in days
        )
        fields = [Response.campaign, Response.activity, Response.member, Response.group,
                  Response.how, Response.note, Response.hidden, Response.created_at]  # fmt: skip
        batch, inserted = [], 0
        with db.atomic():
            for row in rows:
                batch.append(row)
                if len(batch) == 1000 or inserted + len(batch) == args.responses:
                    Response.insert_many(batch, fields=fields).execute()
                    inserted += len(batch)
                    batch = []
                    if inserted >= args.responses:
                        break
        print(f"filled {inserted:,} responses for {people:,} participants "
              f"in {time.perf_counter() - started:.0f} s")  # fmt: skip
        if db.obj.__class__.__name__.startswith("Postgres"):
            db.execute_sql("ANALYZE")

        def count():
            return Response.select().where(Response.campaign == campaign.id).count()

        def dashboard():
            return stickiness.figures(campaign.id), stickiness.by_group(campaign.id)

        timings = {"count": [], "dashboard": []}
        for _ in range(5):
            for name, run in (("count", count), ("dashboard", dashboard)):
                started = time.perf_counter()
                run()
                timings[name].append(time.perf_counter() - started)
        base, figures = statistics.median(timings["count"]), statistics.median(timings["dashboard"])
        print(f"COUNT(*) of the campaign's responses : {base * 1000:8.1f} ms (median of 5)")
        print(f"stickiness figures + by group        : {figures * 1000:8.1f} ms (median of 5)")
        print(f"ratio dashboard/count                : {figures / base:8.2f}")
    db.close_all()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="per route per round")
    parser.add_argument("--clients", type=int, default=8, help="concurrent connections")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per route")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--responses", type=int, default=1_000_000, help="for part 2 (0: skip)")
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="qunbook-bench-") as scratch:
        return run(args, Path(scratch))


def run(args, tmp: Path) -> int:
    config = {
        "DATABASE_URL": args.database_url or f"sqlite:///{tmp / 'bench.sqlite3'}",
        "SECRET_KEY": "bench",
        "HASH_KEY": "bench",
        "PUBLIC_URL": "http://127.0.0.1",
    }
    backend = "PostgreSQL" if config["DATABASE_URL"].startswith("postgres") else "SQLite (WAL)"
    print(f"gunicorn (qunbook's worker), {args.workers} workers x 4 threads, access log on; "
          f"{backend}; {args.clients} clients; {args.rounds} rounds x {args.requests} requests "
          "per route")  # fmt: skip
    ok = part_one(args, config, tmp)
    if args.responses:
        part_two(args, config)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
