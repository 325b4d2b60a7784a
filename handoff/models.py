"""Handoff domain values: ids, reasons, skills, tickets, agents and what the hub hands back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum, StrEnum
from typing import Any, Literal, NewType

ConversationId = NewType("ConversationId", str)
TicketId = NewType("TicketId", str)
AgentId = NewType("AgentId", str)

JsonDict = dict[str, Any]
"""A JSON object (the one place ``Any`` enters: wire and storage payloads)."""

Clock = Callable[[], datetime]
"""Returns aware UTC ``datetime``s; injected everywhere time matters."""

Language = Literal["zh", "en"]
LANGUAGES: tuple[Language, ...] = ("zh", "en")

Role = Literal["customer", "bot", "agent", "system"]


def utcnow() -> datetime:
    """The default clock: aware UTC now."""
    return datetime.now(UTC)


class HandoffReason(StrEnum):
    """Why a conversation went to a human. Wire values are public (analytics, packets, frames)."""

    CUSTOMER_REQUEST = "customer_request"
    """The customer asked for a person; must reach the queue on the same turn."""
    REPEATED_QUESTION = "repeated_question"
    """The same question came back unresolved."""
    FRUSTRATION = "frustration"
    """Clear frustration or anger."""
    UNRECOGNISED_TRANSACTION = "unrecognised_transaction"
    """High risk: a transaction the customer does not recognise (fraud) — priority 1, risk team."""
    REGULATOR_COMPLAINT = "regulator_complaint"
    """High risk: the customer complains or threatens to go to the regulator — priority 1."""
    COMPLAINT = "complaint"
    """A complaint about the service or the bank — complaints team."""
    FLOW_FAILURE = "flow_failure"
    """A flow failed in the card system (freeze, installment, limit … did not go through)."""
    VIP_POLICY = "vip_policy"
    """Bank policy: platinum and diamond cardholders get a person when they want one."""
    ANSWER_REFUSED = "answer_refused"
    """The customer explicitly rejected the assistant's answer."""
    LLM_UNAVAILABLE = "llm_unavailable"
    """The language model failed or timed out and the offline engine could not help."""


class Priority(IntEnum):
    """1 is served first."""

    P1 = 1
    P2 = 2
    P3 = 3


class Skill(StrEnum):
    """What a ticket needs from an agent (beyond its language) and what an agent can do."""

    GENERAL = "general"
    RISK = "risk"
    SENIOR = "senior"
    """Senior agents serve VIP (platinum, diamond) cardholders."""
    COMPLAINTS = "complaints"
    SUPERVISOR = "supervisor"
    """Sees every queue, receives SLA escalations."""


class TicketState(StrEnum):
    """Lifecycle: queued -> assigned -> returned (to the assistant) | closed; queued -> closed."""

    QUEUED = "queued"
    ASSIGNED = "assigned"
    RETURNED = "returned"
    CLOSED = "closed"


OPEN_STATES: frozenset[TicketState] = frozenset({TicketState.QUEUED, TicketState.ASSIGNED})


