"""The agent WebSocket protocol (cardcare agent protocol v1): pydantic models for every frame.

Client frames are parsed with ``parse_client_frame``; server frames are built from the
models below and sent as ``frame.dump()``. ``docs/agent-protocol.md`` shows each one.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter

from handoff.models import DraftIssue, Escalation, JsonDict, QueueView, Ticket

PROTOCOL = "cardcare-agent/1"
MAX_TEXT_CHARS = 4000

_ALLOWED_CONTROLS = frozenset("\n\t\r")


def _printable(text: str) -> str:
    """Agent text reaches a customer's screen: no control characters (but line breaks and tabs)."""
    for ch in text:
        if "\ud800" <= ch <= "\udfff":
            raise ValueError("the text contains invalid characters")
        if unicodedata.category(ch) == "Cc" and ch not in _ALLOWED_CONTROLS:
            raise ValueError("the text contains control characters")
    return text


Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
Text = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT_CHARS), AfterValidator(_printable)
]
DispositionName = Literal["resolved", "follow_up", "unresolved"]


class _Frame(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    def dump(self) -> JsonDict:
        """The JSON-ready dict sent on the socket (and on the bus)."""
        return self.model_dump(mode="json")


# -- client -> server -------------------------------------------------------------------


class HelloFrame(_Frame):
    type: Literal["hello"]
    token: Annotated[str, StringConstraints(min_length=1, max_length=4096)]


class ClaimFrame(_Frame):
    type: Literal["claim"]
    conversation_id: Id


class MessageFrame(_Frame):
    type: Literal["message"]
    conversation_id: Id
    text: Text
    client_msg_id: Id | None = None


class NoteFrame(_Frame):
    type: Literal["note"]
    conversation_id: Id
    text: Text


class HandbackFrame(_Frame):
    type: Literal["handback"]
    conversation_id: Id
    note: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_TEXT_CHARS), AfterValidator(_printable)]
        | None
    ) = None


class CloseFrame(_Frame):
    type: Literal["close"]
    conversation_id: Id
    disposition: DispositionName


class ContextRequestFrame(_Frame):
    type: Literal["context"]
    conversation_id: Id


class QueueRequestFrame(_Frame):
    type: Literal["queue"]


class PingFrame(_Frame):
    type: Literal["ping"]


ClientFrame = Annotated[
    HelloFrame
    | ClaimFrame
    | MessageFrame
    | NoteFrame
    | HandbackFrame
    | CloseFrame
    | ContextRequestFrame
    | QueueRequestFrame
    | PingFrame,
    Field(discriminator="type"),
]
CLIENT_FRAME_TYPES: frozenset[str] = frozenset(
    {"hello", "claim", "message", "note", "handback", "close", "context", "queue", "ping"}
)
_CLIENT: TypeAdapter[ClientFrame] = TypeAdapter(ClientFrame)


