"""A reply before the output guard: text, citations, cards, and what it may state."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Handled = Literal[
    "knowledge", "account", "flow", "handoff", "clarify", "decline", "chitchat", "complaint", "fallback", "csat"
]


@dataclass(slots=True, kw_only=True)
class Draft:
    """One reply in the making.

    ``tool_values`` and ``passages`` are what the grounding guard accepts figures from (with
    the fee schedule); ``decisions`` are card-system decisions the reply may state as facts.
    """

    text: str
    handled: Handled = "knowledge"
    citations: list[dict[str, Any]] = field(default_factory=list)
    cards: list[dict[str, Any]] = field(default_factory=list)
    tool_values: list[Any] = field(default_factory=list)
    passages: list[str] = field(default_factory=list)
    decisions: set[str] = field(default_factory=set)
    resolved: bool = True
    meta: dict[str, Any] = field(default_factory=dict)

    def extend(self, other: Draft, *, sep: str = "\n\n") -> Draft:
        """Append another draft (its text after a blank line, its cards and sources too)."""
        if other.text:
            self.text = f"{self.text}{sep}{other.text}" if self.text else other.text
        self.citations.extend(c for c in other.citations if c not in self.citations)
        self.cards.extend(other.cards)
        self.tool_values.extend(other.tool_values)
        self.passages.extend(other.passages)
        self.decisions |= other.decisions
        # Rule articles a flow step names (cited by the engine) stay with the combined reply.
        cite = [a for a in (*self.meta.get("cite", ()), *other.meta.get("cite", ())) if a]
        if cite:
            self.meta["cite"] = list(dict.fromkeys(cite))
        return self
