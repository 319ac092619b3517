"""Poster rendering: a layout (data, from assets/posters/*.json) plus content gives image bytes.

Pure functions with no Flask import, so the web app, the CLI batch renderer and the tests all
share them. A layout lists the canvas size, a background and layers (text, qr, image) with
their boxes; `render_poster` interprets the layers in order. Callers cache by `poster_key`.

Pillow has no font fallback, so every text is drawn with the bundled Noto Sans CJK SC subset
(see assets/fonts/README.md), which covers GB2312 and the Latin and punctuation posters use.
"""

import hashlib
import io
import json
import re
import threading
import unicodedata
import zlib
from collections import OrderedDict, deque
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import qrcode
from PIL import Image, ImageChops, ImageColor, ImageDraw, ImageFilter, ImageFont, ImageOps
from qrcode.exceptions import DataOverflowError

from miniapp_api import kit

LAYOUT_DIR = kit.assets() / "posters"
FONT_DIR = kit.assets() / "fonts"
FONT_FILES = {
    "regular": "NotoSansSC-Regular-subset.otf",
    "bold": "NotoSansSC-Bold-subset.otf",
}
FORMATS = {"png": "PNG", "jpeg": "JPEG"}
# Bump when drawing code changes the pixels, so cached posters keyed by poster_key expire.
RENDER_VERSION = 2  # 2: PNG encoded in bands (same pixels, other bytes)

QUIET_ZONE = 4  # modules of white around the QR, as the QR standard asks
MIN_MODULE_PX = 4  # below this a printed code gets hard to scan from arm's length
SUPERSAMPLE = 4  # shapes are drawn this much larger, then reduced, for smooth edges
ELLIPSIS = "…"
# What a poster prints where the font has no glyph: visible, so staff see something is missing
# (U+25A1 is in GB2312, so in the bundled font).
MISSING_MARK = "□"
# Variation selectors and emoji skin tones only restyle the character before them: a poster
# drops them with it, and they are never worth refusing on their own.
MODIFIERS = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef\U0001f3fb-\U0001f3ff]")

# Kinsoku (避头尾): characters that may not begin a line, and those that may not end one.
NO_LINE_START = set("，。、！？：；）》」』】〕〉〗”’…‥・·～％,.!?:;)]}%")  # i18n: content
NO_LINE_END = set("（《「『【〔〈〖“‘([{¥$￥")  # i18n: content
# Latin words and numbers stay whole; a spaced separator (" · ") or a space is a soft break
# that vanishes at a line edge; every other character (hanzi, punctuation) is a token.
SOFT_BREAK = re.compile(r"\s+[·•|｜/]\s+|\s+")  # i18n: content
TOKEN = re.compile(
    r"\s+[·•|｜/]\s+|\s+|"  # i18n: content
    r"[0-9A-Za-z\u00C0-\u024F]+(?:['’.\-/:@&+_][0-9A-Za-z\u00C0-\u024F]+)*|."
)
# Break at the last soft break of a line when the line keeps at least this share of the width.
SOFT_BREAK_SHARE = 0.6
TEXT_ALIGN = {"left", "center", "right"}
TEXT_VALIGN = {"top", "middle", "bottom"}
LAYER_TYPES = {"text", "qr", "image"}
SHAPE_TYPES = {"circle", "rounded_rect"}
IMAGE_SHAPES = {"circle", "square"}
LAYOUT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


# ---- layouts ---------------------------------------------------------------------------------


def available_layouts() -> list[str]:
    return sorted(path.stem for path in LAYOUT_DIR.glob("*.json"))


def load_layout(name: str) -> dict:
    """The layout stored as assets/posters/<name>.json, checked so rendering cannot trip on it."""
    path = LAYOUT_DIR / f"{name}.json"
    if not isinstance(name, str) or not LAYOUT_NAME.match(name) or not path.is_file():
        raise ValueError(
            f"Unknown poster layout {name!r}: choose one of {', '.join(available_layouts())} "
            f"(files in {LAYOUT_DIR})."
        )
    # A poster request asks for its layout every time: read and check each file version once.
    # Each caller gets its own copy, free to change (tests move layers).
    stat = path.stat()
    return json.loads(_checked_layout(str(path), stat.st_mtime_ns, stat.st_size))


