"""Find passages of the handbook that repeat the source articles, word for word or nearly.

The handbook must say everything in its own words. Both sides are first converted to
Simplified Chinese with OpenCC (article 002 is Traditional Chinese, with pinyin in brackets
after some characters; the handbook gains nothing but variants such as 裏/里 made equal).
Then a page fails on either of:

- a run of RUN or more characters that it shares with an article, once punctuation and white
  space are removed from both (so re-punctuating a copied sentence does not hide it);
- a sentence whose CJK characters are SIMILAR or more alike (difflib's ratio) to those of one
  article sentence (so swapping a word or two in a copied sentence does not hide it either).

The articles' titles are exempt: the handbook cites each article by its title.

    python scripts/copycheck.py [SEEDS_DIR]      # exit 1 when any page is flagged
"""

import re
import sys
import unicodedata
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import cache
from pathlib import Path

RUN = 20
SIMILAR = 0.80
# Below this many CJK characters a sentence is a phrase, and a ratio says little about it.
MIN_CJK = 12
EPSILON = 1e-9
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
# Where one sentence ends: full stops, question and exclamation marks, semicolons, colons (a
# label before a colon would dilute what follows it), line ends, and a Markdown table's cell
# borders.
SENTENCE_END = re.compile(r"[。！？；：!?;:…\n|]+")
# Article 002's web page writes pinyin after some characters: 運(yùn)營(yíng).
PINYIN = re.compile(r"(?<=[\u3400-\u9fff])\([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]+\)")
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


@cache
def _converter():
    import opencc  # the dev extra installs it (pyproject.toml)

    return opencc.OpenCC("t2s")


def simplified(text: str) -> str:
    """`text` in Simplified Chinese, without the pinyin some web pages put after characters."""
    return _converter().convert(PINYIN.sub("", text))


def normalise(text: str) -> str:
    """Drop punctuation, symbols and white space; keep letters, digits and ideographs."""
    return "".join(
        ch for ch in text if not ch.isspace() and unicodedata.category(ch)[0] not in "PSZC"
    )


def cjk(text: str) -> str:
    """Only the CJK ideographs of `text`, in order."""
    return "".join(CJK.findall(text))


def _title_pattern(title: str) -> re.Pattern:
    # The title's ideographs in order, whatever is written between them (punctuation, 3.0).
    return re.compile(f"[^{CJK.pattern[1:-1]}]*".join(cjk(title)))


TITLE_PATTERNS = [_title_pattern(title) for title in TITLES]


def drop_titles(text: str) -> str:
    """`text` (Simplified) with every article title cut out, each leaving a sentence break."""
    for pattern in TITLE_PATTERNS:
        text = pattern.sub("\n", text)
    return text


def sentences(text: str) -> list[str]:
    """The sentences of `text` (stripped, none empty), split where a sentence or a cell ends."""
    return [part.strip() for part in SENTENCE_END.split(text) if part.strip()]


def similarity(a: str, b: str) -> float:
    """How alike the CJK characters of two sentences are: difflib's ratio, 0 to 1."""
    return SequenceMatcher(None, cjk(a), cjk(b), autojunk=False).ratio()


@dataclass(frozen=True)
class Sentence:
    text: str
    key: str  # its CJK characters
    chars: frozenset[str]  # the distinct ones

    @classmethod
    def of(cls, text: str) -> "Sentence":
        key = cjk(text)
        return cls(text, key, frozenset(key))


@dataclass(frozen=True)
class Seed:
    name: str
    text: str  # normalised, in Simplified Chinese
    sentences: tuple[Sentence, ...]  # those of MIN_CJK or more CJK characters, titles cut out


def page_sentences(text: str) -> list[Sentence]:
    """The sentences of `text` worth comparing, in Simplified Chinese, titles cut out."""
    found = (Sentence.of(part) for part in sentences(drop_titles(simplified(text))))
    return [sentence for sentence in found if len(sentence.key) >= MIN_CJK]


def load_seed(name: str, raw: str) -> Seed:
    return Seed(name, normalise(simplified(raw)), tuple(page_sentences(raw)))


def load_seeds(seeds_dir: Path) -> list[Seed]:
    return [
        load_seed(path.name, path.read_text(encoding="utf-8", errors="replace"))
        for path in sorted(seeds_dir.glob("*.txt"))
    ]


