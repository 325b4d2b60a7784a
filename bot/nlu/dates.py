"""Dates and date ranges, resolved against an injected ``today``.

Resolution rules (documented in ``bot/nlu/README.md``):

* a month and day without a year (``11月20日``, ``11/20``, ``Nov 20``) is the latest such date at
  most 90 days ahead of today: customers mostly ask about past transactions and statements, and
  about due dates or trips in the coming weeks;
* a day alone (``20号``, ``the 20th``) is that day of the current month;
* ``上周五`` / ``last Friday`` is the Friday of the previous calendar week (weeks start on Monday);
  a bare weekday (``周五``, ``on Friday``) is the most recent one on or before today;
* ``上个月`` / ``last month`` and ``上周`` / ``last week`` are calendar ranges; ``近7天`` / ``past 7 days``
  run from the same day 7 days back to today; a month alone (``10月份``, ``October``) is the most
  recent such month, this month included.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final

from bot.nlu.normalization import blank
from bot.nlu.numerals import CN_CHARS, parse_english_number, parse_int

DateRange = tuple[dt.date, dt.date]

_MONTHS: Final[dict[str, int]] = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9,
    "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))
_WEEKDAYS_EN: Final[dict[str, int]] = {
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6,
}  # fmt: skip
_WEEKDAYS_ZH: Final[dict[str, int]] = {
    "一": 0, "1": 0, "二": 1, "2": 1, "三": 2, "3": 2, "四": 3, "4": 3, "五": 4, "5": 4,
    "六": 5, "6": 5, "日": 6, "天": 6, "7": 6,
}  # fmt: skip
_NUM = rf"\d{{1,2}}|[{CN_CHARS}]{{1,3}}"
FUTURE_WINDOW_DAYS: Final = 90
"""How far ahead a date without a year may lie; further ahead it is read as last year's."""
_EN_COUNT = (
    r"\d{1,3}|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty"
)


@dataclass(frozen=True, slots=True)
class DateFinds:
    """Dates and ranges found in a text, in order of appearance, and the spans they used."""

    dates: tuple[dt.date, ...]
    ranges: tuple[DateRange, ...]
    spans: tuple[tuple[int, int], ...]


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by whole months, the day clamped to the target month's length."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def month_range(year: int, month: int) -> DateRange:
    """First and last day of a calendar month."""
    return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])


def _safe_date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def resolve_month_day(month: int, day: int, today: dt.date) -> dt.date | None:
    """The date with this month and day a customer most likely means: the latest one no more than
    ``FUTURE_WINDOW_DAYS`` ahead of today (so "Nov 3" said in May is last November's, "5月20日" said
    on 13 May is next week's). None when no year has that day (2月30日)."""
    limit = today + dt.timedelta(days=FUTURE_WINDOW_DAYS)
    candidates = [
        d
        for year in (today.year - 1, today.year, today.year + 1)
        if (d := _safe_date(year, month, day)) is not None and d <= limit
    ]
    return max(candidates, default=None)


def _recent_month(month: int, today: dt.date) -> DateRange:
    year = today.year if month <= today.month else today.year - 1
    return month_range(year, month)


def _monday(today: dt.date) -> dt.date:
    return today - dt.timedelta(days=today.weekday())


def _count(raw: str) -> int | None:
    if raw.isdigit():
        return int(raw)
    if raw in ("a", "an"):
        return 1
    return parse_english_number(raw) or parse_int(raw)


def _shift(today: dt.date, count: int, unit: str) -> dt.date:
    if unit.startswith(("月", "month")) or unit == "个月":
        return add_months(today, -count)
    if unit.startswith(("周", "星期", "礼拜", "week")) or unit in ("个星期", "个礼拜"):
        return today - dt.timedelta(weeks=count)
    return today - dt.timedelta(days=count)


Found = dt.date | DateRange | None
Groups = dict[str, str]
"""A match's non-empty groups; ``n2``/``unit2``… of a second alternative are renamed ``n``/``unit``."""
Rule = tuple[re.Pattern[str], Callable[[Groups, dt.date], Found]]


def _groups(match: re.Match[str]) -> Groups:
    named = {key.rstrip("23"): value for key, value in match.groupdict().items() if value is not None}
    return {"which": "", "n": "", "all": match.group(0), **named}


def _iso(g: Groups, today: dt.date) -> Found:
    return _safe_date(int(g["y"]), int(g["m"]), int(g["d"]))


def _year_month(g: Groups, today: dt.date) -> Found:
    month = int(g["m"])
    return month_range(int(g["y"]), month) if 1 <= month <= 12 else None


