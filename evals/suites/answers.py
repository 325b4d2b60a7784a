"""Answer quality: customers' first questions through the real assistant over the real WebSocket.

Each question of ``evals/datasets/answers_{zh,en}.yaml`` opens a fresh conversation on an
in-process server. The reply is scored on four things:

* it cites the right article (any acceptable id in ``citations[].article_id``), over the
  questions that name an article;
* it states the right figure (compared after normalisation: thousands separators, ¥/元/yuan,
  万/million, ``%``/百分之), over the questions that name one; text and card contents count;
* it states no ungrounded number: every figure in the text (``bot.guardrails.extract_figures``)
  must be supported by the fee schedule, the texts of the passages it cites, or the asking
  customer's card-system snapshot (``check_grounding``);
* it is written in the question's language.
"""

from __future__ import annotations

import contextlib
import re
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from evals.harness import (
    EngineUnavailable,
    EvalServer,
    Exchange,
    ServerConfig,
    default_concurrency,
    gather_limited,
    is_language,
    sample,
)
from evals.report import Plot, Section, SuiteContext, SuiteResult

NAME = "answers"
DESCRIPTION = (
    "Customers' first questions through the real assistant: right article cited, right figure "
    "stated, no ungrounded number, right language"
)
FIGURES = (
    "cites_right_article",
    "cites_right_article_zh",
    "cites_right_article_en",
    "right_figure",
    "right_figure_zh",
    "right_figure_en",
    "ungrounded_replies",
    "language_correct",
    "errors",
)
DATASETS = Path(__file__).resolve().parents[1] / "datasets"
QUESTION_FILES = (DATASETS / "answers_zh.yaml", DATASETS / "answers_en.yaml")
SMALL_PER_FILE = 30
GROUNDING_NOTE = (
    "A figure in a reply counts as grounded when one of these states it: the fee schedule; the texts of "
    "the passages the reply cites; or the asking customer's account: the card-system snapshot "
    "(GET /api/v1/demo/customers/{id}/state), what the card system's read calls return (cards, points, "
    "plans, annual-fee status, limit profile, today's date) and what the schedule's rules derive from "
    "them (available credit, the most a temporary or permanent increase can reach, the cash-advance "
    "limit, the points' worth in yuan and miles, days left to the due date, the next statement dates, "
    "deadlines a schedule day count away from an account date). The account counts for knowledge "
    "questions too, because answers carry tier notes and offers built from it. Each question is asked "
    "by a fresh copy of its demo customer, so no question sees another's side effects. Figures are "
    "checked in the reply text; action cards are computed by the product's calculators and only count "
    "towards the right-figure check."
)
_CENT = Decimal("0.01")


# -- the question sets ------------------------------------------------------------------------


