"""Benchmark: a personal poster against the floor any poster pays, cold and cached.

Cold: in one process, rounds alternate the floor and the personal poster (A/B/A/B…), for PNG
(what members get) and JPEG. The floor is what no renderer can skip: make the QR code, scale
it, paste it onto a 1080×1920 canvas and encode the image with Pillow (JPEG at the renderer's
settings; PNG at compress_level 3, which the renderer used before it encoded in bands). The
ratio poster / floor, taken per round and then its median, says what the layout (gradient,
shapes, avatar, text) costs on top; each poster is another member (another nickname, initial
and QR link) of the same campaign, as in a real batch.

Cached: the app under gunicorn as `qunbook serve` runs it (its worker class, 2 workers × 4
threads, access log on), a fresh SQLite database and poster cache; a member's poster is
rendered once, then requested again and again over one keep-alive connection, in rounds
alternating with a bare Flask route mounted beside it (scripts/bench/benchapp.py) and with a
revalidation (If-None-Match, answered 304). Prints ms per request, p50 and p99.

Then a batch of members rendered into a zip by the CLI's own function. Everything lives in
one temporary folder, removed at the end.

    .venv/bin/python scripts/bench/poster.py [--rounds 7] [--per-round 20] [--requests 300]
                                             [--batch 200]
"""

import argparse
import http.client
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import qrcode
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from load import deployed  # noqa: E402

from miniapp_api import create_app  # noqa: E402
from miniapp_api.db import db  # noqa: E402
from miniapp_api.livecode.rules import create_campaign  # noqa: E402
from miniapp_api.migrations import migrate  # noqa: E402
from miniapp_api.models import Member  # noqa: E402
from miniapp_api.posters import render  # noqa: E402
from miniapp_api.posters.rules import write_member_posters  # noqa: E402
from miniapp_api.referrals import rules as referrals  # noqa: E402

PUBLIC_URL = "https://qun.example.cn"
TITLE, PROMISE = "好友同享群", "邀请 3 位朋友得 9 折券，朋友也有新人券"
# The floor encodes as Pillow does (the renderer's settings before its PNG went banded).
FLOOR_SAVE = {"jpeg": {"quality": 90, "subsampling": 0}, "png": {"compress_level": 3}}
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Mobile MicroMessenger/8.0.50"


def hanzi(n: int) -> str:
    """The n-th character of GB2312's first level (3,755 common hanzi, all in the font)."""
    row, cell = divmod(n % 3755, 94)
    return bytes([0xB0 + row, 0xA1 + cell]).decode("gb2312")


def floor(url: str, fmt: str, encoder=None) -> bytes:
    """QR generation + paste + encode, and nothing else; `encoder`: other than Pillow's."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    code.add_data(url)
    code.make(fit=True)
    modules = code.make_image().get_image().convert("RGB")
    side = modules.width * (620 // modules.width)
    canvas = Image.new("RGB", (1080, 1920), "#FFFFFF")
    canvas.paste(modules.resize((side, side), Image.Resampling.NEAREST), (230, 960))
    if encoder:
        return encoder(canvas, fmt)
    out = io.BytesIO()
    canvas.save(out, fmt.upper(), **FLOOR_SAVE[fmt])
    return out.getvalue()


def poster(n: int, fmt: str) -> bytes:
    """Member n's poster: a nickname (and so an initial avatar) and a link of their own."""
    nickname = f"{hanzi(n)}小红{n}"
    content = {
        "avatar": render.Initial(nickname),
        "nickname": nickname,
        "title": TITLE,
        "subtitle": PROMISE,
        "qr_url": f"{PUBLIC_URL}/j/fission?r=m{n:07d}",
    }
    return render.render_poster(render.load_layout("member"), content, fmt)


def run(fn, first: int, count: int) -> tuple[float, float]:
    """Seconds per call, wall clock and this thread's CPU time, over `count` calls."""
    wall, cpu = time.perf_counter(), time.thread_time()
    for n in range(first, first + count):
        fn(n)
    return (time.perf_counter() - wall) / count, (time.thread_time() - cpu) / count


