"""The answers suite's scorer: figure normalisation, ungrounded figures, question sets."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from evals.harness import Exchange, is_language
from evals.suites.answers import (
    QUESTION_FILES,
    AnswerQuestion,
    Stated,
    derived_figures,
    expected_figure,
    load_questions,
    score,
    states_figure,
    ungrounded,
)


@pytest.mark.parametrize(
    ("figure", "kind", "value"),
    [
        ("¥300", "amount", "300"),
        ("300元", "amount", "300"),
        ("¥1,079.20", "amount", "1079.2"),
        ("¥1,000,000", "amount", "1000000"),
        ("100万元", "amount", "1000000"),
        ("14.31%", "percent", "14.31"),
        ("百分之五", "percent", "5"),
        ("1.5 per cent", "percent", "1.5"),
        ("20", "number", "20"),
        ("二十天", "count", "20"),
        ("20 days", "count", "20"),
        ("50,000", "number", "50000"),
    ],
)
def test_expected_figure_reads_the_usual_ways_of_writing_a_figure(figure: str, kind: str, value: str) -> None:
    assert expected_figure(figure) == Stated(kind, Decimal(value))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("reply", "figure"),
    [
        ("滞纳金最低10元，最高300元。", "¥300"),
        ("The late fee is capped at ¥300.00.", "¥300"),
        ("每期还款1,079.20元。", "¥1,079.20"),
        ("Each payment is ¥1079.2.", "¥1,079.20"),
        ("年化利率为14.31%。", "14.31%"),
        ("年化利率 14.31 %", "14.31%"),
        ("金卡保额100万元", "¥1,000,000"),
        ("You get 1 million yuan of cover.", "¥1,000,000"),
        ("到期还款日为账单日后第20天。", "20"),
        ("每期费率0.7%", "0.70%"),
    ],
)
def test_states_figure_after_normalisation(reply: str, figure: str) -> None:
    assert states_figure(reply, expected_figure(figure))


@pytest.mark.parametrize(
    ("reply", "figure"),
    [
        ("年化利率为14.31", "14.31%"),  # a rate must be stated as a rate
        ("手续费为5元", "5%"),
        ("滞纳金最高3,000元", "¥300"),
        ("分12期", "¥12"),
        ("积分有效期3年，金卡年费200元", "¥300"),
        ("尾号16786的卡片", "¥16,786.10"),
    ],
)
def test_states_figure_rejects_a_different_or_unqualified_figure(reply: str, figure: str) -> None:
    assert not states_figure(reply, expected_figure(figure))


def test_ungrounded_accepts_schedule_figures_and_flags_invented_ones() -> None:
    assert ungrounded("滞纳金按最低还款额未还部分的5%收取，最低10元，最高300元。", []) == []
    assert ungrounded("The late fee is 5% of the unpaid minimum, at most ¥350.", []) == ["¥350"]
    assert ungrounded("分12期的年化利率为14.32%。", []) == ["14.32%"]


def test_ungrounded_accepts_figures_of_the_cited_passage_only() -> None:
    reply = "比如最低还款额未还部分为8,000元，滞纳金按300元收取。"
    cited = [{"article_id": "late-payment-penalty", "locale": "zh", "section": "滞纳金的计算例子"}]
    other = [{"article_id": "billing-cycle", "locale": "zh", "section": "账单周期怎么算？"}]
    assert ungrounded(reply, []) == ["8,000元"]
    assert ungrounded(reply, other) == ["8,000元"]
    assert ungrounded(reply, cited) == []


def test_ungrounded_accepts_the_customers_account_and_what_the_rules_derive_from_it() -> None:
    snapshot = {
        "cards": [{"credit_limit": "30000", "balance": "27390.09", "statement_day": 15}],
        "statements": [{"due_date": "2026-12-05", "balance": "16786.10"}],
        "points": {"balance": 48600, "expiring": 4860},
    }
    account = {"snapshot": snapshot, "derived": derived_figures(snapshot, date(2026, 11, 30))}
    reply = (
        "本期应还¥16,786.10，12月5日到期（还有5天）。可用额度¥2,609.91，临时额度最高¥45,000.00。"
        "积分约可抵¥121.50。下期账单12月15日出账。"
    )
    assert ungrounded(reply, [], account) == []
    assert ungrounded("本期应还¥16,786.11。", [], account) == ["¥16,786.11"]
    assert ungrounded("本期应还¥16,786.10。", []) == ["¥16,786.10"]


def test_score_rates_citation_figure_grounding_and_language() -> None:
    question = AnswerQuestion(
        q="逾期滞纳金最多收多少", locale="zh", articles=("late-payment-penalty",), figure="¥300"
    )
    reply = {
        "type": "message",
        "role": "bot",
        "text": "滞纳金最低10元，最高300元。",
        "citations": [{"article_id": "late-payment-penalty", "locale": "zh", "section": "滞纳金收多少？"}],
        "meta": {"handled": "knowledge"},
    }
    good = score(question, Exchange(text=question.q, seq=1, reply=reply, frames=[reply]), {})
    assert (good.cites_right, good.figure_right, good.ungrounded, good.language_right, good.passed) == (
        True,
        True,
        [],
        True,
        True,
    )
    wrong = {**reply, "text": "Late fees are capped at ¥550.", "citations": []}
    bad = score(question, Exchange(text=question.q, seq=1, reply=wrong, frames=[wrong]), {})
    assert (bad.cites_right, bad.figure_right, bad.ungrounded, bad.language_right, bad.passed) == (
        False,
        False,
        ["¥550"],
        False,
        False,
    )


def test_figure_from_reads_the_customers_state() -> None:
    question = AnswerQuestion(
        q="我这期账单多少", locale="zh", figure_from="statements.0.balance", kind="account"
    )
    reply = {"type": "message", "role": "bot", "text": "您本期账单应还¥16,786.10。", "citations": []}
    account = {"snapshot": {"statements": [{"balance": "16786.10"}]}}
    scored = score(question, Exchange(text=question.q, seq=1, reply=reply, frames=[reply]), account)
    assert (scored.expected, scored.figure_right, scored.cites_right, scored.ungrounded) == (
        "16786.10",
        True,
        None,
        [],
    )


def test_language_check_allows_a_chinese_address_in_an_english_reply() -> None:
    assert is_language(
        "The new card goes to the address on file (上海市浦东新区 ***). Choose delivery.", "en"
    )
    assert not is_language("您好，我是明光银行智能助手。", "en")
    assert is_language("您好，您的账单¥16,786.10，due on Dec 5。", "zh")


def test_shipped_question_sets_are_large_valid_and_name_real_articles() -> None:
    from knowledge.ingestion.loader import load_sources

    articles = {(s.article.id, s.article.locale) for s in load_sources().values()}
    for path in QUESTION_FILES:
        questions = load_questions(path)
        assert len(questions) >= 100
        assert len({q.q for q in questions}) == len(questions)
        for q in questions:
            assert all((a, q.locale) in articles for a in q.articles), q.q
            if q.figure:
                expected_figure(q.figure)
            assert q.articles or q.figure_from or q.kind == "account", q.q
