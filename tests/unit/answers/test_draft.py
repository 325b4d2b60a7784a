"""Combining drafts keeps everything each one carries."""

from __future__ import annotations

from bot.answers.draft import Draft


def test_an_extended_draft_keeps_the_rule_articles_of_both_parts() -> None:
    answer = Draft(text="先回答您的问题。", meta={"cite": ["apr-explained"]})
    resume = Draft(text="我们继续刚才的分期。", handled="flow",
                   meta={"cite": ["installment-fees-apr", "apr-explained"]})
    answer.extend(resume)
    assert answer.meta["cite"] == ["apr-explained", "installment-fees-apr"]
    assert answer.text == "先回答您的问题。\n\n我们继续刚才的分期。"


def test_extending_with_a_draft_that_cites_nothing_adds_no_cite_list() -> None:
    answer = Draft(text="a").extend(Draft(text="b"))
    assert "cite" not in answer.meta