def _relative_month_day(g: Groups, today: dt.date) -> Found:
    which = g["which"]
    offset = -1 if which.startswith(("上", "last")) else 1 if which.startswith(("下", "next")) else 0
    base = add_months(today.replace(day=1), offset)
    day = parse_int(g["d"])
    return _safe_date(base.year, base.month, day) if day else None


def _month_day_zh(g: Groups, today: dt.date) -> Found:
    month, day = parse_int(g["m"]), parse_int(g["d"])
    return resolve_month_day(month, day, today) if month and day and month <= 12 else None


def _month_day_en(g: Groups, today: dt.date) -> Found:
    month, day = _MONTHS[g["mon"]], int(g["d"])
    if "y" in g:
        return _safe_date(int(g["y"]), month, day)
    return resolve_month_day(month, day, today)


def _slash(g: Groups, today: dt.date) -> Found:
    first, second = int(g["a"]), int(g["b"])
    if (first, second) == (24, 7):
        return None  # "24/7" is a service-hours phrase
    month, day = (first, second) if first <= 12 else (second, first)
    return resolve_month_day(month, day, today) if month <= 12 else None


def _ago(g: Groups, today: dt.date) -> Found:
    count = _count(g["n"])
    return _shift(today, count, g["unit"]) if count else None


def _weekday(g: Groups, today: dt.date) -> Found:
    raw = g["wd"]
    target = _WEEKDAYS_EN[raw] if raw in _WEEKDAYS_EN else _WEEKDAYS_ZH[raw]
    which = g["which"]
    if which.startswith(("上", "last")):
        return _monday(today) - dt.timedelta(days=7 - target)
    if which.startswith(("下", "next")):
        return _monday(today) + dt.timedelta(days=7 + target)
    if which.startswith(("这", "本", "this")):
        return _monday(today) + dt.timedelta(days=target)
    return today - dt.timedelta(days=(today.weekday() - target) % 7)


_DAY_WORDS: Final[dict[str, int]] = {
    "大前天": -3, "前天": -2, "昨天": -1, "昨日": -1, "昨晚": -1, "昨夜": -1, "今天": 0, "今日": 0, "今早": 0,
    "今晚": 0, "刚才": 0, "刚刚": 0, "明天": 1, "明日": 1, "后天": 2,
    "the day before yesterday": -2, "the day after tomorrow": 2, "yesterday": -1, "last night": -1,
    "today": 0, "tonight": 0, "this morning": 0, "this afternoon": 0, "this evening": 0, "just now": 0,
    "tomorrow": 1,
}  # fmt: skip


def _day_word(g: Groups, today: dt.date) -> Found:
    return today + dt.timedelta(days=_DAY_WORDS[g["all"]])


def _recent(g: Groups, today: dt.date) -> Found:
    count = _count(g["n"]) if g["n"] else 1
    return (_shift(today, count, g["unit"]), today) if count else None


def _named_range(g: Groups, today: dt.date) -> Found:
    which, unit = g["which"], g["unit"]
    offset = (
        -1 if which in ("上", "上个", "last", "去") else 1 if which in ("下", "下个", "next", "明") else 0
    )
    if unit in ("周", "星期", "个星期", "礼拜", "个礼拜", "week"):
        start = _monday(today) + dt.timedelta(weeks=offset)
        return start, start + dt.timedelta(days=6)
    if unit in ("月", "个月", "month"):
        first = add_months(today.replace(day=1), offset)
        return month_range(first.year, first.month)
    year = today.year + offset
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def _month_alone(g: Groups, today: dt.date) -> Found:
    month = _MONTHS.get(g["m"]) or parse_int(g["m"])
    return _recent_month(month, today) if month and month <= 12 else None


def _day_alone(g: Groups, today: dt.date) -> Found:
    day = parse_int(g["d"])
    return _safe_date(today.year, today.month, day) if day else None


