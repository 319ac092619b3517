"""Real names print whole: the poster font covers what GB 18030-2022 implementation level 1
asks for Chinese (every CJK Unified Ideograph and Extension A), and what it cannot draw (an
emoji in a nickname) is replaced visibly, never dropped in silence."""

import io
import random

from fontTools.ttLib import TTFont
from PIL import Image

from miniapp_api.posters import render

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董"
    "袁潘蒋蔡余杜叶程魏苏吕丁任沈姚卢欧阳司马诸葛"
)
# Given-name characters people really use, the among them (玥, 喆, 䶮 of Ext A).
GIVEN = "玥喆䶮昊晗婕琪琳瑶璇珺琰祎禕堃垚淼焱鑫磊晞暄曦栩翊羿骞犇芃茜菁萱蔚钰锟镕珏璟瑜"
EMOJI = "🌸🎁☕👍😊🐱"
URO = (0x4E00, 0x9FEF)  # CJK Unified Ideographs as GB 18030-2022 level 1 has them
# Extension A as GB 18030 has it (U+4DB6–4DBF came later, in Unicode 13, and are not in it).
EXT_A = (0x3400, 0x4DB5)


def font_cmap(weight: str) -> dict:
    with TTFont(render.FONT_DIR / render.FONT_FILES[weight]) as font:
        return dict(font.getBestCmap())


def names(count=200, seed=18030) -> list[str]:
    draw = random.Random(seed)
    made = []
    for n in range(count):
        surname = draw.choice(SURNAMES)
        given = draw.choice(GIVEN)
        if n % 3 == 0:
            given += chr(draw.randint(*URO))
        if n % 4 == 1:
            given += chr(draw.randint(*EXT_A))
        if n % 10 == 7:
            given += draw.choice(EMOJI)
        made.append(surname + given)
    return made


def test_the_font_covers_every_cjk_unified_ideograph_and_extension_a():
    for weight in render.FONT_FILES:
        cmap = font_cmap(weight)
        missing = [
            f"U+{point:04X}"
            for first, last in (URO, EXT_A)
            for point in range(first, last + 1)
            if point not in cmap
        ]
        assert not missing, (weight, missing[:20], len(missing))


def test_two_hundred_real_names_print_every_character_or_mark_it():
    regular = font_cmap("regular")
    member = render.load_layout("member")
    people = names()
    assert "玥" in "".join(people) and "䶮" in "".join(people)
    with_emoji = 0
    for name in people:
        missing = render.undrawable(name)
        for char in name:
            if char in EMOJI:
                assert char in missing, name  # replaced by □, visibly
            else:
                assert ord(char) in regular and char not in missing, (name, char)
        with_emoji += bool(missing)
        content = {"nickname": name, "title": "好友同享群", "subtitle": "邀请 3 位朋友得 9 折券"}
        content["qr_url"] = "https://qun.example.cn/j/fission?r=abcd2345"
        image = Image.open(io.BytesIO(render.render_poster(member, content)))
        assert image.size == (1080, 1920)
    assert with_emoji == 20


def test_an_emoji_in_a_name_is_a_mark_not_a_gap():
    member = render.load_layout("member")
    content = {"title": "群", "subtitle": "券", "qr_url": "https://qun.example.cn/j/a"}

    def poster(nickname):
        return render.render_poster(member, {**content, "nickname": nickname})

    assert poster("王玥🌸") == poster("王玥□")
    assert poster("王玥🌸") != poster("王玥")
    # And 玥 is drawn, not a missing-glyph box.
    assert poster("王玥") != poster("王□")
