"""Checkers over wording: lexicons, word pairs, decision claims, offers, required phrases."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from bot.guardrails.checking import CheckerParams, Fix, Hit, Suppressors, found
from bot.guardrails.context import GuardContext
from bot.guardrails.document import Document, RuleDataError


class LexiconChecker:
    """Any of ``patterns``, unless negated or excused (see :class:`Suppressors`)."""

    def __init__(self, p: CheckerParams) -> None:
        self.patterns = p.patterns("patterns")
        self.suppress = Suppressors(p)

    def find(self, doc: Document, ctx: GuardContext) -> Iterator[Hit]:
        assert self.patterns is not None
        if not self.suppress.applies(doc, ctx):
            return
        for m in self.patterns.finditer(doc.text):
            if m.end() > m.start() and not self.suppress.suppressed(doc, m.start(), m.end()):
                yield Hit(*doc.span(m.start(), m.end()))


class ProximityChecker:
    """A ``first`` and a ``second`` pattern in one clause within ``window`` characters, either order.

    The request rules use it: a request verb near a CVV/PIN/code word. Negations anywhere
    in the clause before the pair ("we will never ask for your CVV") excuse it.
    """

    def __init__(self, p: CheckerParams) -> None:
        self.first, self.second = p.patterns("first"), p.patterns("second")
        self.window = p.integer("window", 40)
        self.suppress = Suppressors(p)

    def find(self, doc: Document, ctx: GuardContext) -> Iterator[Hit]:
        assert self.first is not None and self.second is not None
        if not self.suppress.applies(doc, ctx):
            return
        seconds = [m.span() for m in self.second.finditer(doc.text)]
        for a in self.first.finditer(doc.text):
            clause = doc.clause(a.start())
            for b_start, b_end in seconds:
                if doc.clause(b_start) != clause or abs(b_start - a.start()) > self.window:
                    continue
                start, end = min(a.start(), b_start), max(a.end(), b_end)
                if self._excused(doc, clause, start, end):
                    continue
                yield Hit(*doc.span(start, end))
                break

    def _excused(self, doc: Document, clause: tuple[int, int], start: int, end: int) -> bool:
        if found(self.suppress.unless_clause, doc.text, *clause):
            return True
        return found(self.suppress.negations, doc.text, clause[0], end)


class DecisionClaimChecker:
    """Promises or statements of credit decisions, per topic, unless the card system made that decision.

    ``topics: {limit_increase: {decisions: [temporary_limit_approved, ...], patterns: [...]}}``
    """

    def __init__(self, p: CheckerParams) -> None:
        topics = p.params.get("topics")
        if not isinstance(topics, Mapping) or not topics:
            raise RuleDataError(f"{p.where}.topics: expected a mapping of topics")
        self.topics: list[tuple[frozenset[str], re.Pattern[str]]] = []
        for name, spec in topics.items():
            where = f"{p.where}.topics.{name}"
            if not isinstance(spec, Mapping):
                raise RuleDataError(f"{where}: expected {{decisions, patterns}}")
            sub = CheckerParams(spec, p.lexicons, where=where, allowed={"decisions", "patterns"})
            pattern = sub.patterns("patterns")
            assert pattern is not None
            self.topics.append((sub.strings("decisions"), pattern))
        self.suppress = Suppressors(p)

    def find(self, doc: Document, ctx: GuardContext) -> Iterator[Hit]:
        if not self.suppress.applies(doc, ctx):
            return
        for decisions, pattern in self.topics:
            if decisions & ctx.decisions:
                continue
            for m in pattern.finditer(doc.text):
                if not self.suppress.suppressed(doc, m.start(), m.end()):
                    yield Hit(*doc.span(m.start(), m.end()))


class OfferChecker:
    """A sales proposal at the wrong moment.

    ``mode: declined`` fires for offers the customer declined this session;
    ``mode: intents`` fires for any offer while the intent is one of ``intents``
    (complaints, disputes, a lost card).
    """

    def __init__(self, p: CheckerParams) -> None:
        offers = p.params.get("offers")
        if not isinstance(offers, Mapping) or not offers:
            raise RuleDataError(f"{p.where}.offers: expected a mapping of offer kinds to patterns")
        self.offers = {
            str(k): p.lexicons.compile(v, where=f"{p.where}.offers.{k}") for k, v in offers.items()
        }
        mode = p.params.get("mode")
        if mode not in ("declined", "intents"):
            raise RuleDataError(f"{p.where}.mode: expected 'declined' or 'intents'")
        self.mode = mode
        self.suppress = Suppressors(p)

    def find(self, doc: Document, ctx: GuardContext) -> Iterator[Hit]:
        if self.mode == "declined":
            wanted = set(self.offers) if "marketing" in ctx.declined_offers else set(ctx.declined_offers)
            if ctx.in_confirmed_flow:
                return
        else:
            wanted = set(self.offers) if self.suppress.applies(doc, ctx) else set()
        for name in sorted(wanted & set(self.offers)):
            for m in self.offers[name].finditer(doc.text):
                if not self.suppress.suppressed(doc, m.start(), m.end()):
                    yield Hit(*doc.span(m.start(), m.end()))


class RequiredPhraseChecker:
    """When the turn calls for it, the message must contain one of ``required``.

    Conditions: ``intents`` (the customer asked for a person) and/or
    ``when_customer_shared_secret``. ``fix_append`` supplies the missing sentence.
    """

    def __init__(self, p: CheckerParams) -> None:
        self.required = p.patterns("required")
        self.intents = p.strings("intents")
        self.on_secret = p.flag("when_customer_shared_secret")
        self.fix = p.texts("fix_append")
        if not self.intents and not self.on_secret:
            raise RuleDataError(f"{p.where}: give intents or when_customer_shared_secret")

    def find(self, doc: Document, ctx: GuardContext) -> Iterator[Hit]:
        if self.intents and ctx.intent not in self.intents:
            return
        if self.on_secret and not ctx.customer_shared_secret:
            return
        if found(self.required, doc.text, 0, len(doc.text)):
            return
        end = len(doc.original)
        lang = "zh" if doc.locale == "zh" else "en"
        fix = Fix(kind="append", text=self.fix[lang]) if self.fix else None
        yield Hit(end, end, fix)
