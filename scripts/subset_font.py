"""Rebuild the poster font subset in assets/fonts/ from Debian's fonts-noto-cjk package.

Posters are drawn with Pillow, which has no font fallback: one font must cover both the
Chinese and the Latin text. The full Noto Sans CJK collection is ~20 MB per weight, so we
keep the Simplified Chinese face, cut down to what GB 18030-2022 implementation level 1 asks
of a font for Chinese (every character GBK's two bytes encode, all CJK Unified Ideographs and
Extension A: names such as 王玥, 张喆, 刘䶮 print whole) plus the Latin and punctuation that
posters use, without hinting or vertical-writing tables.

    apt-get install fonts-noto-cjk          # provides the .ttc files read below
    python scripts/subset_font.py [SOURCE_DIR]

Needs fontTools (in the dev extras). The output is deterministic for a given source font.
"""

import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection

ROOT = Path(__file__).resolve().parent.parent
FONT_DIR = ROOT / "assets" / "fonts"
DEFAULT_SOURCE = Path("/usr/share/fonts/opentype/noto")
LICENCE_SOURCE = Path("/usr/share/doc/fonts-noto-cjk/copyright")
FAMILY = "Noto Sans CJK SC"
WEIGHTS = {"Regular": "NotoSansCJK-Regular.ttc", "Bold": "NotoSansCJK-Bold.ttc"}

POSTER_SYMBOLS = "·•—¥✓→★％…“”‘’"
EXTRA_RANGES = [
    (0x3400, 0x4DBF),  # CJK Unified Ideographs Extension A
    (0x4E00, 0x9FFF),  # CJK Unified Ideographs (Noto has up to U+9FEF: GB 18030's level 1)
    (0x0020, 0x007E),  # ASCII
    (0x00A0, 0x00FF),  # Latin-1 letters and signs
    (0x2000, 0x206F),  # general punctuation
    (0x3000, 0x303F),  # CJK symbols and punctuation
    (0xFF00, 0xFFEF),  # fullwidth and halfwidth forms
]
# Vertical metrics and the layout tables are only used by vertical writing and by
# HarfBuzz; the renderer uses Pillow's basic layout, so they are dead weight here.
DROP_TABLES = ["VORG", "vhea", "vmtx", "BASE", "GSUB", "GPOS", "GDEF"]
COPYRIGHT_LINE = (
    "Copyright 2014-2021 Adobe (http://www.adobe.com/), with Reserved Font Name 'Source'."
)


def gbk_characters() -> set[str]:
    """Every character GB 18030's two-byte part (GBK) encodes: GB2312's symbols, kana, Greek
    and Cyrillic, and 21,886 hanzi and compatibility ideographs."""
    chars = set()
    for high in range(0x81, 0xFF):
        for low in [*range(0x40, 0x7F), *range(0x80, 0xFF)]:
            try:
                chars.add(bytes([high, low]).decode("gb18030"))
            except UnicodeDecodeError:
                continue
    return chars


def wanted_codepoints() -> list[int]:
    points = {ord(ch) for ch in gbk_characters()}
    points.update(ord(ch) for ch in POSTER_SYMBOLS)
    for first, last in EXTRA_RANGES:
        points.update(range(first, last + 1))
    return sorted(points)


def simplified_chinese_face(collection_path: Path):
    """The SC face of a Noto Sans CJK collection: its punctuation sits the mainland way."""
    for face in TTCollection(collection_path).fonts:
        if face["name"].getDebugName(1) == FAMILY:
            return face
    raise SystemExit(f"{collection_path} has no {FAMILY!r} face; is it Noto Sans CJK?")


def subset_options() -> subset.Options:
    options = subset.Options()
    options.hinting = False
    options.drop_tables += DROP_TABLES
    options.layout_features = []
    options.name_IDs = ["*"]  # keep the copyright and licence records the OFL asks for
    options.name_languages = ["*"]
    options.notdef_outline = True
    return options


def subset_weight(source: Path, target: Path, codepoints: list[int]) -> None:
    font = simplified_chinese_face(source)
    subsetter = subset.Subsetter(subset_options())
    subsetter.populate(unicodes=codepoints)
    subsetter.subset(font)
    font.recalcTimestamp = False  # keep upstream's date so reruns give identical bytes
    font.save(target)


def write_licence() -> None:
    """OFL.txt from the Debian copyright file, which carries the upstream licence text."""
    text = LICENCE_SOURCE.read_text(encoding="utf-8")
    start = text.index("License: SIL-1.1\n -----")
    body = text[start:].split("\n\nLicense:", 1)[0].splitlines()[1:]
    # Debian's format indents every line and marks blank lines with a lone dot.
    lines = ["" if line.strip() == "." else line[1:] for line in body]
    (FONT_DIR / "OFL.txt").write_text(
        COPYRIGHT_LINE + "\n\n" + "\n".join(lines).strip() + "\n", encoding="utf-8"
    )


def main(argv: list[str]) -> int:
    source_dir = Path(argv[1]) if len(argv) > 1 else DEFAULT_SOURCE
    missing = [name for name in WEIGHTS.values() if not (source_dir / name).exists()]
    if missing:
        print(f"Missing {', '.join(missing)} in {source_dir}: install fonts-noto-cjk.")
        return 1
    FONT_DIR.mkdir(parents=True, exist_ok=True)
    codepoints = wanted_codepoints()
    for weight, filename in WEIGHTS.items():
        target = FONT_DIR / f"NotoSansSC-{weight}-subset.otf"
        subset_weight(source_dir / filename, target, codepoints)
        print(f"{target.relative_to(ROOT)}: {target.stat().st_size / 1e6:.2f} MB")
    if LICENCE_SOURCE.exists():
        write_licence()
    else:
        print(f"{LICENCE_SOURCE} not found: keeping the existing assets/fonts/OFL.txt.")
    print(f"{len(codepoints)} code points requested")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
