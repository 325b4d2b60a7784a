"""The conversation state document: mode, flow, remembered slots, what happened so far.

Persisted as JSON in the conversation store (compare-and-set on a version), so a
reconnect, a server restart or a handoff and hand-back resumes where the conversation was.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_HISTORY = 50


class ConversationState(BaseModel):
    """Everything the assistant remembers about one conversation."""

    model_config = ConfigDict(extra="ignore", validate_assignment=False)

    mode: Literal["bot", "queued", "agent"] = "bot"
    language: Literal["zh", "en"] | None = None
    last_processed_seq: int = 0
    turns: int = 0
    flow: dict[str, Any] | None = None
    memory: dict[str, Any] = Field(default_factory=dict)
    intents: list[dict[str, Any]] = Field(default_factory=list)
    sentiment: list[float] = Field(default_factory=list)
    actions: list[dict[str, Any]] = Field(default_factory=list)
    citations: list[dict[str, Any]] = Field(default_factory=list)
    offers: list[str] = Field(default_factory=list)
    questions: list[dict[str, Any]] = Field(default_factory=list)
    handoff: dict[str, Any] | None = None
    agent_summary: dict[str, Any] | None = None
    flows_done: list[dict[str, Any]] = Field(default_factory=list)
    csat: dict[str, Any] | None = None
    llm: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> ConversationState:
        return cls.model_validate(doc)

    def to_doc(self) -> dict[str, Any]:
        for name in ("intents", "sentiment", "actions", "citations", "questions", "flows_done"):
            items = getattr(self, name)
            if len(items) > MAX_HISTORY:
                setattr(self, name, items[-MAX_HISTORY:])
        return self.model_dump(mode="json")