class Disposition(StrEnum):
    """How an agent (or the customer leaving) ended a chat."""

    RESOLVED = "resolved"
    FOLLOW_UP = "follow_up"
    """A case or callback was opened; the work continues off the chat."""
    UNRESOLVED = "unresolved"
    ABANDONED = "abandoned"
    """The customer left or cancelled before an agent closed the chat."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LocalText:
    """One text in both service languages."""

    zh: str
    en: str

    def pick(self, language: Language) -> str:
        """The text in ``language``."""
        return self.zh if language == "zh" else self.en


@dataclass(frozen=True, slots=True, kw_only=True)
class Ticket:
    """One handoff of one conversation, as stored by the queue."""

    id: TicketId
    conversation_id: ConversationId
    reason: HandoffReason
    priority: Priority
    language: Language
    skills: tuple[Skill, ...]
    """Skills an agent must hold (all of them), besides speaking ``language``."""
    tier: str
    topic: str | None
    """The intent the customer needs help with (an INTENTS.md id), when known."""
    state: TicketState
    created_at: datetime
    sla_deadline: datetime
    """When the first agent response is due."""
    offline: bool = False
    """Opened outside agent hours: the customer left a message; agents see it when they come on."""
    assigned_to: AgentId | None = None
    assigned_at: datetime | None = None
    first_response_at: datetime | None = None
    closed_at: datetime | None = None
    """When the ticket left the agent: closed or handed back."""
    sla_breached_at: datetime | None = None
    disposition: Disposition | None = None
    csat: int | None = None
    csat_comment: str | None = None

    @property
    def is_open(self) -> bool:
        """Queued or assigned."""
        return self.state in OPEN_STATES


@dataclass(frozen=True, slots=True, kw_only=True)
class Agent:
    """A human agent as the directory knows them."""

    id: AgentId
    display_name: str
    skills: frozenset[Skill]
    languages: tuple[Language, ...]
    capacity: int
    """How many chats the agent handles at once."""

    @property
    def is_supervisor(self) -> bool:
        """Supervisors see every queue and receive escalations."""
        return Skill.SUPERVISOR in self.skills


@dataclass(frozen=True, slots=True, kw_only=True)
class TranscriptEntry:
    """One line of the conversation, already redacted by the bot."""

    seq: int
    role: Role
    text: str
    at: datetime
    author: str | None = None
    """Display name for agent lines."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentNote:
    """An internal note on a ticket: agents and supervisors see it, the customer never does."""

    ticket_id: TicketId
    agent_id: AgentId
    text: str
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class DraftIssue:
    """One compliance finding on an agent's draft; ``block`` stops the message."""

    rule_id: str
    severity: Literal["block", "warn"]
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class HandbackSummary:
    """What the agent did, handed to the bot when the chat returns to the assistant."""

    ticket_id: TicketId
    conversation_id: ConversationId
    agent_id: AgentId
    agent_name: str
    note: str | None
    """The agent's hand-back note for the assistant (internal)."""
    agent_messages: tuple[str, ...]
    """What the agent told the customer, in order."""
    notes: tuple[str, ...]
    """Internal notes written during the chat."""
    assigned_at: datetime | None
    returned_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Placement:
    """Where a handoff stands for the customer: the ticket, its place in line and an ETA."""

    ticket: Ticket
    position: int | None
    """1 = next; ``None`` once an agent has the chat (or it is closed)."""
    eta_seconds: int | None
    """Estimated wait until an agent joins; ``None`` once assigned."""
    opens_at: datetime | None = None
    """For tickets opened outside agent hours: when agents come on."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageSent:
    """The agent's message reached the customer."""

    kind: Literal["sent"] = "sent"
    conversation_id: ConversationId
    seq: int
    warnings: tuple[DraftIssue, ...] = ()
    is_first_response: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageBlocked:
    """The draft checker blocked the message; nothing reached the customer."""

    kind: Literal["blocked"] = "blocked"
    conversation_id: ConversationId
    issues: tuple[DraftIssue, ...]


AgentMessageResult = MessageSent | MessageBlocked


@dataclass(frozen=True, slots=True, kw_only=True)
class BusMessage:
    """One event received from the bus, with the topic it was published on."""

    topic: str
    event: JsonDict


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueEntry:
    """A waiting ticket as one agent sees it."""

    ticket: Ticket
    position: int
    """Place in the ticket's lane (same language and skills), 1 = next."""
    waiting_s: int


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueView:
    """One agent's view: waiting chats they may take, and the chats they hold."""

    items: tuple[QueueEntry, ...]
    assigned: tuple[Ticket, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Escalation:
    """A chat that missed its first-response target."""

    ticket: Ticket
    breached_at: datetime
    waited_s: int
