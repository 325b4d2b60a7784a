"""Conversation domain values: ids, conversations, stored events, analytics and audit records."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, NewType

ConversationId = NewType("ConversationId", str)
CustomerId = NewType("CustomerId", str)

JsonDict = dict[str, Any]

Mode = Literal["bot", "queued", "agent"]
Role = Literal["customer", "bot", "agent", "system"]


def utcnow() -> datetime:
    """The default clock: aware UTC now."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class Conversation:
    """A conversation belongs to exactly one customer."""

    id: ConversationId
    customer_id: CustomerId
    locale: str
    created_at: datetime
    last_seq: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """One stored, customer-visible event; ``seq`` increases by 1 per conversation."""

    conversation_id: ConversationId
    seq: int
    type: str
    data: JsonDict
    created_at: datetime
    client_msg_id: str | None = None

    def frame(self) -> JsonDict:
        """The wire frame the customer socket sends for this event."""
        return {**self.data, "type": self.type, "seq": self.seq, "ts": self.created_at.isoformat()}


@dataclass(frozen=True, slots=True, kw_only=True)
class Record:
    """An analytics record (turn understood, flow step, handoff, CSAT …) for the service report."""

    kind: str
    created_at: datetime
    data: JsonDict
    conversation_id: ConversationId | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEntry:
    """An append-only audit entry: who did what to which target."""

    created_at: datetime
    actor: str
    action: str
    target: str
    details: JsonDict = field(default_factory=dict)