@lru_cache(maxsize=32)
def _checked_layout(path_name: str, _mtime_ns: int, _size: int) -> str:
    path = Path(path_name)
    try:
        layout = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(
            f"Poster layout {path.name} is not valid JSON (line {error.lineno}, column "
            f"{error.colno}: {error.msg}); fix the file."
        ) from error
    check_layout(layout)
    return json.dumps(layout, ensure_ascii=False)


def check_layout(layout: dict) -> None:
    """Raise ValueError naming the first part of `layout` the renderer could not draw."""
    if not isinstance(layout, dict):
        raise ValueError("A poster layout must be a JSON object with 'size' and 'layers'.")
    size = layout.get("size")
    if not (_is_int_list(size, 2) and all(0 < side <= 8000 for side in size)):
        raise ValueError("Layout 'size' must be [width, height] in pixels, e.g. [1080, 1920].")
    _check_background(layout.get("background", {"color": "#FFFFFF"}))
    defaults = layout.get("defaults", {})
    if not isinstance(defaults, dict):
        raise ValueError("Layout 'defaults' must map content fields to default text.")
    layers = layout.get("layers")
    if not isinstance(layers, list) or not layers:
        raise ValueError("Layout 'layers' must be a non-empty list of text, qr or image layers.")
    for index, layer in enumerate(layers):
        _check_layer(index, layer)


def _check_background(background) -> None:
    if not isinstance(background, dict):
        raise ValueError("Layout 'background' must be an object with 'color' or 'gradient'.")
    gradient = background.get("gradient")
    if gradient is not None:
        if not isinstance(gradient, list) or len(gradient) < 2:
            raise ValueError("Background 'gradient' must list two or more colours, top first.")
        for colour in gradient:
            _check_colour(colour, "background gradient")
    else:
        _check_colour(background.get("color"), "background 'color'")
    for index, shape in enumerate(background.get("shapes", [])):
        where = f"background shape {index}"
        if not isinstance(shape, dict) or shape.get("type") not in SHAPE_TYPES:
            raise ValueError(f"{where}: 'type' must be one of {sorted(SHAPE_TYPES)}.")
        _check_box(shape.get("box"), where)
        _check_colour(shape.get("color"), where)
        _check_opacity(shape.get("opacity", 1.0), where)
        if "shadow" in shape:
            _check_colour(shape["shadow"].get("color", "#000000"), f"{where} shadow")


def _check_layer(index: int, layer) -> None:
    if not isinstance(layer, dict) or layer.get("type") not in LAYER_TYPES:
        raise ValueError(f"Layer {index}: 'type' must be one of {sorted(LAYER_TYPES)}.")
    kind = layer["type"]
    where = f"Layer {index} ({kind} {layer.get('field') or layer.get('text')!r})"
    _check_box(layer.get("box"), where)
    if kind == "text":
        if not isinstance(layer.get("field"), str) and not isinstance(layer.get("text"), str):
            raise ValueError(f"{where}: give the content 'field' it draws, or a fixed 'text'.")
        if layer.get("weight", "regular") not in FONT_FILES:
            raise ValueError(f"{where}: 'weight' must be one of {sorted(FONT_FILES)}.")
        if not (isinstance(layer.get("size"), int) and layer["size"] > 0):
            raise ValueError(f"{where}: 'size' must be the font size in pixels, e.g. 48.")
        if not (isinstance(layer.get("max_lines", 1), int) and layer.get("max_lines", 1) > 0):
            raise ValueError(f"{where}: 'max_lines' must be a positive whole number.")
        if layer.get("align", "left") not in TEXT_ALIGN:
            raise ValueError(f"{where}: 'align' must be one of {sorted(TEXT_ALIGN)}.")
        if layer.get("valign", "top") not in TEXT_VALIGN:
            raise ValueError(f"{where}: 'valign' must be one of {sorted(TEXT_VALIGN)}.")
        _check_colour(layer.get("color", "#000000"), where)
    elif not isinstance(layer.get("field"), str):
        raise ValueError(f"{where}: give the content 'field' that holds its data.")
    if kind == "image" and layer.get("shape", "square") not in IMAGE_SHAPES:
        raise ValueError(f"{where}: 'shape' must be one of {sorted(IMAGE_SHAPES)}.")


def _check_box(box, where: str) -> None:
    if not (_is_int_list(box, 4) and box[2] > 0 and box[3] > 0):
        raise ValueError(f"{where}: 'box' must be [x, y, width, height] in whole pixels.")


