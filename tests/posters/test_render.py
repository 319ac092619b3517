"""Poster renderer: QR payloads decode exactly, Chinese wraps properly, layouts stay put.

Every layout in assets/posters has a golden image, tests/posters/golden/<layout>.png, rendered
from fixed content (GOLDEN_CONTENT). After an intended layout change, regenerate them and look
at them before committing (see tests/posters/golden/README.md):

    QUNBOOK_REGEN_GOLDEN=1 .venv/bin/python -m pytest tests/posters/test_render.py -k matches_golden
"""

import copy
import io
import os
import re
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image, ImageChops, ImageStat

from miniapp_api.posters import render

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
# Mean absolute difference per channel (0-255) tolerated against a golden image, over the whole
# image and over each TILE×TILE tile: enough for FreeType anti-aliasing differences between
# machines, far below a moved or recoloured layer. The whole-image mean alone would miss a small
# layer moved (a channel label, a nickname: under 1.0); in the tile it left it is 20 or more.
GOLDEN_TOLERANCE = 1.0
TILE = 96
TILE_TOLERANCE = 8.0
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"


def make_content(**overrides) -> dict:
    content = {
        "title": "宝妈会员群（演示）",
        "subtitle": "每周三育儿直播 · 专属优惠券 · 专家答疑",
        "qr_url": "https://qunbook.example.com/j/baoma-demo?c=store-counter",
        "channel_label": "门店前台",
    }
    content.update(overrides)
    return content


@pytest.fixture(scope="module")
def campaign() -> dict:
    return render.load_layout("campaign")


def decode_qr(data: bytes) -> list[str]:
    with Image.open(io.BytesIO(data)) as image:
        return [barcode.text for barcode in zxingcpp.read_barcodes(image.convert("RGB"))]


def red_square_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (300, 200), "#FF0000").save(buffer, "PNG")
    return buffer.getvalue()


# ---- QR payload and format -----------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["png", "jpeg"])
@pytest.mark.parametrize(
    ("channel", "title", "url"),
    [
        (
            "门店前台",
            "宝妈会员群（演示）",
            "https://qunbook.example.com/j/baoma-demo?c=store-counter",
        ),
        (
            "朋友圈",
            "朋友圈专属：新会员进群领 ¥20 无门槛券",
            "https://qunbook.example.com/j/baoma-demo?c=moments&utm_source=poster",
        ),
        (
            "直播间",
            "28 天早起打卡挑战营，坚持到底赢取年度 SVIP 会员资格与限定周边礼盒（名额有限）",
            "https://qunbook.example.com/j/%E5%AE%9D%E5%A6%88?c=live%20room",
        ),
        ("合作方 HR 群", "职场妈妈互助群", "http://localhost:5000/j/demo?c=hr-partner"),
    ],
)
def test_poster_qr_decodes_to_exact_url(campaign, fmt, channel, title, url):
    data = render.render_poster(
        campaign, make_content(title=title, channel_label=channel, qr_url=url), fmt
    )

    assert decode_qr(data) == [url]


@pytest.mark.parametrize(
    ("fmt", "magic", "pil_format"), [("png", PNG_MAGIC, "PNG"), ("jpeg", JPEG_MAGIC, "JPEG")]
)
def test_poster_size_and_format(campaign, fmt, magic, pil_format):
    data = render.render_poster(campaign, make_content(), fmt)

    assert data.startswith(magic)
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == pil_format
        assert image.size == (1080, 1920)


def test_qr_is_crisp_black_and_white(campaign):
    """Whole-pixel modules and NEAREST scaling: the QR box holds no grey anti-aliased pixels."""
    data = render.render_poster(campaign, make_content(), "png")
    x, y, width, height = next(
        layer["box"] for layer in campaign["layers"] if layer["type"] == "qr"
    )

    with Image.open(io.BytesIO(data)) as image:
        qr_area = image.convert("L").crop((x, y, x + width, y + height))
    assert {value for _count, value in qr_area.getcolors()} == {0, 255}


# ---- wrapping -------------------------------------------------------------------------------


