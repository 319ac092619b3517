"""The PNG encoder that deflates a poster a band of rows at a time, reusing the bands every
member's poster shares: the file decodes to exactly the canvas, whatever the cache holds, and
the poster's QR still reads after WeChat shrinks and recompresses the picture."""

import io
import random
import zlib

import pytest
import zxingcpp
from PIL import Image

from miniapp_api.posters import render

URL = "https://qun.example.cn/j/fission?r=k7m2q9xa"


def member_content(**overrides) -> dict:
    return {
        "avatar": render.Initial("快乐的小红"),
        "nickname": "快乐的小红",
        "title": "好友同享群",
        "subtitle": "邀请 3 位朋友得 9 折券，朋友也有新人券",
        "qr_url": URL,
        **overrides,
    }


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.fixture
def empty_band_cache(monkeypatch):
    monkeypatch.setattr(render, "_band_cache", type(render._band_cache)())
    return render._band_cache


@pytest.mark.parametrize("size", [(1, 1), (5, 31), (7, 32), (13, 33), (300, 97), (1080, 1920)])
def test_any_canvas_decodes_to_exactly_its_pixels(size, empty_band_cache):
    noise = random.Random(size[0] * 10_000 + size[1]).randbytes(size[0] * size[1] * 3)
    canvas = Image.frombytes("RGB", size, noise)
    image = decoded(render.encode_png(canvas))
    assert image.format == "PNG" and image.mode == "RGB" and image.size == size
    assert image.tobytes() == canvas.tobytes()


def test_a_poster_is_the_same_file_whatever_the_band_cache_holds(empty_band_cache):
    layout = render.load_layout("member")
    cold = render.render_poster(layout, member_content(), "png")
    assert len(empty_band_cache) == -(-1920 // render.PNG_BAND_ROWS)
    # Another member fills the cache with the shared bands and bands of her own.
    other = render.render_poster(layout, member_content(nickname="王芳", qr_url=URL + "x"), "png")
    assert other != cold
    assert render.render_poster(layout, member_content(), "png") == cold
    empty_band_cache.clear()
    assert render.render_poster(layout, member_content(), "png") == cold


def test_a_band_is_reused_only_for_the_same_pixels_and_row_above(empty_band_cache):
    canvas = Image.new("RGB", (40, 96), "#0B7A43")
    first = render.encode_png(canvas)
    assert len(empty_band_cache) == 2  # the first band (zero row above), then the same rows
    canvas.putpixel((39, 95), (0, 0, 0))  # one pixel of the last band
    assert decoded(render.encode_png(canvas)).tobytes() == canvas.tobytes()
    canvas.putpixel((39, 95), (0x0B, 0x7A, 0x43))
    assert render.encode_png(canvas) == first


def test_the_band_cache_is_bounded(monkeypatch, empty_band_cache):
    monkeypatch.setattr(render, "BAND_CACHE_SIZE", 5)
    for shade in range(4):
        render.encode_png(Image.new("RGB", (8, 64), (shade, 0, 0)))
    assert len(empty_band_cache) == 5


def test_adler32_of_joined_bytes_from_the_parts():
    rng = random.Random(15)
    for _ in range(50):
        first, second = rng.randbytes(rng.randrange(0, 200_000)), rng.randbytes(rng.randrange(0, 9))
        combined = render._adler32_combine(zlib.adler32(first), zlib.adler32(second), len(second))
        assert combined == zlib.adler32(first + second)


def wechat_forwarded(data: bytes) -> Image.Image:
    """As WeChat passes a saved picture on: 540 px wide, JPEG quality 60."""
    image = decoded(data).convert("RGB")
    small = image.resize((540, 960), Image.Resampling.BILINEAR)
    out = io.BytesIO()
    small.save(out, "JPEG", quality=60)
    return decoded(out.getvalue())


@pytest.mark.parametrize("fmt", ["png", "jpeg"])
def test_a_personal_poster_still_scans_after_wechat_recompresses_it(fmt):
    data = render.render_poster(render.load_layout("member"), member_content(), fmt)
    assert [b.text for b in zxingcpp.read_barcodes(decoded(data))] == [URL]
    assert [b.text for b in zxingcpp.read_barcodes(wechat_forwarded(data))] == [URL]
