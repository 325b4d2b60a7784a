"""Sentences of the extractive composer, and the guard's view of verbatim article wording."""

from __future__ import annotations

from bot.answers.draft import Draft
from bot.answers.knowledge import row_sentence, sentences
from bot.guard import OutputGuard
from knowledge.fees import load_fee_schedule

ARTICLE_EN = (
    "A purchase that posts the day after the statement day gets up to 50 days in total. "
    '"When is the best time to use my card?" Shortly after your statement day gives the longest '
    "interest-free time."
)


def test_a_quoted_question_is_one_sentence_and_its_quote_does_not_start_the_next() -> None:
    assert sentences(ARTICLE_EN) == [
        "A purchase that posts the day after the statement day gets up to 50 days in total.",
        '"When is the best time to use my card?"',
        "Shortly after your statement day gives the longest interest-free time.",
    ]
    assert sentences("年费按卡片年度收取。“怎么扣了我年费？”——对照上表看看您的卡种。金卡年费200元！") == [
        "年费按卡片年度收取。",
        "“怎么扣了我年费？”",
        "对照上表看看您的卡种。",
        "金卡年费200元！",
    ]


def test_decimals_and_abbreviations_do_not_end_a_sentence() -> None:
    assert sentences("Each period costs ¥1,080.20 at 0.66% a month. Call us (24/7). Done") == [
        "Each period costs ¥1,080.20 at 0.66% a month.",
        "Call us (24/7).",
        "Done",
    ]


def _violations(text: str, passages: list[str]) -> list[str]:
    guard = OutputGuard(load_fee_schedule())
    draft = Draft(text=text, passages=passages)
    gctx = guard.context(draft, intent="cash_advance", shared_secret=False, declined=frozenset())
    violations, _ = guard.inspect(text, "en", gctx, passages)
    return [v.rule_id for v in violations]


def test_an_english_sentence_quoted_from_the_article_is_approved_wording_after_other_sentences() -> None:
    reply = (
        "Cash advances: interest runs from the day you withdraw the cash; a fee applies. "
        "Shortly after your statement day gives the longest interest-free time."
    )
    assert _violations(reply, [ARTICLE_EN]) == []


def test_the_same_claim_in_words_no_article_published_is_still_blocked() -> None:
    reply = "Cash advances: interest runs from the day you withdraw the cash. They are interest-free for a while."
    assert "PRC-03" in _violations(reply, [ARTICLE_EN])


def test_an_english_table_row_reads_as_a_sentence_with_each_column_named() -> None:
    header = ["Card", "Annual fee", "How to have it waived"]
    assert row_sentence(header, ["Gold", "¥200", "6 or more purchases in the card year"], "en") == (
        "Gold — Annual fee: ¥200; How to have it waived: 6 or more purchases in the card year."
    )
    assert row_sentence(header, ["Diamond", "¥3,600", "No waiver."], "en").endswith("waived: No waiver.")
    assert row_sentence(["卡种", "年费"], ["金卡", "¥200"], "zh") == "金卡：年费 ¥200。"