class FrameError(ValueError):
    """A client frame that cannot be used; ``code`` goes into the error frame."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def parse_client_frame(data: Any) -> ClientFrame:
    """Validate a decoded JSON value as a client frame, or raise ``FrameError``."""
    if not isinstance(data, dict):
        raise FrameError("bad_frame", "a frame is a JSON object")
    kind = data.get("type")
    if not isinstance(kind, str) or kind not in CLIENT_FRAME_TYPES:
        raise FrameError("unknown_type", f"unknown frame type {kind!r}")
    try:
        return _CLIENT.validate_python(data)
    except ValueError as exc:  # pydantic.ValidationError is a ValueError
        raise FrameError("bad_frame", _short(exc)) from None


def _short(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors()[:3]]
        return "; ".join(parts)
    return str(exc)


# -- server -> client -------------------------------------------------------------------


class WelcomeFrame(_Frame):
    type: Literal["welcome"] = "welcome"
    protocol: str = PROTOCOL
    agent_id: str
    display_name: str
    skills: list[str]
    languages: list[str]
    capacity: int
    is_supervisor: bool


class QueueItem(BaseModel):
    conversation_id: str
    ticket_id: str
    priority: int
    reason: str
    skills: list[str]
    language: str
    tier: str
    topic: str | None
    waiting_s: int
    sla_deadline: datetime
    sla_breached: bool
    position: int
    offline: bool


class AssignedItem(BaseModel):
    conversation_id: str
    ticket_id: str
    priority: int
    reason: str
    language: str
    assigned_at: datetime | None
    first_response_at: datetime | None
    sla_deadline: datetime


class QueueFrame(_Frame):
    type: Literal["queue"] = "queue"
    items: list[QueueItem]
    assigned: list[AssignedItem]


class AssignedFrame(_Frame):
    type: Literal["assigned"] = "assigned"
    conversation_id: str
    ticket_id: str
    context: JsonDict


class ContextFrame(_Frame):
    type: Literal["context"] = "context"
    conversation_id: str
    ticket_id: str
    context: JsonDict


class Rule(BaseModel):
    rule_id: str
    message: str


class AckFrame(_Frame):
    type: Literal["ack"] = "ack"
    conversation_id: str
    seq: int
    client_msg_id: str | None = None
    warnings: list[Rule] = []


class BlockedFrame(_Frame):
    type: Literal["blocked"] = "blocked"
    conversation_id: str
    client_msg_id: str | None = None
    rules: list[Rule]


class CustomerMessageFrame(_Frame):
    type: Literal["message"] = "message"
    conversation_id: str
    role: Literal["customer"] = "customer"
    text: str
    seq: int


class NotedFrame(_Frame):
    type: Literal["noted"] = "noted"
    conversation_id: str
    at: datetime


class ReturnedFrame(_Frame):
    type: Literal["returned"] = "returned"
    conversation_id: str
    ticket_id: str


class ClosedFrame(_Frame):
    type: Literal["closed"] = "closed"
    conversation_id: str
    ticket_id: str
    disposition: str
    by: Literal["agent", "customer"]


class EscalationFrame(_Frame):
    type: Literal["escalation"] = "escalation"
    conversation_id: str
    ticket_id: str
    priority: int
    reason: str
    assigned_to: str | None
    waited_s: int
    sla_deadline: datetime
    breached_at: datetime


class ErrorFrame(_Frame):
    type: Literal["error"] = "error"
    code: str
    message: str
    conversation_id: str | None = None


class PongFrame(_Frame):
    type: Literal["pong"] = "pong"


SERVER_FRAMES: tuple[type[_Frame], ...] = (
    WelcomeFrame,
    QueueFrame,
    AssignedFrame,
    ContextFrame,
    AckFrame,
    BlockedFrame,
    CustomerMessageFrame,
    NotedFrame,
    ReturnedFrame,
    ClosedFrame,
    EscalationFrame,
    ErrorFrame,
    PongFrame,
)


def protocol_schema() -> JsonDict:
    """JSON Schema of every client and server frame (for the agent console and docs)."""
    return {
        "protocol": PROTOCOL,
        "client": TypeAdapter(ClientFrame).json_schema(),
        "server": {model.__name__: model.model_json_schema() for model in SERVER_FRAMES},
    }


# -- builders from domain values ---------------------------------------------------------


def queue_frame(view: QueueView) -> QueueFrame:
    """The ``queue`` frame for one agent's view."""
    return QueueFrame(
        items=[
            QueueItem(
                conversation_id=e.ticket.conversation_id,
                ticket_id=e.ticket.id,
                priority=int(e.ticket.priority),
                reason=e.ticket.reason.value,
                skills=[s.value for s in e.ticket.skills],
                language=e.ticket.language,
                tier=e.ticket.tier,
                topic=e.ticket.topic,
                waiting_s=e.waiting_s,
                sla_deadline=e.ticket.sla_deadline,
                sla_breached=e.ticket.sla_breached_at is not None,
                position=e.position,
                offline=e.ticket.offline,
            )
            for e in view.items
        ],
        assigned=[_assigned_item(t) for t in view.assigned],
    )


def _assigned_item(t: Ticket) -> AssignedItem:
    return AssignedItem(
        conversation_id=t.conversation_id,
        ticket_id=t.id,
        priority=int(t.priority),
        reason=t.reason.value,
        language=t.language,
        assigned_at=t.assigned_at,
        first_response_at=t.first_response_at,
        sla_deadline=t.sla_deadline,
    )


def escalation_frame(escalation: Escalation) -> EscalationFrame:
    """The ``escalation`` frame sent to supervisors and the assigned agent."""
    t = escalation.ticket
    return EscalationFrame(
        conversation_id=t.conversation_id,
        ticket_id=t.id,
        priority=int(t.priority),
        reason=t.reason.value,
        assigned_to=t.assigned_to,
        waited_s=escalation.waited_s,
        sla_deadline=t.sla_deadline,
        breached_at=escalation.breached_at,
    )


def rules(issues: tuple[DraftIssue, ...]) -> list[Rule]:
    """Draft-checker findings as wire rules."""
    return [Rule(rule_id=i.rule_id, message=i.message) for i in issues]
