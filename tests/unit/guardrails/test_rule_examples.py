"""Every rule's own examples: each 'hit' must trigger it, each 'pass' must not.

The examples live next to the rule in ``bot/guardrails/rules/*.yaml``; a rule without
examples in each of its languages does not load, so adding a rule means adding them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import pytest

from bot.guardrails import check, load_rules, rewrite
from bot.guardrails.compliance import Rule, RuleExample

RULES = load_rules()


def _cases(kind: str) -> Sequence[object]:
    cases = []
    for rule in RULES:
        examples = rule.hit_examples if kind == "hit" else rule.pass_examples
        for i, example in enumerate(examples):
            cases.append(
                pytest.param(rule, example, id=f"{rule.id}-{kind}-{i}-{example.locale}-{example.actor}")
            )
    return cases


def _rule_ids(example: RuleExample) -> set[str]:
    return {v.rule_id for v in check(example.text, locale=example.locale, actor=example.actor,
                                     context=example.context)}  # fmt: skip


@pytest.mark.parametrize(("rule", "example"), _cases("hit"))
def test_rule_fires_on_its_hit_example(rule: Rule, example: RuleExample) -> None:
    assert rule.id in _rule_ids(example)


@pytest.mark.parametrize(("rule", "example"), _cases("pass"))
def test_rule_stays_quiet_on_its_pass_example(rule: Rule, example: RuleExample) -> None:
    assert rule.id not in _rule_ids(example)


def _fixable() -> list[tuple[Rule, RuleExample]]:
    out = []
    for rule in RULES:
        for example in rule.hit_examples:
            found = check(example.text, locale=example.locale, actor=example.actor, context=example.context)
            if any(v.rule_id == rule.id and v.suggested_fix is not None for v in found):
                out.append((rule, example))
    return out


FIXABLE = _fixable()


@pytest.mark.parametrize(("rule", "example"), FIXABLE, ids=[f"{r.id}-{e.locale}" for r, e in FIXABLE])
def test_rewrite_clears_the_violation_it_fixes(rule: Rule, example: RuleExample) -> None:
    violations = check(example.text, locale=example.locale, actor=example.actor, context=example.context)
    fixed = rewrite(example.text, [v for v in violations if v.rule_id == rule.id])
    assert fixed != example.text
    again = RuleExample(text=fixed, locale=example.locale, actor=example.actor, context=example.context)
    assert rule.id not in _rule_ids(again)


def test_rewrite_rules_offer_a_fix_when_the_context_allows_one() -> None:
    assert {rule.id for rule, _ in FIXABLE} == {"SEC-04", "SEC-05", "PRC-01", "BOT-09"}


def test_rules_cover_every_area_of_the_brief_in_both_languages() -> None:
    ids = {r.id for r in RULES}
    required = {"SEC-01", "SEC-02", "SEC-03", "SEC-04", "SEC-08", "PRC-01", "PRC-03", "PRC-08", "PRC-10",
                "CLM-01", "CLM-07", "COL-01", "COL-02", "COL-03", "CMP-02", "BOT-02", "BOT-03"}  # fmt: skip
    assert required <= ids
    per_locale = Counter(r.locale for r in RULES)
    assert per_locale["both"] >= 25
    assert per_locale["zh"] >= 1 and per_locale["en"] >= 1


def test_rules_describe_themselves_in_both_languages_and_name_a_source() -> None:
    for rule in RULES:
        assert rule.description_zh and rule.description_en and rule.title_zh and rule.title_en, rule.id
        assert rule.source, rule.id
        assert any("\u4e00" <= c <= "\u9fff" for c in rule.description_zh), rule.id