def assert_kinsoku(lines: list[str]) -> None:
    for line in lines[1:]:
        assert line[0] not in render.NO_LINE_START, lines
    for line in lines[:-1]:
        assert line[-1] not in render.NO_LINE_END, lines


@pytest.mark.parametrize(
    ("text", "chars_per_line"),
    [
        ("宝妈会员群（演示）每周三育儿直播专属优惠券专家答疑", 6),
        ("他说：「我们明天见。」然后离开了会场，大家都很开心！！", 5),
        ("进群规则：一、不发广告；二、不刷屏；三、友善交流。违者移出本群。", 7),
        ("《私域运营手册》第三章（试行）：陪聊的职责", 4),
        ("门店前台，朋友圈，直播间，合作方群，会员群。", 3),
        ("满 299 元减 50 元，VIP 会员再享 9.5 折", 8),
    ],
)
def test_wrap_chinese_fits_and_respects_kinsoku(text, chars_per_line):
    font = render.load_font("regular", 40)
    max_width = 40 * chars_per_line

    lines = render.wrap_text(text, font, max_width, max_lines=None)

    assert all(font.getlength(line) <= max_width for line in lines)
    assert_kinsoku(lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")


@pytest.mark.parametrize(
    ("text", "max_width", "expected"),
    [
        ("扫码进群", 400, ["扫码进群"]),
        ("扫码进群领福利", 160, ["扫码进群", "领福利"]),
        ("宝妈会员群，欢迎", 200, ["宝妈会员", "群，欢迎"]),  # ，pulls 群 down with it
        ("欢迎加入（演示）", 200, ["欢迎加入", "（演示）"]),
        ("欢迎（演示）", 120, ["欢迎", "（演", "示）"]),  # （ never ends a line
        ("Join the VIP group", 300, ["Join the VIP", "group"]),
        ("会员 WeChat 群", 200, ["会员", "WeChat 群"]),
        ("第一行\n第二行", 400, ["第一行", "第二行"]),
        ("", 400, []),
        ("   ", 400, []),
    ],
)
def test_wrap_text_table(text, max_width, expected):
    assert (
        render.wrap_text(text, render.load_font("regular", 40), max_width, max_lines=None)
        == expected
    )


@pytest.mark.parametrize(
    ("text", "max_lines"),
    [
        ("二十八天早起打卡挑战营坚持到底赢取年度会员资格", 2),
        ("买一送一，满二百九十九元再减五十元，名额有限先到先得", 1),
        ("新品预售（限时），会员专享（限量），门店自提（免运费）", 2),
    ],
)
def test_wrap_overflow_ends_with_ellipsis(text, max_lines):
    font = render.load_font("bold", 40)
    max_width = 40 * 6

    lines = render.wrap_text(text, font, max_width, max_lines)

    assert len(lines) == max_lines
    assert lines[-1].endswith("…")
    assert lines[-1][-2] not in "，、（"
    assert all(font.getlength(line) <= max_width for line in lines)


def test_wrap_keeps_latin_word_together_when_it_fits():
    font = render.load_font("regular", 40)

    lines = render.wrap_text("欢迎加入我们的 Community 社群", font, 320, max_lines=None)

    assert any("Community" in line for line in lines)


def test_wrap_breaks_word_longer_than_line():
    font = render.load_font("regular", 40)

    lines = render.wrap_text("Supercalifragilisticexpialidocious", font, 200, max_lines=None)

    assert len(lines) > 1
    assert all(font.getlength(line) <= 200 for line in lines)
    assert "".join(lines) == "Supercalifragilisticexpialidocious"


def test_wrap_drops_spaced_separator_at_line_break():
    font = render.load_font("regular", 40)

    lines = render.wrap_text("每周三育儿直播 · 专属优惠券", font, 320, max_lines=None)

    assert lines == ["每周三育儿直播", "专属优惠券"]


# ---- glyph coverage -------------------------------------------------------------------------


def static_texts(layout: dict) -> list[str]:
    texts = [layer["text"] for layer in layout["layers"] if "text" in layer]
    texts += [
        layer["template"].replace("{}", "") for layer in layout["layers"] if "template" in layer
    ]
    return texts + list(layout.get("defaults", {}).values())


@pytest.mark.parametrize("weight", ["regular", "bold"])
def test_layout_and_common_texts_have_every_glyph(campaign, weight):
    samples = [
        "宝妈会员群（演示）",
        "门店前台",
        "朋友圈",
        "直播间",
        "长按识别二维码",
        "满 ¥299 减 50 · VIP ✓ → ★ ％",
    ]

    for text in static_texts(campaign) + samples:
        assert render.missing_glyphs(text, weight) == set(), text


def test_the_share_card_prints_every_headline_and_fixed_text():
    from miniapp_api.posters.rules import checkin_headline

    layout = render.load_layout("checkin")
    headlines = [checkin_headline(done, streak) for done, streak in [(0, 0), (7, 3), (366, 366)]]
    assert headlines[:2] == ["打卡挑战，今天开始", "第 7 天 · 连续 3 天"]
    for text in static_texts(layout) + headlines:
        assert render.missing_glyphs(text, "bold") == set(), text


@pytest.mark.parametrize(
    ("text", "missing"),
    [
        ("会员群🎉", {"🎉"}),
        ("打卡👍加油", {"👍"}),
        ("𠮷野家", {"𠮷"}),  # outside GB2312 and the BMP
        ("鿰鿱", {"鿰", "鿱"}),  # recent CJK additions, outside GB2312
        ("会员 群\t", set()),
    ],
)
def test_missing_glyphs_reports_what_cannot_print(text, missing):
    assert render.missing_glyphs(text) == missing


@pytest.mark.parametrize(
    ("text", "unprintable"),
    [
        ("邀请好友送券🎁", ["🎁"]),
        ("☕咖啡☕𠀀", ["☕", "𠀀"]),  # each once, in order; 𠀀 is U+20000, outside the BMP
        ("会员\u202e群\u202c", ["\u202e", "\u202c"]),  # bidi override and pop: invisible
        ("家👨\u200d👩", ["👨", "\u200d", "👩"]),
        ("响铃\x07", ["\x07"]),
        ("★️好评 👍🏽", ["👍"]),  # a variation selector or a skin tone is no character of its own
        ("满 ¥299 减 50 · VIP ✓\n第二行\t", []),
    ],
)
def test_undrawable_names_what_a_poster_cannot_print_as_typed(text, unprintable):
    assert render.undrawable(text) == unprintable


def test_describe_names_a_character_and_never_shows_an_invisible_one():
    named = render.describe(["🎁", "\u202e", "\x07"], "、")
    assert named == "「🎁」(U+1F381)、U+202E RIGHT-TO-LEFT OVERRIDE、U+0007 CONTROL CHARACTER"


def pixels(layout, **content) -> bytes:
    data = render.render_poster(layout, make_content(**content), "png")
    with Image.open(io.BytesIO(data)) as image:
        return image.tobytes()


def test_what_the_font_lacks_prints_as_a_visible_box(campaign):
    """Stored text (rows saved before the forms checked) must never stop a poster: emoji and
    rare hanzi print as □, so staff see something is missing; the poster still scans."""
    data = render.render_poster(campaign, make_content(title="咖啡☕会员群𠀀", subtitle="送券🎁"))
    assert decode_qr(data) == [make_content()["qr_url"]]
    assert pixels(campaign, title="咖啡☕会员群𠀀", subtitle="送券🎁") == pixels(
        campaign, title="咖啡□会员群□", subtitle="送券□"
    )


def test_invisible_controls_and_modifiers_are_left_off_the_poster(campaign):
    typed = {
        "title": "会员\u202e群\u202c\x07",
        "subtitle": "每周★️直播\u200b",
        "channel_label": "前台\u2066",
    }
    plain = {"title": "会员群", "subtitle": "每周★直播", "channel_label": "前台"}
    assert pixels(campaign, **typed) == pixels(campaign, **plain)


def test_a_nickname_keeps_a_visible_mark_where_the_font_lacks_a_character(campaign):
    member = render.load_layout("member")
    content = {
        "avatar": red_square_png(),
        "nickname": "小美🌸\u202e",
        "title": "群",
        "subtitle": "券",
    }
    # The emoji prints as □ (never dropped in silence); the invisible override disappears.
    assert pixels(member, **content) == pixels(member, **{**content, "nickname": "小美□"})
    assert pixels(member, **content) != pixels(member, **{**content, "nickname": "小美"})


def test_very_long_stored_text_still_renders_within_its_lines(campaign):
    long = {
        "title": "长" * 120 + "🎁" * 50,
        "subtitle": "进群领券" * 500,
        "channel_label": "a" * 600,
    }
    data = render.render_poster(campaign, make_content(**long))
    assert decode_qr(data) == [make_content()["qr_url"]]


# ---- cache key ------------------------------------------------------------------------------


def test_poster_key_is_stable(campaign):
    first = render.poster_key(campaign, make_content(), "png")

    assert first == render.poster_key(copy.deepcopy(campaign), make_content(), "png")
    assert re.fullmatch(r"[0-9a-f]{64}", first), first


@pytest.mark.parametrize(
    "change",
    [
        {"title": "宝妈会员群（二群）"},
        {"subtitle": "每周五直播"},
        {"qr_url": "https://qunbook.example.com/j/baoma-demo?c=moments"},
        {"channel_label": "朋友圈"},
        {"caption": "扫码进群"},
        {"avatar": b"\x89PNG other bytes"},
    ],
)
def test_poster_key_changes_with_content(campaign, change):
    assert render.poster_key(campaign, make_content(**change), "png") != render.poster_key(
        campaign, make_content(), "png"
    )


def test_poster_key_changes_with_layout_and_format(campaign):
    moved = copy.deepcopy(campaign)
    moved["layers"][1]["box"][1] += 10
    base = render.poster_key(campaign, make_content(), "png")

    assert render.poster_key(moved, make_content(), "png") != base
    assert render.poster_key(campaign, make_content(), "jpeg") != base


# ---- golden image ---------------------------------------------------------------------------


def mean_difference(first: Image.Image, second: Image.Image) -> float:
    """Average absolute difference per channel, as Pillow's own assert_image_similar measures."""
    difference = ImageChops.difference(first.convert("RGB"), second.convert("RGB"))
    return sum(ImageStat.Stat(difference).mean) / 3


def worst_tile_difference(first: Image.Image, second: Image.Image) -> float:
    """The largest mean_difference of any TILE×TILE tile: a change confined to a small area."""
    difference = ImageChops.difference(first.convert("RGB"), second.convert("RGB"))
    width, height = difference.size
    return max(
        sum(ImageStat.Stat(difference.crop((x, y, x + TILE, y + TILE))).mean) / 3
        for y in range(0, height, TILE)
        for x in range(0, width, TILE)
    )


def similar(actual: Image.Image, golden: Image.Image) -> bool:
    return (
        actual.size == golden.size
        and mean_difference(actual, golden) < GOLDEN_TOLERANCE
        and worst_tile_difference(actual, golden) < TILE_TOLERANCE
    )


def avatar_png() -> bytes:
    """A fixed avatar: four flat quadrants, so the golden shows the round crop and which way up."""
    image = Image.new("RGB", (256, 256), "#E4572E")
    image.paste("#17BEBB", (128, 0, 256, 128))
    image.paste("#FFC914", (0, 128, 128, 256))
    image.paste("#2E282A", (128, 128, 256, 256))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def member_content() -> dict:
    return {
        "avatar": avatar_png(),
        "nickname": "快乐的小红",
        "title": "宝妈会员群（演示）",
        "subtitle": "邀请 3 位朋友进群，得 9 折券",
        "qr_url": "https://qunbook.example.com/j/baoma-demo?r=K7M2Q9XA",
    }


def door_content() -> dict:
    return {
        "title": "年末会员见面会",
        "subtitle": "12月20日 14:30 · 杭州湖滨店二楼",
        "qr_url": "https://qunbook.example.com/c/meetup-demo/events/7/here",
        "campaign_label": "宝妈会员群（演示）",
    }


def checkin_content() -> dict:
    return {
        "avatar": avatar_png(),
        "nickname": "快乐的小红",
        "title": "28 天早起打卡（演示）",
        "headline": "第 12 天 · 连续 5 天",
        "qr_url": "https://qunbook.example.com/j/dk-demo?r=k7m2q9xa",
    }


# Every layout in assets/posters → the fixed content its golden image is rendered from.
GOLDEN_CONTENT = {
    "campaign": make_content,
    "checkin": checkin_content,
    "door": door_content,
    "member": member_content,
}


def test_every_layout_has_golden_content_and_a_golden_image():
    """A new layout cannot be added without its golden image (and the content it shows)."""
    layouts = render.available_layouts()
    assert layouts == sorted(path.stem for path in render.LAYOUT_DIR.glob("*.json"))
    assert sorted(GOLDEN_CONTENT) == layouts
    assert sorted(path.stem for path in GOLDEN_DIR.glob("*.png")) == layouts


@pytest.mark.parametrize("name", render.available_layouts())
def test_layout_matches_golden(name, tmp_path):
    golden_path = GOLDEN_DIR / f"{name}.png"
    content = GOLDEN_CONTENT[name]()
    data = render.render_poster(render.load_layout(name), content, "png")
    if os.environ.get("QUNBOOK_REGEN_GOLDEN") == "1":
        golden_path.write_bytes(data)
    assert decode_qr(golden_path.read_bytes()) == [content["qr_url"]]  # the golden itself works

    actual = Image.open(io.BytesIO(data))
    with Image.open(golden_path) as golden:
        matches = similar(actual, golden)
        found = actual.size, mean_difference(actual, golden), worst_tile_difference(actual, golden)
    if not matches:
        actual.save(tmp_path / f"{name}-actual.png")
    assert matches, (
        f"{name} poster differs from its golden (size, mean, worst tile: {found}; see "
        f"{tmp_path / f'{name}-actual.png'}); if the change is intended, regenerate with "
        "QUNBOOK_REGEN_GOLDEN=1"
    )


@pytest.mark.parametrize("name", render.available_layouts())
def test_golden_comparison_catches_any_layer_moved(name):
    layout = render.load_layout(name)
    with Image.open(GOLDEN_DIR / f"{name}.png") as golden:
        golden.load()
    for index, layer in enumerate(layout["layers"]):
        moved = copy.deepcopy(layout)
        moved["layers"][index]["box"][1] -= 40
        data = render.render_poster(moved, GOLDEN_CONTENT[name](), "png")
        assert not similar(Image.open(io.BytesIO(data)), golden), (index, layer.get("field"))


def test_golden_comparison_catches_another_avatar():
    content = member_content()
    flipped = Image.open(io.BytesIO(content["avatar"])).transpose(Image.Transpose.ROTATE_180)
    buffer = io.BytesIO()
    flipped.save(buffer, "PNG")
    content["avatar"] = buffer.getvalue()
    data = render.render_poster(render.load_layout("member"), content)
    with Image.open(GOLDEN_DIR / "member.png") as golden:
        assert not similar(Image.open(io.BytesIO(data)), golden)


# ---- layers ---------------------------------------------------------------------------------


def test_empty_text_field_is_skipped(campaign):
    with_subtitle = render.render_poster(campaign, make_content(), "png")
    without = render.render_poster(campaign, make_content(subtitle=""), "png")
    x, y, width, height = next(
        layer["box"] for layer in campaign["layers"] if layer.get("field") == "subtitle"
    )

    def subtitle_area(data: bytes) -> Image.Image:
        return Image.open(io.BytesIO(data)).convert("RGB").crop((x, y, x + width, y + height))

    assert subtitle_area(with_subtitle).getcolors(2**16) != subtitle_area(without).getcolors(2**16)
    assert len(subtitle_area(without).getcolors(2**16)) < 40  # gradient only, no glyphs


def test_caption_default_comes_from_layout(campaign):
    default = render.render_poster(campaign, make_content(), "png")

    assert default == render.render_poster(campaign, make_content(caption=""), "png")
    assert default != render.render_poster(campaign, make_content(caption="扫码进群"), "png")


def avatar_layout(campaign: dict) -> dict:
    layout = copy.deepcopy(campaign)
    layout["layers"].append(
        {"type": "image", "field": "avatar", "box": [440, 60, 200, 200], "shape": "circle"}
    )
    return layout


def test_circle_image_layer_is_round_cropped(campaign):
    layout = avatar_layout(campaign)
    plain = Image.open(io.BytesIO(render.render_poster(layout, make_content(), "png"))).convert(
        "RGB"
    )

    data = render.render_poster(layout, make_content(avatar=red_square_png()), "png")

    poster = Image.open(io.BytesIO(data)).convert("RGB")
    assert poster.getpixel((540, 160)) == (255, 0, 0)  # centre of the circle
    assert poster.getpixel((442, 62)) == plain.getpixel((442, 62))  # corner outside the circle


def test_image_layer_without_image_is_skipped(campaign):
    layout = avatar_layout(campaign)

    assert render.render_poster(layout, make_content(), "png") == render.render_poster(
        campaign, make_content(), "png"
    )


# ---- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "fmt", "message"),
    [
        (make_content(), "gif", "use 'png' or 'jpeg'"),
        (make_content(qr_url=""), "png", r"content\['qr_url'\] is missing"),
        ({"title": "宝妈会员群"}, "png", r"content\['qr_url'\] is missing"),
        (make_content(qr_url="https://qunbook.example.com/j/宝妈"), "png", "percent-encode"),
        (make_content(qr_url="https://qunbook.example.com/j/x?c=" + "a" * 2000), "png", "too long"),
        (make_content(qr_url="https://qunbook.example.com/j/x?c=" + "a" * 5000), "png", "too long"),
        (make_content(title=42), "png", r"content\['title'\] must be text"),
        (make_content(avatar=b"not an image"), "png", "not an image"),
        (["宝妈会员群"], "png", "must be a dict"),
    ],
)
def test_bad_content_raises_helpful_error(campaign, content, fmt, message):
    with pytest.raises(ValueError, match=message):
        render.render_poster(avatar_layout(campaign), content, fmt)


