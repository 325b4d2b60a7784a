"""The compliance checker beyond single-rule examples: actors, locales, context, fixes, rule data."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from bot.guardrails import GroundingSources, GuardContext, Severity, check, rewrite, strictest
from bot.guardrails.compliance import parse_rules
from bot.guardrails.document import RuleDataError
from knowledge.fees import load_fee_schedule
from tests.unit.guardrails.generators import DETERMINISTIC

APRS = {3: Decimal("0.1345"), 6: Decimal("0.1426"), 12: Decimal("0.1431"), 24: Decimal("0.1454")}
SCHEDULE = load_fee_schedule()
FULL_CONTEXT = GuardContext(
    grounding=GroundingSources.build(numbers=SCHEDULE.figures(), times=["08:00", "22:00"]),
    apr_by_periods={plan.periods: plan.apr for plan in SCHEDULE.installment_plans()},
    daily_rate_apr=SCHEDULE.dec("billing.purchase_annual_rate"),
)

ORDINARY_REPLIES = yaml.safe_load(
    (Path(__file__).parent / "ordinary_replies.yaml").read_text(encoding="utf-8")
)


def ids(
    text: str, *, locale: str = "zh", actor: str = "bot", context: GuardContext | None = None
) -> set[str]:
    return {v.rule_id for v in check(text, locale=locale, actor=actor, context=context)}  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("locale", "reply"), [(locale, r) for locale, replies in ORDINARY_REPLIES.items() for r in replies]
)
def test_check_passes_ordinary_replies_with_full_context(locale: str, reply: str) -> None:
    assert check(reply, locale=locale, actor="bot", context=FULL_CONTEXT) == []
    assert check(reply, locale=locale, actor="agent", context=FULL_CONTEXT) == []


def test_check_applies_bot_only_rules_to_the_bot_only() -> None:
    assert "BOT-02" in ids("I'm a real person.", locale="en", actor="bot")
    assert "BOT-02" not in ids("I'm a real person.", locale="en", actor="agent")


def test_check_applies_agent_courtesy_rules_to_agents_in_their_language() -> None:
    assert "QA-01" in ids("不归我管，你自己去查。", actor="agent")
    assert "QA-01" not in ids("不归我管，你自己去查。", actor="bot")
    assert "QA-02" in ids("Calm down.", locale="en-US", actor="agent")
    assert "QA-02" not in ids("Calm down.", locale="zh-CN", actor="agent")


def test_check_uses_the_severity_for_the_actor() -> None:
    text = "Card 4111 1111 1111 1111 is frozen."
    (bot,) = check(text, locale="en", actor="bot")
    (agent,) = check(text, locale="en", actor="agent")
    assert (bot.rule_id, bot.severity, agent.severity) == ("SEC-04", Severity.REWRITE, Severity.BLOCK)
    assert agent.message("zh").startswith("消息中出现了完整的银行卡号")
    assert agent.message("en").startswith("The message contains a full card number")


def test_check_reports_spans_in_the_callers_offsets() -> None:
    text = "（提示）请提供您的ＣＶＶ安全码。"
    (violation,) = [v for v in check(text, locale="zh", actor="bot") if v.rule_id == "SEC-01"]
    assert text[violation.start : violation.end] == "请提供您的ＣＶＶ"


def test_negation_in_another_clause_does_not_excuse_a_request() -> None:
    assert "SEC-02" not in ids("我们不会索要您的密码。")
    assert "SEC-02" in ids("我们不会索要您的CVV，但请提供您的交易密码。")
    assert "SEC-02" in ids("We never ask for your CVV, but please tell me your PIN.", locale="en")


def test_decision_whitelists_only_its_own_topic() -> None:
    limit = GuardContext(decisions={"temporary_limit_approved"})
    assert "CLM-07" not in ids("您的临时额度已提升至15,000元。", context=limit)
    assert "CLM-07" in ids("您的临时额度已提升，年费也已为您免除。", context=limit)
    waived = GuardContext(decisions={"annual_fee_waived"})
    assert "CLM-07" not in ids("I've waived the annual fee for you.", locale="en", context=waived)


def test_other_customer_markers_match_whole_numbers_and_ids_only() -> None:
    ctx = GuardContext(other_customer_markers=("8832", "C002", "李", "王芳"))
    assert "SEC-08" in ids("尾号8832的卡片已冻结。", context=ctx)
    assert "SEC-08" in ids("customer c002 called", locale="en", context=ctx)
    assert "SEC-08" not in ids("余额¥18,832.00，客户编号C0021。", context=ctx)
    assert "SEC-08" not in ids("Your ticket is t_fd8832f4; reference 98832.", locale="en", context=ctx)
    assert "SEC-08" not in ids("李先生您好", context=GuardContext(other_customer_markers=("李",)))


def test_grounding_rule_runs_only_with_sources() -> None:
    text = "分12期的年化利率为12.5%。"
    assert "PRC-08" not in ids(text)
    sources = GroundingSources.build(numbers=[Decimal("0.1431"), Decimal("0.0066")])
    assert "PRC-08" in ids(text, context=GuardContext(grounding=sources))


def test_zero_cost_claim_depends_on_the_subject() -> None:
    assert "PRC-03" in ids("这笔分期免手续费。")
    assert "PRC-03" not in ids("按时全额还款的消费享受免息期，不收利息。")
    assert "PRC-03" not in ids("是免息的。")
    assert "PRC-03" in ids("是免息的。", context=GuardContext(intent="installment"))


def test_offers_respect_declines_unless_the_customer_restarted_the_flow() -> None:
    text = "建议您办理账单分期。"
    declined = GuardContext(declined_offers={"installment"})
    assert "MKT-01" in ids(text, context=declined)
    assert "MKT-01" not in ids(
        text, context=GuardContext(declined_offers={"installment"}, in_confirmed_flow=True)
    )
    assert "MKT-01" not in ids(text, context=GuardContext(declined_offers={"upgrade"}))


def test_human_request_needs_a_way_to_a_person_in_the_same_reply() -> None:
    ctx = GuardContext(intent="human.agent")
    assert "BOT-03" in ids("您的账单已出。", context=ctx)
    assert "BOT-03" not in ids("好的，正在为您转接人工客服。", context=ctx)
    assert "BOT-03" not in ids("您的账单已出。")


def test_rewrite_masks_card_numbers_and_ids() -> None:
    text = "卡号4111111111111111和身份证11010519491231002X已核对。"
    fixed = rewrite(text, check(text, locale="zh", actor="bot"))
    assert fixed == "卡号**** **** **** 1111和身份证**************002X已核对。"
    assert check(fixed, locale="zh", actor="bot") == []


@pytest.mark.parametrize(
    ("text", "locale", "expected"),
    [
        ("分12期，每期手续费率0.66%。", "zh", "（年化利率：12期14.31%，按月内部收益率乘以12计算。）"),
        ("每期手续费率低至0.66%。", "zh", "（年化利率：3期13.45%、6期14.26%、12期14.31%、24期14.54%，"),
        ("The 6-month plan costs 0.70% per month.", "en", " Annualized rate (APR): 14.26% for 6 periods,"),
    ],
)
def test_rewrite_appends_the_apr_from_the_context(text: str, locale: str, expected: str) -> None:
    ctx = GuardContext(apr_by_periods=APRS)
    violations = check(text, locale=locale, actor="bot", context=ctx)
    assert [v.rule_id for v in violations] == ["PRC-01"]
    fixed = rewrite(text, violations)
    assert expected in fixed
    assert check(fixed, locale=locale, actor="bot", context=ctx) == []


def test_rate_without_apr_has_no_fix_when_the_context_lacks_the_apr() -> None:
    (violation,) = check("分12期，每期手续费率0.66%。", locale="zh", actor="bot")
    assert violation.suggested_fix is None
    assert rewrite("分12期，每期手续费率0.66%。", [violation]) == "分12期，每期手续费率0.66%。"


def test_rewrite_appends_each_sentence_once() -> None:
    ctx = GuardContext(customer_shared_secret=True)
    text = "已收到。"
    violations = check(text, locale="zh", actor="bot", context=ctx)
    once = rewrite(text, violations)
    assert rewrite(once, violations) == once
    assert once.count("明光银行不会索要") == 1


def test_strictest_orders_block_over_rewrite_over_warn() -> None:
    text = "卡号4111111111111111，分期更划算，必须今天办理。"
    assert strictest(check(text, locale="zh", actor="bot")) is Severity.BLOCK
    assert strictest(check(text, locale="zh", actor="agent")) is Severity.BLOCK
    assert strictest(check("全网最低。", locale="zh", actor="agent")) is Severity.WARN
    assert strictest([]) is None


def test_guard_context_from_mapping_rejects_unknown_fields() -> None:
    with pytest.raises(ValueError, match="unknown context fields"):
        GuardContext.from_mapping({"decision": ["x"]})
    ctx = GuardContext.from_mapping({"apr_by_periods": {12: "0.1431"}, "grounding": {"numbers": ["0.66"]}})
    assert ctx.apr_by_periods == {12: Decimal("0.1431")}
    assert ctx.grounding is not None and Decimal("0.66") in ctx.grounding.numbers


_LEXICONS = "LEX-A: [foo]\n"
_GOOD = """
rules:
  - id: T-01
    locale: both
    applies_to: both
    severity: warn
    title: {zh: 标题, en: Title}
    description: {zh: 说明, en: Description}
    checks: [{checker: lexicon, params: {patterns: ['@LEX-A']}}]
    examples:
      hit: [{locale: zh, text: foo}, {locale: en, text: foo}]
      pass: [{locale: zh, text: bar}, {locale: en, text: bar}]