def _check_colour(colour, where: str) -> None:
    try:
        ImageColor.getrgb(colour)
    except (ValueError, AttributeError, TypeError) as error:
        raise ValueError(f"{where}: {colour!r} is not a colour; use '#RRGGBB'.") from error


def _check_opacity(opacity, where: str) -> None:
    if not (isinstance(opacity, int | float) and 0 <= opacity <= 1):
        raise ValueError(f"{where}: 'opacity' must be between 0 and 1.")


def _is_int_list(value, length: int) -> bool:
    return (
        isinstance(value, list)
        and len(value) == length
        and all(isinstance(item, int) and not isinstance(item, bool) for item in value)
    )


# ---- fonts and text ----------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _truetype(path: str, size: int) -> ImageFont.FreeTypeFont:
    # Basic layout: the subset has no shaping tables, and it keeps output identical on
    # machines with and without libraqm.
    return ImageFont.truetype(path, size, layout_engine=ImageFont.Layout.BASIC)


def load_font(weight: str, size: int) -> ImageFont.FreeTypeFont:
    if weight not in FONT_FILES:
        raise ValueError(f"Unknown font weight {weight!r}: use one of {sorted(FONT_FILES)}.")
    return _truetype(str(FONT_DIR / FONT_FILES[weight]), size)


@lru_cache(maxsize=4096)
def _draws_notdef(weight: str, char: str) -> bool:
    # An unmapped character renders as glyph 0 (the .notdef box); U+E000 is private use and
    # never in the subset, so its bitmap is the box to compare with.
    mask = load_font(weight, 32).getmask(char)
    return (mask.size, bytes(mask)) == _notdef(weight)


@lru_cache(maxsize=len(FONT_FILES))
def _notdef(weight: str) -> tuple:
    mask = load_font(weight, 32).getmask("\ue000")
    return mask.size, bytes(mask)


def missing_glyphs(text: str, weight: str = "regular") -> set[str]:
    """Characters of `text` the bundled font cannot draw (they would print as empty boxes)."""
    return {char for char in set(text) if not char.isspace() and _draws_notdef(weight, char)}


def _invisible(char: str) -> bool:
    """Control and format characters: bidi overrides and isolates, zero-width joiners and
    spaces, BEL… Pillow's basic layout would not apply them, and a poster prints none."""
    return unicodedata.category(char) in ("Cc", "Cf") and not char.isspace()


def _unprintable(char: str) -> bool:
    if char.isspace() or MODIFIERS.match(char):
        return False
    if _invisible(char) or unicodedata.category(char) == "Cs":  # a lone surrogate: no glyph
        return True
    return _draws_notdef("regular", char) or _draws_notdef("bold", char)


def undrawable(text: str) -> list[str]:
    """The characters of `text` a poster cannot print as typed, each once, in order: those the
    font lacks (emoji, rare hanzi such as 𠀀) and invisible controls (U+202E…). Forms check
    poster text with it before saving; the renderer marks or drops what it finds."""
    return list(dict.fromkeys(char for char in text if _unprintable(char)))


def describe(chars: list[str], separator: str = ", ") -> str:
    """「🎁」(U+1F381), U+202E RIGHT-TO-LEFT OVERRIDE: how a message names the characters
    (an invisible one only by its code and name, since shown it would reorder the message)."""
    return separator.join(
        f"U+{ord(char):04X} {unicodedata.name(char, 'CONTROL CHARACTER')}"
        if _invisible(char) or unicodedata.category(char) == "Cs"
        else f"「{char}」(U+{ord(char):04X})"  # i18n: content
        for char in chars
    )


def printable(text: str) -> str:
    """`text` as a poster prints it: invisible controls and modifiers removed, and each other
    character the font lacks (an emoji in a nickname) shown as □, never dropped in silence,
    so stored text can never stop a poster from rendering."""
    return "".join(
        MISSING_MARK if _unprintable(char) else char
        for char in text
        if not (_invisible(char) or MODIFIERS.match(char))
    )


def wrap_text(text: str, font, max_width: int, max_lines: int | None) -> list[str]:
    """Break `text` into lines no wider than `max_width`, per character as Chinese needs.

    Latin words stay whole when they fit, kinsoku keeps closing punctuation off line starts and
    opening brackets off line ends, and text beyond `max_lines` ends in an ellipsis.
    """
    if not text.strip():
        return []
    lines = [
        line
        for paragraph in text.splitlines()
        for line in _wrap_paragraph(paragraph, font, max_width)
    ]
    if max_lines and len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = _with_ellipsis(lines[-1], font, max_width)
    return lines


