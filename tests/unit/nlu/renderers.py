"""Independent renderers of numbers, used by the property tests to generate surface forms."""

from __future__ import annotations

import datetime as dt

DIGITS = "零一二三四五六七八九"
EN_UNITS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen"
).split()
EN_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
MONTHS = "January February March April May June July August September October November December".split()
WEEKDAYS_ZH = "一二三四五六日"
WEEKDAYS_EN = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()


def _section(n: int, *, leading: bool) -> str:
    """A number below 10 000 in Chinese numerals; ``leading`` when nothing comes before it."""
    out = ""
    zero_pending = False
    for unit, name in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = n // unit % 10
        if digit == 0:
            zero_pending = bool(out)
            continue
        if zero_pending:
            out += "零"
            zero_pending = False
        if unit == 10 and digit == 1 and not out and leading:
            out += "十"  # 十二, not 一十二, at the start of a number
        else:
            out += DIGITS[digit] + name
    return out


def chinese(n: int) -> str:
    """Canonical Chinese numerals for 1 <= n < 100 000 000: 12345 -> 一万二千三百四十五."""
    assert 0 < n < 100_000_000
    high, low = divmod(n, 10_000)
    if not high:
        return _section(low, leading=True)
    out = _section(high, leading=True) + "万"
    if low:
        out += ("零" if low < 1000 else "") + _section(low, leading=False)
    return out


def english(n: int) -> str:
    """English number words for 1 <= n < 100: 24 -> twenty-four."""
    assert 0 < n < 100
    if n < 20:
        return EN_UNITS[n]
    tens, units = divmod(n, 10)
    return EN_TENS[tens] + (f"-{EN_UNITS[units]}" if units else "")


def month_name(day: dt.date, *, short: bool) -> str:
    """``Nov`` or ``November``."""
    name = MONTHS[day.month - 1]
    return name[:3] if short else name
