"""Knowledge-base articles: Markdown with YAML front matter, one topic per file and locale.

Articles live in ``content/articles/<locale>/<id>.md``; the zh and en versions of a topic
share one ``id``. Every figure an article states must be authorised by the fee schedule
(:mod:`knowledge.fees`) or, for a worked example, listed in the article's ``example_figures``
front matter. :func:`check_article_figures` enforces that; the grounding guard reuses
:func:`stated_figures` on replies.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Literal

import yaml

from knowledge.errors import KnowledgeError
from knowledge.fees import TIER_IDS, FeeSchedule
from knowledge.models import ALL_TIERS, LOCALES, Locale

ARTICLES_DIR = Path(__file__).parent / "content" / "articles"

FigureKind = Literal["percent", "money", "count"]

# The intent taxonomy (design/INTENTS.md): a public contract, so an article may only name these.
INTENT_IDS: frozenset[str] = frozenset(
    """
    billing.statement billing.min_payment billing.interest_fees billing.annual_fee
    payment.how_to_pay account.transactions card.activate card.lost_stolen card.replace
    card.declined card.pin fraud.dispute limit.query limit.increase installment cash_advance
    rewards.points benefits.rights fx.international application.status card.cancel
    profile.update complaint human.agent chitchat out_of_scope
    """.split()
)

# Coarse article groups (front-matter ``topic``).
TOPICS: frozenset[str] = frozenset(
    """
    billing payments installments interest_fees cash_advance limits card_lifecycle disputes
    points benefits annual_fee international application service security
    """.split()
)

_REQUIRED_KEYS = ("id", "locale", "title", "topic", "intents", "tiers", "effective_date", "version")
_OPTIONAL_KEYS = ("example_figures",)
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_FRONT_MATTER = re.compile(
    r"\A---[ \t]*\r?\n(?P<meta>.*?)^---[ \t]*\r?$\n?(?P<body>.*)\Z", re.DOTALL | re.MULTILINE
)


class ArticleError(KnowledgeError, ValueError):
    """An article file is malformed; the message always starts with the file's path."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


@dataclass(frozen=True, slots=True, kw_only=True)
class Article:
    """One knowledge-base article in one language."""

    id: str
    locale: Locale
    title: str
    topic: str
    intents: tuple[str, ...]
    tiers: tuple[str, ...]
    effective_date: date
    version: int
    body: str
    path: Path
    content_hash: str
    # Inputs and results of a worked example that the fee schedule does not itself hold.
    example_figures: tuple[Decimal, ...] = ()


def parse_article(text: str, path: Path) -> Article:
    """Parse one article file's text; ``path`` names the file in every error."""
    match = _FRONT_MATTER.match(text.removeprefix("\ufeff"))
    if match is None:
        raise ArticleError(path, "no front matter: the file must start with a '---' line and close it")
    try:
        meta = yaml.safe_load(match["meta"])
    except (yaml.YAMLError, ValueError) as exc:
        # PyYAML raises a bare ValueError for an impossible date such as 2026-13-01.
        raise ArticleError(path, f"front matter is not valid YAML: {exc}") from exc
    if not isinstance(meta, dict):
        raise ArticleError(path, "front matter must be a YAML mapping")
    missing = [k for k in _REQUIRED_KEYS if k not in meta]
    if missing:
        raise ArticleError(path, f"front matter is missing {', '.join(missing)}")
    unknown = sorted(str(k) for k in meta if k not in _REQUIRED_KEYS + _OPTIONAL_KEYS)
    if unknown:
        raise ArticleError(path, f"front matter has unknown keys {', '.join(unknown)}")
    title = _text(meta, "title", path)
    return Article(
        id=_slug(meta, path),
        locale=_locale(meta, path),
        title=title,
        topic=_choice(meta, "topic", TOPICS, path),
        intents=_intents(meta, path),
        tiers=_tiers(meta, path),
        effective_date=_date(meta, path),
        version=_version(meta, path),
        body=_body(match["body"], title, path),
        path=path,
        content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        example_figures=_example_figures(meta, path),
    )


