"""Checkers over facts: personal data, figures, other customers, rate disclosure, zero-cost claims, terms."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Final, Literal

from bot.guardrails.checking import CheckerParams, Fix, Hit, found
from bot.guardrails.context import GuardContext
from bot.guardrails.document import Document, RuleDataError
from bot.guardrails.grounding import check_grounding
from bot.guardrails.normalize import normalize
from bot.guardrails.pii import PII_KINDS


class PiiChecker:
    """Personal data of the listed ``kinds`` in the message; ``mask: true`` offers the masked text."""

    def __init__(self, p: CheckerParams) -> None:
        self.kinds = p.strings("kinds")
        if not self.kinds or not self.kinds <= PII_KINDS:
            raise RuleDataError(f"{p.where}.kinds: expected kinds from {sorted(PII_KINDS)!r}")
        self.mask = p.flag("mask")

    def find(self, doc: Document, ctx: GuardContext) -> Iterator[Hit]:
        for f in doc.pii:
            if f.kind in self.kinds:
                fix = Fix(kind="replace", start=f.start, end=f.end, text=f.masked) if self.mask else None
                yield Hit(f.start, f.end, fix)


class GroundingChecker:
    """Figures the turn's sources do not state (skipped when the context carries no sources)."""

    def __init__(self, p: CheckerParams) -> None:
        del p

    def find(self, doc: Document, ctx: GuardContext) -> Iterator[Hit]:
        if ctx.grounding is None:
            return
        for u in check_grounding(doc.original, ctx.grounding):
            yield Hit(u.start, u.end)


class OtherCustomerChecker:
    """Any name, last-4 or id of a customer other than the authenticated one."""

    def __init__(self, p: CheckerParams) -> None:
        self.min_length = p.integer("min_length", 2)

    def find(self, doc: Document, ctx: GuardContext) -> Iterator[Hit]:
        for marker in ctx.other_customer_markers:
            pattern = _marker_pattern(marker.strip(), self.min_length)
            if pattern is None:
                continue
            for m in pattern.finditer(doc.text):
                yield Hit(*doc.span(m.start(), m.end()))


def _marker_pattern(marker: str, min_length: int) -> re.Pattern[str] | None:
    """Names match anywhere; ids and last-4s only as whole tokens (not in ``¥18,832`` or ``t_fd7745f4``)."""
    if len(marker) < min_length:
        return None
    text = re.escape(normalize(marker).text)
    if marker.isascii():
        return re.compile(rf"(?<![A-Za-z0-9_]){text}(?![A-Za-z0-9_])", re.I)
    return re.compile(text, re.I)


_PERIODS: Final = re.compile(
    r"(?<![\d.])(\d{1,3})\s?(?:期|个月|periods?|installments?|instalments?|months?|-month)", re.I
)


class RateDisclosureChecker:
    """A periodic or daily rate with no annualized rate in the same message.

    The fix appends the APR from the context (never computed here): for the periods the
    message names, or every known plan when it names none; for a daily rate, its annual
    equivalent.
    """

    def __init__(self, p: CheckerParams) -> None:
        self.periodic = p.patterns("periodic")
        self.daily = p.patterns("daily")
        self.apr = p.patterns("apr")
        self.installment_fix = p.texts("installment_fix")
        self.installment_item = p.texts("installment_item")
        self.daily_fix = p.texts("daily_fix")

    def find(self, doc: Document, ctx: GuardContext) -> Iterator[Hit]:
        assert self.periodic is not None and self.daily is not None and self.apr is not None
        if self.apr.search(doc.text):
            return
        periodic, daily = self.periodic.search(doc.text), self.daily.search(doc.text)
        first = min((m for m in (periodic, daily) if m is not None), key=lambda m: m.start(), default=None)
        if first is None:
            return
        fix = self._fix(doc, ctx, periodic=periodic is not None, daily=daily is not None)
        yield Hit(*doc.span(first.start(), first.end()), fix)

    def _fix(self, doc: Document, ctx: GuardContext, *, periodic: bool, daily: bool) -> Fix | None:
        lang = "zh" if doc.locale == "zh" else "en"
        parts: list[str] = []
        if periodic and ctx.apr_by_periods and self.installment_fix and self.installment_item:
            named = [int(n) for n in _PERIODS.findall(doc.text)]
            periods = [n for n in dict.fromkeys(named) if n in ctx.apr_by_periods] or sorted(
                ctx.apr_by_periods
            )
            items = [
                self.installment_item[lang].format(periods=n, apr=_percent(ctx.apr_by_periods[n]))
                for n in periods
            ]
            parts.append(
                self.installment_fix[lang].format(items=("、" if lang == "zh" else "; ").join(items))
            )
        if daily and ctx.daily_rate_apr is not None and self.daily_fix:
            parts.append(self.daily_fix[lang].format(apr=_percent(ctx.daily_rate_apr)))
        return Fix(kind="append", text="".join(parts)) if parts else None


