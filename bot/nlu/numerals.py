"""Numbers written with Chinese numerals, Arabic digits or both (``一万二``, ``1万2``, ``1.2万``).

Also English number words up to ninety-nine (``twenty-four``), for period counts.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Final

CN_DIGITS: Final[dict[str, int]] = {
    "零": 0, "〇": 0, "一": 1, "壹": 1, "二": 2, "贰": 2, "两": 2, "俩": 2, "三": 3, "叁": 3,
    "四": 4, "肆": 4, "五": 5, "伍": 5, "六": 6, "陆": 6, "七": 7, "柒": 7, "八": 8, "捌": 8,
    "九": 9, "玖": 9,
}  # fmt: skip
CN_UNITS: Final[dict[str, int]] = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
CN_BIG: Final[dict[str, int]] = {"万": 10_000, "萬": 10_000, "亿": 100_000_000}

CN_CHARS: Final = "".join((*CN_DIGITS, *CN_UNITS, *CN_BIG))
"""Every character that can be part of a Chinese numeral."""

NUMBER_PATTERN: Final = rf"(?:\d+(?:\.\d+)?|[{CN_CHARS}])(?:\d+|[{CN_CHARS}])*"
"""A regex fragment for one numeral expression (no thousands separators; see ``amounts``)."""

_TOKEN = re.compile(rf"\d+(?:\.\d+)?|[{CN_CHARS}]")

EN_UNITS: Final[dict[str, int]] = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
EN_TENS: Final[dict[str, int]] = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}  # fmt: skip
EN_NUMBER_PATTERN: Final = (
    rf"(?:(?:{'|'.join(EN_TENS)})(?:[- ]?(?:{'|'.join(k for k, v in EN_UNITS.items() if v < 10)}))?"
    rf"|{'|'.join(sorted(EN_UNITS, key=len, reverse=True))})"
)
"""A regex fragment for an English number word from one to ninety-nine."""


class _Accumulator:
    """State of the left-to-right Chinese-numeral reading (sections split by 万/亿)."""

    __slots__ = ("last_unit", "number", "number_is_digit", "section", "total", "zero_gap")

    def __init__(self) -> None:
        self.total = Decimal(0)
        self.section = Decimal(0)
        self.number: Decimal | None = None
        self.number_is_digit = False
        self.last_unit = 0
        self.zero_gap = False

    def digits(self, value: Decimal, *, is_single: bool) -> bool:
        if self.number is not None:
            return False  # "二三" or "12 3": not one number
        self.number, self.number_is_digit = value, is_single
        return True

    def unit(self, unit: int) -> None:
        self.section += (self.number if self.number is not None else Decimal(1)) * unit
        self.number, self.last_unit, self.zero_gap = None, unit, False

    def big(self, unit: int) -> bool:
        part = self.section + (self.number or 0)
        if part == 0:
            return False  # a bare 万 or 亿 is not a number
        if unit > 10_000:
            self.total = (self.total + part) * unit
        else:
            self.total += part * unit
        self.section, self.number, self.last_unit, self.zero_gap = Decimal(0), None, unit, False
        return True

    def result(self) -> Decimal:
        tail = self.number or Decimal(0)
        # 三千五 = 3500, 一万二 = 12000: a lone trailing digit counts in the next lower unit.
        if self.number is not None and self.number_is_digit and self.last_unit >= 10 and not self.zero_gap:
            tail *= self.last_unit // 10
        return self.total + self.section + tail


def parse_number(expr: str) -> Decimal | None:
    """Value of a numeral expression, or None when it is not one number.

    ``"一万二"`` -> 12000, ``"1.2万"`` -> 12000, ``"三千五"`` -> 3500, ``"十二"`` -> 12,
    ``"一百零五"`` -> 105, ``"12,000"`` -> 12000, ``"万一"`` -> None.
    """
    acc = _Accumulator()
    tokens = _TOKEN.findall(expr.replace(",", ""))
    if not tokens or "".join(tokens) != expr.replace(",", ""):
        return None
    for token in tokens:
        if token[0].isdigit():
            try:
                value = Decimal(token)
            except InvalidOperation:  # pragma: no cover - the token pattern admits only digits
                return None
            if not acc.digits(value, is_single=len(token) == 1):
                return None
        elif token in CN_DIGITS:
            digit = CN_DIGITS[token]
            if digit == 0:
                acc.zero_gap = True
            elif not acc.digits(Decimal(digit), is_single=True):
                return None
        elif token in CN_UNITS:
            acc.unit(CN_UNITS[token])
        elif not acc.big(CN_BIG[token]):
            return None
    return acc.result()


def parse_int(expr: str) -> int | None:
    """A whole positive number from Arabic or Chinese numerals, else None."""
    value = parse_number(expr)
    if value is None or value <= 0 or value != value.to_integral_value():
        return None
    return int(value)


def parse_english_number(words: str) -> int | None:
    """``"twenty-four"`` -> 24, ``"twelve"`` -> 12; None when the words are not a number."""
    parts = [p for p in re.split(r"[- ]+", words.strip().lower()) if p]
    if len(parts) == 1:
        return EN_UNITS.get(parts[0]) or EN_TENS.get(parts[0])
    if len(parts) == 2 and parts[0] in EN_TENS and EN_UNITS.get(parts[1], 10) < 10:
        return EN_TENS[parts[0]] + EN_UNITS[parts[1]]
    return None