class _QuestionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    q: str = Field(min_length=1)
    article: list[str] | None = None
    figure: str | None = None
    figure_from: str | None = None
    customer: str = "C001"
    kind: Literal["knowledge", "account"] = "knowledge"

    @field_validator("article", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value


class _QuestionFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    locale: Literal["zh", "en"]
    questions: list[_QuestionIn] = Field(min_length=1)


@dataclass(frozen=True, slots=True, kw_only=True)
class AnswerQuestion:
    """One question and what a right answer to it contains."""

    q: str
    locale: Literal["zh", "en"]
    articles: tuple[str, ...] = ()
    figure: str | None = None
    figure_from: str | None = None
    customer: str = "C001"
    kind: Literal["knowledge", "account"] = "knowledge"


def load_questions(path: Path) -> list[AnswerQuestion]:
    """Read and validate one question file."""
    data = _QuestionFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    return [
        AnswerQuestion(
            q=item.q,
            locale=data.locale,
            articles=tuple(item.article or ()),
            figure=item.figure,
            figure_from=item.figure_from,
            customer=item.customer,
            kind=item.kind,
        )
        for item in data.questions
    ]


# -- figures ----------------------------------------------------------------------------------

# number: a bare figure; count: a figure with a unit that is not money (12期, 20 days, 400 points).
FigureKind = Literal["amount", "percent", "number", "count"]


@dataclass(frozen=True, slots=True)
class Stated:
    """A figure as read from text: what kind it is and its value."""

    kind: FigureKind
    value: Decimal


_CN_DIGITS = {
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
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_MULTIPLIERS = {
    "万": Decimal(10_000),
    "千": Decimal(1000),
    "亿": Decimal(100_000_000),
    "million": Decimal(1_000_000),
    "thousand": Decimal(1000),
}
_NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_DIGIT_FIGURE = re.compile(
    r"(?P<cur>[¥￥]|RMB\s?|CNY\s?)?(?<![A-Za-z0-9.,])(?P<num>" + _NUMBER + r")"
    r"(?:\s?(?P<mult>万|千|亿|million\b|thousand\b))?"
    r"\s?(?P<unit>%|％|\s?per\s?cent\b|percent\b|元|块|yuan\b|RMB\b|CNY\b)?",
    re.I,
)
_CN_NUMERAL = r"[零〇一二两三四五六七八九十百千]+"
_COUNT_UNIT = re.compile(
    r"\s?(?:期|天|个|次|年|月|日|号|积分|分|倍|笔|小时|英里|里程|工作日|"
    r"(?:business |calendar )?days?\b|months?\b|years?\b|periods?\b|installments?\b|times\b|points?\b|"
    r"miles?\b|visits?\b|purchases?\b|hours?\b)",
    re.I,
)
_PERCENT_WORDS = re.compile(r"百分之(?P<num>" + _NUMBER + "|" + _CN_NUMERAL + r")(?P<mult>)")
_CN_FIGURE = re.compile(
    r"(?P<num>" + _CN_NUMERAL + r")(?P<mult>万|亿)?(?P<unit>元|块|天|个|期|次|倍|年|笔|小时)"
)


def cn_numeral(text: str) -> Decimal | None:
    """``二十`` → 20, ``一百五十`` → 150, ``三千`` → 3000; None for anything else."""
    total = 0
    digit: int | None = None
    for ch in text:
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch]
        elif ch in _CN_UNITS:
            total += (1 if digit is None else digit) * _CN_UNITS[ch]
            digit = None
        else:
            return None
    return Decimal(total + (digit or 0))


def _number(text: str) -> Decimal | None:
    try:
        return Decimal(text.replace(",", ""))
    except InvalidOperation:
        return cn_numeral(text)


def stated_figures(text: str) -> list[Stated]:
    """Every figure in ``text`` with its kind (an amount has ¥/元/yuan, a percent has %/百分之)."""
    out: list[Stated] = []
    for m in _DIGIT_FIGURE.finditer(text):
        value = _number(m["num"])
        if value is None:
            continue
        if m["mult"]:
            value *= _MULTIPLIERS[m["mult"].lower()]
        unit = (m["unit"] or "").strip().lower()
        if unit in ("%", "％", "per cent", "percent") or unit.replace(" ", "") == "percent":
            out.append(Stated("percent", value))
        elif m["cur"] or unit in ("元", "块", "yuan", "rmb", "cny"):
            out.append(Stated("amount", value))
        elif _COUNT_UNIT.match(text, m.end()):
            out.append(Stated("count", value))
        else:
            out.append(Stated("number", value))
    for m in _PERCENT_WORDS.finditer(text):
        value = _number(m["num"])
        if value is not None:
            out.append(Stated("percent", value))
    for m in _CN_FIGURE.finditer(text):
        value = cn_numeral(m["num"])
        if value is None:
            continue
        if m["mult"]:
            value *= _MULTIPLIERS[m["mult"]]
        out.append(Stated("amount" if m["unit"] in ("元", "块") else "count", value))
    return out


def expected_figure(figure: str) -> Stated:
    """The figure a dataset names (``"¥1,079.20"``, ``"14.31%"``, ``"20"``), read the same way."""
    found = stated_figures(figure.strip())
    if len(found) != 1:
        raise ValueError(f"expected figure {figure!r} must state exactly one figure")
    return found[0]


def _same(a: Decimal, b: Decimal) -> bool:
    return a == b or a.quantize(_CENT, rounding=ROUND_HALF_UP) == b.quantize(_CENT, rounding=ROUND_HALF_UP)


def states_figure(text: str, expected: Stated) -> bool:
    """Whether ``text`` states ``expected``.

    A percent only as a percent; an amount with ¥/元 or as a bare number (not ``12期``); a
    number or count in any form but a percent.
    """
    allowed = {"percent": ("percent",), "amount": ("amount", "number")}.get(
        expected.kind, ("amount", "number", "count")
    )
    return any(got.kind in allowed and _same(got.value, expected.value) for got in stated_figures(text))


def resolve_path(document: Any, path: str) -> Any:
    """``statements.0.balance`` in a JSON-like document; raises KeyError when it is not there."""
    node = document
    for part in path.split("."):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, Mapping) and part in node:
            node = node[part]
        else:
            raise KeyError(f"no {path!r} in the customer's state")
    return node


