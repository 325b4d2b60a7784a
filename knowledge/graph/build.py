"""Loading the graph: ``content/graph.yaml`` → typed nodes → a networkx ``MultiDiGraph``.

:func:`parse_graph` checks the shape of every entry and raises :class:`GraphError` naming the
node at fault. :func:`build_graph` turns the entries into nodes and edges; a reference to
an id the file does not declare becomes a node of kind ``missing``, so that
:func:`knowledge.graph.consistency.check_consistency` can report every dangling edge at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TypeVar, cast

import networkx as nx
import yaml

from knowledge.fees import TIER_IDS
from knowledge.graph import shape
from knowledge.graph.conditions import KIND_SPECS
from knowledge.graph.errors import GraphError
from knowledge.graph.model import (
    DEFAULT_CASE,
    PRODUCT_KINDS,
    TIER_OPS,
    Bilingual,
    Condition,
    ConditionKind,
    FigureRef,
    Fit,
    FlowRef,
    Need,
    NextStep,
    NodeKind,
    Note,
    Product,
    ProductKind,
    TierMatch,
    TierOp,
    node_key,
)

GRAPH_PATH = Path(__file__).parent.parent / "content" / "graph.yaml"

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True, kw_only=True)
class GraphData:
    """The graph file's entries, typed and shape-checked."""

    version: int
    needs: tuple[Need, ...]
    products: tuple[Product, ...]
    conditions: tuple[Condition, ...]


