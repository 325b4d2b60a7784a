"""Figure extraction and numeric grounding against the fee schedule, passages and tool results."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest

from bot.guardrails import GroundingSources, PartialDate, check_grounding, extract_figures
from knowledge.fees import load_fee_schedule

SCHEDULE = GroundingSources.build(numbers=load_fee_schedule().figures(), times=["08:00", "22:00"])


def values(text: str) -> list[tuple[str, Decimal | PartialDate | tuple[int, int] | None]]:
    return [(f.kind, f.date or f.time or f.value) for f in extract_figures(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("¥1,079.20", [("amount", Decimal("1079.2"))]),
        ("1079.20元", [("amount", Decimal("1079.2"))]),
        ("额度1.2万", [("amount", Decimal(12000))]),
        ("五万积分", [("count", Decimal(50000))]),
        ("14.31%", [("percent", Decimal("14.31"))]),
        ("百分之五", [("percent", Decimal(5))]),
        ("日息万分之五", [("percent", Decimal("0.05"))]),
        ("20天", [("duration", Decimal(20))]),
        ("二十天", [("duration", Decimal(20))]),
        ("45 days", [("duration", Decimal(45))]),
        ("3 个工作日", [("duration", Decimal(3))]),
        ("两个工作日", [("duration", Decimal(2))]),
        ("12期", [("periods", Decimal(12))]),
        ("12 periods", [("periods", Decimal(12))]),
        ("2026-12-05", [("date", PartialDate(2026, 12, 5))]),
        ("12月5日", [("date", PartialDate(None, 12, 5))]),
        ("December 5, 2026", [("date", PartialDate(2026, 12, 5))]),
        ("5 Dec", [("date", PartialDate(None, 12, 5))]),
        ("08:00–22:00", [("time", (8, 0)), ("time", (22, 0))]),
        ("每月5日", [("day_of_month", Decimal(5))]),
        ("the 15th", [("day_of_month", Decimal(15))]),
        ("(APR 18.25%)", [("percent", Decimal("18.25"))]),
        ("due Apr 18", [("date", PartialDate(None, 4, 18))]),
    ],
)
def test_extract_figures_reads_each_form(text: str, expected: list[tuple[str, object]]) -> None:
    assert values(text) == expected


def test_extract_figures_gives_list_members_the_unit_of_the_last_one() -> None:
    assert values("可选3、6、12或24期") == [("periods", Decimal(n)) for n in (3, 6, 12, 24)]
    assert values("5 to 7 business days") == [("duration", Decimal(5)), ("duration", Decimal(7))]


@pytest.mark.parametrize(
    "text",
    [
        "您尾号1234的卡片",
        "card ending in 5678",
        "**** **** **** 1234",
        "手机138****8000",
        "详见[1]和[2]",
        "1. 登录App\n2. 进入卡片页",
        "客户C002、工单TK-2026-001",
        "app v1.2.3",
        "24/7 与 7×24小时",
        "第2步",
    ],
)
def test_extract_figures_skips_what_is_not_a_stated_figure(text: str) -> None:
    figures = [f for f in extract_figures(text) if f.kind not in ("ordinal",)]
    assert [f.text for f in figures if not (f.kind == "duration" and f.value == 24)] == []


def test_extract_figures_reports_original_offsets() -> None:
    text = "还款额￥１，０７９.２０。"
    (figure,) = extract_figures(text)
    assert text[figure.start : figure.end] == "￥１，０７９.２０"
    assert figure.value == Decimal("1079.2")


def test_grounded_reply_from_the_fee_schedule_passes() -> None:
    reply = (
        "分12期：每期手续费率0.66%，年化利率14.31%；以¥12,000为例，每期还款¥1,079.20，总手续费950.40元。"
        "可选3、6、12或24期，账单分期金额需500元以上。人工客服服务时间08:00–22:00。"
    )
    assert check_grounding(reply, SCHEDULE) == []


def test_english_grounded_reply_passes() -> None:
    reply = (
        "Purchases paid in full get 20 to 50 days interest-free; otherwise interest is 0.05% per day "
        "(18.25% a year). The late fee is 5% of the unpaid minimum, at least ¥10 and at most ¥300."
    )
    assert check_grounding(reply, SCHEDULE) == []


def test_rate_missing_from_the_sources_is_caught() -> None:
    (bad,) = check_grounding("分12期的年化利率 12.5%。", SCHEDULE)
    assert (bad.text, bad.figure.kind) == ("12.5%", "percent")


def test_percentages_compare_rounded_to_two_decimals() -> None:
    assert check_grounding("年化利率14.306%", SCHEDULE) == []
    assert [u.text for u in check_grounding("年化利率14.3%", SCHEDULE)] == ["14.3%"]


def test_wrong_amount_and_wrong_hours_are_caught() -> None:
    bad = check_grounding("每期还款¥1,080.20，人工客服09:00–22:00", SCHEDULE)
    assert [u.text for u in bad] == ["¥1,080.20", "09:00"]


def test_small_bare_numbers_are_not_checked_but_large_ones_are() -> None:
    assert check_grounding("有2个办法", SCHEDULE) == []
    assert [u.text for u in check_grounding("客服热线 95577", SCHEDULE)] == ["95577"]


@dataclass(frozen=True)
class Statement:
    balance: Decimal
    due_date: date
    minimum: str


def test_tool_results_ground_amounts_and_dates() -> None:
    tools = GroundingSources.build(
        tool_values=[Statement(balance=Decimal("12345.60"), due_date=date(2026, 12, 5), minimum="¥1,234.56")]
    )
    sources = SCHEDULE.merge(tools)
    assert (
        check_grounding("本期账单1.23456万元，最低还款¥1,234.56，到期还款日12月5日（2026-12-05）。", sources)
        == []
    )
    bad = check_grounding("Your balance is ¥12,345.00, due on December 6.", sources)
    assert [u.text for u in bad] == ["¥12,345.00", "December 6"]


def test_passages_ground_their_own_figures() -> None:
    passage = "补卡：每个卡片年度首次补卡免费，此后每次¥20；加急配送2至3个工作日。"
    sources = GroundingSources.build(passages=[passage])
    assert check_grounding("再次补卡收费20元，加急2-3个工作日送达。", sources) == []
    assert [u.text for u in check_grounding("补卡收费25元", sources)] == ["25元"]


def test_date_with_year_must_match_the_year_when_the_source_has_one() -> None:
    sources = GroundingSources.build(tool_values=[date(2026, 12, 5)])
    assert check_grounding("2026年12月5日", sources) == []
    assert [u.text for u in check_grounding("2027年12月5日", sources)] == ["2027年12月5日"]


def test_extraction_survives_numbers_beyond_any_figure() -> None:
    assert extract_figures("1" * 4000) == []
    sources = GroundingSources.build(tool_values=["1e99999", "9" * 60])
    assert check_grounding("9" * 60, sources) == []