def _wrap_paragraph(paragraph: str, font, max_width: int) -> list[str]:
    lines: list[str] = []
    line: list[str] = []
    tokens = deque(TOKEN.findall(paragraph))
    while tokens and _is_soft(tokens[0]):
        tokens.popleft()
    if _width(list(tokens), font) <= max_width:
        # It all fits (no line is wider than the whole): one measurement, not one per token,
        # as a nickname's line needs.
        return [text for text in [_joined(list(tokens))] if text]
    while tokens:
        token = tokens.popleft()
        if not line and _is_soft(token):
            continue
        if _width([*line, token], font) <= max_width:
            line.append(token)
        elif not line:
            if len(token) > 1:  # a word wider than the whole line: fall back to characters
                tokens.extendleft(reversed(token))
            else:
                line.append(token)  # one glyph wider than the box: nothing better to do
        else:
            tokens.extendleft(reversed([*_carry_over(line, token, font, max_width), token]))
            lines.append(_joined(line))
            line = []
    if line:
        lines.append(_joined(line))
    return [line for line in lines if line]


def _is_soft(token: str) -> bool:
    return bool(SOFT_BREAK.fullmatch(token))


def _joined(tokens: list[str]) -> str:
    while tokens and _is_soft(tokens[-1]):
        tokens = tokens[:-1]
    return "".join(tokens).strip()


def _width(tokens: list[str], font) -> float:
    return font.getlength(_joined(tokens))


def _carry_over(line: list[str], next_token: str, font, max_width: int) -> list[str]:
    """Take from the end of `line` what moves down with `next_token`; `line` keeps the rest.

    A soft break late enough in the line wins (it keeps phrases whole); otherwise the break
    falls before `next_token`, moved back as far as kinsoku needs.
    """
    soft = [index for index, token in enumerate(line) if index and _is_soft(token)]
    if soft and _width(line[: soft[-1]], font) >= SOFT_BREAK_SHARE * max_width:
        carried = line[soft[-1] + 1 :]
        del line[soft[-1] :]
        return carried
    while len(line) > 1 and _is_soft(line[-1]):
        line.pop()
    carried: list[str] = []
    while len(line) > 1 and (
        (carried[0] if carried else next_token)[0] in NO_LINE_START or line[-1][-1] in NO_LINE_END
    ):
        carried.insert(0, line.pop())
    return carried


def _with_ellipsis(line: str, font, max_width: int) -> str:
    # Trailing commas or opening brackets before the ellipsis read as a typo, so drop them.
    spare = "".join(NO_LINE_START | NO_LINE_END) + " "
    while line and font.getlength(line.rstrip(spare) + ELLIPSIS) > max_width:
        line = line[:-1]
    return line.rstrip(spare) + ELLIPSIS


# ---- drawing -----------------------------------------------------------------------------------


def _draw_background(layout: dict) -> Image.Image:
    background = layout.get("background", {"color": "#FFFFFF"})
    # Every poster of a layout shares its background: draw it once, hand out copies.
    return _background(json.dumps([layout["size"], background], sort_keys=True)).copy()


@lru_cache(maxsize=8)
def _background(spec: str) -> Image.Image:
    (width, height), background = json.loads(spec)
    stops = [ImageColor.getrgb(colour)[:3] for colour in background.get("gradient", [])]
    if not stops:
        return Image.new("RGB", (width, height), ImageColor.getrgb(background["color"])[:3])
    column = bytearray()
    for y in range(height):
        position = y / max(height - 1, 1) * (len(stops) - 1)
        index = min(int(position), len(stops) - 2)
        share = position - index
        low, high = stops[index], stops[index + 1]
        column += bytes(round(a + (b - a) * share) for a, b in zip(low, high, strict=True))
    strip = Image.frombytes("RGB", (1, height), bytes(column))
    canvas = strip.resize((width, height), Image.Resampling.NEAREST)
    for shape in background.get("shapes", []):
        _draw_shape(canvas, shape)
    return canvas


@lru_cache(maxsize=32)
def _shape_mask(kind: str, width: int, height: int, radius: int = 0) -> Image.Image:
    big = Image.new("L", (width * SUPERSAMPLE, height * SUPERSAMPLE), 0)
    draw = ImageDraw.Draw(big)
    corners = (0, 0, big.width - 1, big.height - 1)
    if kind == "circle":
        draw.ellipse(corners, fill=255)
    else:
        draw.rounded_rectangle(corners, radius=radius * SUPERSAMPLE, fill=255)
    return big.reduce(SUPERSAMPLE)