# -- grounding --------------------------------------------------------------------------------


@cache
def _passages() -> dict[tuple[str, str, str], list[str]]:
    """Chunk texts of every article by (article id, locale, section), as retrieval serves them."""
    from knowledge.ingestion.loader import load_sources

    out: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for source in load_sources().values():
        for chunk in source.chunks:
            out[(chunk.article_id, chunk.locale, chunk.section)].append(chunk.text)
            out[(chunk.article_id, chunk.locale, "*")].append(chunk.text)
    return dict(out)


@cache
def article_topics() -> dict[str, str]:
    """Article id → its topic (``billing``, ``installments`` …)."""
    from knowledge.ingestion.loader import load_sources

    return {s.article.id: s.article.topic for s in load_sources().values()}


def cited_texts(citations: Iterable[Mapping[str, Any]]) -> list[str]:
    """The texts of the passages a reply cites (the whole article when its section is unknown)."""
    index = _passages()
    texts: list[str] = []
    for c in citations:
        article, locale = str(c.get("article_id")), str(c.get("locale"))
        texts.extend(
            index.get((article, locale, str(c.get("section") or "")))
            or index.get((article, locale, "*"))
            or []
        )
    return texts


@cache
def _schedule_sources() -> tuple[frozenset[Decimal], tuple[str, ...]]:
    from knowledge.fees import load_fee_schedule

    schedule = load_fee_schedule()
    hours = schedule.get("service.agent_hours")
    return schedule.figures(), (str(hours["start"]), str(hours["end"]))


def _dates(node: Any) -> set[date]:
    """Every ISO date (``2026-11-15``, or the date part of a timestamp) in a JSON-like value."""
    out: set[date] = set()
    if isinstance(node, Mapping):
        for value in node.values():
            out |= _dates(value)
    elif isinstance(node, list):
        for value in node:
            out |= _dates(value)
    elif isinstance(node, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}(?:T.*)?", node):
        with contextlib.suppress(ValueError):
            out.add(date.fromisoformat(node[:10]))
    return out


# Day counts of the schedule that turn one account date into another (a deadline, a due date).
_DAY_COUNTS = (
    "billing.due_days_after_statement",
    "billing.grace_days",
    "card.activation_days",
    "disputes.window_days",
    "disputes.merchant_resolution_days",
    "credit_limit.temporary.min_days",
    "credit_limit.temporary.max_days",
    "installments.purchase_window_days",
)


