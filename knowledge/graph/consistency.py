"""Is the graph whole and true to the fee schedule, the articles and the flows?

:func:`check_consistency` returns one plain sentence per problem (empty: all good):
dangling edges, nodes no need reaches, products without an article in both languages,
condition figures and tier sets that disagree with the schedule, texts that state a figure
as digits or one the schedule does not hold, unknown flows and intents, and edges whose
meaning does not hold (a fallback ranked above what it falls back from).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

import networkx as nx

from knowledge.articles import INTENT_IDS, stated_figures
from knowledge.fees import TIER_IDS, FeeSchedule, FeeScheduleError
from knowledge.graph.conditions import (
    KIND_SPECS,
    LATE_PAYMENT_FACTS,
    WAIVER_KINDS,
    condition_tiers,
    tiers_matching,
)
from knowledge.graph.errors import TemplateError
from knowledge.graph.model import KNOWN_FLOWS, Bilingual, Condition, Need, Note, Product
from knowledge.graph.template import RenderScope, bare_figures, render, tier_names


class ArticleRef(Protocol):
    """What the check needs of an article: its id and locale (``knowledge.articles.Article`` fits)."""

    @property
    def id(self) -> str: ...

    @property
    def locale(self) -> str: ...


class HasDigraph(Protocol):
    """Anything that exposes the networkx graph (``KnowledgeGraph`` does)."""

    @property
    def digraph(self) -> nx.MultiDiGraph: ...


@dataclass(frozen=True, slots=True)
class _Items:
    needs: dict[str, Need]
    products: dict[str, Product]
    conditions: dict[str, Condition]


@dataclass(frozen=True, slots=True)
class _Text:
    owner: str
    text: Bilingual
    tiers: tuple[str | None, ...]
    values: dict[str, object]


def check_consistency(
    graph: nx.MultiDiGraph | HasDigraph,
    schedule: FeeSchedule,
    articles: Iterable[ArticleRef] | None = None,
) -> list[str]:
    """Every problem with ``graph``; ``articles=None`` skips the check that the article files exist."""
    digraph = graph if isinstance(graph, nx.MultiDiGraph) else graph.digraph
    items = _items(digraph)
    return [
        *_dangling(digraph),
        *_unreachable(digraph),
        *_articles(digraph, items, articles),
        *_figures(items, schedule),
        *_texts(items, schedule),
        *_flows(items),
        *_intents(items),
        *_edge_meaning(items),
    ]


def _items(digraph: nx.MultiDiGraph) -> _Items:
    found: dict[str, dict[str, object]] = {"need": {}, "product": {}, "condition": {}}
    for _, data in digraph.nodes(data=True):
        if data["kind"] in found:
            found[data["kind"]][data["id"]] = data["item"]
    return _Items(needs=found["need"], products=found["product"], conditions=found["condition"])  # type: ignore[arg-type]  # filled by kind above


def _describe(digraph: nx.MultiDiGraph, key: str) -> str:
    data = digraph.nodes[key]
    return f"{data['kind']} {data['id']!r}"


def _dangling(digraph: nx.MultiDiGraph) -> Iterator[str]:
    for key, data in digraph.nodes(data=True):
        if data["kind"] != "missing":
            continue
        for source, _, edge in digraph.in_edges(key, data=True):
            yield f"{_describe(digraph, source)} {edge['kind']} unknown {data['expected']} {data['id']!r}"


def _unreachable(digraph: nx.MultiDiGraph) -> Iterator[str]:
    needs = [key for key, data in digraph.nodes(data=True) if data["kind"] == "need"]
    reached: set[str] = set(needs)
    for need in needs:
        reached |= nx.descendants(digraph, need)
    for key, data in digraph.nodes(data=True):
        if key not in reached and data["kind"] != "missing":
            yield f"{_describe(digraph, key)} is not reachable from any need"


def _articles(
    digraph: nx.MultiDiGraph, items: _Items, articles: Iterable[ArticleRef] | None
) -> Iterator[str]:
    for product in items.products.values():
        if not product.explained_by:
            yield f"product {product.id!r} has no explained_by article"
    if articles is None:
        return
    available = {(a.id, a.locale) for a in articles}
    for key, data in digraph.nodes(data=True):
        if data["kind"] != "article":
            continue
        users = ", ".join(_describe(digraph, source) for source, _ in digraph.in_edges(key))
        missing = [locale for locale in ("zh", "en") if (data["id"], locale) not in available]
        if missing:
            yield f"article {data['id']!r} (explains {users}) has no {' or '.join(missing)} version"


def _figures(items: _Items, schedule: FeeSchedule) -> Iterator[str]:
    for condition in items.conditions.values():
        where = f"condition {condition.id!r}"
        for name, ref in condition.figures:
            try:
                value = schedule.dec(ref.path)
            except FeeScheduleError as exc:
                yield f"{where}: {name} names {ref.path!r}, which is not a figure of the fee schedule ({exc})"
                continue
            if ref.stated is not None and ref.stated != value:
                yield f"{where}: {name} states {ref.stated} but the fee schedule's {ref.path} is {value}"
            if condition.kind == "no_late_payments" and int(value) not in LATE_PAYMENT_FACTS:
                yield f"{where}: no customer fact counts late payments over {value} months"
        if condition.matches is not None:
            truth = tiers_matching(condition.matches, schedule)
            if set(truth) != set(condition.tiers):
                yield (
                    f"{where}: names tiers {', '.join(condition_tiers(condition))} "
                    "but the fee schedule gives "
                    f"{condition.matches.feature} ({condition.matches.op}) to {', '.join(truth) or 'no tier'}"
                )
        if condition.kind == "annual_fee_waiver":
            for tier_id in TIER_IDS:
                kind = schedule.tier(tier_id).waiver.get("kind")
                if kind not in WAIVER_KINDS:
                    yield f"{where}: the schedule's {tier_id} waiver kind {kind!r} has no rule here"


def _rate_percents(node: object, key: str = "") -> frozenset[Decimal]:
    """The schedule's rates and ratios as percentages: what a stated percentage may be.

    The naming rule is the one ``FeeSchedule.figures()`` and the article figure check use,
    so "a grace of 3%" fails even though 3 (days) is a schedule figure.
    """
    if isinstance(node, dict):
        return frozenset().union(*(_rate_percents(v, str(k)) for k, v in node.items()))
    if isinstance(node, list):
        return frozenset().union(*(_rate_percents(v, key) for v in node))
    if isinstance(node, int | float) and not isinstance(node, bool):
        if "rate" in key or key == "apr" or key.endswith("ratio"):
            return frozenset({Decimal(str(node)) * 100})
    return frozenset()


def _texts(items: _Items, schedule: FeeSchedule) -> Iterator[str]:
    grounded = schedule.figures()
    percents = _rate_percents(schedule.raw)
    for entry in _all_texts(items, schedule):
        for locale, template in entry.text.items():
            digits = bare_figures(template)
            if digits:
                yield (
                    f"{entry.owner}: the {locale} text writes {digits[0]!r} as digits; "
                    "name the figure by its fee-schedule path"
                )
                continue
            for tier_id in entry.tiers:
                scope = RenderScope(schedule=schedule, tier=tier_id, values=entry.values)
                try:
                    rendered = render(template, locale, scope)
                except TemplateError as exc:
                    yield f"{entry.owner}: the {locale} text cannot be rendered: {exc}"
                    break
                stray = [
                    f.span
                    for f in stated_figures(rendered)
                    if f.value not in (percents if f.kind == "percent" else grounded)
                ]
                if stray:
                    yield (
                        f"{entry.owner}: the {locale} text states {stray[0]!r}, "
                        "which the fee schedule does not hold"
                    )
                    break


def _all_texts(items: _Items, schedule: FeeSchedule) -> Iterator[_Text]:
    anyone: tuple[str | None, ...] = (None,)
    for need in items.needs.values():
        where = f"need {need.id!r}"
        yield _Text(f"{where} label", need.label, anyone, {})
        for fit in need.fits:
            yield _Text(f"{where} fit {fit.product!r} reason", fit.reason, anyone, {})
            yield from _note_texts(f"{where} fit {fit.product!r}", fit.notes, items)
    for product in items.products.values():
        where = f"product {product.id!r}"
        yield _Text(f"{where} label", product.label, anyone, {})
        yield _Text(f"{where} summary", product.summary, anyone, {})
        if product.cost is not None:
            yield _Text(f"{where} cost", product.cost, anyone, {})
        yield from _note_texts(where, product.notes, items)
        for step in product.next:
            yield _Text(f"{where} next {step.product!r} reason", step.reason, anyone, {})
    for condition in items.conditions.values():
        yield from _condition_texts(condition, schedule)


def _note_texts(where: str, notes: tuple[Note, ...], items: _Items) -> Iterator[_Text]:
    for note in notes:
        guard = items.conditions.get(note.guard) if note.guard else None
        tiers: tuple[str | None, ...] = (None,)
        if guard is not None and guard.kind == "tier":
            admitted = guard.tiers if note.when else tuple(t for t in TIER_IDS if t not in guard.tiers)
            tiers = tuple(admitted)
        yield _Text(f"{where} note", note.text, tiers, {})


def _condition_texts(condition: Condition, schedule: FeeSchedule) -> Iterator[_Text]:
    where = f"condition {condition.id!r}"
    spec = KIND_SPECS[condition.kind]
    dummy: dict[str, object] = {name: Decimal(0) for name in spec.values}
    if condition.kind == "tier":
        dummy["tiers"] = tier_names(condition_tiers(condition), schedule)
    stated = {name: dummy[name] for name in spec.stated}
    yield _Text(f"{where} requirement", condition.requirement, (None,), stated)
    # An unmet tier condition knows the customer's tier: one outside the condition's set.
    outside = tuple(t for t in TIER_IDS if t not in condition.tiers) if condition.kind == "tier" else (None,)
    for case, text in condition.unmet:
        yield _Text(f"{where} unmet ({case})", text, outside, dummy)
    for case, text in condition.remedy:
        yield _Text(f"{where} remedy ({case})", text, outside, dummy)


def _flows(items: _Items) -> Iterator[str]:
    for product in items.products.values():
        ref = product.performed_by
        if ref is None:
            continue
        where = f"product {product.id!r}"
        if ref.flow not in KNOWN_FLOWS:
            yield f"{where} is performed by unknown flow {ref.flow!r}; known flows: {', '.join(KNOWN_FLOWS)}"
            continue
        variants = KNOWN_FLOWS[ref.flow]
        if variants and ref.variant not in variants:
            allowed = ", ".join(sorted(variants))
            yield f"{where}: flow {ref.flow!r} needs a variant, one of {allowed}; got {ref.variant!r}"
        elif not variants and ref.variant is not None:
            yield f"{where}: flow {ref.flow!r} takes no variant; got {ref.variant!r}"


def _intents(items: _Items) -> Iterator[str]:
    for need in items.needs.values():
        for intent in need.intents:
            if intent not in INTENT_IDS:
                yield f"need {need.id!r} names unknown intent {intent!r}"


def _edge_meaning(items: _Items) -> Iterator[str]:
    for need in items.needs.values():
        ranks = {fit.product: fit.rank for fit in need.fits}
        for fit in need.fits:
            for better in fit.fallback_for:
                if better not in ranks:
                    yield f"need {need.id!r} fit {fit.product!r} falls back from {better!r}, not a fit of it"
                elif ranks[better] >= fit.rank:
                    yield f"need {need.id!r} fit {fit.product!r} is a fallback but ranks above {better!r}"
    for product in items.products.values():
        if product.kind == "credit" and product.cost is None:
            yield f"product {product.id!r} is credit but states no cost"
        for step in product.next:
            for need_id in step.when_need:
                if need_id not in items.needs:
                    yield f"product {product.id!r} next {step.product!r} names unknown need {need_id!r}"
