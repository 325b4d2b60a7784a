"""Text handling for retrieval: analyzer, synonym expansion, follow-up rewriting, query cleaning."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from knowledge.followup import is_follow_up, rewrite
from knowledge.keyword import KeywordIndex, TextAnalyzer, has_words, stem
from knowledge.retrieval import MAX_QUERY_CHARS, clean_query
from knowledge.synonyms import SynonymExpander, SynonymsError, load_synonyms


@pytest.fixture(scope="module")
def analyzer(tmp_path_factory: pytest.TempPathFactory) -> TextAnalyzer:
    a = TextAnalyzer(cache_dir=tmp_path_factory.mktemp("var"))
    a.ensure_ready()
    return a


@pytest.fixture(scope="module")
def expander() -> SynonymExpander:
    return SynonymExpander(load_synonyms())


def test_analyzer_keeps_domain_words_whole(analyzer: TextAnalyzer) -> None:
    tokens = analyzer.tokens("我的卡被盗刷了，想办分期")
    assert "盗刷" in tokens
    assert "分期" in tokens
    assert "的" not in tokens and "了" not in tokens


def test_analyzer_adds_character_bigrams_for_chinese(analyzer: TextAnalyzer) -> None:
    # A typo (利习 for 利息) still shares the bigram 循环 with the right word.
    assert {"循环", "环利"} <= set(analyzer.tokens("循环利习"))


def test_analyzer_never_reads_platinum_as_gold(analyzer: TextAnalyzer) -> None:
    platinum = analyzer.tokens("白金卡年费多少")
    assert "白金卡" in platinum
    assert "金卡" not in platinum
    assert "金卡" in analyzer.tokens("金卡和白金卡的区别")


def test_analyzer_stems_english_and_drops_stop_words(analyzer: TextAnalyzer) -> None:
    assert analyzer.tokens("What are the charges for my installments?") == ["charg", "installment"]


def test_analyzer_folds_full_width_letters(analyzer: TextAnalyzer) -> None:
    assert analyzer.tokens("ＡＰＲ") == ["apr"]


@pytest.mark.parametrize(
    ("words", "same"),
    [
        (("charge", "charges", "charged", "charging"), True),
        (("cancelled", "canceled", "cancel"), True),
        (("pay", "paying", "payment"), False),
        (("limit", "limits"), True),
    ],
)
def test_stemmer_brings_word_forms_together(words: tuple[str, ...], same: bool) -> None:
    assert (len({stem(w) for w in words}) == 1) is same


@pytest.mark.parametrize(
    ("text", "expected"), [("🙂🙏", False), ("？！…", False), ("", False), ("a", True), ("卡", True)]
)
def test_has_words_ignores_emoji_and_punctuation(text: str, expected: bool) -> None:
    assert has_words(text) is expected


def test_keyword_index_round_trips_through_disk(analyzer: TextAnalyzer, tmp_path: Path) -> None:
    docs = [("zh", "信用卡挂失冻结"), ("en", "report a lost card"), ("zh", "积分兑换里程")]
    index = KeywordIndex.build(docs, analyzer)
    index.save(tmp_path)
    loaded = KeywordIndex.load(tmp_path, analyzer)
    for query in ("挂失", "lost card", "积分"):
        tokens = analyzer.tokens(query)
        assert np.allclose(index.scores(tokens), loaded.scores(tokens))
    scores = loaded.scores(analyzer.tokens("挂失"))
    assert scores[0] > 0 and scores[1] == 0 and scores[2] == 0


def test_synonyms_file_has_forty_groups_in_both_languages() -> None:
    groups = load_synonyms()
    assert len(groups) >= 40
    bilingual = [g for g in groups if any("\u4e00" <= ch <= "\u9fff" for t in g.terms for ch in t)]
    assert len(bilingual) == len(groups)


@pytest.mark.parametrize(
    ("question", "group"),
    [
        ("我卡不见了咋办", "lost-card"),
        ("钱包被偷了", "lost-card"),
        ("这笔不是我刷的", "fraud"),
        ("想涨额度", "limit-increase"),
        ("能不能拆开还", "installment"),
        ("Lost my wallet yesterday!!", "lost-card"),
        ("what's the membership fee", "annual-fee"),
        ("can I pay in installments", "installment"),
        ("how do I close my credit card", "cancel"),  # a word in between still matches
    ],
)
def test_synonyms_map_colloquial_words_to_their_group(
    expander: SynonymExpander, question: str, group: str
) -> None:
    assert group in expander.groups_in(question)


def test_synonyms_need_english_words_in_order_and_close_together(expander: SynonymExpander) -> None:
    assert "cancel" not in expander.groups_in("my card is fine, close the app")
    assert "cancel" not in expander.groups_in("card close")


def test_synonyms_match_longest_term_first(expander: SynonymExpander) -> None:
    assert expander.groups_in("白金卡年费") == ["tier-platinum", "annual-fee"]
    assert "travel-insurance" in expander.groups_in("travel insurance for flights")
    assert "abroad" not in expander.groups_in("travel insurance for flights")


def test_synonyms_expansion_names_formal_terms(expander: SynonymExpander) -> None:
    assert "挂失" in expander.expansion("我卡不见了")
    assert expander.expansion("今天天气不错") == ""


def test_synonyms_refuse_a_term_in_two_groups(tmp_path: Path) -> None:
    path = tmp_path / "synonyms.yaml"
    path.write_text(
        "groups:\n  - {id: a, zh: [挂失], en: [lost card]}\n  - {id: b, zh: [补卡], en: [Lost cards]}\n"
    )
    with pytest.raises(SynonymsError, match=r"synonyms\.yaml.*'Lost cards'.*'a' and 'b'"):
        load_synonyms(path)


def test_synonyms_refuse_a_malformed_file(tmp_path: Path) -> None:
    path = tmp_path / "synonyms.yaml"
    path.write_text("groups: [{zh: [挂失]}]\n")
    with pytest.raises(SynonymsError, match=r"synonyms\.yaml"):
        load_synonyms(path)


@pytest.mark.parametrize(
    ("query", "history", "expected"),
    [
        ("那白金卡呢？", ["金卡年费多少？"], "年费多少? 那白金卡呢？"),
        ("分24期呢", ["分12期手续费多少"], "分 手续费多少 分24期呢"),
        (
            "and for platinum?",
            ["What's the annual fee on the gold card?"],
            "what's the annual fee on the ? and for platinum?",
        ),
        (
            "what about 24 months?",
            ["fee for a 12-month installment?"],
            "fee for a installment? what about 24 months?",
        ),
        ("信用卡丢了怎么挂失", ["金卡年费多少？"], "信用卡丢了怎么挂失"),
        ("白金卡呢", [], "白金卡呢"),
    ],
)
def test_follow_up_merges_with_previous_question_topic(query: str, history: list[str], expected: str) -> None:
    assert rewrite(query, history) == expected


def test_follow_up_walks_back_over_earlier_follow_ups() -> None:
    history = ["金卡年费多少？", "那白金卡呢？"]
    assert rewrite("钻石卡呢？", history) == "年费多少? 那 呢? 钻石卡呢？"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("那白金卡呢？", True),
        ("platinum?", True),
        ("what about abroad?", True),
        ("How do I activate my card?", False),
    ],
)
def test_follow_up_detection(query: str, expected: bool) -> None:
    assert is_follow_up(query) is expected


def test_clean_query_folds_variants_collapses_space_and_cuts_length() -> None:
    assert clean_query("  帐单日   能改吗\n") == "账单日 能改吗"
    assert len(clean_query("卡" * 10_000)) == MAX_QUERY_CHARS
    assert clean_query("🙂 🙂") == ""
