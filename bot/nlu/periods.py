"""Installment period counts: ``12期``, ``分十二期``, ``12个月``, ``12 months``, ``twelve months``, ``半年``.

Only the count is read; whether 12 is an offered term is the installment flow's question.
"""

from __future__ import annotations

import re
from typing import Final

from bot.nlu.numerals import CN_CHARS, EN_NUMBER_PATTERN, parse_english_number, parse_int

_ZH_COUNT: Final = re.compile(
    rf"(?:分\s*)?(?<![\d第{CN_CHARS}])(?P<n>\d+|[{CN_CHARS}]+)\s*(?:期|个月)"
    r"(?!前|以前|之前|后|以后|之后|内|以内)"
)
_ZH_YEARS: Final = re.compile(
    rf"(?:分\s*)?(?<![\d第每近这今去明前{CN_CHARS}])(?P<n>半|[一两二三]|[1-3])\s*年"
    r"(?!前|以前|之前|后|以后|之后|内|以内|多|级|龄|度|底|初|中|终|费|卡|利|化|的年费)"
)
_EN_COUNT: Final = re.compile(
    rf"(?<![\d.a-z])(?P<n>\d{{1,3}}|{EN_NUMBER_PATTERN})\s*-?\s*"
    r"(?:monthly\s+)?(?:months?|mos|installments?|instalments?|instalmnets?|periods?|payments|terms?)"
    r"(?![a-z])(?!\s+ago)"
)
_EN_YEARS: Final = re.compile(
    r"(?<![a-z])(?:(?P<half>half a year|half-year|six-month)|(?P<n>one|two|three|[1-3])\s*-?\s*years?)"
    r"(?![a-z])"
    r"(?!\s+(?:ago|old))"
)
_EN_YEARS_NOT_AFTER: Final = re.compile(r"(?:per|last|past|every|this|next|a|the)\s+$")


def find_periods(text: str) -> list[tuple[int, int, int]]:
    """Every period count in normalised text with its span, in order of appearance."""
    found: list[tuple[int, int, int]] = []
    for match in _ZH_COUNT.finditer(text):
        count = parse_int(match["n"])
        if count is not None:
            found.append((match.start(), match.end(), count))
    for match in _ZH_YEARS.finditer(text):
        count = 6 if match["n"] == "半" else 12 * (parse_int(match["n"]) or 0)
        if count:
            found.append((match.start(), match.end(), count))
    for match in _EN_COUNT.finditer(text):
        raw = match["n"]
        count = int(raw) if raw.isdigit() else parse_english_number(raw)
        if count:
            found.append((match.start(), match.end(), count))
    for match in _EN_YEARS.finditer(text):
        if _EN_YEARS_NOT_AFTER.search(text[: match.start()]):
            continue
        if match["half"]:
            found.append((match.start(), match.end(), 6))
            continue
        raw = match["n"]
        years = int(raw) if raw.isdigit() else parse_english_number(raw)
        if years:
            found.append((match.start(), match.end(), 12 * years))
    return sorted(_without_overlaps(found))


def _without_overlaps(found: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    kept: list[tuple[int, int, int]] = []
    for item in sorted(found, key=lambda f: (f[0], -f[1])):
        if not kept or item[0] >= kept[-1][1]:
            kept.append(item)
    return kept