def _percent(fraction: Decimal) -> str:
    return f"{(fraction * 100).quantize(Decimal('0.01'))}"


class ZeroCostChecker:
    """ "Free" / "interest-free" said of a product that has fees (installments, cash advances).

    ``免息期`` / "interest-free period" is a true fact about purchases paid in full, so
    ``period_claims`` fire only when an installment or cash-advance word shares the clause
    (or sentence) and nothing negates it. Other claims fire when a fee product is the
    subject: named in the clause, else in the sentence (unless the clause is about
    purchases), else when the customer's intent is one of ``intents``.
    """

    def __init__(self, p: CheckerParams) -> None:
        self.claims, self.period_claims = p.patterns("claims"), p.patterns("period_claims")
        self.products, self.purchases = p.patterns("products"), p.patterns("purchases")
        self.negations = p.patterns("negations")
        self.window = p.integer("negation_window", 10)
        self.intents = p.strings("intents")

    def find(self, doc: Document, ctx: GuardContext) -> Iterator[Hit]:
        assert self.claims is not None and self.period_claims is not None
        for pattern, is_period in ((self.claims, False), (self.period_claims, True)):
            for m in pattern.finditer(doc.text):
                if self._negated(doc, m.start()):
                    continue
                subject = self._subject(doc, m.start())
                if subject == "product" or (not is_period and subject is None and ctx.intent in self.intents):
                    yield Hit(*doc.span(m.start(), m.end()))

    def _negated(self, doc: Document, start: int) -> bool:
        clause_start, _ = doc.clause(start)
        return found(self.negations, doc.text, max(clause_start, start - self.window), start)

    def _subject(self, doc: Document, pos: int) -> Literal["product", "purchase"] | None:
        for start, end in (doc.clause(pos), doc.sentence(pos)):
            if found(self.purchases, doc.text, start, end) and not found(self.products, doc.text, start, end):
                return "purchase"
            if found(self.products, doc.text, start, end):
                return "product"
        return None


_TERM: Final = re.compile(
    r"(?<![\d.])(\d{1,4})\s?(期|个月|年|periods?|installments?|instalments?|months?|years?)", re.I
)


class TermLimitChecker:
    """An installment term longer than ``max_periods`` (60: five years)."""

    def __init__(self, p: CheckerParams) -> None:
        self.max_periods = p.integer("max_periods", 60)
        self.installment = p.patterns("installment")

    def find(self, doc: Document, ctx: GuardContext) -> Iterator[Hit]:
        for m in _TERM.finditer(doc.text):
            unit = m.group(2).lower()
            periods = int(m.group(1)) * (12 if unit in ("年", "year", "years") else 1)
            if periods <= self.max_periods:
                continue
            start, end = doc.sentence(m.start())
            if unit == "期" or found(self.installment, doc.text, start, end):
                yield Hit(*doc.span(m.start(), m.end()))
