"""The needs → products knowledge graph: which of our products fit what a cardholder needs.

Data lives in ``knowledge/content/graph.yaml``; :func:`load_graph` loads and checks it once::

    from knowledge.graph import CustomerFacts, load_graph

    graph = load_graph()
    [match] = graph.match_needs("下个月去日本旅游", "zh")[:1]
    for rec in graph.recommend(match.need_id, CustomerFacts(tier="gold"), locale="zh"):
        print(rec.label, rec.eligible, [r.reason.zh for r in rec.unmet if r.reason])
"""

from knowledge.graph.build import GRAPH_PATH, GraphData, build_graph, parse_graph
from knowledge.graph.consistency import ArticleRef, check_consistency
from knowledge.graph.errors import GraphError, TemplateError, UnknownNode
from knowledge.graph.model import (
    KNOWN_FLOWS,
    Bilingual,
    Condition,
    ConditionResult,
    ConditionStatus,
    CustomerFacts,
    Fit,
    FlowRef,
    Need,
    NeedMatch,
    NextStep,
    Note,
    Product,
    ProductKind,
    Purchase,
    Recommendation,
    RecommendationStatus,
)
from knowledge.graph.query import (
    KnowledgeGraph,
    load_graph,
    match_needs,
    next_steps,
    recommend,
    service_chain,
)

__all__ = [
    "GRAPH_PATH",
    "KNOWN_FLOWS",
    "ArticleRef",
    "Bilingual",
    "Condition",
    "ConditionResult",
    "ConditionStatus",
    "CustomerFacts",
    "Fit",
    "FlowRef",
    "GraphData",
    "GraphError",
    "KnowledgeGraph",
    "Need",
    "NeedMatch",
    "NextStep",
    "Note",
    "Product",
    "ProductKind",
    "Purchase",
    "Recommendation",
    "RecommendationStatus",
    "TemplateError",
    "UnknownNode",
    "build_graph",
    "check_consistency",
    "load_graph",
    "match_needs",
    "next_steps",
    "parse_graph",
    "recommend",
    "service_chain",
]
