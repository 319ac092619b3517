"""The copy check (scripts/copycheck.py) can fail: it reads article 002 in Simplified Chinese,
and it flags a sentence that is a near copy as well as a shared run of characters.

Most tests use small made-up strings, so they run without the articles; the one that plants a
real sentence of article 002 reads it from the seeds folder at run time."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT.parent / "shared" / "seeds"
sys.path.insert(0, str(ROOT / "scripts"))

import copycheck  # noqa: E402

SEED = "衡量一个社群好不好，要看你发起活动的时候有多少成员愿意响应。"
NEAR_COPY = "衡量一个社群好不好，就看你发起活动时有多少成员愿意响应。"
OWN_WORDS = "一个群办得怎样，不看聊天多热闹，看的是招呼一声有几成人到场。"


# ---------------------------------------------------------------- the parts


def test_sentences_split_where_a_sentence_or_a_table_cell_ends():
    text = "第一句。第二句！第三句？第四句；第五句：第六句\n| 第七格 | 第八格 |\n\n  "
    assert copycheck.sentences(text) == [
        "第一句",
        "第二句",
        "第三句",
        "第四句",
        "第五句",
        "第六句",
        "第七格",
        "第八格",
    ]


def test_only_cjk_characters_count():
    assert copycheck.cjk("**粘性**就是 100 人里有 70 人响应（70%）") == "粘性就是人里有人响应"


def test_similarity_is_difflib_ratio_over_cjk_characters():
    assert copycheck.similarity("群规要简单。", "群规要简单！") == 1.0
    # Latin letters, digits and punctuation do not count: only the 4 + 4 ideographs do.
    assert copycheck.similarity("ABC 群规简单", "群规简单 123") == 1.0
    assert copycheck.similarity("群规简单", "群规好懂") == pytest.approx(2 * 2 / 8)
    assert copycheck.similarity(SEED, NEAR_COPY) >= copycheck.SIMILAR
    assert copycheck.similarity(SEED, OWN_WORDS) < 0.5


def test_conversion_makes_traditional_characters_and_variants_equal():
    assert copycheck.simplified("社群運營經驗") == "社群运营经验"
    assert copycheck.simplified("群裏") == copycheck.simplified("群里") == "群里"
    # Article 002's web page writes pinyin after some characters.
    assert copycheck.simplified("私域運(yùn)營(yíng)") == "私域运营"


def test_a_near_copy_is_flagged_though_it_shares_no_long_run():
    seeds = [copycheck.load_seed("a.txt", SEED)]
    page = f"# 某页\n\n先说一句别的。{NEAR_COPY}\n"
    assert copycheck.shared_runs(page, {"a.txt": seeds[0].text}) == []
    [hit] = copycheck.similar_sentences(page, seeds)
    assert hit.seed == "a.txt"
    assert hit.ratio >= copycheck.SIMILAR
    assert copycheck.cjk(hit.sentence) == copycheck.cjk(NEAR_COPY)
    assert copycheck.findings(page, seeds)


def test_a_sentence_exactly_at_the_threshold_is_flagged():
    # 12 of the article sentence's 18 ideographs, in order: 2 * 12 / (12 + 18) = 0.80 exactly,
    # which float rounding in the length bounds must not lose.
    article = "我们店里有哪几位店员很会跟老顾客聊天。"
    page = "哪几位店员很会跟老顾客聊。"
    assert copycheck.similarity(article, page) == pytest.approx(copycheck.SIMILAR)
    [hit] = copycheck.similar_sentences(page, [copycheck.load_seed("a.txt", article)])
    assert hit.ratio == pytest.approx(copycheck.SIMILAR)


def test_a_genuine_rewrite_passes():
    seeds = [copycheck.load_seed("a.txt", SEED)]
    page = f"# 某页\n\n{OWN_WORDS}\n"
    assert copycheck.similar_sentences(page, seeds) == []
    assert copycheck.findings(page, seeds) == []


def test_a_copied_traditional_sentence_is_caught_by_both_rules():
    traditional = "社群運營的價值在於讓用戶之間產生連接，而不是單向地發廣告。"
    seeds = [copycheck.load_seed("a.txt", traditional)]
    page = "社群运营的价值在于让用户之间产生连接，而不是单向地发广告。"
    assert copycheck.shared_runs(page, {"a.txt": seeds[0].text})
    assert copycheck.similar_sentences(page, seeds)


def test_short_sentences_and_titles_are_not_compared():
    article = "群规要简单好懂。社群运营经验总结：如何通过社群实现销售目标。"
    seeds = [copycheck.load_seed("a.txt", article)]
    # Under MIN_CJK ideographs a ratio says little; a title is how the handbook cites.
    assert copycheck.similar_sentences("群规要简单好懂。", seeds) == []
    assert seeds[0].sentences == ()
    cited = "见《社群运营经验总结：如何通过社群实现销售目标》。"
    assert copycheck.findings(cited, seeds) == []


def test_copycheck_catches_a_copied_sentence_even_repunctuated():
    seeds = {"a.txt": copycheck.normalise("社群的价值在于让用户之间产生连接，而不是单向地发广告。")}
    page = "有人说：社群的价值，在于让用户之间产生连接 而不是单向地发广告！"
    assert copycheck.shared_runs(page, seeds)
    assert not copycheck.shared_runs("社群要让用户彼此连接起来，别只顾着发广告。", seeds)


# ---------------------------------------------------------------- with the real articles


@pytest.fixture(scope="module")
def seeds():
    if not SEEDS.is_dir():
        pytest.skip(f"the source articles are not beside the project ({SEEDS}); CI has them")
    return copycheck.load_seeds(SEEDS)


def sentence_of_article_002() -> str:
    """The first long sentence of article 002 (its title aside) written in Traditional
    characters, as it stands in the file, pinyin in brackets included: only the conversion
    to Simplified Chinese can match it with the article."""
    [path] = SEEDS.glob("002_*.txt")
    raw = path.read_text(encoding="utf-8", errors="replace")
    return next(
        sentence
        for sentence in copycheck.sentences(raw)
        if len(copycheck.cjk(copycheck.drop_titles(copycheck.simplified(sentence)))) >= 20
        and copycheck.cjk(copycheck.simplified(sentence)) != copycheck.cjk(sentence)
    )


def test_a_sentence_planted_from_article_002_in_traditional_chinese_fails_the_check(seeds):
    planted = sentence_of_article_002()
    assert copycheck.cjk(planted) not in copycheck.cjk(copycheck.simplified(planted))
    page = f"# 假页面 {{ #fake }}\n\n这是本手册自己的一句话。{planted}。\n"
    found = copycheck.findings(page, seeds)
    assert any("002_" in line and "characters as in" in line for line in found), found
    assert any("002_" in line and "ratio" in line for line in found), found
    assert copycheck.findings("# 假页面 { #fake }\n\n这是本手册自己的一句话。\n", seeds) == []


def test_the_command_prints_each_finding_and_exits_1(seeds, tmp_path, capsys, monkeypatch):
    planted = sentence_of_article_002()
    handbook = tmp_path / "handbook"
    handbook.mkdir()
    (handbook / "page.md").write_text(f"# 页 {{ #page }}\n\n{planted}\n", encoding="utf-8")
    (handbook / "clean.md").write_text(f"# 页 {{ #clean }}\n\n{OWN_WORDS}\n", encoding="utf-8")
    monkeypatch.setattr(copycheck, "HANDBOOK", handbook)
    monkeypatch.setattr(copycheck, "ROOT", tmp_path)
    assert copycheck.main(["copycheck.py", str(SEEDS)]) == 1
    out = capsys.readouterr().out
    assert "handbook/page.md: ratio" in out
    assert "page:" in out and "article:" in out
    assert "clean.md" not in out