def break_layout(campaign: dict, path: list, value) -> dict:
    layout = copy.deepcopy(campaign)
    target = layout
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return layout


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (["size"], [1080], r"'size' must be \[width, height\]"),
        (["layers"], [], "'layers' must be a non-empty list"),
        (["layers", 1, "type"], "video", "'type' must be one of"),
        (["layers", 1, "box"], [0, 0, 100], r"'box' must be \[x, y, width, height\]"),
        (["layers", 1, "weight"], "black", "'weight' must be one of"),
        (["layers", 1, "align"], "justify", "'align' must be one of"),
        (["layers", 1, "color"], "reddish", "is not a colour"),
        (["layers", 3, "field"], None, "give the content 'field'"),
        (["background", "gradient"], ["#FFFFFF"], "two or more colours"),
        (["background", "shapes", 0, "opacity"], 3, "'opacity' must be between 0 and 1"),
    ],
)
def test_malformed_layout_raises_helpful_error(campaign, path, value, message):
    with pytest.raises(ValueError, match=message):
        render.render_poster(break_layout(campaign, path, value), make_content())


@pytest.mark.parametrize("name", ["nope", "../campaign", "", "Campaign"])
def test_unknown_layout_name(name):
    with pytest.raises(ValueError, match=r"Unknown poster layout.*campaign"):
        render.load_layout(name)


def test_layout_file_with_bad_json(tmp_path, monkeypatch):
    (tmp_path / "broken.json").write_text('{"size": [1080, 1920],', encoding="utf-8")
    monkeypatch.setattr(render, "LAYOUT_DIR", tmp_path)

    with pytest.raises(ValueError, match=r"broken.json is not valid JSON \(line 1"):
        render.load_layout("broken")


def test_the_share_card_drops_what_its_font_cannot_print_from_a_staff_title():
    """A campaign title with an emoji (staff type them) must not break members' share cards."""
    content = {**checkin_content(), "title": "早起打卡🎁☕𠀀 挑战"}
    data = render.render_poster(render.load_layout("checkin"), content, "png")
    assert decode_qr(data) == [content["qr_url"]]
