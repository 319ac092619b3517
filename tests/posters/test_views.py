"""Channel posters: the QR on every poster decodes to exactly its live-code link."""

import io

import pytest
import zxingcpp
from helpers import PUBLIC_URL, make_campaign, make_channel, make_group
from PIL import Image

from miniapp_api import demo
from miniapp_api.livecode.rules import join_url
from miniapp_api.posters import render


def decode(data: bytes) -> list[str]:
    image = Image.open(io.BytesIO(data))
    return [b.text for b in zxingcpp.read_barcodes(image.convert("RGB"))]


@pytest.fixture
def store(app):
    campaign = make_campaign(slug="store", title="沙县母婴店 · 开业会员群", promise="进群领新人券")
    for code, label in demo.CHANNELS:
        make_channel(campaign, code, label)
    make_group(campaign)
    return campaign


@pytest.mark.parametrize(("ext", "mimetype", "magic"), [
    ("png", "image/png", b"\x89PNG"),
    ("jpg", "image/jpeg", b"\xff\xd8\xff"),
])  # fmt: skip
def test_every_channel_poster_decodes_to_its_join_url(client, store, ext, mimetype, magic):
    for code in [None, *(c for c, _ in demo.CHANNELS)]:
        response = client.get(f"/posters/store.{ext}", query_string={"c": code} if code else {})
        assert response.status_code == 200
        assert response.mimetype == mimetype and response.data.startswith(magic)
        assert Image.open(io.BytesIO(response.data)).size == (1080, 1920)
        assert decode(response.data) == [join_url(PUBLIC_URL, "store", code)]


def test_posters_are_cached_by_content(app, client, store, tmp_path):
    client.get("/posters/store.png?c=counter")
    cached = list((tmp_path / "poster-cache").iterdir())
    assert len(cached) == 1
    cached[0].write_bytes(cached[0].read_bytes())  # same file served again, not re-rendered
    before = cached[0].stat().st_mtime_ns
    assert client.get("/posters/store.png?c=counter").status_code == 200
    assert cached[0].stat().st_mtime_ns == before
    client.get("/posters/store.png?c=moments")
    assert len(list((tmp_path / "poster-cache").iterdir())) == 2


def test_changing_the_public_url_changes_every_poster(app, client, store):
    app.config["PUBLIC_URL"] = "https://backup-domain.example.cn"
    response = client.get("/posters/store.jpg?c=live")
    assert decode(response.data) == ["https://backup-domain.example.cn/j/store?c=live"]


@pytest.mark.parametrize(
    "url",
    ["/posters/nope.png", "/posters/store.gif", "/posters/store.png?c=unknown",
     "/posters/store.png?c=门店", "/posters/门店.png", "/posters/store.svg"],
)  # fmt: skip
def test_bad_poster_requests_get_a_friendly_404(client, store, url):
    response = client.get(url)
    assert response.status_code == 404
    assert "没有找到这个页面" in response.get_data(as_text=True)


def test_render_posters_command_writes_decodable_files(runner, store, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(args=["render-posters", "store", "--out", str(out)])
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in out.iterdir())
    assert len(files) == 8  # (no channel + 3 channels) × (png + jpg)
    for path in out.iterdir():
        code = path.stem.removeprefix("store-")
        expected = join_url(PUBLIC_URL, "store", None if code == "all" else code)
        assert decode(path.read_bytes()) == [expected], path.name


def test_render_posters_for_unknown_campaign_fails_clearly(runner, tmp_path):
    result = runner.invoke(args=["render-posters", "nope", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "No campaign 'nope'" in result.output


def test_shipped_font_draws_everything_the_layouts_and_demo_print():
    texts = [demo.CAMPAIGN["title"], demo.CAMPAIGN["promise"]]
    texts += [label for _, label in demo.CHANNELS]
    texts += [name for name, *_ in demo.GROUPS]
    for name in render.available_layouts():
        layout = render.load_layout(name)
        texts += [layer["text"] for layer in layout["layers"] if isinstance(layer.get("text"), str)]
        texts += [v for v in layout.get("defaults", {}).values() if isinstance(v, str)]
    assert len(texts) > 8
    for weight in ("regular", "bold"):
        assert render.missing_glyphs("".join(texts), weight) == set()
