"""Dates and ranges, resolved against an injected ``today`` (2026-05-13 is a Wednesday)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.nlu import extract_slots
from tests.unit.nlu.renderers import WEEKDAYS_EN, WEEKDAYS_ZH, month_name

D = dt.date
PROPERTY = settings(derandomize=True, max_examples=200, deadline=None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-20", D(2026, 11, 20)),
        ("2026年11月20日那笔", D(2026, 11, 20)),
        ("11月20日", D(2025, 11, 20)),
        ("11/20", D(2025, 11, 20)),
        ("5月20号", D(2026, 5, 20)),
        ("20号", D(2026, 5, 20)),
        ("昨天", D(2026, 5, 12)),
        ("前天", D(2026, 5, 11)),
        ("今天", D(2026, 5, 13)),
        ("上周五", D(2026, 5, 8)),
        ("last Friday", D(2026, 5, 8)),
        ("yesterday", D(2026, 5, 12)),
        ("3 days ago", D(2026, 5, 10)),
        ("三天前", D(2026, 5, 10)),
        ("Nov 20", D(2025, 11, 20)),
        ("20 November", D(2025, 11, 20)),
        ("May 2nd", D(2026, 5, 2)),
        ("on the 15th", D(2026, 5, 15)),
        ("上个月15号", D(2026, 4, 15)),
        ("周一", D(2026, 5, 11)),
        ("this Friday", D(2026, 5, 15)),
        ("下周三", D(2026, 5, 20)),
        ("the day before yesterday", D(2026, 5, 11)),
        ("昨晚有一笔4999的交易", D(2026, 5, 12)),
        ("a charge last night", D(2026, 5, 12)),
        ("刚刚刷卡失败了", D(2026, 5, 13)),
    ],
)
def test_date_resolves_against_today(text: str, expected: dt.date, today: dt.date) -> None:
    assert extract_slots(text, today=today).date == expected


@pytest.mark.parametrize(
    ("text", "today", "expected"),
    [
        ("charged twice on Nov 3", D(2026, 5, 13), D(2025, 11, 3)),
        ("12月1日还款", D(2026, 11, 20), D(2026, 12, 1)),
        ("1/5", D(2026, 12, 20), D(2027, 1, 5)),
        ("2月29日", D(2026, 3, 1), None),
    ],
)
def test_date_without_year_prefers_the_recent_past_or_near_future(
    text: str, today: dt.date, expected: dt.date | None
) -> None:
    assert extract_slots(text, today=today).date == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("上个月", (D(2026, 4, 1), D(2026, 4, 30))),
        ("last month", (D(2026, 4, 1), D(2026, 4, 30))),
        ("this month", (D(2026, 5, 1), D(2026, 5, 31))),
        ("上周", (D(2026, 5, 4), D(2026, 5, 10))),
        ("last week", (D(2026, 5, 4), D(2026, 5, 10))),
        ("最近7天", (D(2026, 5, 6), D(2026, 5, 13))),
        ("past 30 days", (D(2026, 4, 13), D(2026, 5, 13))),
        ("近三个月", (D(2026, 2, 13), D(2026, 5, 13))),
        ("10月份的账单", (D(2025, 10, 1), D(2025, 10, 31))),
        ("my October statement", (D(2025, 10, 1), D(2025, 10, 31))),
        ("去年", (D(2025, 1, 1), D(2025, 12, 31))),
    ],
)
def test_date_range_resolves_against_today(
    text: str, expected: tuple[dt.date, dt.date], today: dt.date
) -> None:
    assert extract_slots(text, today=today).date_range == expected


@pytest.mark.parametrize("text", ["may I ask something", "24/7 service", "12个月", "尾号0520", "账单日15号"])
def test_date_not_read_from_other_numbers(text: str, today: dt.date) -> None:
    slots = extract_slots(text, today=today)
    assert slots.date is None
    assert slots.date_range is None


_TODAYS = st.dates(min_value=D(2001, 1, 1), max_value=D(2098, 12, 31))


@PROPERTY
@given(
    today=_TODAYS,
    delta=st.integers(min_value=-270, max_value=90),
    form=st.integers(min_value=0, max_value=6),
)
def test_date_round_trips_month_day_forms(today: dt.date, delta: int, form: int) -> None:
    """A date without a year is the latest one at most 90 days ahead: this whole window round-trips."""
    target = today + dt.timedelta(days=delta)
    rendered = [
        target.isoformat(),
        f"{target.month}月{target.day}日",
        f"{target.month}月{target.day}号",
        f"{target.month}/{target.day}",
        f"{month_name(target, short=True)} {target.day}",
        f"{target.day} {month_name(target, short=False)}",
        f"{target.year}年{target.month}月{target.day}日",
    ][form]
    assert extract_slots(f"我想查{rendered}的消费", today=today).date == target, rendered


@PROPERTY
@given(today=_TODAYS, days=st.integers(min_value=1, max_value=60), english=st.booleans())
def test_date_round_trips_days_ago(today: dt.date, days: int, english: bool) -> None:
    text = f"{days} days ago" if english else f"{days}天前"
    assert extract_slots(text, today=today).date == today - dt.timedelta(days=days)


@PROPERTY
@given(today=_TODAYS, weekday=st.integers(min_value=0, max_value=6), english=st.booleans())
def test_date_last_weekday_is_in_the_previous_calendar_week(
    today: dt.date, weekday: int, english: bool
) -> None:
    text = f"last {WEEKDAYS_EN[weekday]}" if english else f"上周{WEEKDAYS_ZH[weekday]}"
    expected = today - dt.timedelta(days=today.weekday() + 7 - weekday)
    assert extract_slots(text, today=today).date == expected


@PROPERTY
@given(today=_TODAYS, day=st.integers(min_value=1, max_value=28))
def test_date_day_alone_is_in_the_current_month(today: dt.date, day: int) -> None:
    assert extract_slots(f"{day}号那笔", today=today).date == today.replace(day=day)


@PROPERTY
@given(
    today=_TODAYS,
    word=st.sampled_from([("昨天", -1), ("前天", -2), ("今天", 0), ("yesterday", -1), ("明天", 1)]),
)
def test_date_relative_day_words(today: dt.date, word: tuple[str, int]) -> None:
    assert extract_slots(word[0], today=today).date == today + dt.timedelta(days=word[1])
