"""Amounts: every CNY surface form parses; identifiers, dates and counts never read as money."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.nlu import extract_slots
from bot.nlu.numerals import parse_number
from tests.unit.nlu.renderers import chinese

TODAY = dt.date(2026, 5, 13)
PROPERTY = settings(derandomize=True, max_examples=150, deadline=None)


def amounts(text: str) -> tuple[Decimal, ...]:
    return extract_slots(text, today=TODAY).amounts


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("¥12,000", "12000"),
        ("￥12000", "12000"),
        ("12000元", "12000"),
        ("1.2万", "12000"),
        ("1万2", "12000"),
        ("一万二", "12000"),
        ("一万两千元", "12000"),
        ("两千块", "2000"),
        ("3千", "3000"),
        ("12k", "12000"),
        ("12K", "12000"),
        ("12000 yuan", "12000"),
        ("RMB 12,000", "12000"),
        ("12,000 rmb", "12000"),
        ("CNY 600", "600"),
        ("五百", "500"),
        ("600块钱", "600"),
        ("三千五", "3500"),
        ("一百零五块", "105"),
        ("¥1,234.56", "1234.56"),
        ("1.5k", "1500"),
        ("2w", "20000"),
        ("我想把12000分12期", "12000"),
        ("付rmb100", "100"),
    ],
)
def test_amount_parses_each_surface_form(text: str, expected: str) -> None:
    assert amounts(text) == (Decimal(expected),)


@pytest.mark.parametrize(
    "text",
    [
        "$50",
        "100美元",
        "spent 80 dollars",
        "十分感谢",
        "等一下",
        "千万别冻结",
        "尾号1234的卡",
        "card ending 4321",
        "12期",
        "分十二期",
        "12 months",
        "2026-11-20",
        "11月20日",
        "20号",
        "5000积分",
        "redeem 5000 points",
        "第3期",
        "15:30",
        "24/7",
        "我想拨打95588",
        "iphone15",
        "我今年五十",
        "十万火急",
        "0",
        "0元",
        "验证码是123456",
    ],
)
def test_amount_not_read_from_non_money(text: str) -> None:
    assert amounts(text) == ()


def test_amount_lists_every_amount_in_order() -> None:
    slots = extract_slots("账单12,000元，先还¥3000，剩下的9000分期", today=TODAY)
    assert slots.amounts == (Decimal(12000), Decimal(3000), Decimal(9000))
    assert slots.amount == Decimal(12000)


def test_parse_number_reads_mixed_numerals() -> None:
    assert parse_number("一亿两千万") == Decimal(120_000_000)
    assert parse_number("1万2500") == Decimal(12500)
    assert parse_number("万一") is None
    assert parse_number("二三") is None


_VALUES = st.integers(min_value=1, max_value=9_999_999)
_NOISE_BEFORE = st.sampled_from(
    ["", "我想还", "帮我把", "please pay ", "the bill is ", "金额是", "大概", "about "]
)
_NOISE_AFTER = st.sampled_from(["", "，谢谢", " please", "可以吗", "吧", " thanks", "。"])


def _forms(value: int) -> list[str]:
    forms = [
        f"¥{value:,}",
        f"￥{value}",
        f"{value}元",
        f"{value}块",
        f"{value}块钱",
        f"RMB {value:,}",
        f"{value:,} rmb",
        f"{value} yuan",
        f"CNY {value}",
        f"人民币{value}元",
        f"{chinese(value)}元",
        f"{chinese(value)}块钱",
    ]
    if value >= 100:
        forms.append(chinese(value))  # 五百, 一万二千: money without a unit
    if value % 100 == 0 and value >= 1000:
        forms += [f"{Decimal(value) / 1000:f}k".replace(".0k", "k"), f"{format(Decimal(value) / 1000, 'f')}K"]
    if value % 100 == 0 and value >= 10_000:
        forms.append(f"{format((Decimal(value) / 10_000).normalize(), 'f')}万")
    if value >= 10_000 and value % 10_000 and value % 1000 == 0 and value < 100_000:
        high, low = divmod(value, 10_000)
        forms += [
            f"{high}万{low // 1000}",
            f"{chinese(high)}万{'两' if low == 2000 else chinese(low // 1000)}",
        ]
    return forms


@PROPERTY
@given(value=_VALUES, before=_NOISE_BEFORE, after=_NOISE_AFTER, pick=st.integers(min_value=0))
def test_amount_round_trips_every_rendering_inside_noise(
    value: int, before: str, after: str, pick: int
) -> None:
    forms = _forms(value)
    rendered = forms[pick % len(forms)]
    assert amounts(f"{before}{rendered}{after}") == (Decimal(value),), rendered


@PROPERTY
@given(cents=st.integers(min_value=1, max_value=99_999_999).filter(lambda c: c % 100))
def test_amount_keeps_cents(cents: int) -> None:
    value = Decimal(cents) / 100
    assert amounts(f"¥{value:,.2f}") == (value.normalize(),)
    assert amounts(f"{value:.2f}元") == (value.normalize(),)


@PROPERTY
@given(
    digits=st.text(alphabet="0123456789", min_size=15, max_size=15),
    first=st.sampled_from("3456"),
    separator=st.sampled_from(["", " ", "-"]),
    frame=st.sampled_from(["我的卡号是{}", "card number {}", "{}", "卡号{}，帮我查一下"]),
)
def test_amount_never_read_from_a_card_number(digits: str, first: str, separator: str, frame: str) -> None:
    number = first + digits
    grouped = separator.join(number[i : i + 4] for i in range(0, 16, 4))
    assert amounts(frame.format(grouped)) == ()


@PROPERTY
@given(
    second=st.sampled_from("3456789"),
    rest=st.text(alphabet="0123456789", min_size=9, max_size=9),
    frame=st.sampled_from(["手机{}", "my phone is {}", "{}", "新号码是{}，帮我改一下"]),
)
def test_amount_never_read_from_a_mobile_number(second: str, rest: str, frame: str) -> None:
    assert amounts(frame.format(f"1{second}{rest}")) == ()
