"""Draw the handbook's Mermaid diagrams once, here, so readers' phones never have to.

Mermaid is 3.6 MB of JavaScript (1 MB gzipped) and a second of a phone's processor per page;
inside WeChat on 4G that is a blank box where the diagram should be. So each ```mermaid block
of handbook/ is drawn by the kit's own copy of Mermaid in headless Chromium, with Material's
own diagram styles and colours, and kept as handbook/assets/diagrams/<key>.svg, where the key
is a hash of the block's text. The build (handbook/hooks/diagrams.py) shows that picture in
place of the block; a block without its picture (just written, not drawn yet) is still drawn in
the reader's browser, as before.

    python scripts/render_diagrams.py           # draw what is missing, delete what is unused
    python scripts/render_diagrams.py --check   # exit 1 when a diagram has no picture
    python scripts/render_diagrams.py --all     # draw all again (new colours, new Mermaid)

Needs Chromium (Debian's `chromium`; QUNBOOK_CHROMIUM to point elsewhere) and Playwright, as the
browser tests do. Chinese labels are measured with the posters' Noto Sans SC (assets/fonts/), so
boxes fit the text on any machine, fonts installed or not.
"""

import argparse
import json
import os
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "handbook" / "hooks"))

from diagrams import DIAGRAMS, diagram_key  # noqa: E402

HANDBOOK = ROOT / "handbook"
MERMAID = HANDBOOK / "assets" / "javascripts" / "mermaid.min.js"
FONT = ROOT / "assets" / "fonts" / "NotoSansSC-Regular-subset.otf"
FENCE = re.compile(r"^```mermaid[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
# The stack a reader's phone picks from: its own system font first, as Material's text does.
FONTS = (
    '-apple-system, BlinkMacSystemFont, "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", '
    '"Noto Sans SC", "Noto Sans CJK SC", "Source Han Sans SC", Helvetica, Arial, sans-serif'
)


def sources() -> dict[str, str]:
    """Each diagram's text in the handbook, by its key."""
    found = {}
    for page in sorted(HANDBOOK.rglob("*.md")):
        for match in FENCE.finditer(page.read_text(encoding="utf-8")):
            found[diagram_key(match[1])] = match[1]
    return found


def material_assets() -> tuple[str, str]:
    """Material's stylesheets (one string) and the diagram styles its bundle hands Mermaid."""
    import material

    assets = Path(material.__file__).parent / "templates" / "assets"
    css = "\n".join(
        path.read_text(encoding="utf-8")
        for pattern in ("main.*.min.css", "palette.*.min.css")
        for path in (assets / "stylesheets").glob(pattern)
    )
    # The handbook's own colours (extra_css), as the pages have them.
    css += "\n".join(
        path.read_text(encoding="utf-8")
        for path in sorted((HANDBOOK / "assets" / "stylesheets").glob("*.css"))
    )
    bundle = next((assets / "javascripts").glob("bundle.*.min.js")).read_text(encoding="utf-8")
    name = re.search(r"themeCSS:(\w+)", bundle)[1]
    theme = re.search(rf"\b{name}=(\"(?:[^\"\\]|\\.)*\")", bundle)[1]
    return css, json.loads(theme)


PAGE = """<!doctype html><html><head><meta charset="utf-8"><style>
@font-face {{ font-family: "Noto Sans SC"; src: url("{font}"); }}
{css}
body {{ --md-text-font-family: {fonts}; }}
</style></head>
<body data-md-color-scheme="default" data-md-color-primary="green" data-md-color-accent="teal">
<div class="md-typeset" id="out"></div></body></html>"""

# Material's own settings for Mermaid (its bundle's call), with the page's fonts.
SETUP = """(theme) => window.mermaid.initialize({
  startOnLoad: false,
  themeCSS: theme,
  fontFamily: getComputedStyle(document.body).getPropertyValue("--md-text-font-family"),
  sequence: {actorFontSize: "16px", messageFontSize: "16px", noteFontSize: "16px"},
})"""

# In the page: draw one diagram, write the values of Material's colour variables into its styles
# (an <img> cannot see the page's variables), and write it out as XML.
DRAW = """async ([id, text]) => {
  const { svg } = await window.mermaid.render(id, text);
  const style = getComputedStyle(document.body);
  const value = (name) => style.getPropertyValue(name).trim();
  let out = svg;
  for (let i = 0; i < 5 && out.includes("var(--"); i++) {
    out = out.replace(/var\\((--[\\w-]+)\\)/g, (_, name) => value(name) || "inherit");
  }
  // Mermaid writes HTML (<br> in labels); a picture file must be XML.
  const parsed = new DOMParser().parseFromString(out, "text/html");
  const root = parsed.body.firstElementChild;
  // Its own size, so the picture has one wherever it is shown (Mermaid writes width="100%").
  const [, , width, height] = root.getAttribute("viewBox").split(" ").map(Number);
  root.setAttribute("width", String(Math.ceil(width)));
  root.setAttribute("height", String(Math.ceil(height)));
  root.removeAttribute("style");
  return new XMLSerializer().serializeToString(root);
}"""


def draw(texts: dict[str, str], chromium: str | None = None) -> dict[str, str]:
    from playwright.sync_api import sync_playwright

    chromium = chromium or os.environ.get("QUNBOOK_CHROMIUM") or shutil.which("chromium")
    if not chromium:
        raise SystemExit("Chromium not found: apt-get install chromium (or set QUNBOOK_CHROMIUM)")
    css, theme = material_assets()
    page_html = PAGE.format(font="font.otf", css=css, fonts=FONTS)
    drawn = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page()
        # One made-up origin serves the page and the font; nothing leaves the machine.
        page.route("http://diagrams.invalid/font.otf", lambda route: route.fulfill(path=FONT))
        page.route("http://diagrams.invalid/", lambda route: route.fulfill(body=page_html))
        page.goto("http://diagrams.invalid/")
        page.evaluate("document.fonts.load('16px \"Noto Sans SC\"', '社群')")
        page.add_script_tag(path=str(MERMAID))
        page.evaluate(SETUP, theme)
        for number, (key, text) in enumerate(sorted(texts.items())):
            drawn[key] = page.evaluate(DRAW, [f"d{key[:8]}", text])
            print(f"drew {key} ({number + 1}/{len(texts)})")
        browser.close()
    return drawn


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report missing pictures")
    parser.add_argument("--all", action="store_true", help="draw every diagram again")
    args = parser.parse_args(argv)
    wanted = sources()
    missing = {
        key: text
        for key, text in wanted.items()
        if args.all or not (DIAGRAMS / f"{key}.svg").is_file()
    }
    unused = [path for path in DIAGRAMS.glob("*.svg") if path.stem not in wanted]
    if args.check:
        for key, text in missing.items():
            print(f"no picture for the diagram starting {text.splitlines()[0]!r} ({key})")
        if missing:
            print("draw them with: python scripts/render_diagrams.py")
            return 1
        print(f"all {len(wanted)} diagrams have their pictures")
        return 0
    DIAGRAMS.mkdir(parents=True, exist_ok=True)
    for key, svg in draw(missing).items():
        (DIAGRAMS / f"{key}.svg").write_text(svg, encoding="utf-8")
    for path in unused:
        path.unlink()
        print(f"deleted unused {path.name}")
    print(f"{len(wanted)} diagrams: {len(missing)} drawn, {len(unused)} deleted")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
