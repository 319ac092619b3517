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


class Renderer:
    """render_poster that records what it drew and fails past `budget` renders."""

    def __init__(self, real, budget=1):
        self.real, self.budget, self.drawn = real, budget, []

    def __call__(self, layout, content, fmt="png"):
        self.drawn.append((content["qr_url"], fmt))
        if len(self.drawn) > self.budget:
            raise AssertionError(f"rendered again: {self.drawn}")
        return self.real(layout, content, fmt)


def test_posters_are_cached_by_content(client, store, tmp_path, monkeypatch):
    renderer = Renderer(render.render_poster)
    monkeypatch.setattr(render, "render_poster", renderer)
    counter = join_url(PUBLIC_URL, "store", "counter")
    first = client.get("/posters/store.png?c=counter")
    assert first.status_code == 200 and renderer.drawn == [(counter, "png")]
    # Any further render would fail: the same poster can only come from the cache.
    for _ in range(3):
        again = client.get("/posters/store.png?c=counter")
        assert again.status_code == 200 and again.data == first.data
    assert renderer.drawn == [(counter, "png")]
    # Other content, or another format, is another poster: rendered once, then cached too.
    renderer.budget = 3
    for url in ("/posters/store.png?c=moments", "/posters/store.jpg?c=counter") * 2:
        assert client.get(url).status_code == 200
    moments = join_url(PUBLIC_URL, "store", "moments")
    assert renderer.drawn == [(counter, "png"), (moments, "png"), (counter, "jpeg")]
    assert len(list((tmp_path / "poster-cache").iterdir())) == 3


def test_a_poster_whose_content_changed_is_rendered_again(client, store, monkeypatch):
    renderer = Renderer(render.render_poster, budget=2)
    monkeypatch.setattr(render, "render_poster", renderer)
    before = client.get("/posters/store.png")
    store.__class__.update(title="换了标题").where(store.__class__.id == store.id).execute()
    after = client.get("/posters/store.png")
    assert before.status_code == after.status_code == 200 and before.data != after.data
    assert len(renderer.drawn) == 2


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