def seed_texts(seeds_dir: Path) -> dict[str, str]:
    """Each article's normalised text in Simplified Chinese, by file name."""
    return {seed.name: seed.text for seed in load_seeds(seeds_dir)}


def shared_runs(page: str, seeds: dict[str, str], run: int = RUN) -> list[tuple[str, str]]:
    """Each (seed name, shared passage) where `page` repeats `run`+ characters of a seed.

    `seeds` maps names to text as `seed_texts` gives it (normalised, Simplified)."""
    grams: dict[str, str] = {}
    for name, text in seeds.items():
        for i in range(len(text) - run + 1):
            grams.setdefault(text[i : i + run], name)
    text = normalise(simplified(page))
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


@dataclass(frozen=True)
class Similar:
    ratio: float
    sentence: str  # the page's
    seed: str
    seed_sentence: str  # the article's, in Simplified Chinese


def _could_reach(a: Sentence, b: Sentence, matches_needed: float) -> bool:
    """Cheap bound first: difflib can match no more characters than the two share, counting
    each shared character once plus every repeat that one side has."""
    shared = len(a.chars & b.chars)
    bound = min(shared + len(a.key) - len(a.chars), shared + len(b.key) - len(b.chars))
    return bound >= matches_needed


def similar_sentences(page: str, seeds: list[Seed], threshold: float = SIMILAR) -> list[Similar]:
    """Each sentence of `page` at least `threshold` alike to an article sentence, with the
    article sentence it is most alike to."""
    pool = sorted(
        ((len(sentence.key), seed.name, sentence) for seed in seeds for sentence in seed.sentences),
        key=lambda entry: entry[0],
    )
    lengths = [entry[0] for entry in pool]
    found = []
    matcher = SequenceMatcher(autojunk=False)
    for sentence in page_sentences(page):
        size = len(sentence.key)
        # ratio = 2M / (len a + len b) and M <= the shorter length, so reaching `threshold`
        # needs the article sentence within these lengths.
        # (EPSILON keeps float rounding from dropping a pair that is exactly at the threshold.)
        low = bisect_left(lengths, size * threshold / (2 - threshold) - EPSILON)
        high = bisect_right(lengths, size * (2 - threshold) / threshold + EPSILON)
        # difflib keeps what it learns about its second sequence: give it the page's sentence.
        matcher.set_seq2(sentence.key)
        best: Similar | None = None
        for other_size, name, other in pool[low:high]:
            needed = threshold * (size + other_size) / 2 - EPSILON
            if not _could_reach(sentence, other, needed):
                continue
            matcher.set_seq1(other.key)
            if matcher.quick_ratio() < threshold - EPSILON:
                continue
            ratio = matcher.ratio()
            if ratio >= threshold - EPSILON and (best is None or ratio > best.ratio):
                best = Similar(ratio, sentence.text, name, other.text)
        if best is not None:
            found.append(best)
    return found


def findings(page: str, seeds: list[Seed]) -> list[str]:
    """What the copy check says of one page's text: one line per copied run or similar sentence."""
    texts = {seed.name: seed.text for seed in seeds}
    lines = [
        f"{len(passage)} characters as in {name}: {passage}"
        for name, passage in shared_runs(page, texts)
    ]
    lines += [
        f"ratio {hit.ratio:.2f} to a sentence of {hit.seed}:\n"
        f"    page:    {hit.sentence}\n    article: {hit.seed_sentence}"
        for hit in similar_sentences(page, seeds)
    ]
    return lines


def main(argv: list[str]) -> int:
    seeds_dir = Path(argv[1]) if len(argv) > 1 else DEFAULT_SEEDS
    if not seeds_dir.is_dir():
        print(f"no source articles at {seeds_dir}: pass the seeds folder as the first argument")
        return 2
    seeds = load_seeds(seeds_dir)
    failures = 0
    for page in sorted(HANDBOOK.rglob("*.md")):
        for line in findings(page.read_text(encoding="utf-8"), seeds):
            failures += 1
            print(f"{page.relative_to(ROOT)}: {line}")
    if failures:
        print(f"{failures} finding(s): rewrite them in the handbook's own words")
    else:
        print(f"no copied runs, no sentence {SIMILAR:.2f} or more alike to an article's")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
