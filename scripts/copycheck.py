"""Find passages of the handbook that repeat the source articles word for word.

The handbook must say everything in its own words. This reports every run of RUN or more
characters that a handbook page shares with a source article, once punctuation and white
space are removed from both (so re-punctuating a copied sentence does not hide it).

    python scripts/copycheck.py [SEEDS_DIR]      # exit 1 when any page shares a run
"""

import sys
import unicodedata
from pathlib import Path

RUN = 20
ROOT = Path(__file__).resolve().parent.parent
HANDBOOK = ROOT / "handbook"
DEFAULT_SEEDS = ROOT.parent / "shared" / "seeds"
# The handbook cites each article by its title, which is not copying its text.
TITLES = [
    "社群运营：社交电商平台的私域流量池搭建",
    "运营新玩法：社群电商",
    "私域运营3.0时代到来，私域+直播将成企业利润增长核武器",
    "社群电商的自我摸索（上）",
    "社群运营经验总结：如何通过社群实现销售目标",
]


def normalise(text: str) -> str:
    """Drop punctuation, symbols and white space; keep letters, digits and ideographs."""
    return "".join(
        ch for ch in text if not ch.isspace() and unicodedata.category(ch)[0] not in "PSZC"
    )


def seed_texts(seeds_dir: Path) -> dict[str, str]:
    return {
        path.name: normalise(path.read_text(encoding="utf-8", errors="replace"))
        for path in sorted(seeds_dir.glob("*.txt"))
    }


def shared_runs(page: str, seeds: dict[str, str], run: int = RUN) -> list[tuple[str, str]]:
    """Each (seed name, shared passage) where `page` repeats `run`+ characters of a seed."""
    grams: dict[str, str] = {}
    for name, text in seeds.items():
        for i in range(len(text) - run + 1):
            grams.setdefault(text[i : i + run], name)
    text = normalise(page)
    for title in TITLES:
        text = text.replace(normalise(title), "|")
    found, i = [], 0
    while i <= len(text) - run:
        name = grams.get(text[i : i + run])
        if name is None:
            i += 1
            continue
        end = i + run
        while end < len(text) and text[end + 1 - run : end + 1] in grams:
            end += 1
        found.append((name, text[i:end]))
        i = end
    return found


def main(argv: list[str]) -> int:
    seeds_dir = Path(argv[1]) if len(argv) > 1 else DEFAULT_SEEDS
    if not seeds_dir.is_dir():
        print(f"no source articles at {seeds_dir}: pass the seeds folder as the first argument")
        return 2
    seeds = seed_texts(seeds_dir)
    failures = 0
    for page in sorted(HANDBOOK.rglob("*.md")):
        for name, passage in shared_runs(page.read_text(encoding="utf-8"), seeds):
            failures += 1
            print(f"{page.relative_to(ROOT)}: {len(passage)} characters as in {name}: {passage}")
    print("no copied runs" if not failures else f"{failures} copied run(s): rewrite them")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