def cold(fmt: str, rounds: int, per_round: int) -> dict:
    """Floor and poster in alternating rounds (the order flips each round)."""
    cases = {
        "floor": lambda n: floor(f"{PUBLIC_URL}/j/fission?r=f{n:07d}", fmt),
        "poster": lambda n: poster(n, fmt),
    }
    if fmt == "png":  # for the record: the floor with the renderer's own (banded) encoder
        cases["floor*"] = lambda n: floor(f"{PUBLIC_URL}/j/fission?r=g{n:07d}", fmt, render.encode)
    samples = {name: [] for name in cases}
    for fn in cases.values():  # warm-up: imports, fonts, the layout's background
        run(fn, 10**6, 3)
    counter = 0
    for number in range(rounds):
        order = list(cases) if number % 2 == 0 else list(reversed(cases))
        for name in order:
            samples[name].append(run(cases[name], counter, per_round))
            counter += per_round
    sizes = {name: len(fn(10**7)) for name, fn in cases.items()}
    return {"samples": samples, "sizes": sizes}


def report_cold(fmt: str, result: dict) -> float:
    samples, sizes = result["samples"], result["sizes"]
    ratios = [p[0] / f[0] for f, p in zip(samples["floor"], samples["poster"], strict=True)]
    cpu_ratios = [p[1] / f[1] for f, p in zip(samples["floor"], samples["poster"], strict=True)]
    print(f"{fmt.upper():4}  cold, median of {len(ratios)} interleaved rounds")
    for name in samples:
        wall = statistics.median(s[0] for s in samples[name]) * 1000
        cpu = statistics.median(s[1] for s in samples[name]) * 1000
        print(
            f"      {name:7} {wall:6.1f} ms wall {cpu:6.1f} ms CPU   {sizes[name] / 1024:5.0f} KiB"
        )
    ratio = statistics.median(ratios)
    print(
        f"      ratio   {ratio:6.2f}× the floor (rounds {min(ratios):.2f}–{max(ratios):.2f}; "
        f"CPU {statistics.median(cpu_ratios):.2f}×)   target ≤ 1.5"
    )
    if "floor*" in samples:
        other = [p[0] / f[0] for f, p in zip(samples["floor*"], samples["poster"], strict=True)]
        print(
            f"      (floor* encodes with the renderer's banded PNG encoder instead of Pillow's: "
            f"poster / floor* {statistics.median(other):.2f}×)"
        )
    return ratio


# ---- cached, through the server --------------------------------------------------------------


def serve_setup(tmp: Path) -> tuple[dict, str, str]:
    config = {
        "DATABASE_URL": f"sqlite:///{tmp / 'bench.sqlite3'}",
        "SECRET_KEY": "bench",
        "HASH_KEY": "bench",
        "PUBLIC_URL": PUBLIC_URL,
        "POSTER_CACHE_DIR": str(tmp / "poster-cache"),
    }
    create_app(config)
    visitor = "bench-visitor-0123456789abcdef"
    with db.connection_context():
        migrate()
        campaign = create_campaign("fission", TITLE, promise=PROMISE)
        referrals.set_up_program(campaign)
        member = referrals.join_without_referrals(
            campaign.id, nickname="快乐的小红", visitor=visitor
        )
        path = f"/r/fission/me/poster.png?v={member.code}"
    db.close_all()
    return config, path, visitor


def timed_requests(conn, path: str, count: int, headers: dict, status: int) -> list[float]:
    latencies = []
    for _ in range(count):
        start = time.perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        latencies.append(time.perf_counter() - start)
        if response.status != status:
            raise SystemExit(f"GET {path} answered {response.status}, expected {status}")
    return latencies