def _draw_shape(canvas: Image.Image, shape: dict) -> None:
    x, y, width, height = shape["box"]
    mask = _shape_mask(shape["type"], width, height, shape.get("radius", 0))
    if "shadow" in shape:
        _draw_shadow(canvas, shape["shadow"], mask, (x, y))
    _paint(canvas, shape["color"], mask, (x, y), shape.get("opacity", 1.0))


def _draw_shadow(canvas: Image.Image, shadow: dict, mask: Image.Image, at: tuple) -> None:
    # Blurring at quarter size is ~16x cheaper and indistinguishable for a soft shadow.
    blur = shadow.get("blur", 24)
    dx, dy = shadow.get("offset", [0, 12])
    margin = blur * 2
    padded = Image.new("L", (mask.width + 2 * margin, mask.height + 2 * margin), 0)
    padded.paste(mask, (margin, margin))
    small = padded.reduce(4).filter(ImageFilter.GaussianBlur(blur / 4))
    soft = small.resize(padded.size, Image.Resampling.BILINEAR)
    where = (at[0] + dx - margin, at[1] + dy - margin)
    _paint(canvas, shadow.get("color", "#000000"), soft, where, shadow.get("opacity", 0.3))


def _paint(canvas: Image.Image, colour: str, mask: Image.Image, at: tuple, opacity: float) -> None:
    if opacity < 1:
        mask = mask.point(lambda value: round(value * opacity))
    fill = Image.new("RGB", mask.size, ImageColor.getrgb(colour)[:3])
    canvas.paste(fill, at, mask)