_RULES: Final[tuple[Rule, ...]] = (
    (
        re.compile(
            r"(?<!\d)(?P<y>20\d\d|19\d\d)\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*[日号]?(?!\d)"
        ),
        _iso,
    ),
    (re.compile(r"(?<!\d)(?P<y>20\d\d|19\d\d)\s*年\s*(?P<m>\d{1,2})\s*月份?(?![\d日号])"), _year_month),
    (
        re.compile(
            rf"(?P<which>上个?月|这个月|本月|下个?月|last month|this month|next month)(?:'s)?\s*的?\s*"
            rf"(?:the\s+)?(?P<d>{_NUM})\s*(?:[号日]|st|nd|rd|th)"
        ),
        _relative_month_day,
    ),
    (
        re.compile(rf"(?<![\d{CN_CHARS}])(?P<m>{_NUM})\s*月\s*(?P<d>{_NUM})\s*[日号]?(?![\d期])"),
        _month_day_zh,
    ),
    (
        re.compile(
            rf"(?<![a-z])(?P<mon>{_MONTH_RE})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?(?![\d:])(?:,?\s*(?P<y>20\d\d))?"
        ),
        _month_day_en,
    ),
    (
        re.compile(
            rf"(?<![\d.])(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<mon>{_MONTH_RE})(?![a-z])\.?"
            rf"(?:,?\s*(?P<y>20\d\d))?"
        ),
        _month_day_en,
    ),
    (re.compile(r"(?<![\d/.])(?P<a>\d{1,2})/(?P<b>\d{1,2})(?![\d/])"), _slash),
    (
        re.compile(
            rf"(?P<n>\d{{1,3}}|[{CN_CHARS}]{{1,3}})\s*(?P<unit>天|日|周|个星期|个礼拜|星期|个月)\s*(?:前|以前|之前)"
            rf"|(?<![a-z])(?P<n2>{_EN_COUNT})\s+(?P<unit2>days?|weeks?|months?)\s+ago"
        ),
        _ago,
    ),
    (
        re.compile(
            rf"(?:最近|近|过去)\s*(?P<n>\d{{1,3}}|[{CN_CHARS}]{{1,3}})?\s*(?P<unit>天|日|周|个星期|个礼拜|个月)"
            rf"|(?<![a-z])(?:past|previous)\s+(?P<n2>{_EN_COUNT})?\s*(?P<unit2>days?|weeks?|months?)(?![a-z])"
            rf"|(?<![a-z])last\s+(?P<n3>{_EN_COUNT})\s*(?P<unit3>days?|weeks?|months?)(?![a-z])"
        ),
        _recent,
    ),
    (
        re.compile(
            r"(?P<which>上个?|这个?|本|下个?)?(?:周|星期|礼拜)(?P<wd>[一二三四五六日天1-7])"
            r"|(?<![a-z])(?:(?P<which2>last|this|next|on)\s+)?"
            r"(?P<wd2>monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
        ),
        _weekday,
    ),
    (re.compile("|".join(sorted((re.escape(w) for w in _DAY_WORDS), key=len, reverse=True))), _day_word),
    (
        re.compile(
            r"(?P<which>上个|上|这个|这|本|下个|下|今|去|明)(?P<unit>个星期|星期|个礼拜|礼拜|周|个月|月|年)(?!份?\d)"
            r"|(?<![a-z])(?P<which2>last|this|next)\s+(?P<unit2>week|month|year)(?![a-z])"
        ),
        _named_range,
    ),
    (
        re.compile(
            rf"(?<![\d{CN_CHARS}个上下这本])(?P<m>\d{{1,2}}|[{CN_CHARS}]{{1,2}})\s*月份?(?![\d日号底初中])"
            r"|(?<![a-z])(?P<m2>january|february|march|april|june|july|august|september|october|november|december)"
            r"(?![a-z])"
            r"|(?<=in |of )(?P<m3>may)(?![a-z])"
        ),
        _month_alone,
    ),
    (
        re.compile(
            rf"(?<![\d{CN_CHARS}月/.\-])(?P<d>\d{{1,2}}|[{CN_CHARS}]{{1,3}})\s*[号日](?![a-z\d])"
            r"|(?<![a-z])(?:on\s+)?the\s+(?P<d2>\d{1,2})(?:st|nd|rd|th)(?![a-z])"
        ),
        _day_alone,
    ),
)


def _matches(text: str, today: dt.date) -> Iterator[tuple[int, int, dt.date | DateRange]]:
    for pattern, resolve in _RULES:
        for match in pattern.finditer(text):
            value = resolve(_groups(match), today)
            if value is None:
                continue
            text = blank(text, *match.span())
            yield match.start(), match.end(), value


def find_dates(text: str, today: dt.date) -> DateFinds:
    """Dates and date ranges in normalised text, resolved against ``today``."""
    found = sorted(_matches(text, today), key=lambda item: item[0])
    dates = tuple(v for _, _, v in found if isinstance(v, dt.date))
    ranges = tuple(v for _, _, v in found if isinstance(v, tuple))
    return DateFinds(dates=dates, ranges=ranges, spans=tuple((s, e) for s, e, _ in found))