# libyaml's parser when the wheel has it (several times faster); same safe constructor either way.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _UniqueKeyLoader(_SafeLoader):  # type: ignore[valid-type,misc]  # chosen at import time
    """A safe loader that refuses a key given twice (plain YAML keeps the last one silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[object, object]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise GraphError(f"{key!r} is defined twice (line {key_node.start_mark.line + 1})")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def parse_graph(text: str, *, source: str = "graph.yaml") -> GraphData:
    """Parse and shape-check a graph document."""
    try:
        raw = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        raise GraphError(f"{source}: not valid YAML: {exc}") from exc
    except GraphError as exc:
        raise GraphError(f"{source}: {exc}") from exc
    top = shape.mapping(raw, source)
    shape.keys(top, source, required=("version", "needs", "products", "conditions"))
    version = top["version"]
    if not isinstance(version, int) or isinstance(version, bool):
        raise GraphError(f"{source}: version must be an integer, got {version!r}")
    return GraphData(
        version=version,
        needs=_entries(top["needs"], "need", _need),
        products=_entries(top["products"], "product", _product),
        conditions=_entries(top["conditions"], "condition", _condition),
    )


def build_graph(data: GraphData) -> nx.MultiDiGraph:
    """Nodes and edges of ``data``; undeclared references become ``missing`` nodes."""
    graph = nx.MultiDiGraph(version=data.version)
    for kind, items in (("need", data.needs), ("product", data.products), ("condition", data.conditions)):
        for item in items:
            graph.add_node(node_key(cast(NodeKind, kind), item.id), kind=kind, id=item.id, item=item)
    for need in data.needs:
        source = node_key("need", need.id)
        for fit in need.fits:
            _link(graph, source, "product", fit.product, "fits", item=fit)
            _link_notes(graph, source, fit.notes)
        for article in need.explained_by:
            _link(graph, source, "article", article, "explained_by")
    for product in data.products:
        source = node_key("product", product.id)
        for condition in product.requires:
            _link(graph, source, "condition", condition, "requires")
        for article in product.explained_by:
            _link(graph, source, "article", article, "explained_by")
        if product.performed_by is not None:
            _link(graph, source, "flow", product.performed_by.flow, "performed_by", item=product.performed_by)
        for step in product.next:
            _link(graph, source, "product", step.product, "next", item=step)
        _link_notes(graph, source, product.notes)
    return graph


def _link(
    graph: nx.MultiDiGraph, source: str, kind: NodeKind, target_id: str, edge: str, **attrs: object
) -> None:
    target = node_key(kind, target_id)
    if target not in graph:
        # Articles and flows live outside this file (the article folder, the bot's flows): they
        # are nodes by reference. A need, product or condition must be declared here.
        external = kind in ("article", "flow")
        graph.add_node(target, kind=kind if external else "missing", id=target_id, expected=kind)
    graph.add_edge(source, target, kind=edge, **attrs)


def _link_notes(graph: nx.MultiDiGraph, source: str, notes: Sequence[Note]) -> None:
    for note in notes:
        if note.guard is not None:
            _link(graph, source, "condition", note.guard, "qualified_by")


# --- entries ---------------------------------------------------------------------------------


def _entries(raw: object, kind: str, parse: Callable[[str, Mapping[str, object]], _T]) -> tuple[_T, ...]:
    section = shape.mapping(raw, f"{kind}s")
    out: list[_T] = []
    for node_id, body in section.items():
        where = f"{kind} {node_id!r}"
        if not shape.ID.fullmatch(node_id):
            raise GraphError(f"{where}: id must be lowercase letters, digits and underscores")
        out.append(parse(node_id, shape.mapping(body, where)))
    return tuple(out)


def _need(node_id: str, raw: Mapping[str, object]) -> Need:
    where = f"need {node_id!r}"
    shape.keys(raw, where, required=("label", "intents", "triggers", "fits"), optional=("explained_by",))
    triggers = shape.mapping(raw["triggers"], f"{where} triggers")
    shape.keys(triggers, f"{where} triggers", required=("zh", "en"))
    fits = tuple(
        _fit(node_id, shape.mapping(f, f"{where} fits"), where)
        for f in shape.sequence(raw["fits"], f"{where} fits")
    )
    products = [f.product for f in fits]
    if len(set(products)) != len(products):
        raise GraphError(f"{where}: a product is listed twice in fits")
    if not fits:
        raise GraphError(f"{where}: fits must name at least one product")
    return Need(
        id=node_id,
        label=shape.bilingual(raw["label"], f"{where} label"),
        intents=shape.strings(raw["intents"], f"{where} intents", non_empty=True),
        triggers_zh=shape.strings(triggers["zh"], f"{where} zh triggers", non_empty=True),
        triggers_en=shape.strings(triggers["en"], f"{where} en triggers", non_empty=True),
        explained_by=shape.strings(
            raw.get("explained_by", []), f"{where} explained_by", pattern=shape.ARTICLE_ID
        ),
        fits=fits,
    )


def _fit(need_id: str, raw: Mapping[str, object], where: str) -> Fit:
    shape.keys(
        raw, where + " fit", required=("product", "rank", "reason"), optional=("notes", "fallback_for")
    )
    product = shape.identifier(raw["product"], f"{where} fit product")
    where = f"{where} fit {product!r}"
    return Fit(
        need=need_id,
        product=product,
        rank=shape.rank(raw["rank"], where),
        reason=shape.bilingual(raw["reason"], f"{where} reason"),
        notes=_notes(raw.get("notes", []), where),
        fallback_for=shape.strings(raw.get("fallback_for", []), f"{where} fallback_for", pattern=shape.ID),
    )


def _product(node_id: str, raw: Mapping[str, object]) -> Product:
    where = f"product {node_id!r}"
    shape.keys(
        raw,
        where,
        required=("kind", "label", "summary"),
        optional=("cost", "requires", "explained_by", "performed_by", "next", "notes", "promotional"),
    )
    kind = raw["kind"]
    if kind not in PRODUCT_KINDS:
        raise GraphError(f"{where}: kind must be one of {', '.join(PRODUCT_KINDS)}, got {kind!r}")
    promotional = raw.get("promotional", False)
    if not isinstance(promotional, bool):
        raise GraphError(f"{where}: promotional must be true or false")
    return Product(
        id=node_id,
        kind=cast(ProductKind, kind),
        label=shape.bilingual(raw["label"], f"{where} label"),
        summary=shape.bilingual(raw["summary"], f"{where} summary"),
        cost=shape.bilingual(raw["cost"], f"{where} cost") if "cost" in raw else None,
        requires=shape.strings(raw.get("requires", []), f"{where} requires", pattern=shape.ID),
        explained_by=shape.strings(
            raw.get("explained_by", []), f"{where} explained_by", pattern=shape.ARTICLE_ID
        ),
        performed_by=_flow(raw["performed_by"], where) if "performed_by" in raw else None,
        next=tuple(
            _next(node_id, shape.mapping(n, f"{where} next"), where)
            for n in shape.sequence(raw.get("next", []), where)
        ),
        notes=_notes(raw.get("notes", []), where),
        is_promotional=promotional,
    )


def _flow(raw: object, where: str) -> FlowRef:
    body = shape.mapping(raw, f"{where} performed_by")
    shape.keys(body, f"{where} performed_by", required=("flow",), optional=("variant",))
    variant = body.get("variant")
    return FlowRef(
        flow=shape.identifier(body["flow"], f"{where} performed_by flow"),
        variant=None if variant is None else shape.identifier(variant, f"{where} performed_by variant"),
    )


def _next(source: str, raw: Mapping[str, object], where: str) -> NextStep:
    shape.keys(raw, f"{where} next", required=("product", "rank", "reason"), optional=("when_need",))
    product = shape.identifier(raw["product"], f"{where} next product")
    where = f"{where} next {product!r}"
    return NextStep(
        source=source,
        product=product,
        rank=shape.rank(raw["rank"], where),
        reason=shape.bilingual(raw["reason"], f"{where} reason"),
        when_need=shape.strings(raw.get("when_need", []), f"{where} when_need", pattern=shape.ID),
    )


def _notes(raw: object, where: str) -> tuple[Note, ...]:
    notes: list[Note] = []
    for item in shape.sequence(raw, f"{where} notes"):
        body = shape.mapping(item, f"{where} note")
        shape.keys(body, f"{where} note", required=("text",), optional=("when", "unless"))
        if "when" in body and "unless" in body:
            raise GraphError(f"{where}: a note takes when or unless, not both")
        when, unless = body.get("when"), body.get("unless")
        notes.append(
            Note(
                text=shape.bilingual(body["text"], f"{where} note"),
                when=None if when is None else shape.identifier(when, f"{where} note when"),
                unless=None if unless is None else shape.identifier(unless, f"{where} note unless"),
            )
        )
    return tuple(notes)


def _condition(node_id: str, raw: Mapping[str, object]) -> Condition:
    where = f"condition {node_id!r}"
    kind = raw.get("kind")
    if kind not in KIND_SPECS:
        raise GraphError(f"{where}: kind must be one of {', '.join(KIND_SPECS)}, got {kind!r}")
    spec = KIND_SPECS[cast(ConditionKind, kind)]
    tier_keys = ("in", "min", "matches") if kind == "tier" else ()
    shape.keys(
        raw, where, required=("kind", "requirement", "unmet", *spec.params), optional=("remedy", *tier_keys)
    )
    tiers, matches = _tier_terms(raw, where) if kind == "tier" else ((), None)
    return Condition(
        id=node_id,
        kind=cast(ConditionKind, kind),
        requirement=shape.bilingual(raw["requirement"], f"{where} requirement"),
        unmet=_cased(raw["unmet"], spec.cases, f"{where} unmet", complete=True),
        remedy=_cased(raw["remedy"], spec.cases, f"{where} remedy", complete=False)
        if "remedy" in raw
        else (),
        figures=tuple((name, _figure(raw[name], f"{where} {name}")) for name in spec.params),
        tiers=tiers,
        matches=matches,
    )


def _tier_terms(raw: Mapping[str, object], where: str) -> tuple[tuple[str, ...], TierMatch | None]:
    if ("in" in raw) == ("min" in raw):
        raise GraphError(
            f"{where}: a tier condition takes exactly one of in (a tier set) or min (a lowest tier)"
        )
    if "min" in raw:
        lowest = raw["min"]
        if lowest not in TIER_IDS:
            raise GraphError(f"{where}: unknown tier {lowest!r}")
        tiers = TIER_IDS[TIER_IDS.index(cast(str, lowest)) :]
    else:
        tiers = shape.strings(raw["in"], f"{where} in", non_empty=True)
        unknown = [t for t in tiers if t not in TIER_IDS]
        if unknown:
            raise GraphError(f"{where}: unknown tier {unknown[0]!r}")
    if "matches" not in raw:
        return tiers, None
    body = shape.mapping(raw["matches"], f"{where} matches")
    shape.keys(body, f"{where} matches", required=("feature", "op"), optional=("value",))
    if body["op"] not in TIER_OPS:
        raise GraphError(f"{where}: matches op must be one of {', '.join(TIER_OPS)}")
    feature = body["feature"]
    if not isinstance(feature, str) or not feature:
        raise GraphError(f"{where}: matches feature must be a tier key such as fx_fee_rate")
    return tiers, TierMatch(feature=feature, op=cast(TierOp, body["op"]), value=body.get("value"))


def _cased(
    raw: object, cases: tuple[str, ...], where: str, *, complete: bool
) -> tuple[tuple[str, Bilingual], ...]:
    body = shape.mapping(raw, where)
    if set(body) == {"zh", "en"}:
        if cases != (DEFAULT_CASE,):
            raise GraphError(f"{where}: give one text per case: {', '.join(cases)}")
        return ((DEFAULT_CASE, shape.bilingual(body, where)),)
    unknown = sorted(set(body) - set(cases))
    if unknown:
        raise GraphError(f"{where}: unknown case {unknown[0]!r}; expected {', '.join(cases)}")
    missing = [c for c in cases if c not in body]
    if complete and missing:
        raise GraphError(f"{where}: no text for case {missing[0]!r}")
    return tuple((case, shape.bilingual(body[case], f"{where} {case}")) for case in cases if case in body)


def _figure(raw: object, where: str) -> FigureRef:
    if not isinstance(raw, dict):
        raise GraphError(
            f"{where}: name the figure by its fee-schedule path, e.g. {{path: installments.bill_min_amount}}"
        )
    shape.keys(raw, where, required=("path",), optional=("value",))
    path, stated = raw["path"], raw.get("value")
    if not isinstance(path, str) or not path:
        raise GraphError(f"{where}: path must be a dotted fee-schedule path")
    if stated is not None and (isinstance(stated, bool) or not isinstance(stated, int | float | str)):
        raise GraphError(f"{where}: value must be a number, got {stated!r}")
    try:
        value = None if stated is None else Decimal(str(stated))
    except ArithmeticError as exc:
        raise GraphError(f"{where}: value must be a number, got {stated!r}") from exc
    return FigureRef(path=path, stated=value)
