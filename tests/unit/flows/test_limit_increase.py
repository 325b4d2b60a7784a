"""What the limit-increase flow reads from typed words, and the dates it tells."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bot.flows.limit_increase import add_months, parse_amount, parse_days


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("30天", 30),
        ("用60天吧", 60),
        ("for 90 days", 90),
        ("两个月", 60),
        ("3 months", 90),
        ("一个月", 30),
        ("提到4万", None),
        ("45000", None),
    ],
)
def test_parse_days_reads_days_and_months(text: str, days: int | None) -> None:
    assert parse_days(text) == days


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("临时的，4万，60天", "40000.00"),
        ("4.5万", "45000.00"),
        ("temporary, 100000 for 60 days", "100000.00"),
        ("提到45,000", "45000.00"),
        ("60天", None),
        ("30 days", None),
        ("第3笔", None),
    ],
)
def test_parse_amount_takes_wan_and_long_numbers_but_not_days(text: str, amount: str | None) -> None:
    assert parse_amount(text) == (Decimal(amount) if amount else None)


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        (date(2026, 1, 15), 3, date(2026, 4, 15)),
        (date(2026, 8, 31), 6, date(2027, 2, 28)),
        (date(2025, 11, 30), 3, date(2026, 2, 28)),
        (date(2027, 12, 1), 12, date(2028, 12, 1)),
    ],
)
def test_add_months_keeps_the_day_or_takes_the_month_end(start: date, months: int, end: date) -> None:
    assert add_months(start, months) == end
