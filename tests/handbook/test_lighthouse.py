"""Lighthouse 12 (scripts/lighthouse, installed by npm ci; .ci/run does it) with Debian's
Chromium, on its default mobile settings (a mid-range phone on slow 4G, simulated), scores the
home page and the longest playbook, served by the kit: performance at least 90,
accessibility at least 95. The scores are printed (pytest -s, or -rA) for the record.

A performance score moves with the machine's load (Lighthouse times the page's work on this CPU
and scales it to a phone's). `make test` runs these tests alone, before the rest of the suite, and
a page that falls short is scored four times more and judged by the median of the five, as
Lighthouse's own guidance on variability advises."""

import json
import os
import subprocess
from pathlib import Path

import pytest
from helpers import CHROMIUM, unavailable

ROOT = Path(__file__).resolve().parents[2]
LIGHTHOUSE = ROOT / "scripts" / "lighthouse" / "node_modules" / ".bin" / "lighthouse"
PLAYBOOKS = ROOT / "handbook" / "playbooks"
# The Chinese edition's longest page (page.en.md is the English edition, at /handbook/en/).
LONGEST = max(
    (p for p in PLAYBOOKS.glob("*.md") if not p.name.endswith(".en.md")),
    key=lambda p: len(p.read_text(encoding="utf-8")),
)
PAGES = ["", f"playbooks/{LONGEST.stem}/"]


@pytest.fixture(scope="module", autouse=True)
def lighthouse_installed():
    if not LIGHTHOUSE.exists():
        unavailable("Lighthouse", "npm ci --prefix scripts/lighthouse (CI does this)")
    if not Path(CHROMIUM).exists():
        unavailable("Chromium", "apt-get install chromium (CI does this)")


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


def scores(report: dict) -> dict[str, int]:
    return {name: round(c["score"] * 100) for name, c in report["categories"].items()}


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.lighthouse
@pytest.mark.parametrize("page", PAGES, ids=["home", "longest-playbook"])
def test_lighthouse_mobile_scores(kit, tmp_path, page):
    reports = [lighthouse(f"{kit}/handbook/{page}", tmp_path / "report.json")]
    if scores(reports[0])["performance"] < 90:
        # The score times a simulated phone on a shared CPU: one CI run saw 89, 85 and 96
        # for the same page. Lighthouse's advice on variability is the median of five.
        reports += [
            lighthouse(f"{kit}/handbook/{page}", tmp_path / f"{n}.json") for n in range(2, 6)
        ]
    report = sorted(reports, key=lambda r: scores(r)["performance"])[len(reports) // 2]
    assert report["configSettings"]["formFactor"] == "mobile"
    assert report["lighthouseVersion"].startswith("12.")
    failing = [
        f"{key}: {audit['title']}"
        for key, audit in report["audits"].items()
        if audit.get("scoreDisplayMode") == "binary" and audit.get("score") == 0
    ]
    runs = [scores(r) for r in reports]
    print(f"Lighthouse {report['lighthouseVersion']} /handbook/{page}: {runs}")
    assert scores(report)["performance"] >= 90, (runs, failing)
    assert scores(report)["accessibility"] >= 95, (runs, failing)