"""


def test_parse_rules_loads_a_minimal_rule() -> None:
    (rule,) = parse_rules({"t.yaml": _GOOD}, _LEXICONS)
    assert rule.id == "T-01" and rule.severity("agent") is Severity.WARN
    assert [v.rule_id for v in check("a foo b", locale="en", actor="bot", rules=[rule])] == ["T-01"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("checker: lexicon", "checker: nosuch"), "unknown checker"),
        (("patterns: ['@LEX-A']", "patterns: ['@LEX-B']"), "unknown lexicon"),
        (("patterns: ['@LEX-A']", "patterns: ['(']"), "bad pattern"),
        (("params: {patterns", "params: {window: 3, patterns"), "unknown parameters"),
        (("{locale: en, text: foo}", "{locale: zh, text: foo}"), "missing examples in \\['en'\\]"),
        (("severity: warn", "severity: stop"), "severity"),
        (("{locale: zh, text: bar}", "{locale: zh, txt: bar}"), "expected \\{text"),
    ],
)
def test_parse_rules_rejects_malformed_rules(change: tuple[str, str], message: str) -> None:
    with pytest.raises(RuleDataError, match=message):
        parse_rules({"t.yaml": _GOOD.replace(*change)}, _LEXICONS)


def test_parse_rules_rejects_duplicate_ids() -> None:
    with pytest.raises(RuleDataError, match="duplicate rule ids"):
        parse_rules({"a.yaml": _GOOD, "b.yaml": _GOOD}, _LEXICONS)


@given(st.text(alphabet="0123456789 -.,%¥*@+/:年月日期元万天xX分期免息CVV密码验证码APRcard ", max_size=200))
@DETERMINISTIC
def test_check_never_raises_and_keeps_spans_inside_the_text(text: str) -> None:
    for violation in check(text, locale="zh", actor="bot", context=FULL_CONTEXT):
        assert 0 <= violation.start <= violation.end <= len(text)
