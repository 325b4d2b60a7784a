"""The autopay flow's dates and what it reads from typed words."""

from __future__ import annotations

from datetime import date

import pytest

from bot.flows.autopay import next_statement


@pytest.mark.parametrize(
    ("today", "day", "expected"),
    [
        (date(2026, 11, 30), 15, date(2026, 12, 15)),
        (date(2026, 12, 15), 15, date(2027, 1, 15)),
        (date(2026, 12, 14), 15, date(2026, 12, 15)),
        (date(2026, 1, 26), 25, date(2026, 2, 25)),
    ],
)
def test_next_statement_is_strictly_after_today(today: date, day: int, expected: date) -> None:
    assert next_statement(today, day) == expected
