"""Questions the assistant asks the graph.

* :meth:`KnowledgeGraph.match_needs` — which needs does the customer's text express?
* :meth:`KnowledgeGraph.recommend` — what fits this need, for this customer, and if not, why not?
* :meth:`KnowledgeGraph.next_steps` / :meth:`KnowledgeGraph.service_chain` — what comes after?
* :func:`check_consistency` — is the data whole and true to the schedule, articles and flows?

:func:`load_graph` is the entry point: the shipped graph, loaded and checked once per process.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import cast

import networkx as nx

from knowledge.fees import FEES_PATH, FeeSchedule, load_fee_schedule
from knowledge.graph.build import GRAPH_PATH, GraphData, build_graph, parse_graph
from knowledge.graph.conditions import evaluate
from knowledge.graph.consistency import ArticleRef, check_consistency
from knowledge.graph.errors import GraphError, UnknownNode
from knowledge.graph.matching import TriggerIndex
from knowledge.graph.model import (
    Bilingual,
    Condition,
    ConditionResult,
    CustomerFacts,
    Need,
    NeedMatch,
    NextStep,
    Note,
    Product,
    Recommendation,
    RecommendationStatus,
)
from knowledge.graph.template import RenderScope, render, render_bilingual
from knowledge.models import Locale

__all__ = [
    "KnowledgeGraph",
    "check_consistency",
    "load_graph",
    "match_needs",
    "next_steps",
    "recommend",
    "service_chain",
]

_STATUS_ORDER: dict[RecommendationStatus, int] = {"eligible": 0, "unverified": 1, "ineligible": 2}


class KnowledgeGraph:
    """The needs → products graph with its queries; build it with :func:`load_graph`."""

    def __init__(self, digraph: nx.MultiDiGraph, schedule: FeeSchedule) -> None:
        self._digraph = digraph
        self._schedule = schedule
        by_kind: dict[str, dict[str, object]] = {"need": {}, "product": {}, "condition": {}}
        for _, data in digraph.nodes(data=True):
            if data["kind"] in by_kind:
                by_kind[data["kind"]][data["id"]] = data["item"]
        self._needs = cast(dict[str, Need], by_kind["need"])
        self._products = cast(dict[str, Product], by_kind["product"])
        self._conditions = cast(dict[str, Condition], by_kind["condition"])
        self._triggers = TriggerIndex(tuple(self._needs.values()))

    @classmethod
    def from_data(cls, data: GraphData, schedule: FeeSchedule) -> KnowledgeGraph:
        """The graph of already-parsed ``data``."""
        return cls(build_graph(data), schedule)

    @classmethod
    def from_yaml(cls, text: str, schedule: FeeSchedule, *, source: str = "graph.yaml") -> KnowledgeGraph:
        """The graph of a YAML document (shape-checked; run :meth:`check_consistency` for the rest)."""
        return cls.from_data(parse_graph(text, source=source), schedule)

    # --- the data ---------------------------------------------------------------------------

    @property
    def digraph(self) -> nx.MultiDiGraph:
        """The networkx graph: nodes ``"<kind>:<id>"`` with ``kind``/``id``/``item``, edges with ``kind``."""
        return self._digraph

    @property
    def schedule(self) -> FeeSchedule:
        """The fee schedule every figure is rendered from."""
        return self._schedule

    def needs(self) -> tuple[Need, ...]:
        """Every need, in file order."""
        return tuple(self._needs.values())

    def need(self, need_id: str) -> Need:
        """One need; :class:`UnknownNode` if there is none."""
        if need_id not in self._needs:
            raise UnknownNode("need", need_id)
        return self._needs[need_id]

    def products(self) -> tuple[Product, ...]:
        """Every product and service, in file order."""
        return tuple(self._products.values())

    def product(self, product_id: str) -> Product:
        """One product; :class:`UnknownNode` if there is none."""
        if product_id not in self._products:
            raise UnknownNode("product", product_id)
        return self._products[product_id]

    def condition(self, condition_id: str) -> Condition:
        """One condition; :class:`UnknownNode` if there is none."""
        if condition_id not in self._conditions:
            raise UnknownNode("condition", condition_id)
        return self._conditions[condition_id]

    def needs_for_intent(self, intent: str) -> tuple[Need, ...]:
        """The needs an intent (``design/INTENTS.md``) may express, in file order."""
        return tuple(n for n in self._needs.values() if intent in n.intents)

    def counts(self) -> dict[str, int]:
        """Nodes and edges by kind: ``{"need": 20, …, "fits": 70, …}``."""
        out: dict[str, int] = {}
        for _, data in self._digraph.nodes(data=True):
            out[data["kind"]] = out.get(data["kind"], 0) + 1
        for _, _, data in self._digraph.edges(data=True):
            out[data["kind"]] = out.get(data["kind"], 0) + 1
        return out

    # --- queries ----------------------------------------------------------------------------

    def match_needs(self, text: str, locale: str, *, limit: int | None = None) -> list[NeedMatch]:
        """Needs whose trigger phrases occur in ``text``, best first; labels in ``locale``."""
        lang = _locale(locale)
        matches = [
            NeedMatch(
                need_id=hit.need_id,
                label=self._needs[hit.need_id].label.get(lang),
                score=float(hit.score),
                matched=hit.phrases,
                intents=self._needs[hit.need_id].intents,
            )
            for hit in self._triggers.match(text)
        ]
        return matches if limit is None else matches[:limit]

    def recommend(self, need_id: str, facts: CustomerFacts, *, locale: str) -> list[Recommendation]:
        """What fits ``need_id`` for this customer: eligible first, then unverified, then not; by rank.

        A promotional product is left out when the customer opted out of marketing; a fallback
        (a cash advance for a cash shortage) only appears when everything it falls back from
        is certainly out of reach.
        """
        lang = _locale(locale)
        fits = [f for f in self.need(need_id).fits if self._is_offered(self.product(f.product), facts)]
        offers = {f.product: self._offer(f.product, f.reason, f.rank, f.notes, facts, lang) for f in fits}
        kept = [
            offers[f.product]
            for f in fits
            if not any(offers[b].status != "ineligible" for b in f.fallback_for if b in offers)
        ]
        return _ranked(kept)

    def next_steps(
        self, product_id: str, facts: CustomerFacts, *, locale: str, need_id: str | None = None
    ) -> list[Recommendation]:
        """What comes after ``product_id``; with ``need_id``, only the steps for that need."""
        lang = _locale(locale)
        if need_id is not None:
            self.need(need_id)
        return _ranked(
            [
                self._offer(s.product, s.reason, s.rank, (), facts, lang)
                for s in self._steps(product_id, need_id, facts)
            ]
        )

    def service_chain(self, need_id: str, facts: CustomerFacts, *, locale: str) -> list[Recommendation]:
        """The need's best fit, then its first next step, and so on: the service in order.

        For a lost card: freeze → replacement → lost-card protection. Eligibility does not
        reorder a chain; each link says whether this customer qualifies.
        """
        lang = _locale(locale)
        first = min(self.need(need_id).fits, key=lambda f: f.rank)
        chain = [self._offer(first.product, first.reason, first.rank, first.notes, facts, lang)]
        seen = {first.product}
        current = first.product
        while steps := [s for s in self._steps(current, need_id, facts) if s.product not in seen]:
            step = steps[0]
            chain.append(self._offer(step.product, step.reason, step.rank, (), facts, lang))
            seen.add(step.product)
            current = step.product
        return chain

    def check_consistency(self, articles: Iterable[ArticleRef] | None = None) -> list[str]:
        """Problems with this graph (see :func:`check_consistency`)."""
        return check_consistency(self._digraph, self._schedule, articles)

    # --- pieces -----------------------------------------------------------------------------

    def _steps(self, product_id: str, need_id: str | None, facts: CustomerFacts) -> list[NextStep]:
        steps = [
            s
            for s in self.product(product_id).next
            if s.applies_to(need_id) and self._is_offered(self.product(s.product), facts)
        ]
        return sorted(steps, key=lambda s: s.rank)

    @staticmethod
    def _is_offered(product: Product, facts: CustomerFacts) -> bool:
        return not (product.is_promotional and facts.marketing_opt_out)

    def _offer(
        self,
        product_id: str,
        reason: Bilingual,
        rank: int,
        extra_notes: Sequence[Note],
        facts: CustomerFacts,
        locale: Locale,
    ) -> Recommendation:
        product = self.product(product_id)
        results = [self.check(condition_id, facts) for condition_id in product.requires]
        unmet = tuple(r for r in results if r.status == "unmet")
        unverified = tuple(r for r in results if r.status == "unverified")
        status: RecommendationStatus = "ineligible" if unmet else "unverified" if unverified else "eligible"
        scope = RenderScope(schedule=self._schedule, tier=facts.tier)
        notes = [n for n in (*product.notes, *extra_notes) if self._note_applies(n, facts)]
        return Recommendation(
            product_id=product.id,
            kind=product.kind,
            locale=locale,
            label=render(product.label.get(locale), locale, scope),
            summary=render(product.summary.get(locale), locale, scope),
            reason=render(reason.get(locale), locale, scope),
            rank=rank,
            status=status,
            unmet=unmet,
            unverified=unverified,
            cost=None if product.cost is None else render(product.cost.get(locale), locale, scope),
            notes=tuple(render(n.text.get(locale), locale, scope) for n in notes),
            articles=product.explained_by,
            flow=product.performed_by,
            is_promotional=product.is_promotional,
        )

    def _note_applies(self, note: Note, facts: CustomerFacts) -> bool:
        if note.guard is None:
            return True
        status = self.check(note.guard, facts).status
        return status == ("met" if note.when else "unmet")

    def check(self, condition_id: str, facts: CustomerFacts) -> ConditionResult:
        """One condition checked for a customer, with its texts in both languages."""
        condition = self.condition(condition_id)
        outcome = evaluate(condition, facts, self._schedule)
        scope = RenderScope(schedule=self._schedule, tier=facts.tier, values=outcome.values)
        remedy = condition.remedy_text(outcome.case)
        return ConditionResult(
            condition_id=condition.id,
            kind=condition.kind,
            status=outcome.status,
            requirement=render_bilingual(condition.requirement, scope),
            reason=render_bilingual(condition.unmet_text(outcome.case), scope)
            if outcome.status == "unmet"
            else None,
            remedy=render_bilingual(remedy, scope)
            if remedy is not None and outcome.status == "unmet"
            else None,
            required=outcome.required,
            actual=outcome.actual,
        )


def _ranked(recommendations: list[Recommendation]) -> list[Recommendation]:
    order = {id(r): i for i, r in enumerate(recommendations)}
    return sorted(recommendations, key=lambda r: (_STATUS_ORDER[r.status], r.rank, order[id(r)]))


def _locale(locale: str) -> Locale:
    if locale.startswith("zh"):
        return "zh"
    if locale.startswith("en"):
        return "en"
    raise ValueError(f"unsupported locale {locale!r}; use 'zh' or 'en'")


@cache
def load_graph(path: Path = GRAPH_PATH, schedule_path: Path = FEES_PATH) -> KnowledgeGraph:
    """The shipped graph, loaded once per process; :class:`GraphError` if its data is inconsistent.

    The check run here covers everything but the article files (another part of the
    knowledge base, checked by the test suite and ingestion with ``check_consistency``).
    """
    schedule = load_fee_schedule(schedule_path)
    graph = KnowledgeGraph.from_yaml(path.read_text(encoding="utf-8"), schedule, source=str(path))
    problems = graph.check_consistency()
    if problems:
        raise GraphError(f"{path}: {len(problems)} problem(s): " + "; ".join(problems))
    return graph


def match_needs(text: str, locale: str) -> list[NeedMatch]:
    """:meth:`KnowledgeGraph.match_needs` on the shipped graph."""
    return load_graph().match_needs(text, locale)


def recommend(need_id: str, facts: CustomerFacts, *, locale: str) -> list[Recommendation]:
    """:meth:`KnowledgeGraph.recommend` on the shipped graph."""
    return load_graph().recommend(need_id, facts, locale=locale)


def next_steps(
    product_id: str, facts: CustomerFacts, *, locale: str, need_id: str | None = None
) -> list[Recommendation]:
    """:meth:`KnowledgeGraph.next_steps` on the shipped graph."""
    return load_graph().next_steps(product_id, facts, locale=locale, need_id=need_id)


def service_chain(need_id: str, facts: CustomerFacts, *, locale: str) -> list[Recommendation]:
    """:meth:`KnowledgeGraph.service_chain` on the shipped graph."""
    return load_graph().service_chain(need_id, facts, locale=locale)