def cached(tmp: Path, rounds: int, requests: int) -> dict:
    config, path, visitor = serve_setup(tmp)
    server = deployed(config, tmp / "access.log")
    headers = {"User-Agent": PHONE, "Cookie": f"qb_v={visitor}"}
    with server as base:
        conn = http.client.HTTPConnection("127.0.0.1", int(base.rsplit(":", 1)[1]), timeout=30)
        conn.request("GET", path, headers=headers)  # the one render
        first = conn.getresponse()
        etag, body = first.getheader("ETag"), first.read()
        if first.status != 200 or not body.startswith(b"\x89PNG") or not etag:
            raise SystemExit(f"the poster route answered {first.status} without a PNG and ETag")
        cases = {
            "bare Flask route": ("/_bare/", headers, 200),
            "cached poster": (path, headers, 200),
            "304 revalidation": (path, {**headers, "If-None-Match": etag}, 304),
        }
        for args in cases.values():  # warm-up: both workers, every thread
            timed_requests(conn, *args[:1], 50, *args[1:])
        latencies = {name: [] for name in cases}
        for number in range(rounds):
            names = list(cases) if number % 2 == 0 else list(reversed(cases))
            for name in names:
                latencies[name] += timed_requests(conn, cases[name][0], requests, *cases[name][1:])
        conn.close()
    rendered = len(list((tmp / "poster-cache").glob("*.png")))
    return {"latencies": latencies, "rendered": rendered}


def report_cached(result: dict, rounds: int, requests: int) -> float:
    print(
        f"cached personal poster through gunicorn (kit worker, 2 workers × 4 threads, access "
        f"log on), one keep-alive connection, {rounds} interleaved rounds × {requests} requests"
    )
    p50s = {}
    for name, values in result["latencies"].items():
        values = sorted(values)
        p50s[name] = statistics.median(values) * 1000
        p99 = values[max(0, int(len(values) * 0.99) - 1)] * 1000
        print(f"      {name:17} p50 {p50s[name]:5.2f} ms   p99 {p99:6.2f} ms")
    print(
        f"      posters rendered: {result['rendered']} (all the timed requests cache hits); "
        f"target: cached ≤ 2 ms"
    )
    return p50s["cached poster"]


# ---- batch -----------------------------------------------------------------------------------


def batch(tmp: Path, size: int, fmt: str) -> float:
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{tmp}/batch.sqlite3",
            "SECRET_KEY": "bench",
            "HASH_KEY": "bench",
            "PUBLIC_URL": PUBLIC_URL,
        }
    )
    with app.app_context(), db.connection_context():
        migrate()
        campaign = create_campaign("batch", TITLE, promise=PROMISE)
        referrals.set_up_program(campaign)
        rows = [
            {
                "campaign": campaign.id,
                "code": f"m{n:07d}",
                "nickname": f"{hanzi(n)}{n}",
                "visitor": f"v{n}",
            }
            for n in range(size)
        ]
        Member.insert_many(rows).execute()
        members = list(Member.select().order_by(Member.id))
        start = time.perf_counter()
        write_member_posters(campaign, members, tmp / "posters.zip", fmt, PUBLIC_URL)
        seconds = time.perf_counter() - start
    db.close_all()
    return seconds


def load() -> str:
    return "load average " + " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds per case")
    parser.add_argument("--per-round", type=int, default=20, help="posters per cold round")
    parser.add_argument("--requests", type=int, default=300, help="requests per cached round")
    parser.add_argument("--batch", type=int, default=200, help="members in the zip (0: skip)")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, {load()} at the start")
    with tempfile.TemporaryDirectory(prefix="qunbook-poster-bench-") as name:
        tmp = Path(name)
        for fmt in ("png", "jpeg"):
            report_cold(fmt, cold(fmt, args.rounds, args.per_round))
        report_cached(cached(tmp, args.rounds, args.requests), args.rounds, args.requests)
        for fmt in ("png", "jpeg") if args.batch else ():
            (tmp / fmt).mkdir()
            seconds = batch(tmp / fmt, args.batch, fmt)
            print(
                f"{fmt.upper():4}  batch of {args.batch} into a zip   {seconds:5.1f} s   "
                f"{seconds / args.batch * 1000:.1f} ms per poster"
            )
    print(f"{load()} at the end")


if __name__ == "__main__":
    main()
