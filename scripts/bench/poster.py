"""Benchmark: one personal poster against the floor any poster pays, and a 200-member batch.

The floor is measured in the same run by a bare script of what no renderer can skip: make
the QR code, scale it, paste it onto a 1080×1920 canvas and encode the image. The ratio
poster / floor says what the layout (gradient, shapes, avatar, text) costs on top. The batch
runs the CLI's own function, `write_poster_zip`, on a fresh SQLite database.

    .venv/bin/python scripts/bench/poster.py [--rounds 5] [--format jpeg|png] [--batch 200]
"""

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

import qrcode
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from miniapp_api import create_app  # noqa: E402
from miniapp_api.db import db  # noqa: E402
from miniapp_api.livecode.rules import create_campaign  # noqa: E402
from miniapp_api.migrations import migrate  # noqa: E402
from miniapp_api.models import Member  # noqa: E402
from miniapp_api.posters import render  # noqa: E402
from miniapp_api.posters.rules import initial_avatar, write_member_posters  # noqa: E402
from miniapp_api.referrals import rules as referrals  # noqa: E402

PUBLIC_URL = "https://qun.example.cn"
SAVE = {"jpeg": {"quality": 90, "subsampling": 0}, "png": {"compress_level": 3}}


def floor(url: str, fmt: str) -> bytes:
    """QR generation + paste + encode, and nothing else."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    code.add_data(url)
    code.make(fit=True)
    modules = code.make_image().get_image().convert("RGB")
    side = modules.width * (620 // modules.width)
    canvas = Image.new("RGB", (1080, 1920), "#FFFFFF")
    canvas.paste(modules.resize((side, side), Image.Resampling.NEAREST), (230, 960))
    out = io.BytesIO()
    canvas.save(out, fmt.upper(), **SAVE[fmt])
    return out.getvalue()


def poster(url: str, fmt: str, avatar: bytes) -> bytes:
    content = {
        "avatar": avatar,
        "nickname": "快乐的小红",
        "title": "好友同享群",
        "subtitle": "邀请 3 位朋友得 9 折券，朋友也有新人券",
        "qr_url": url,
    }
    return render.render_poster(render.load_layout("member"), content, fmt)


def timed(fn, rounds: int, per_round: int = 20) -> float:
    """Median seconds per call over `rounds` rounds; each URL differs, as members' do."""
    samples = []
    for r in range(rounds):
        start = time.perf_counter()
        for i in range(per_round):
            fn(f"{PUBLIC_URL}/j/fission?r=m{r:03d}{i:04d}")
        samples.append((time.perf_counter() - start) / per_round)
    return statistics.median(samples)


def batch(size: int, fmt: str) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3",
                "SECRET_KEY": "bench",
                "HASH_KEY": "bench",
                "PUBLIC_URL": PUBLIC_URL,
            }
        )
        with app.app_context(), db.connection_context():
            migrate()
            campaign = create_campaign("fission", "好友同享群", promise="邀请 3 位朋友得 9 折券")
            referrals.set_up_program(campaign)
            rows = [
                {
                    "campaign": campaign.id,
                    "code": f"m{n:07d}",
                    "nickname": f"会员{n}",
                    "visitor": f"v{n}",
                }
                for n in range(size)
            ]
            Member.insert_many(rows).execute()
            members = list(Member.select().order_by(Member.id))
            start = time.perf_counter()
            write_member_posters(campaign, members, Path(tmp) / "posters.zip", fmt, PUBLIC_URL)
            return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--format", choices=["jpeg", "png"], default="jpeg")
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args()
    avatar = initial_avatar("快乐的小红")
    poster(f"{PUBLIC_URL}/j/warm-up", args.format, avatar)  # fonts and background cached
    floor(f"{PUBLIC_URL}/j/warm-up", args.format)
    base = timed(lambda url: floor(url, args.format), args.rounds)
    one = timed(lambda url: poster(url, args.format, avatar), args.rounds)
    print(f"format {args.format}, median of {args.rounds} rounds of 20")
    print(f"floor (QR + paste + encode) {base * 1000:7.1f} ms")
    print(f"personal poster             {one * 1000:7.1f} ms   ratio {one / base:.2f}× the floor")
    seconds = batch(args.batch, args.format)
    print(
        f"batch of {args.batch} into a zip      {seconds:7.1f} s    "
        f"{seconds / args.batch * 1000:.1f} ms per poster"
    )


if __name__ == "__main__":
    main()