def _next_months(day: int, after: date, count: int) -> list[date]:
    out: list[date] = []
    year, month = after.year, after.month
    while len(out) < count:
        with contextlib.suppress(ValueError):
            candidate = date(year, month, day)
            if candidate > after:
                out.append(candidate)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def derived_figures(snapshot: Mapping[str, Any], today: date | None) -> dict[str, Any]:
    """What the schedule's rules make of the customer's own numbers and dates.

    Available credit, the most a temporary/permanent increase can reach, the cash-advance
    limit, the points' worth in yuan and miles, days left to each due date, the next statement
    dates, and account dates (not transactions) moved by one of the schedule's day counts (an
    activation deadline is the issue date + 90 days, a due date the statement date + 20, ...);
    a transaction's posting date moves only by the dispute and installment windows.
    """
    from knowledge.fees import load_fee_schedule

    schedule = load_fee_schedule()
    temp, perm = (
        schedule.dec("credit_limit.temporary.max_increase_ratio"),
        schedule.dec("credit_limit.permanent.max_increase_ratio"),
    )
    cash, per_yuan = (
        schedule.dec("cash_advance.limit_ratio"),
        schedule.dec("points.statement_credit_points_per_yuan"),
    )
    per_mile = schedule.dec("points.points_per_airline_mile")
    out: dict[str, Any] = {"today": today}
    for n, card in enumerate(snapshot.get("cards") or []):
        limit, balance = Decimal(str(card.get("credit_limit") or 0)), Decimal(str(card.get("balance") or 0))
        effective = Decimal(str(card.get("temp_limit") or limit))
        out[f"card{n}"] = [
            effective - balance,
            limit - balance,
            limit * (1 + temp),
            limit * (1 + perm),
            limit * cash,
            effective * cash,
        ]
        if today is not None and card.get("statement_day"):
            out[f"card{n}_next_statements"] = _next_months(int(card["statement_day"]), today, 3)
    points = snapshot.get("points") or {}
    for key in ("balance", "expiring"):
        value = Decimal(str(points.get(key) or 0))
        out[f"points_{key}"] = [(value / per_yuan).quantize(_CENT, rounding=ROUND_HALF_UP), value // per_mile]
    if today is not None:
        for n, st in enumerate(snapshot.get("statements") or []):
            with contextlib.suppress(ValueError, TypeError):
                out[f"statement{n}_days_left"] = (date.fromisoformat(str(st.get("due_date"))) - today).days
    shifts = {int(schedule.get(path)) for path in _DAY_COUNTS}
    account = {k: v for k, v in snapshot.items() if k != "transactions"}
    bases = _dates(account) | ({today} if today else set())
    window = int(schedule.get("disputes.window_days")), int(schedule.get("installments.purchase_window_days"))
    posted = _dates([t.get("posted_on") for t in snapshot.get("transactions") or []])
    out["shifted_dates"] = sorted(
        {d + timedelta(days=k) for d in bases for k in shifts}
        | {d + timedelta(days=k) for d in posted for k in window}
    )
    return out


def ungrounded(text: str, citations: Sequence[Mapping[str, Any]], snapshot: Any = None) -> list[str]:
    """Figures in ``text`` that neither the fee schedule, the cited passages nor ``snapshot`` state.

    ``snapshot``: the customer's account as the assistant's read tools see it (anything
    JSON-like, walked for every value), or None for a question without a customer.
    """
    from bot.guardrails import GroundingSources, check_grounding

    numbers, times = _schedule_sources()
    sources = GroundingSources.build(
        numbers=numbers,
        passages=cited_texts(citations),
        tool_values=[snapshot] if snapshot is not None else [],
        times=times,
    )
    return [u.text for u in check_grounding(text, sources)]


def stated_amount_quotes(question: str) -> list[dict[str, str]]:
    """Installment quotes for amounts the customer named ("一万二分12期…"), computed here from the
    fee schedule: the per-period fee on the original principal, the principal split in cents."""
    from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

    from bot.nlu import extract_slots
    from knowledge.fees import load_fee_schedule

    cent = Decimal("0.01")
    out = []
    for amount in extract_slots(question, today=datetime.now(ZoneInfo("Asia/Shanghai")).date()).amounts:
        for plan in load_fee_schedule().installment_plans():
            fee = (amount * plan.fee_rate).quantize(cent, rounding=ROUND_HALF_UP)
            part = (amount / plan.periods).quantize(cent, rounding=ROUND_DOWN)
            out.append({"principal": str(amount), "fee": str(fee), "payment": str(part + fee),
                        "last": str(amount - part * (plan.periods - 1) + fee), "total_fee": str(fee * plan.periods)})
    return out


# -- scoring ----------------------------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class Scored:
    """One question's outcome."""

    question: AnswerQuestion
    exchange: Exchange
    cited: list[str]
    cites_right: bool | None
    expected: str | None
    figure_right: bool | None
    ungrounded: list[str]
    language_right: bool

    @property
    def passed(self) -> bool:
        return (
            self.exchange.error is None
            and self.cites_right is not False
            and self.figure_right is not False
            and not self.ungrounded
            and self.language_right
        )


def card_text(cards: Iterable[Mapping[str, Any]]) -> str:
    """Every string a reply's cards show (titles, cells, lines, labels), one per line."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, Mapping):
            for key, value in node.items():
                if key not in ("type", "id", "action_id", "url", "values", "name", "kind"):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(list(cards))
    return "\n".join(out)


def score(question: AnswerQuestion, exchange: Exchange, account: Mapping[str, Any]) -> Scored:
    """Score one reply (``account``: the asking customer's state, see :func:`account_view`)."""
    snapshot = account.get("snapshot", account)
    text = exchange.reply_text
    cited = list(dict.fromkeys(str(c.get("article_id")) for c in exchange.citations))
    cites_right = bool(set(cited) & set(question.articles)) if question.articles else None
    expected: str | None = question.figure
    if question.figure_from:
        expected = str(resolve_path(snapshot, question.figure_from))
    figure_right = None
    if expected is not None:
        shown = text + "\n" + card_text(c for m in exchange.messages for c in m.get("cards") or [])
        figure_right = states_figure(shown, expected_figure(expected))
    # The customer's own account is a source for every reply: answers to knowledge questions
    # may carry a proactive offer or a tier note built from it.
    return Scored(
        question=question,
        exchange=exchange,
        cited=cited,
        cites_right=cites_right,
        expected=expected,
        figure_right=figure_right,
        ungrounded=ungrounded(text, exchange.citations, [account, stated_amount_quotes(question.q)]),
        language_right=is_language(text, question.locale),
    )


def _rate(values: Iterable[bool | None]) -> float:
    rated = [v for v in values if v is not None]
    return round(sum(rated) / len(rated), 4) if rated else float("nan")


def _percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 1) if ordered else 0.0


def summarize(scored: Sequence[Scored]) -> dict[str, Any]:
    """The headline figures, overall and per language."""
    summary: dict[str, Any] = {"questions": len(scored)}
    for lang in ("zh", "en"):
        summary[f"questions_{lang}"] = sum(1 for s in scored if s.question.locale == lang)
    groups: dict[str, Sequence[Scored]] = {"": scored}
    for lang in ("zh", "en"):
        groups[f"_{lang}"] = [s for s in scored if s.question.locale == lang]
    for suffix, group in groups.items():
        summary[f"cites_right_article{suffix}"] = _rate(s.cites_right for s in group)
    for suffix, group in groups.items():
        summary[f"right_figure{suffix}"] = _rate(s.figure_right for s in group)
    for suffix, group in groups.items():
        summary[f"ungrounded_replies{suffix}"] = sum(1 for s in group if s.ungrounded)
    summary["language_correct"] = _rate(s.language_right for s in scored)
    summary["fallback_rate"] = _rate(s.exchange.handled in ("fallback", "decline") for s in scored)
    summary["errors"] = sum(1 for s in scored if s.exchange.error is not None)
    latencies = [s.exchange.latency_ms for s in scored if s.exchange.error is None]
    summary["latency_p50_ms"] = _percentile(latencies, 0.5)
    summary["latency_p95_ms"] = _percentile(latencies, 0.95)
    summary["latency_mean_ms"] = round(statistics.fmean(latencies), 1) if latencies else 0.0
    return summary


def _topic(question: AnswerQuestion) -> str:
    if question.kind == "account" and not question.articles:
        return "account"
    topics = article_topics()
    return topics.get(question.articles[0], "other") if question.articles else "other"


def _topic_rows(scored: Sequence[Scored]) -> list[list[Any]]:
    by_topic: dict[str, list[Scored]] = defaultdict(list)
    for s in scored:
        by_topic[_topic(s.question)].append(s)
    rows = []
    for topic, group in sorted(by_topic.items()):
        row: list[Any] = [topic, len(group)]
        for lang in ("zh", "en"):
            sub = [s for s in group if s.question.locale == lang]
            row += [_rate(s.cites_right for s in sub), _rate(s.figure_right for s in sub)]
        row.append(sum(1 for s in group if s.ungrounded))
        rows.append(row)
    return rows


def _failure(s: Scored) -> dict[str, Any]:
    q, ex = s.question, s.exchange
    problems = []
    if ex.error:
        problems.append(f"error: {ex.error}")
    if s.cites_right is False:
        problems.append("wrong or no citation")
    if s.figure_right is False:
        problems.append("figure missing")
    if s.ungrounded:
        problems.append("ungrounded: " + ", ".join(s.ungrounded))
    if not s.language_right:
        problems.append("wrong language")
    return {
        "q": q.q,
        "locale": q.locale,
        "customer": q.customer,
        "problems": "; ".join(problems),
        "expected_article": " | ".join(q.articles),
        "cited": ", ".join(s.cited),
        "expected_figure": s.expected or "",
        "handled": ex.handled or "",
        "reply": ex.reply_text[:400],
    }


def _plot(rows: Sequence[Sequence[Any]]) -> Plot:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    topics = [str(r[0]) for r in rows]
    fig = Figure(figsize=(10, 4.2))
    ax = fig.subplots()
    width = 0.2
    series = [("cite zh", 2), ("figure zh", 3), ("cite en", 4), ("figure en", 5)]
    for offset, (label, column) in enumerate(series):
        values = [0.0 if r[column] != r[column] else float(r[column]) for r in rows]  # NaN → 0 for drawing
        ax.bar([i + (offset - 1.5) * width for i in range(len(rows))], values, width, label=label)
    ax.set_xticks(range(len(rows)), topics, rotation=30, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("rate")
    ax.legend(ncol=4, fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    ax.set_title("Right article cited / right figure stated, by topic", pad=22)
    return Plot(title="Answers by topic", figure=fig)


def build_result(scored: Sequence[Scored]) -> SuiteResult:
    """Summary, tables, plot and failures of a run."""
    summary = summarize(scored)
    rows = _topic_rows(scored)
    by_kind = []
    for kind in ("knowledge", "account"):
        group = [s for s in scored if s.question.kind == kind]
        by_kind.append(
            [
                kind,
                len(group),
                _rate(s.cites_right for s in group),
                _rate(s.figure_right for s in group),
                sum(1 for s in group if s.ungrounded),
                _rate(s.language_right for s in group),
            ]
        )
    handled: dict[str, int] = defaultdict(int)
    for s in scored:
        handled[s.exchange.handled or "none"] += 1
    sections = [
        Section(
            title="By topic",
            text="Rates are over the questions that name an article / a figure.",
            columns=["topic", "n", "cite zh", "figure zh", "cite en", "figure en", "ungrounded"],
            rows=rows,
        ),
        Section(
            title="By kind",
            columns=["kind", "n", "cites right", "right figure", "ungrounded", "language"],
            rows=by_kind,
        ),
        Section(
            title="How the replies were handled",
            columns=["handled", "replies"],
            rows=sorted(([k, v] for k, v in handled.items()), key=lambda r: -int(r[1])),
        ),
        Section(title="Grounding sources", text=GROUNDING_NOTE),
    ]
    failures = [_failure(s) for s in scored if not s.passed]
    return SuiteResult(
        summary=summary,
        sections=sections,
        plots=[_plot(rows)] if rows else [],
        failures=failures,
        ok=summary["errors"] == 0,
    )


# -- running ----------------------------------------------------------------------------------


async def account_view(server: EvalServer, customer_id: str) -> dict[str, Any]:
    """The customer's account as the assistant's read tools see it, plus what the rules derive from it."""
    snapshot = await server.customer_state(customer_id)

    async def read(rt: Any) -> dict[str, Any]:
        cards = rt.cards
        out: dict[str, Any] = {"today": cards.today()}
        for name, method in (
            ("points", cards.points),
            ("cards", cards.cards),
            ("plans", cards.installment_plans),
        ):
            with contextlib.suppress(Exception):
                out[name] = await method(customer_id)
        for card in out.get("cards") or []:
            for name, per_card in (("annual_fee", cards.annual_fee), ("limit_profile", cards.limit_profile)):
                with contextlib.suppress(Exception):
                    out.setdefault(name, []).append(await per_card(customer_id, card.id))
        return out

    tools = await server.on_server(read)
    return {"snapshot": snapshot, "tools": tools, "derived": derived_figures(snapshot, tools.get("today"))}


def select_questions(ctx: SuiteContext) -> list[AnswerQuestion]:
    """The questions of this run: every file (or ``--dataset`` files), cut by ``--small``/``--limit``."""
    paths = [Path(p) for p in ctx.option("dataset", [])] or list(QUESTION_FILES)
    per_file = ctx.option("limit", SMALL_PER_FILE if ctx.small else None)
    return [q for path in paths for q in sample(load_questions(path), per_file)]


async def run(ctx: SuiteContext) -> SuiteResult:
    """Ask every question on a fresh server and score the replies."""
    questions = select_questions(ctx)
    try:
        async with EvalServer(ServerConfig.for_suite(ctx)) as server:
            accounts = {c: await account_view(server, c) for c in sorted({q.customer for q in questions})}

            async def ask(question: AnswerQuestion) -> Scored:
                locale = "zh-CN" if question.locale == "zh" else "en-US"
                exchange = await server.ask(question.q, customer_id=question.customer, locale=locale)
                return score(question, exchange, accounts[question.customer])

            scored = await gather_limited(
                questions,
                ask,
                concurrency=int(ctx.option("concurrency", default_concurrency())),
                progress=ctx.progress,
                label="answers",
            )
    except EngineUnavailable as exc:
        return SuiteResult(summary={"questions": len(questions)}, skipped=str(exc))
    return build_result(scored)
