"""Errors of the needs → products graph."""

from __future__ import annotations

from knowledge.errors import KnowledgeError


class GraphError(KnowledgeError):
    """The graph data is malformed or inconsistent; the message names the node at fault."""


class UnknownNode(GraphError, LookupError):
    """A query named a need, product or condition the graph does not hold."""

    def __init__(self, kind: str, node_id: str) -> None:
        super().__init__(f"no {kind} {node_id!r} in the knowledge graph")
        self.kind = kind
        self.node_id = node_id


class TemplateError(GraphError):
    """A text's ``{placeholder}`` cannot be rendered (unknown path, no tier, bad filter)."""