def _draw_text(canvas: Image.Image, layer: dict, text: str) -> None:
    x, y, width, height = layer["box"]
    weight = layer.get("weight", "regular")
    size, lines = _fit_text(_fit_spec(layer), text)
    line_step = round(size * layer.get("line_height", 1.3))
    block = line_step * (len(lines) - 1) + size
    valign = layer.get("valign", "top")
    top = y + {"top": 0, "middle": (height - block) // 2, "bottom": height - block}[valign]
    align = layer.get("align", "left")
    anchor_x = {"left": x, "center": x + width // 2, "right": x + width}[align]
    anchor = {"left": "ls", "center": "ms", "right": "rs"}[align]
    draw = ImageDraw.Draw(canvas)
    for number, line in enumerate(lines):
        # CJK glyphs fill an em box whose top is ~0.88 em above the baseline; placing
        # baselines from that keeps the visible block where the box says.
        baseline = top + number * line_step + round(size * 0.88)
        if "badge" in layer:
            font = load_font(weight, size)
            _draw_badge(canvas, layer["badge"], font, line, anchor_x, baseline, align)
        # What draw.text would draw, from glyphs rasterised once per line of text: the
        # campaign's title and promise are the same on every member's poster.
        glyphs, (dx, dy) = _glyphs(weight, size, line, anchor)
        draw.bitmap((anchor_x + dx, baseline + dy), glyphs, fill=layer.get("color", "#000000"))


@lru_cache(maxsize=256)
def _glyphs(weight: str, size: int, line: str, anchor: str) -> tuple[Image.Image, tuple]:
    """The line's coverage mask and its offset from the anchor, as ImageDraw.text makes it
    for a whole-pixel anchor."""
    mask, offset = load_font(weight, size).getmask2(line, "L", anchor=anchor, start=(0.0, 0.0))
    return Image.frombytes("L", mask.size, bytes(mask)), offset


def _fit_spec(layer: dict) -> tuple:
    """What of a text layer decides its lines, hashable so fitting is cached."""
    return (
        layer.get("weight", "regular"),
        layer["size"],
        layer.get("min_size", layer["size"]),
        layer.get("max_lines", 1),
        bool(layer.get("balance")),
        layer["box"][2],
    )


@lru_cache(maxsize=512)
def _fit_text(spec: tuple, text: str) -> tuple[int, tuple[str, ...]]:
    """The largest font size from `size` down to `min_size` that fits within max_lines, and
    the lines at that size; a campaign's texts are fitted once, not once per member."""
    weight, size, smallest, max_lines, balance, width = spec
    while True:
        font = load_font(weight, size)
        lines = wrap_text(text, font, width, None)
        if len(lines) <= max_lines or size <= smallest:
            break
        size = max(smallest, size - 4)
    if len(lines) > max_lines:
        return size, tuple(wrap_text(text, font, width, max_lines))
    if balance and len(lines) > 1:
        lines = wrap_text(text, font, _balanced_width(text, font, width, len(lines)), None)
    return size, tuple(lines)


def _balanced_width(text: str, font, width: int, line_count: int) -> int:
    """The narrowest width still giving `line_count` lines: no lone character on the last."""
    low, high = 1, width
    while low < high:
        middle = (low + high) // 2
        if len(wrap_text(text, font, middle, None)) <= line_count:
            high = middle
        else:
            low = middle + 1
    return high


def _draw_badge(canvas, badge: dict, font, line: str, anchor_x: int, baseline: int, align: str):
    pad_x, pad_y = badge.get("padding", [24, 10])
    text_width = round(font.getlength(line))
    left = {"left": anchor_x, "center": anchor_x - text_width // 2, "right": anchor_x - text_width}[
        align
    ]
    height = font.size + 2 * pad_y
    top = baseline - round(font.size * 0.88) - pad_y
    mask = _shape_mask("rounded_rect", text_width + 2 * pad_x, height, height // 2)
    _paint(
        canvas, badge.get("color", "#FFFFFF"), mask, (left - pad_x, top), badge.get("opacity", 1.0)
    )


_URL_TOO_LONG = (
    "The QR URL is too long to scan on a poster ({length} characters); shorten it, "
    "e.g. point at the campaign's live code /j/<campaign>."
)


def _qr_modules(data: str) -> Image.Image:
    """The QR code, quiet zone included, at one pixel per module (0 dark, 255 light)."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=QUIET_ZONE)
    code.add_data(data)
    try:
        code.make(fit=True)
    except (DataOverflowError, ValueError) as error:  # past version 40 qrcode raises ValueError
        raise ValueError(_URL_TOO_LONG.format(length=len(data))) from error
    matrix = code.get_matrix()
    pixels = bytes(0 if dark else 255 for row in matrix for dark in row)
    return Image.frombytes("L", (len(matrix), len(matrix)), pixels)


def _draw_qr(canvas: Image.Image, layer: dict, url: str) -> None:
    x, y, width, height = layer["box"]
    modules = _qr_modules(url)
    side = min(width, height)
    module_px = side // modules.width
    if module_px < MIN_MODULE_PX:
        raise ValueError(_URL_TOO_LONG.format(length=len(url)))
    # Whole pixels per module and NEAREST scaling keep every module edge sharp.
    code = modules.resize((modules.width * module_px,) * 2, Image.Resampling.NEAREST)
    canvas.paste(
        code.convert("RGB"), (x + (width - code.width) // 2, y + (height - code.height) // 2)
    )


@dataclass(frozen=True)
class Initial:
    """An avatar drawn from a name, for a member without a photo: the first character of the
    name the font can draw, white on an amber disc. Content carries the name, not pixels, so
    a poster's cache key is worked out from data, and only a render draws it."""

    name: str


INITIAL_SIDE = 256
INITIAL_BACKGROUND = "#F3B33D"


def _draw_image(canvas: Image.Image, layer: dict, data, field: str) -> None:
    x, y, width, height = layer["box"]
    if isinstance(data, Initial):
        picture = _fitted_initial(_initial_char(data.name), width, height)
    else:
        picture = _fitted_upload(bytes(data), width, height, field)
    if layer.get("shape", "square") != "circle":
        canvas.paste(picture, (x, y))
        return
    border = layer.get("border_width", 0)
    if border:
        ring = _shape_mask("circle", width + 2 * border, height + 2 * border)
        _paint(canvas, layer.get("border_color", "#FFFFFF"), ring, (x - border, y - border), 1.0)
    canvas.paste(picture, (x, y), _shape_mask("circle", width, height))


# Fitted pictures are kept for the posters of one member in both formats, and for the many
# members whose names start with the same character.
@lru_cache(maxsize=32)
def _fitted_upload(data: bytes, width: int, height: int, field: str) -> Image.Image:
    try:
        with Image.open(io.BytesIO(data)) as source:
            picture = ImageOps.exif_transpose(source).convert("RGB")
    except (OSError, Image.DecompressionBombError, SyntaxError) as error:
        raise ValueError(
            f"content[{field!r}] is not an image Pillow can read; upload a JPEG or PNG."
        ) from error
    return ImageOps.fit(picture, (width, height), Image.Resampling.LANCZOS)


def _initial_char(name: str) -> str:
    return next((char for char in name if not missing_glyphs(char, "bold")), "")


@lru_cache(maxsize=128)
def _fitted_initial(char: str, width: int, height: int) -> Image.Image:
    image = Image.new("RGB", (INITIAL_SIDE, INITIAL_SIDE), INITIAL_BACKGROUND)
    if char:
        draw = ImageDraw.Draw(image)
        centre = INITIAL_SIDE / 2
        draw.text((centre, centre), char, font=load_font("bold", 140), fill="#FFFFFF", anchor="mm")
    return ImageOps.fit(image, (width, height), Image.Resampling.LANCZOS)


# ---- posters -----------------------------------------------------------------------------------


def _field_values(layout: dict, content: dict) -> dict:
    if not isinstance(content, dict):
        raise ValueError("Poster content must be a dict of field name to value, e.g. {'title': …}.")
    values = dict(layout.get("defaults", {}))
    values.update({key: value for key, value in content.items() if not _is_blank(value)})
    return values


def _is_blank(value) -> bool:
    """An empty or whitespace-only field falls back to the layout default, or is skipped."""
    return value is None or (isinstance(value, str | bytes) and not value.strip())


def _layer_text(layer: dict, values: dict) -> str:
    if "text" in layer:
        return layer["text"]
    value = values.get(layer["field"], "")
    if not isinstance(value, str):
        raise ValueError(f"content[{layer['field']!r}] must be text, not {type(value).__name__}.")
    value = value.strip()
    if value and "template" in layer:
        value = layer["template"].replace("{}", value)
    return value


def _qr_url(layer: dict, values: dict) -> str:
    field = layer["field"]
    url = values.get(field)
    if not isinstance(url, str) or not url.strip():
        raise ValueError(
            f"content[{field!r}] is missing: pass the URL the poster's QR should open."
        )
    if not url.isascii():
        raise ValueError(
            f"content[{field!r}] must be an ASCII URL so every scanner reads it the same; "
            "percent-encode it (urllib.parse.quote, or Flask's url_for does it)."
        )
    return url.strip()


def render_poster(layout: dict, content: dict, fmt: str = "png") -> bytes:
    """Draw `content` into `layout` and return the encoded PNG or JPEG bytes."""
    if fmt not in FORMATS:
        raise ValueError(f"Unknown poster format {fmt!r}: use 'png' or 'jpeg'.")
    check_layout(layout)
    values = _field_values(layout, content)
    canvas = _draw_background(layout)
    for layer in layout["layers"]:
        if layer["type"] == "qr":
            _draw_qr(canvas, layer, _qr_url(layer, values))
        elif layer["type"] == "image":
            data = values.get(layer["field"])
            if data:
                _draw_image(canvas, layer, data, layer["field"])
        else:
            text = _layer_text(layer, values)
            if text:
                # Never dropped in silence: a name keeps a mark where a character was.
                _draw_text(canvas, layer, printable(text))
    return encode(canvas, fmt)


def encode(canvas: Image.Image, fmt: str) -> bytes:
    """The poster's file."""
    if fmt == "png":
        return encode_png(canvas)
    buffer = io.BytesIO()
    # 4:4:4 keeps the red text and the QR edges free of chroma bleed.
    canvas.save(buffer, "JPEG", quality=90, subsampling=0)
    return buffer.getvalue()


# ---- PNG, a band at a time ---------------------------------------------------------------------
#
# Deflating the pixels is most of a PNG poster's cost, and most of a poster's rows are the same
# for every member of a campaign: the background, the title, the promise, the caption. So the
# image is encoded in bands of rows, each deflated on its own (ending on a byte boundary with a
# sync flush, so the pieces join into one valid stream); a band is found again by the SHA-256
# of its pixels and of the row above it (the Up filter reads that row), and only bands not
# seen before are filtered and deflated. Decoded, the file has exactly the canvas's pixels.

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_BAND_ROWS = 32
# zlib level 2: level 1 gives files ~5 % larger for about the same time; 3 and up take longer
# for a few per cent.
PNG_LEVEL = 2
PNG_FILTER_UP = b"\x02"  # each byte minus the one above: gradients and QR rows give zeros
_ADLER_BASE = 65521
_band_cache: OrderedDict[bytes, tuple[bytes, int, int]] = OrderedDict()
_band_lock = threading.Lock()
BAND_CACHE_SIZE = 512  # deflated bands are a few KiB: the rows of many campaigns' posters


def encode_png(canvas: Image.Image) -> bytes:
    """`canvas` (RGB) as an 8-bit truecolour PNG, deflating only bands not encoded before."""
    if canvas.mode != "RGB":
        canvas = canvas.convert("RGB")
    width, height = canvas.size
    stride = width * 3
    pixels = canvas.tobytes()
    pieces, adler, length = [], 1, 0
    for top in range(0, height, PNG_BAND_ROWS):
        bottom = min(top + PNG_BAND_ROWS, height)
        above = pixels[(top - 1) * stride : top * stride] if top else bytes(stride)
        rows = pixels[top * stride : bottom * stride]
        digest = hashlib.sha256(above + rows).digest()
        band = _cached_band(digest)
        if band is None:
            band = _deflate_band(above, rows, stride)
            _keep_band(digest, band)
        data, band_adler, band_length = band
        pieces.append(data)
        adler = _adler32_combine(adler, band_adler, band_length)
        length += band_length
    stream = b"\x78\x5e" + b"".join(pieces) + b"\x03\x00" + adler.to_bytes(4, "big")
    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    return PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", stream) + _chunk(b"IEND", b"")


def _deflate_band(above: bytes, rows: bytes, stride: int) -> tuple[bytes, int, int]:
    """The band's rows, Up-filtered and deflated (raw, ending on a sync flush), with the
    Adler-32 and length of the filtered bytes (the zlib trailer needs them for the whole)."""
    count = len(rows) // stride
    # Up filter, in C: this band minus the same band shifted down one row, byte by byte mod 256.
    current = Image.frombytes("L", (stride, count), rows)
    previous = Image.frombytes("L", (stride, count), above + rows[: (count - 1) * stride])
    filtered = ImageChops.subtract_modulo(current, previous).tobytes()
    raw = b"".join(
        PNG_FILTER_UP + filtered[row * stride : (row + 1) * stride] for row in range(count)
    )
    deflater = zlib.compressobj(PNG_LEVEL, zlib.DEFLATED, -15)
    data = deflater.compress(raw) + deflater.flush(zlib.Z_SYNC_FLUSH)
    return data, zlib.adler32(raw), len(raw)


def _cached_band(digest: bytes):
    with _band_lock:
        band = _band_cache.get(digest)
        if band is not None:
            _band_cache.move_to_end(digest)
        return band


def _keep_band(digest: bytes, band: tuple) -> None:
    with _band_lock:
        _band_cache[digest] = band
        while len(_band_cache) > BAND_CACHE_SIZE:
            _band_cache.popitem(last=False)


def _adler32_combine(first: int, second: int, second_length: int) -> int:
    """The Adler-32 of two byte strings joined, from theirs (zlib's adler32_combine)."""
    remainder = second_length % _ADLER_BASE
    low = first & 0xFFFF
    high = (remainder * low) % _ADLER_BASE
    low = (low + (second & 0xFFFF) + _ADLER_BASE - 1) % _ADLER_BASE
    high = (high + (first >> 16) + (second >> 16) + _ADLER_BASE - remainder) % _ADLER_BASE
    return (high << 16) | low


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(data, zlib.crc32(kind))
    return len(data).to_bytes(4, "big") + kind + data + crc.to_bytes(4, "big")


@lru_cache(maxsize=1)
def _font_digests() -> dict[str, str]:
    return {
        weight: hashlib.sha256((FONT_DIR / filename).read_bytes()).hexdigest()
        for weight, filename in FONT_FILES.items()
    }


def _hashable(value):
    if isinstance(value, bytes | bytearray | memoryview):
        return {"sha256": hashlib.sha256(value).hexdigest()}
    if isinstance(value, Initial):
        return {"initial_of": value.name}
    return value


def poster_key(layout: dict, content: dict, fmt: str) -> str:
    """Stable cache key: the same layout, content, format, fonts and renderer give the same key."""
    payload = {
        "renderer": RENDER_VERSION,
        "fonts": _font_digests(),
        "layout": layout,
        "content": {key: _hashable(value) for key, value in content.items()},
        "fmt": fmt,
    }
    encoded = json.dumps(
        payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=repr
    )
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()
