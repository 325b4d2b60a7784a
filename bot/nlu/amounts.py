"""Money amounts in CNY: ``¥12,000``, ``12000元``, ``1.2万``, ``一万二``, ``两千块``, ``12k``, ``RMB 12,000``.

Foreign-currency amounts (``$50``, ``100美元``) are skipped, not converted. A bare number counts
only when nothing around it says it is something else (a period count, a date, a code, points).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Final

from bot.nlu.numerals import CN_CHARS, CN_UNITS, parse_number

_ARABIC = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_CN_START = "一二两俩三四五六七八九十壹贰叁肆伍陆柒捌玖拾"

_AMOUNT: Final = re.compile(
    rf"(?:(?P<pre>¥|(?<![a-z])rmb|(?<![a-z])cny|人民币)\s*)?"
    rf"(?<![\d.,{CN_CHARS}])(?P<num>(?:{_ARABIC}|[{CN_CHARS}])(?:\d+(?:\.\d+)?|[{CN_CHARS}])*)"
    r"(?:\s*(?P<mult>k|w|thousand|million)(?![a-z]))?"
    r"(?:\s*(?P<cur>元|块钱|块(?!儿)|圆|rmb|cny|yuan|kuai|人民币)(?![a-z]))?"
)

_FOREIGN_BEFORE: Final = re.compile(
    r"(?:\$|us\$|hk\$|usd|€|£|hkd|jpy|eur|gbp|美元|美金|港币|日元|欧元|英镑)\s*$"
)
_FOREIGN_AFTER: Final = re.compile(
    r"^\s*(?:\$|usd|hkd|jpy|eur|gbp|dollars?|bucks|euros?|pounds?|yen|美元|美金|港币|港元|日元|欧元|英镑)"
)

# What may follow a bare number that is therefore not an amount.
_NOT_AMOUNT_AFTER: Final = re.compile(
    r"^\s*(?:火急|期|个|月|日|号|年|天|周|次|%|点|分(?!期)|积分|里程|岁|张|笔|位|倍|小时|钟|秒|公里|米|人|条|家|页|楼|层|路|:"
    r"|(?:st|nd|rd|th|days?|months?|mos?|years?|yrs?|weeks?|times|points?|pts|miles?|installments?"
    r"|instalments?|periods?|payments?|digits?|hours?|hrs?|minutes?|mins?|seconds?|am|pm|percent|x)(?![a-z]))"
)
# What may precede a bare number that is therefore a code, an identifier or a count.
_NOT_AMOUNT_BEFORE: Final = re.compile(
    r"(?:尾号|尾数|后四位|末四位|卡号|验证码|校验码|动态码|密码|编号|号码|账号|电话|手机|热线|拨打|致电|第|积分|订单"
    r"|(?<![a-z])(?:ending(?: in| with)?|last (?:four|4)(?: digits)?|code|pin|cvv2?|otp|number|no\.)"
    r"|#|(?<![a-z])(?:call|dial|hotline|phone|tel|room|flight|points?|order))"
    r"\s*(?:是|为|:|is)?\s*$"
)
# Context is read in a window around a number: enough for "last four digits is", and it keeps
# a long message linear (searching the whole prefix for each number was quadratic).
_CONTEXT: Final = 24
_MULTIPLIERS: Final[dict[str, int]] = {"k": 1000, "thousand": 1000, "w": 10_000, "million": 1_000_000}
_MAX_BARE_DIGITS: Final = 8


def canonical(value: Decimal) -> Decimal:
    """``Decimal("12000.0")`` -> ``Decimal("12000")``; ``Decimal("12.50")`` -> ``Decimal("12.5")``."""
    if value == value.to_integral_value():
        return Decimal(int(value))
    return value.normalize()


def _is_bare_amount(num: str, value: Decimal, before: str, after: str) -> bool:
    """Whether a number with no currency sign or unit still reads as money."""
    if _NOT_AMOUNT_AFTER.match(after) or _NOT_AMOUNT_BEFORE.search(before):
        return False
    if before[-1:].isalpha() and before[-1:].isascii():
        return False  # "iphone15", "a320"
    if re.search(r"\d\s*[:/]$", before) or after.startswith("/"):
        return False  # a time (15:30) or a fraction/date remnant (24/7)
    if num[0].isdigit():
        integer = num.replace(",", "").split(".")[0]
        return value >= 10 and not integer.startswith("0") and len(integer) <= _MAX_BARE_DIGITS
    # Chinese numerals alone: "五百" is money, "十分" (very) and "一下" are not.
    return num[0] in _CN_START and any(char in CN_UNITS or char in "万亿" for char in num) and value >= 100


def find_amounts(text: str) -> list[tuple[int, int, Decimal]]:
    """Every CNY amount in normalised text with its span, in order of appearance."""
    found: list[tuple[int, int, Decimal]] = []
    for match in _AMOUNT.finditer(text):
        num = match["num"]
        value = parse_number(num.replace(",", ""))
        if value is None or value <= 0:
            continue
        start = match.start("num")
        before, after = text[max(0, start - _CONTEXT) : start], text[match.end() : match.end() + _CONTEXT]
        if match["pre"] is None and _FOREIGN_BEFORE.search(before):
            continue
        if match["cur"] is None and _FOREIGN_AFTER.match(after):
            continue
        if match["mult"]:
            value *= _MULTIPLIERS[match["mult"]]
        elif match["pre"] is None and match["cur"] is None:
            mixed = num[0].isdigit() and any(char in CN_CHARS for char in num)
            if not mixed and not _is_bare_amount(num, value, before, after):
                continue
            if mixed and _NOT_AMOUNT_AFTER.match(after):
                continue
        found.append((match.start(), match.end(), canonical(value)))
    return found
