"""Every figure a zh or en reply states: amounts, rates, durations, periods, counts, dates, times.

Digits are read with thousands separators (``¥1,079.20``), Chinese multipliers
(``1.2万``, ``5千``) and units; Chinese numerals are read when a unit follows
(``二十天``, ``两个工作日``) or in ``百分之五``. Not figures: masked card and phone suffixes
(``尾号1234``, ``**** 1234``, ``138****8000``), citation markers (``[1]``), list markers at
the start of a line (``1.``), ordinals (``第2步``), version numbers, identifiers glued to
letters (``C002``) and ``24/7`` / ``7×24``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Final, Literal

from bot.guardrails.normalize import normalize

FigureKind = Literal[
    "amount",
    "percent",
    "duration",
    "periods",
    "count",
    "day_of_month",
    "year",
    "date",
    "time",
    "number",
    "ordinal",
]


@dataclass(frozen=True, slots=True)
class PartialDate:
    """A calendar date whose year may be unstated (``12月5日``)."""

    year: int | None
    month: int
    day: int

    def matches(self, other: PartialDate) -> bool:
        """Same month and day, and the same year when both state one."""
        same_day = (self.month, self.day) == (other.month, other.day)
        return same_day and (self.year is None or other.year is None or self.year == other.year)


@dataclass(frozen=True, slots=True, kw_only=True)
class Figure:
    """One figure in a text: what it is, its value, and where (original offsets)."""

    kind: FigureKind
    value: Decimal | None
    start: int
    end: int
    text: str
    unit: str | None = None
    date: PartialDate | None = None
    time: tuple[int, int] | None = None


_CN_DIGIT: Final = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_UNIT: Final = {"十": 10, "百": 100, "千": 1000}
_CN_BIG: Final = {"万": 10_000, "亿": 100_000_000}
_MULTIPLIER: Final = {
    "万": Decimal(10_000),
    "千": Decimal(1000),
    "百": Decimal(100),
    "亿": Decimal(100_000_000),
    "k": Decimal(1000),
    "K": Decimal(1000),
}
_CN = "零〇一二两三四五六七八九十百千万亿"
_MONTHS: Final = {
    m: i
    for i, names in enumerate(
        [
            "jan january",
            "feb february",
            "mar march",
            "apr april",
            "may",
            "jun june",
            "jul july",
            "aug august",
            "sep sept september",
            "oct october",
            "nov november",
            "dec december",
        ],
        start=1,
    )
    for m in names.split()
}
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))

_IGNORED = re.compile(
    r"\[\d+(?:\s*[,\-]\s*\d+)*\]|【\d+】"  # citations
    r"|(?:尾号|末四位|后四位|末位|ending(?: in| with)?|ends? (?:in|with)"
    r"|last (?:4|four) digits(?: of [a-z ]{0,20})?)"
    r"\s*(?:是|为|:|are|is)?\s*\d{3,4}"  # masked suffixes
    r"|\*+[ -]?\d{1,4}|(?<!\d)\d+\*+\d*"  # masked numbers
    r"|(?m:^[ \t]*(?:\d{1,2}[.)、](?!\d)|\(\d{1,2}\)))"  # list markers
    r"|(?<![a-z])v\d+(?:\.\d+)+|version \d+(?:\.\d+)*|(?<![\d.])\d+\.\d+\.\d+"  # versions
    # identifiers such as C002 or TK-2026-001 (but not RMB500)
    r"|(?<![A-Za-z])(?!(?:rmb|cny|usd|us)\$?\s?\d)[A-Za-z]+[-_#]?\d[A-Za-z0-9_-]*|#\d+"
    r"|24/7|7\s?[x×*]\s?24|https?://\S+|[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+",
    re.I,
)
_DATE = re.compile(
    r"(?<!\d)(?P<y>(?:19|20)\d{2})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})(?!\d)"
    r"|(?:(?P<zy>(?:19|20)\d{2})\s?年\s?)?(?<!\d)(?P<zm>\d{1,2})\s?月\s?(?P<zd>\d{1,2})\s?[日号]"
    # "APR 18.25%" is a rate, not April 18: the acronym and a day followed by a decimal are excluded
    rf"|\b(?-i:(?!APR\b))(?P<em>{_MONTH_RE})\.?\s+(?P<ed>\d{{1,2}})(?:st|nd|rd|th)?\b(?![.,]?\d|\s?%)"
    rf"(?:,?\s+(?P<ey>(?:19|20)\d{{2}}))?"
    rf"|\b(?P<fd>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<fm>{_MONTH_RE})\b\.?(?:,?\s+(?P<fy>(?:19|20)\d{{2}}))?",
    re.I,
)
_TIME = re.compile(r"(?<![\d:])(?P<h>[01]?\d|2[0-4]):(?P<mi>[0-5]\d)(?![\d:])")
_PERCENT_SCALE: Final = {"百分之": Decimal(1), "千分之": Decimal("0.1"), "万分之": Decimal("0.01")}
_PERCENT_WORDS = re.compile(rf"(?P<scale>百分之|千分之|万分之)(?P<n>\d+(?:\.\d+)?|[{_CN}]+)")
_NUMBER = re.compile(
    r"(?P<cur>¥|RMB\s?|CNY\s?|US\$|\$)?(?<![\d.])(?P<n>\d{1,3}(?:,\d{3}){1,5}|\d{1,15})(?P<frac>\.\d{1,10})?(?![\d])"
    r"(?:\s?(?P<mult>万|千|百|亿|k(?![a-z])|K(?![a-z])))?",
)
# Possessive, so that 十万 is never read as 十 followed by the unit 万; a bare numeral counts only
# when it ends in 万/亿 (额度十万), otherwise a unit must follow (二十天, 两个工作日).
_CN_NUMBER = re.compile(
    rf"(?<![第{_CN}])(?P<n>(?=[{_CN}]*[一二两三四五六七八九十])[{_CN}]++)"
    r"(?:(?=\s?(?:个工作日|个月|天|日|期|元|块(?!儿)|年|小时|分钟|倍))|(?<=[万亿]))"
)
_UNITS: Final[tuple[tuple[str, FigureKind, str], ...]] = (
    (r"%|percent|per cent", "percent", "percent"),
    (r"个?工作日|business days?|working days?|banking days?", "duration", "business_day"),
    (r"个?自然日|calendar days?|天|days?", "duration", "day"),
    (r"日(?!期)", "duration", "day"),
    (r"个月|months?", "duration", "month"),
    (r"年(?!化|费|利率)|years?", "duration", "year"),
    (r"个?小时|hours?|hrs?", "duration", "hour"),
    (r"分钟|minutes?|mins?", "duration", "minute"),
    (r"秒|seconds?|secs?", "duration", "second"),
    (r"期|periods?|installments?|instalments?|monthly payments", "periods", "period"),
    (r"元|块(?!儿)|yuan|CNY|RMB", "amount", "CNY"),
    (r"积分|个?积分|points?|分(?!钟)", "count", "point"),
    (r"英里|里程|(?:airline )?miles?", "count", "mile"),
    (r"次|times|倍|x(?![a-z])", "count", "times"),
    (r"位|digits?|张|cards?|个|visits?|purchases?", "count", "item"),
    (r"(?:st|nd|rd|th)\b", "day_of_month", "day"),
)
_UNIT_RE = re.compile(
    r"\s?(?:" + "|".join(f"(?P<u{i}>{p})" for i, (p, _, _) in enumerate(_UNITS)) + ")", re.I
)
_LIST_JOINER = re.compile(r"\s*(?:、|,|或|和|及|与|or|and|to|至|到|-|~|/)\s*", re.I)


def cn_numeral(text: str) -> int:
    """The value of a Chinese numeral such as ``二十``, ``三百六十``, ``两千``, ``十万``."""
    total = section = number = 0
    for char in text:
        if char in _CN_DIGIT:
            number = _CN_DIGIT[char]
        elif char in _CN_UNIT:
            section += (number or 1) * _CN_UNIT[char]
            number = 0
        else:
            section += number
            total += (section or 1) * _CN_BIG[char]
            section = number = 0
    return total + section + number


def plain(value: Decimal) -> Decimal:
    """``Decimal("20.00")`` and ``Decimal("2E+1")`` both become ``Decimal("20")``: one form per value."""
    value = value.normalize()
    exponent = value.as_tuple().exponent
    if not isinstance(exponent, int) or exponent <= 0:
        return value
    try:
        return value.quantize(Decimal(1))
    except InvalidOperation:  # more digits than the context holds: keep the normalised form
        return value


def _date_of(m: re.Match[str]) -> PartialDate | None:
    year: int | None
    if m["y"]:
        year, month, day = int(m["y"]), int(m["m"]), int(m["d"])
    elif m["zm"]:
        year, month, day = (int(m["zy"]) if m["zy"] else None), int(m["zm"]), int(m["zd"])
    elif m["em"]:
        year, month, day = (int(m["ey"]) if m["ey"] else None), _MONTHS[m["em"].lower()], int(m["ed"])
    else:
        year, month, day = (int(m["fy"]) if m["fy"] else None), _MONTHS[m["fm"].lower()], int(m["fd"])
    try:
        date(year or 2000, month, day)  # 2000 is a leap year, so 2月29日 stays a date
    except ValueError:
        return None
    return PartialDate(year, month, day)


class _Extractor:
    def __init__(self, text: str) -> None:
        self.original = text
        self.norm = normalize(text)
        self.text = self.norm.text
        self.taken = bytearray(len(self.text))
        self.figures: list[tuple[int, int, Figure]] = []

    def free(self, start: int, end: int) -> bool:
        return not any(self.taken[start:end])

    def take(self, start: int, end: int) -> None:
        self.taken[start:end] = b"\x01" * (end - start)

    def add(
        self,
        start: int,
        end: int,
        kind: FigureKind,
        value: Decimal | None,
        *,
        unit: str | None = None,
        date: PartialDate | None = None,
        time: tuple[int, int] | None = None,
    ) -> None:
        o_start, o_end = self.norm.span(start, end)
        text = self.original[o_start:o_end]
        figure = Figure(
            kind=kind, value=value, start=o_start, end=o_end, text=text, unit=unit, date=date, time=time
        )
        self.figures.append((start, end, figure))
        self.take(start, end)

    def run(self) -> list[Figure]:
        for m in _IGNORED.finditer(self.text):
            self.take(m.start(), m.end())
        self.dates_and_times()
        self.percent_words()
        self.numbers()
        self.cn_numbers()
        ordered = sorted(self.figures, key=lambda f: f[0])
        return _inherit_units(self.text, ordered)

    def dates_and_times(self) -> None:
        for m in _DATE.finditer(self.text):
            when = _date_of(m)
            if when is not None and self.free(m.start(), m.end()):
                self.add(m.start(), m.end(), "date", None, date=when)
        for m in _TIME.finditer(self.text):
            if self.free(m.start(), m.end()):
                self.add(m.start(), m.end(), "time", None, time=(int(m["h"]), int(m["mi"])))

    def percent_words(self) -> None:
        for m in _PERCENT_WORDS.finditer(self.text):
            if not self.free(m.start(), m.end()):
                continue
            raw = m["n"]
            value = Decimal(raw) if raw[0].isdigit() else Decimal(cn_numeral(raw))
            scale = _PERCENT_SCALE[m["scale"]]
            self.add(m.start(), m.end(), "percent", plain(value * scale), unit="percent")

    def numbers(self) -> None:
        for m in _NUMBER.finditer(self.text):
            start = m.start("cur") if m["cur"] else m.start("n")
            if not self.free(m.start("n"), m.end("n")):
                continue
            value = Decimal(m["n"].replace(",", "") + (m["frac"] or ""))
            if m["mult"]:
                value *= _MULTIPLIER[m["mult"]]
            currency = None if not m["cur"] else ("USD" if "$" in m["cur"] else "CNY")
            self.classify(start, m.end(), value, currency=currency, has_multiplier=bool(m["mult"]))

    def cn_numbers(self) -> None:
        for m in _CN_NUMBER.finditer(self.text):
            if self.free(m.start(), m.end()):
                self.classify(
                    m.start(),
                    m.end(),
                    Decimal(cn_numeral(m["n"])),
                    currency=None,
                    has_multiplier=m["n"][-1] in "万亿",
                )

    def classify(
        self, start: int, end: int, value: Decimal, *, currency: str | None, has_multiplier: bool
    ) -> None:
        """Kind and unit from what surrounds the number: ``¥``, a unit after it, ``第`` before it."""
        if start > 0 and self.text[start - 1] == "第":
            self.add(start, end, "ordinal", value)
            return
        unit = _UNIT_RE.match(self.text, end)
        # A currency sign makes an amount; so does a bare 万/千 multiplier (额度1.2万).
        is_money = currency is not None or (has_multiplier and unit is None)
        kind: FigureKind = "amount" if is_money else "number"
        unit_name = (currency or "CNY") if is_money else None
        if unit is not None and unit.lastgroup is not None:
            _, kind, unit_name = _UNITS[int(unit.lastgroup[1:])]
            end = unit.end()
            if currency is not None and kind != "percent":
                kind, unit_name = "amount", currency
            if unit_name == "year" and 1900 <= value <= 2100 and value == value.to_integral_value():
                kind = "year"
            if kind == "duration" and unit_name == "day" and self.text[max(0, start - 2) : start] == "每月":
                kind = "day_of_month"
        self.add(start, end, kind, plain(value), unit=unit_name)


def _inherit_units(text: str, ordered: list[tuple[int, int, Figure]]) -> list[Figure]:
    """``3、6、12或24期`` and ``5 to 7 business days``: a bare number takes the unit of the next one."""
    figures = [f for _, _, f in ordered]
    for i in range(len(ordered) - 2, -1, -1):
        _, end, figure = ordered[i]
        next_start = ordered[i + 1][0]
        follower = figures[i + 1]
        if (
            figure.kind == "number"
            and follower.unit is not None
            and follower.kind not in ("date", "time", "year")
            and _LIST_JOINER.fullmatch(text[end:next_start])
        ):
            figures[i] = Figure(
                kind=follower.kind,
                value=figure.value,
                start=figure.start,
                end=figure.end,
                text=figure.text,
                unit=follower.unit,
            )
    return figures


def extract_figures(text: str) -> list[Figure]:
    """Every figure stated in ``text``, in order of appearance."""
    return _Extractor(text).run()
