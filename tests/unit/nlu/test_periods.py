"""Period counts: every form parses to the count, and is never mistaken for money or a date."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.nlu import extract_slots
from tests.unit.nlu.renderers import chinese, english

TODAY = dt.date(2026, 5, 13)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12期", 12),
        ("分12期", 12),
        ("分十二期", 12),
        ("12个月", 12),
        ("十二个月", 12),
        ("12 months", 12),
        ("12 installments", 12),
        ("twelve months", 12),
        ("24期", 24),
        ("半年", 6),
        ("一年", 12),
        ("两年", 24),
        ("twenty-four months", 24),
        ("a 6-month plan", 6),
        ("12 instalments", 12),
        ("split it over two years", 24),
        ("我想把12000分12期", 12),
    ],
)
def test_periods_parse_each_form(text: str, expected: int) -> None:
    assert extract_slots(text, today=TODAY).periods == expected


@pytest.mark.parametrize(
    "text",
    [
        "第3期还了多少",
        "三个月前的消费",
        "上个月",
        "近一年",
        "年费多少",
        "3 months ago",
        "per year",
        "last 3 months",
        "每年",
    ],
)
def test_periods_not_read_from_ordinals_or_dates(text: str) -> None:
    assert extract_slots(text, today=TODAY).periods is None


def _forms(n: int) -> list[str]:
    forms = [f"{n}期", f"分{n}期", f"分{chinese(n)}期", f"{n}个月", f"{chinese(n)}个月", f"{n} installments"]
    forms += [f"{n} months", f"{english(n)} months"] if n < 100 else [f"{n} months"]
    return forms


@settings(derandomize=True, max_examples=150, deadline=None)
@given(
    n=st.integers(min_value=1, max_value=120),
    pick=st.integers(min_value=0),
    before=st.sampled_from(["", "我想", "帮我把这笔", "please split it into ", "能不能"]),
    after=st.sampled_from(["", "吧", "，手续费多少", " please", "?"]),
)
def test_periods_round_trip_every_rendering(n: int, pick: int, before: str, after: str) -> None:
    forms = _forms(n)
    text = f"{before}{forms[pick % len(forms)]}{after}"
    slots = extract_slots(text, today=TODAY)
    assert slots.periods == n, text
    assert slots.amounts == (), text
