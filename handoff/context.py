"""The context package: a typed, versioned case file built when a chat goes to a human.

The bot hands over what it knows in a ``HandoffRequest`` (all texts already redacted);
``build_context`` adds the ticket's routing, a templated bilingual summary, suggested next
steps and the transcript, so that the agent never asks again for anything already said.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Literal, get_args
from zoneinfo import ZoneInfo

from pydantic import TypeAdapter

from handoff.models import (
    AgentNote,
    ConversationId,
    HandoffReason,
    JsonDict,
    Language,
    LocalText,
    Priority,
    Skill,
    Ticket,
    TicketId,
    TranscriptEntry,
)
from handoff.summary import default_next_steps, templated_summary

SCHEMA_VERSION = 1
"""Bumped on any incompatible change to the package's JSON."""

FlowStatus = Literal["active", "completed", "failed", "cancelled"]
SentimentTrend = Literal["improving", "steady", "worsening", "unknown"]

_FLOW_STATUSES = frozenset(get_args(FlowStatus))
_FLOW_STATUS_ALIASES = {"in_progress": "active", "abandoned": "cancelled"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Identifier:
    """A masked identifier, e.g. ``Identifier(kind="card", value="**** 1234")``."""

    kind: str
    value: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CustomerProfile:
    """Who the customer is, masked: never a full card number, phone or id number."""

    masked_id: str
    name: str | None = None
    """Masked display name (e.g. ``王*明``)."""
    segment: str
    tier: str
    language: Language
    identifiers: tuple[Identifier, ...] = ()
    risk_flags: tuple[str, ...] = ()
    is_verified: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class IntentMark:
    """An intent the customer expressed, with the transcript ``seq`` of the turn when known."""

    intent: str
    seq: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Slot:
    """A value the customer already gave (amount, periods, card last 4 …)."""

    name: str
    value: str
    flow: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class FlowState:
    """Where an in-chat flow (lost card, installment, limit increase …) stands."""

    flow: str
    status: FlowStatus
    step: str | None = None
    detail: str | None = None

    def __post_init__(self) -> None:
        status = _FLOW_STATUS_ALIASES.get(self.status, self.status)
        if status not in _FLOW_STATUSES:
            raise ValueError(f"flow status {self.status!r} is not one of {sorted(_FLOW_STATUSES)}")
        object.__setattr__(self, "status", status)


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionRecord:
    """Something the assistant did in the card system, and what came of it."""

    name: str
    """What was done, e.g. ``card.freeze``."""
    result: str
    """Human-readable result, e.g. ``card **** 1234 frozen``."""
    at: datetime
    ok: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class ArticleRef:
    """A knowledge article the assistant cited."""

    id: str
    title: str
    url: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TransactionRef:
    """A transaction relevant to the chat (the one disputed, the one declined …)."""

    id: str
    posted_on: date
    merchant: str
    amount: str
    """Decimal string, e.g. ``"1299.00"``."""
    currency: str = "CNY"
    note: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SentimentPoint:
    """Sentiment of one customer turn, from -1 (angry) to 1 (happy)."""

    seq: int
    score: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Summary:
    """Bilingual templated summary (always present) plus the bot's LLM summary when it had one."""

    zh: str
    en: str
    llm: str | None = None

    @property
    def source(self) -> Literal["llm", "template"]:
        """Which summary the console shows first."""
        return "llm" if self.llm else "template"


@dataclass(frozen=True, slots=True, kw_only=True)
class HandoffRequest:
    """What the bot knows at the moment it hands off; every text already redacted."""

    conversation_id: ConversationId
    reason: HandoffReason
    customer: CustomerProfile
    topic: str | None = None
    """The intent the customer needs help with (routing uses it: lost card and fraud go to risk)."""
    reason_detail: str | None = None
    """Why, in a few words (e.g. the question asked twice, the flow error)."""
    intents: tuple[IntentMark, ...] = ()
    slots: tuple[Slot, ...] = ()
    flows: tuple[FlowState, ...] = ()
    actions: tuple[ActionRecord, ...] = ()
    articles: tuple[ArticleRef, ...] = ()
    transactions: tuple[TransactionRef, ...] = ()
    sentiment: tuple[SentimentPoint, ...] = ()
    summary: str | None = None
    """An LLM summary written by the bot, when it has one."""
    next_steps: tuple[LocalText, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ContextPackage:
    """The case file an agent receives on claim. ``to_json()`` is the wire and storage form."""

    schema_version: int = SCHEMA_VERSION
    ticket_id: TicketId
    conversation_id: ConversationId
    reason: HandoffReason
    reason_detail: str | None = None
    priority: Priority
    skills: tuple[Skill, ...]
    language: Language
    offline: bool = False
    created_at: datetime
    customer: CustomerProfile
    topic: str | None = None
    intents: tuple[IntentMark, ...] = ()
    slots: tuple[Slot, ...] = ()
    flows: tuple[FlowState, ...] = ()
    actions: tuple[ActionRecord, ...] = ()
    articles: tuple[ArticleRef, ...] = ()
    transactions: tuple[TransactionRef, ...] = ()
    sentiment: tuple[SentimentPoint, ...] = ()
    sentiment_trend: SentimentTrend = "unknown"
    summary: Summary
    next_steps: tuple[LocalText, ...] = ()
    transcript: tuple[TranscriptEntry, ...] = ()
    notes: tuple[AgentNote, ...] = ()
    """Internal agent notes, filled in when an agent reads the package."""

    def to_json(self) -> JsonDict:
        """A JSON-serialisable dict (datetimes as ISO strings)."""
        data: JsonDict = _ADAPTER.dump_python(self, mode="json", warnings="error")
        data["summary"]["source"] = self.summary.source
        return data

    @classmethod
    def from_json(cls, data: JsonDict) -> ContextPackage:
        """Validate and load a dict produced by ``to_json`` (same schema version only)."""
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ValueError(f"context package schema_version {version!r} is not {SCHEMA_VERSION}")
        summary = {k: v for k, v in data.get("summary", {}).items() if k != "source"}
        return _ADAPTER.validate_python({**data, "summary": summary})

    def with_live(
        self, *, transcript: Sequence[TranscriptEntry] | None, notes: Sequence[AgentNote]
    ) -> ContextPackage:
        """The package with the latest transcript (when known) and the ticket's notes."""
        return replace(
            self,
            transcript=tuple(transcript) if transcript is not None else self.transcript,
            notes=tuple(notes),
        )


_ADAPTER: TypeAdapter[ContextPackage] = TypeAdapter(ContextPackage)


def sentiment_trend(points: Sequence[SentimentPoint]) -> SentimentTrend:
    """Compare the later half of the turns with the earlier half."""
    if len(points) < 2:
        return "unknown"
    ordered = sorted(points, key=lambda p: p.seq)
    half = len(ordered) // 2
    early = sum(p.score for p in ordered[:half]) / half
    late = sum(p.score for p in ordered[half:]) / (len(ordered) - half)
    if late - early > 0.15:
        return "improving"
    if early - late > 0.15:
        return "worsening"
    return "steady"


def build_context(
    request: HandoffRequest,
    *,
    ticket: Ticket,
    transcript: Sequence[TranscriptEntry],
    tz: ZoneInfo,
) -> ContextPackage:
    """Assemble the package for ``ticket`` from the bot's request and the transcript so far."""
    package = ContextPackage(
        ticket_id=ticket.id,
        conversation_id=request.conversation_id,
        reason=request.reason,
        reason_detail=request.reason_detail,
        priority=ticket.priority,
        skills=ticket.skills,
        language=ticket.language,
        offline=ticket.offline,
        created_at=ticket.created_at,
        customer=request.customer,
        topic=request.topic,
        intents=request.intents,
        slots=request.slots,
        flows=request.flows,
        actions=request.actions,
        articles=request.articles,
        transactions=request.transactions,
        sentiment=request.sentiment,
        sentiment_trend=sentiment_trend(request.sentiment),
        summary=Summary(zh="", en="", llm=request.summary or None),
        transcript=tuple(sorted(transcript, key=lambda e: e.seq)),
    )
    zh, en = templated_summary(package, tz=tz)
    steps = request.next_steps or default_next_steps(package)
    package = replace(package, summary=Summary(zh=zh, en=en, llm=package.summary.llm), next_steps=steps)
    # Validate now (types, literals, JSON-safety): a bad value must fail on the bot's turn,
    # not later when an agent reads the stored package.
    return ContextPackage.from_json(package.to_json())
