"""The handbook's diagrams are pictures drawn ahead of time (scripts/render_diagrams.py): every
diagram has its picture, each picture is a self-contained SVG a phone can show, and the
drawing itself works, with Mermaid in Chromium."""

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from helpers import CHROMIUM, unavailable

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import render_diagrams  # noqa: E402

SVG = "{http://www.w3.org/2000/svg}"


def test_every_diagram_in_the_handbook_has_its_picture(capsys):
    assert render_diagrams.main(["--check"]) == 0, capsys.readouterr().out
    wanted = render_diagrams.sources()
    assert len(wanted) >= 26
    pictures = {p.stem for p in render_diagrams.DIAGRAMS.glob("*.svg")}
    assert pictures == set(wanted), "unused pictures: run python scripts/render_diagrams.py"


@pytest.mark.parametrize(
    "path", sorted(render_diagrams.DIAGRAMS.glob("*.svg")), ids=lambda p: p.stem
)
def test_each_picture_stands_alone(path):
    text = path.read_text(encoding="utf-8")
    root = ET.fromstring(text)  # noqa: S314 (our own drawing) XML, not Mermaid's HTML
    assert root.tag == f"{SVG}svg"
    assert int(root.get("width")) > 0 and int(root.get("height")) > 0
    assert "var(--" not in text  # Material's colours written in: a picture can't see the page
    assert "<script" not in text and "http://" not in text.replace("http://www.w3.org/", "")
    assert "https://" not in text


def test_check_reports_a_diagram_without_its_picture(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(render_diagrams, "DIAGRAMS", tmp_path)
    assert render_diagrams.main(["--check"]) == 1
    out = capsys.readouterr().out
    assert "no picture for the diagram starting 'flowchart" in out
    assert "python scripts/render_diagrams.py" in out


@pytest.mark.browser
def test_a_diagram_is_drawn_with_mermaid_in_chromium():
    if not Path(CHROMIUM).exists():
        unavailable("Chromium", "apt-get install chromium (CI does this)")
    text = 'flowchart LR\n    A["扫码进群<br/>活码"] --> B["打卡 28 天"]'
    (svg,) = render_diagrams.draw({"k": text}, chromium=CHROMIUM).values()
    root = ET.fromstring(svg)  # noqa: S314 (drawn just now, by us)
    labels = "".join(root.itertext())
    assert "扫码进群" in labels and "打卡 28 天" in labels
    assert "var(--" not in svg and "#00695c" in svg  # the handbook's teal, written in
    width = int(root.get("width"))
    assert 250 < width < 1000, width  # two boxes side by side, sized for their Chinese text


def test_an_english_page_shows_the_same_picture_described_in_english(built):
    """An English page keeps the Chinese page's diagram block, so it gets the same picture; its
    alt text and link title are English and say the boxes are in Chinese."""
    site, _ = built
    chinese = (site / "index.html").read_text(encoding="utf-8")
    english = (site / "en" / "index.html").read_text(encoding="utf-8")
    picture = 'src="assets/diagrams/'
    key = chinese[chinese.index(picture) + len(picture) :].split(".svg", 1)[0]
    assert f'src="../assets/diagrams/{key}.svg"' in english
    assert 'alt="Diagram (labels in Chinese): 从这里开始' in english
    assert 'title="Open the full picture"' in english and "看大图" not in english
    assert 'alt="图：从这里开始' in chinese