def load_articles(root: Path = ARTICLES_DIR) -> tuple[Article, ...]:
    """Load every ``*.md`` under ``root`` (sorted by path), checking layout and uniqueness."""
    if not root.is_dir():
        raise ArticleError(root, "no such articles folder")
    seen: dict[tuple[str, str], Path] = {}
    articles: list[Article] = []
    for path in sorted(root.rglob("*.md")):
        article = parse_article(path.read_bytes().decode("utf-8"), path)
        if path.parent.name != article.locale:
            raise ArticleError(path, f"locale {article.locale!r} but the folder is {path.parent.name!r}")
        if path.stem != article.id:
            raise ArticleError(path, f"id {article.id!r} but the file is named {path.name!r}")
        key = (article.id, article.locale)
        if key in seen:
            raise ArticleError(path, f"duplicate id {article.id!r} ({article.locale}); also in {seen[key]}")
        seen[key] = path
        articles.append(article)
    return tuple(articles)


# --- front-matter fields -------------------------------------------------------------------


def _text(meta: Mapping[object, object], key: str, path: Path) -> str:
    value = meta[key]
    if not isinstance(value, str) or not value.strip():
        raise ArticleError(path, f"{key} must be a non-empty string, got {value!r}")
    return value.strip()


def _slug(meta: Mapping[object, object], path: Path) -> str:
    value = _text(meta, "id", path)
    if not _SLUG.fullmatch(value):
        raise ArticleError(path, f"id {value!r} is not a lowercase slug")
    return value


def _locale(meta: Mapping[object, object], path: Path) -> Locale:
    value = meta["locale"]
    if value not in LOCALES:
        raise ArticleError(path, f"locale must be one of {', '.join(LOCALES)}, got {value!r}")
    return value


def _choice(meta: Mapping[object, object], key: str, allowed: frozenset[str], path: Path) -> str:
    value = meta[key]
    if value not in allowed:
        raise ArticleError(path, f"unknown {key} {value!r}; expected one of {', '.join(sorted(allowed))}")
    return value


def _string_list(meta: Mapping[object, object], key: str, path: Path) -> tuple[str, ...]:
    value = meta[key]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ArticleError(path, f"{key} must be a non-empty list of strings, got {value!r}")
    if len(set(value)) != len(value):
        raise ArticleError(path, f"{key} lists an entry twice: {value!r}")
    return tuple(value)


def _intents(meta: Mapping[object, object], path: Path) -> tuple[str, ...]:
    intents = _string_list(meta, "intents", path)
    unknown = [i for i in intents if i not in INTENT_IDS]
    if unknown:
        raise ArticleError(path, f"unknown intent ids {', '.join(map(repr, unknown))}")
    return intents


def _tiers(meta: Mapping[object, object], path: Path) -> tuple[str, ...]:
    tiers = _string_list(meta, "tiers", path)
    if tiers == (ALL_TIERS,):
        return tiers
    if ALL_TIERS in tiers:
        raise ArticleError(path, f"tiers: 'all' cannot be combined with other tiers, got {list(tiers)!r}")
    unknown = [t for t in tiers if t not in TIER_IDS]
    if unknown:
        raise ArticleError(
            path,
            f"unknown tiers {', '.join(map(repr, unknown))}; use [all] or a subset of {', '.join(TIER_IDS)}",
        )
    return tiers


def _date(meta: Mapping[object, object], path: Path) -> date:
    value = meta["effective_date"]
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ArticleError(path, f"effective_date must be a date like 2026-01-01, got {value!r}")


def _version(meta: Mapping[object, object], path: Path) -> int:
    value = meta["version"]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ArticleError(path, f"version must be a positive integer, got {value!r}")
    return value


def _example_figures(meta: Mapping[object, object], path: Path) -> tuple[Decimal, ...]:
    value = meta.get("example_figures", [])
    if not isinstance(value, list):
        raise ArticleError(path, f"example_figures must be a list of numbers, got {value!r}")
    out: list[Decimal] = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int | float | str):
            raise ArticleError(path, f"example_figures holds a non-number {item!r}")
        try:
            out.append(Decimal(str(item)))
        except InvalidOperation:
            raise ArticleError(path, f"example_figures holds a non-number {item!r}") from None
    return tuple(out)


