"""Slot extraction: every value a flow may need from one customer turn.

Extractors run in a fixed order on normalised text and blank what they consume, so a span is
read once: named last-four digits and long identifiers first, then the statement day, dates,
period counts, and amounts last (a bare number is money only when nothing else claimed it).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Final, TypeVar

from bot.nlu.amounts import find_amounts
from bot.nlu.dates import find_dates
from bot.nlu.identifiers import find_last4, find_long_numbers
from bot.nlu.merchants import find_merchant
from bot.nlu.models import AutopayMode, Delivery, InstallmentKind, LimitKind, Slots, Tier
from bot.nlu.normalization import blank, fold
from bot.nlu.numerals import CN_CHARS, parse_int
from bot.nlu.patterns import terms
from bot.nlu.periods import find_periods

K = TypeVar("K", bound=str)

_TIER: Final = re.compile(
    r"白金卡?|铂金卡?|钻石卡?|普卡|普通卡|标准卡|金卡|黄金卡"
    r"|(?<![a-z])(?:platinum|plat|diamond|gold|classic|standard card|basic card)(?![a-z])"
)
_TIER_OF: Final[dict[str, Tier]] = {
    "白": "platinum", "铂": "platinum", "pl": "platinum", "钻": "diamond", "di": "diamond",
    "普": "classic", "标": "classic", "cl": "classic", "st": "classic", "ba": "classic",
    "金": "gold", "黄": "gold", "go": "gold",
}  # fmt: skip

_STATEMENT_DAY: Final = re.compile(
    r"(?:账单日|出账日|statement (?:day|date|cycle)|billing (?:day|date|cycle)|bill date|cycle date)"
    rf"(?P<gap>[^\d{CN_CHARS}]{{0,12}}?)"
    rf"(?P<first>\d{{1,2}}|[{CN_CHARS}]{{1,3}})\s*(?:号|日|st|nd|rd|th)?"
    rf"(?:(?P<gap2>[^\d{CN_CHARS}]{{0,6}}?)(?:到|成|为|至|to|into)\s*(?:每月)?\s*(?:the\s+)?"
    rf"(?P<second>\d{{1,2}}|[{CN_CHARS}]{{1,3}})\s*(?:号|日|st|nd|rd|th)?)?"
)

_NEGATED_BEFORE: Final = re.compile(
    r"(?:不是|不要|不用|不需要|别|不|not|don't want|don't need|no)\s*(?:the\s+|a\s+)?$"
)

_KINDS_LIMIT: Final[tuple[tuple[re.Pattern[str], LimitKind], ...]] = (
    (
        terms(
            anywhere=("临时", "临额", "短期", "暂时"),
            words=("temporary", "temporarily", "temp", "short[- ]term", "for a trip"),
        ),
        "temporary",
    ),
    (
        terms(
            anywhere=("永久", "固定额度", "固额", "长期"),
            words=("permanent", "permanently", "long[- ]term", "fixed limit"),
        ),
        "permanent",
    ),
)
_KINDS_INSTALLMENT: Final[tuple[tuple[re.Pattern[str], InstallmentKind], ...]] = (
    (
        terms(
            anywhere=("账单分期", "分期账单", "账单.{0,8}分.{0,3}期", "整个账单", "本期账单", "这期账单"),
            words=(
                "(?:bill|statement) (?:installment|instalment)",
                "(?:split|spread|divide) (?:my|the|this) (?:bill|statement|balance)",
                "(?:bill|statement|balance) into (?:installments|instalments)",
                "whole bill",
                "entire (?:bill|statement|balance)",
            ),
        ),
        "bill",
    ),
    (
        terms(
            anywhere=(
                "消费分期", "单笔分期", "交易分期", "(?:这|那|一|某)笔.{0,10}分.{0,3}期", "某笔",
                "(?:买|购买|消费).{0,10}分.{0,3}期",
            ),
            words=(
                "(?:purchase|transaction) (?:installment|instalment)",
                "(?:split|spread|divide) (?:this|that|a|one|my|the) (?:purchase|transaction|charge|payment)",
                "(?:purchase|transaction|charge) into (?:installments|instalments)",
                "(?:one|single|big|large) purchase",
            ),
        ),
        "purchase",
    ),
)  # fmt: skip
_KINDS_DELIVERY: Final[tuple[tuple[re.Pattern[str], Delivery], ...]] = (
    (
        terms(
            anywhere=(
                "不加急",
                "不用加急",
                "不需要加急",
                "不急",
                "普通(?!卡)",
                "标准(?!卡)",
                "平邮",
                "常规",
                "慢一点",
            ),
            words=(
                "standard",
                "(?:regular|normal) (?:delivery|shipping|post|mail|one)",
                "free delivery",
                "no rush",
                "not urgent",
            ),
        ),
        "standard",
    ),
    (
        terms(
            anywhere=("加急", "特快", "最快", "急件", "顺丰", "快一点", "越快越好"),
            words=(
                "express",
                "expedited?",
                "expedite",
                "rush",
                "fastest",
                "overnight",
                "faster",
                "next[- ]day",
            ),
        ),
        "express",
    ),
)
_KINDS_AUTOPAY: Final[tuple[tuple[re.Pattern[str], AutopayMode], ...]] = (
    (
        terms(
            anywhere=("全额", "全部还", "还清", "全款"),
            words=(
                "in full",
                "full amount",
                "full balance",
                "the full",
                "pay everything",
                "pay it all",
                "(?:whole|entire) (?:amount|balance|statement)",
                "statement balance",
            ),
        ),
        "full",
    ),
    (
        terms(anywhere=("最低", "最少"), words=("minimum", "min payment", "min amount", "the least")),
        "minimum",
    ),
)


def _kind(text: str, table: tuple[tuple[re.Pattern[str], K], ...]) -> K | None:
    """The kind named first in the text; a negated mention ("不是临时的") does not count."""
    best: tuple[int, K] | None = None
    for pattern, kind in table:
        for match in pattern.finditer(text):
            if _NEGATED_BEFORE.search(text[: match.start()]):
                continue
            if best is None or match.start() < best[0]:
                best = (match.start(), kind)
            break
    return best[1] if best else None


def find_tier(text: str) -> Tier | None:
    """The card tier the customer names (普卡/金卡/白金/钻石, classic/gold/platinum/diamond)."""
    match = _TIER.search(text)
    return (
        _TIER_OF[match.group(0)[:2] if match.group(0)[0].isascii() else match.group(0)[0]] if match else None
    )


def _statement_day(text: str) -> tuple[int | None, tuple[int, int] | None]:
    match = _STATEMENT_DAY.search(text)
    if match is None:
        return None, None
    group = "second" if match["second"] else "first"
    day = parse_int(match[group])
    if day is None or not 1 <= day <= 31:
        return None, None
    return day, (match.start("first"), match.end())


def extract_slots(text: str, *, today: dt.date) -> Slots:
    """Every slot value in one customer turn, relative dates resolved against ``today``."""
    folded = fold(text)
    return extract_from_normalized(folded.lower(), folded=folded, today=today)


def extract_from_normalized(normalized: str, *, folded: str, today: dt.date) -> Slots:
    """``extract_slots`` for text the caller has already normalised (saves a second pass)."""
    work = normalized
    card_last4, spans = find_last4(work)
    for span in (*spans, *find_long_numbers(work)):
        work = blank(work, *span)
    statement_day, day_span = _statement_day(work)
    if day_span is not None:
        work = blank(work, *day_span)
    dates = find_dates(work, today)
    for span in dates.spans:
        work = blank(work, *span)
    periods = find_periods(work)
    for start, end, _ in periods:
        work = blank(work, start, end)
    amounts = tuple(value for _, _, value in find_amounts(work))
    return Slots(
        amount=amounts[0] if amounts else None,
        amounts=amounts,
        periods=periods[0][2] if periods else None,
        date=dates.dates[0] if dates.dates else None,
        date_range=dates.ranges[0] if dates.ranges else None,
        tier=find_tier(normalized),
        merchant=find_merchant(normalized, folded),
        card_last4=card_last4,
        limit_kind=_kind(normalized, _KINDS_LIMIT),
        installment_kind=_kind(normalized, _KINDS_INSTALLMENT),
        delivery=_kind(normalized, _KINDS_DELIVERY),
        autopay_mode=_kind(normalized, _KINDS_AUTOPAY),
        statement_day=statement_day,
    )
