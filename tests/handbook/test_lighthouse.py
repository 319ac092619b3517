"""Lighthouse 12 (scripts/lighthouse, installed by npm ci; .ci/run does it) with Debian's
Chromium, on its default mobile settings (a mid-range phone on slow 4G, simulated), scores the
home page and the longest playbook, served by the kit: performance at least 90,
accessibility at least 95. The scores are printed (pytest -s, or -rA) for the record."""

import json
import os
import subprocess
from pathlib import Path

import pytest
from helpers import CHROMIUM, handbook_kit, unavailable

ROOT = Path(__file__).resolve().parents[2]
LIGHTHOUSE = ROOT / "scripts" / "lighthouse" / "node_modules" / ".bin" / "lighthouse"
PLAYBOOKS = ROOT / "handbook" / "playbooks"
LONGEST = max(PLAYBOOKS.glob("*.md"), key=lambda p: len(p.read_text(encoding="utf-8")))
PAGES = ["", f"playbooks/{LONGEST.stem}/"]


@pytest.fixture(scope="module")
def kit(tmp_path_factory, built):
    if not LIGHTHOUSE.exists():
        unavailable("Lighthouse", "npm ci --prefix scripts/lighthouse (CI does this)")
    if not Path(CHROMIUM).exists():
        unavailable("Chromium", "apt-get install chromium (CI does this)")
    with handbook_kit(tmp_path_factory.mktemp("lighthouse"), built) as base_url:
        yield base_url


def lighthouse(url: str, out: Path) -> dict:
    subprocess.run(
        [
            str(LIGHTHOUSE), url, "--quiet", "--output=json", f"--output-path={out}",
            "--only-categories=performance,accessibility",
            "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
        ],
        env={**os.environ, "CHROME_PATH": CHROMIUM},
        check=True, timeout=300, capture_output=True,
    )  # fmt: skip
    return json.loads(out.read_text(encoding="utf-8"))


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES, ids=["home", "longest-playbook"])
def test_lighthouse_mobile_scores(kit, tmp_path, page):
    report = lighthouse(f"{kit}/handbook/{page}", tmp_path / "report.json")
    assert report["configSettings"]["formFactor"] == "mobile"
    assert report["lighthouseVersion"].startswith("12.")
    scores = {name: round(c["score"] * 100) for name, c in report["categories"].items()}
    failing = [
        f"{key}: {audit['title']}"
        for key, audit in report["audits"].items()
        if audit.get("scoreDisplayMode") == "binary" and audit.get("score") == 0
    ]
    print(f"Lighthouse {report['lighthouseVersion']} /handbook/{page}: {scores}")
    assert scores["performance"] >= 90, (scores, failing)
    assert scores["accessibility"] >= 95, (scores, failing)