def _body(raw: str, title: str, path: Path) -> str:
    body = raw.strip()
    if not body:
        raise ArticleError(path, "empty body")
    first, _, rest = body.partition("\n")
    if not first.startswith("# "):
        raise ArticleError(path, f"the body must start with a '# ' title heading, got {first[:40]!r}")
    if first[2:].strip() != title:
        raise ArticleError(path, f"title heading {first[2:].strip()!r} differs from the front-matter title")
    if not rest.strip():
        raise ArticleError(path, "the body has no text after its title heading")
    return body + "\n"


# --- figures ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class StatedFigure:
    """A number a text states: its value, what it measures, and the text that states it."""

    value: Decimal
    kind: FigureKind
    span: str
    start: int


_CN_NUMERALS = "零〇一二两三四五六七八九十百千万"
_CN_DIGIT_VALUES = {ch: i for i, ch in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}
_CN_UNIT_VALUES = {"十": 10, "百": 100, "千": 1000}
_EN_NUMBER_WORDS = {
    word: i
    for i, word in enumerate("zero one two three four five six seven eight nine ten eleven twelve".split())
} | {"fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "ninety": 90}
_MULTIPLIERS = {"万": Decimal(10_000), "亿": Decimal(100_000_000)}

# Spans that hold digits but state no figure the schedule could authorise. Clock times are
# not figures either; check_article_figures compares them with the schedule's hours instead.
_CLOCK = re.compile(r"(?<![\d:])(\d{1,2}):(\d{2})(?![\d:])")
_NOT_FIGURES = (
    re.compile(r"(?<!\d)\d{4}-\d{2}-\d{2}(?!\d)"),  # ISO dates
    _CLOCK,
    re.compile(r"24\s*/\s*7|7\s*[x×*]\s*24"),  # round the clock
    re.compile(r"^[ \t]*\d{1,2}[.)][ \t]", re.MULTILINE),  # ordered-list markers
)
_CN_PERCENT = re.compile(rf"百分之(?P<n>\d+(?:\.\d+)?|[{_CN_NUMERALS}]+)")
_CN_COUNT = re.compile(
    rf"(?<![\d.{_CN_NUMERALS}])(?P<n>[{_CN_NUMERALS[:-1]}][{_CN_NUMERALS}]*)"
    r"(?P<unit>个工作日|个自然日|个月|个小时|工作日|天|日|月|年|期|次|小时|分钟|秒|笔|倍|积分|元|块)"
)
_EN_COUNT = re.compile(
    rf"\b(?P<n>{'|'.join(_EN_NUMBER_WORDS)})[ -]"
    r"(?=(?:(?:full|calendar|business|working|card)[ -])?"
    r"(?:days?|weeks?|months?|years?|periods?|installments?|payments?|times|hours?|minutes?|seconds?"
    r"|visits?|points|wrong)\b)",
    re.IGNORECASE,
)
_NUMBER = re.compile(
    r"(?:(?P<cur>¥|CNY|RMB|人民币)[ \t]*|(?<![A-Za-z0-9_.,]))"
    r"(?P<n>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?P<mult>[ \t]?[万亿])?"
    r"(?:(?P<pct>[ \t]*(?:%|percent\b|per cent\b))"
    r"|(?P<money>[ \t]*(?:元|块|yuan\b|CNY\b|RMB\b)))?"
)


def stated_figures(text: str) -> list[StatedFigure]:
    """Every figure ``text`` states, in order: percentages, money amounts and counts.

    Digits (``¥1,000``, ``0.75%``, ``10万元``, ``3 years``), Chinese numerals before a unit
    (``三个工作日``, ``百分之五``) and English number words before a unit (``three days``)
    all count. ISO dates, clock times, ``24/7`` and ordered-list markers do not.
    """
    work = unicodedata.normalize("NFKC", text)
    for pattern in _NOT_FIGURES:
        work = pattern.sub(_blank, work)
    found: list[StatedFigure] = []
    for m in _CN_PERCENT.finditer(work):
        found.append(StatedFigure(value=_cn_or_digits(m["n"]), kind="percent", span=m[0], start=m.start()))
    work = _CN_PERCENT.sub(_blank, work)
    for m in _CN_COUNT.finditer(work):
        kind: FigureKind = "money" if m["unit"] in ("元", "块") else "count"
        found.append(StatedFigure(value=_cn_or_digits(m["n"]), kind=kind, span=m[0], start=m.start()))
    for m in _EN_COUNT.finditer(work):
        value = Decimal(_EN_NUMBER_WORDS[m["n"].lower()])
        found.append(StatedFigure(value=value, kind="count", span=m["n"], start=m.start()))
    for m in _NUMBER.finditer(work):
        value = Decimal(m["n"].replace(",", ""))
        if m["mult"]:
            value *= _MULTIPLIERS[m["mult"].strip()]
        kind = "percent" if m["pct"] else "money" if m["cur"] or m["money"] else "count"
        found.append(StatedFigure(value=value, kind=kind, span=m[0].strip(), start=m.start()))
    return sorted(found, key=lambda f: f.start)


def check_article_figures(article: Article, schedule: FeeSchedule) -> list[str]:
    """Problems with the figures ``article`` states; an empty list means every figure is grounded.

    A figure is grounded when the schedule holds it (``schedule.figures()``) or the article
    lists it in ``example_figures``; a percentage must moreover be one of the schedule's rates
    or ratios, so "a late fee of 10%" fails even though ¥10 is a schedule figure. Example
    figures must be stated in the body and must not repeat a schedule figure (so a schedule
    change cannot hide behind an example). Clock times must be the schedule's service hours.
    """
    authorised = schedule.figures()
    examples = set(article.example_figures)
    percents, clock_times = _rates_and_times(schedule.raw)
    stated = stated_figures(article.body)
    problems = [
        f"{article.path}: states {f.kind} {f.span!r} ({f.value}), which the fee schedule does not hold"
        for f in stated
        if f.value not in examples and f.value not in (percents if f.kind == "percent" else authorised)
    ]
    stated_values = {f.value for f in stated}
    for figure in article.example_figures:
        if figure in authorised:
            problems.append(
                f"{article.path}: example figure {figure} is a fee-schedule figure; "
                "list only figures the schedule does not hold"
            )
        elif figure not in stated_values:
            problems.append(f"{article.path}: example figure {figure} is not stated in the body")
    for m in _CLOCK.finditer(unicodedata.normalize("NFKC", article.body)):
        if (int(m[1]), int(m[2])) not in clock_times:
            problems.append(f"{article.path}: states time {m[0]!r}, which the fee schedule does not hold")
    return problems


def _blank(m: re.Match[str]) -> str:
    # Same length, so later matches keep their offsets into the text.
    return " " * len(m[0])


def _cn_or_digits(numeral: str) -> Decimal:
    if numeral[0].isdigit():
        return Decimal(numeral)
    total, section, digit = 0, 0, 0
    for ch in numeral:
        if ch in _CN_DIGIT_VALUES:
            digit = _CN_DIGIT_VALUES[ch]
        elif ch in _CN_UNIT_VALUES:
            section += (digit or 1) * _CN_UNIT_VALUES[ch]
            digit = 0
        else:  # 万
            total += (section + digit) * 10_000
            section, digit = 0, 0
    return Decimal(total + section + digit)


def _rates_and_times(raw: object) -> tuple[frozenset[Decimal], frozenset[tuple[int, int]]]:
    """The schedule's rates and ratios as percentages, and its clock times as (hour, minute)."""
    percents: set[Decimal] = set()
    times: set[tuple[int, int]] = set()
    stack: list[tuple[str, object]] = [("", raw)]
    while stack:
        key, item = stack.pop()
        if isinstance(item, dict):
            stack.extend((str(k), v) for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((key, v) for v in item)
        elif isinstance(item, str) and (m := _CLOCK.fullmatch(item)):
            times.add((int(m[1]), int(m[2])))
        elif isinstance(item, int | float) and not isinstance(item, bool) and _is_rate_key(key):
            percents.add(Decimal(str(item)) * 100)
    return frozenset(percents), frozenset(times)


def _is_rate_key(key: str) -> bool:
    # The same naming rule fees.FeeSchedule.figures() uses to add a rate's percentage form.
    return "rate" in key or key == "apr" or key.endswith("ratio")
