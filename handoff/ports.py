"""The seams of the handoff package.

``HandoffQueue`` and ``EventBus`` are implemented here (SQLite/Redis, memory/Redis); the
others are implemented by the bot, which is the composition root: ``ConversationGateway``,
``DraftChecker``, ``AuditSink``, ``AgentTokens`` (and ``AgentDirectory`` unless it uses
``StaticAgentDirectory``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Literal, Protocol

from handoff.context import ContextPackage
from handoff.models import (
    Agent,
    AgentId,
    AgentNote,
    BusMessage,
    ConversationId,
    Disposition,
    DraftIssue,
    HandbackSummary,
    JsonDict,
    Ticket,
    TicketId,
    TranscriptEntry,
)

CustomerStatus = Literal["queued", "assigned", "returned", "closed"]


class HandoffQueue(Protocol):
    """Tickets waiting for, or held by, agents. One contract suite runs against every adapter.

    Contract:
    * ``waiting`` is ordered by priority (1 first), then arrival;
    * ``enqueue`` is idempotent per conversation: while a conversation has an open (queued or
      assigned) ticket, enqueueing again returns that ticket and ``created=False``;
    * ``claim`` is atomic: of many concurrent claims on one queued ticket exactly one wins, the
      others raise ``TicketAlreadyClaimed``; a claim that would exceed ``capacity`` raises
      ``AgentAtCapacity`` and changes nothing;
    * ``handback``/``close`` by an agent require the ticket to be assigned to that agent
      (``NotAssigned``), and free the agent's capacity;
    * ``mark_breached`` and ``record_first_response`` take effect once (they return whether
      this call did it), so several server processes can run SLA monitors;
    * backend failures raise ``QueueUnavailable``; unknown ids raise ``TicketNotFound``.
    """

    async def enqueue(self, ticket: Ticket, package: ContextPackage) -> tuple[Ticket, bool]: ...

    async def get(self, ticket_id: TicketId) -> Ticket: ...

    async def latest(self, conversation_id: ConversationId) -> Ticket | None: ...

    async def package(self, ticket_id: TicketId) -> ContextPackage: ...

    async def waiting(self) -> list[Ticket]: ...

    async def open_tickets(self) -> list[Ticket]: ...

    async def assigned_to(self, agent_id: AgentId) -> list[Ticket]: ...

    async def claim(
        self, ticket_id: TicketId, agent_id: AgentId, *, capacity: int, at: datetime
    ) -> Ticket: ...

    async def record_first_response(self, ticket_id: TicketId, at: datetime) -> tuple[Ticket, bool]: ...

    async def handback(self, ticket_id: TicketId, agent_id: AgentId, *, at: datetime) -> Ticket: ...

    async def close(
        self, ticket_id: TicketId, *, by: AgentId | None, disposition: Disposition, at: datetime
    ) -> Ticket: ...

    async def mark_breached(self, ticket_id: TicketId, at: datetime) -> bool: ...

    async def add_note(self, note: AgentNote) -> None: ...

    async def notes(self, ticket_id: TicketId) -> list[AgentNote]: ...

    async def record_csat(self, ticket_id: TicketId, rating: int, comment: str | None) -> Ticket: ...

    async def handle_times(self) -> list[float]: ...

    async def aclose(self) -> None: ...


class EventBus(Protocol):
    """Small JSON events between server processes (topics like ``conv.<id>``, ``agent.<id>``, ``queue``).

    Delivery is at most once, in publish order per publisher; a subscription is live once its
    ``async with`` block is entered. ``subscribe`` takes exact topics or glob patterns
    (``agent.*``).
    """

    async def publish(self, topic: str, event: JsonDict) -> None: ...

    def subscribe(
        self, topic_or_pattern: str, *more: str
    ) -> AbstractAsyncContextManager[AsyncIterator[BusMessage]]: ...

    async def close(self) -> None: ...


class ConversationGateway(Protocol):
    """Implemented by the bot: the conversation side of a handoff."""

    async def post_to_customer(
        self, conversation_id: ConversationId, *, text: str, agent_name: str, agent_id: AgentId
    ) -> int:
        """Store an agent message in the conversation, deliver it, return its ``seq``."""
        ...

    async def post_status(
        self, conversation_id: ConversationId, status: CustomerStatus, details: JsonDict
    ) -> int:
        """Store and deliver a handoff status event to the customer; return its ``seq``."""
        ...

    async def transcript(self, conversation_id: ConversationId) -> list[TranscriptEntry]:
        """The conversation so far (redacted), oldest first."""
        ...

    async def on_handback(self, conversation_id: ConversationId, summary: HandbackSummary) -> None:
        """Switch the conversation back to the assistant and record what the agent did."""
        ...


class DraftChecker(Protocol):
    """Implemented by the bot: its compliance guard, run on every agent draft."""

    def check_agent_draft(
        self, text: str, *, locale: str, conversation_id: ConversationId
    ) -> list[DraftIssue]: ...


class AuditSink(Protocol):
    """Implemented by the bot: append-only audit log."""

    async def record(self, actor: str, action: str, target: str, details: JsonDict) -> None: ...


class AgentDirectory(Protocol):
    """Who the agents are. ``StaticAgentDirectory`` holds the demo team."""

    async def get(self, agent_id: AgentId) -> Agent:
        """The agent, or raise ``UnknownAgent``."""
        ...

    async def all(self) -> list[Agent]: ...


class AgentTokens(Protocol):
    """Implemented by the bot (HS256 JWT, agent scope)."""

    def verify(self, token: str) -> AgentId:
        """The agent id in a valid token; raise ``InvalidAgentToken`` otherwise."""
        ...

    def mint(self, agent_id: AgentId) -> str: ...
