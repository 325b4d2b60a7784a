"""Test doubles and builders for the handoff package: in-memory fakes of the bot's protocols.

Imported by tests and evals only; no production module imports it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from handoff.context import ContextPackage, CustomerProfile, HandoffRequest, build_context
from handoff.errors import InvalidAgentToken
from handoff.models import (
    AgentId,
    ConversationId,
    DraftIssue,
    HandbackSummary,
    HandoffReason,
    JsonDict,
    Language,
    Priority,
    Role,
    Skill,
    Ticket,
    TicketId,
    TicketState,
    TranscriptEntry,
)
from handoff.ports import CustomerStatus

SHANGHAI = ZoneInfo("Asia/Shanghai")


class FakeClock:
    """A clock that stands still until told to move."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@dataclass(frozen=True, slots=True, kw_only=True)
class PostedMessage:
    conversation_id: ConversationId
    seq: int
    text: str
    agent_name: str
    agent_id: AgentId


@dataclass(frozen=True, slots=True, kw_only=True)
class PostedStatus:
    conversation_id: ConversationId
    seq: int
    status: CustomerStatus
    details: JsonDict


class FakeGateway:
    """A ``ConversationGateway`` that keeps conversations in memory."""

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.clock = clock or FakeClock()
        self.transcripts: dict[ConversationId, list[TranscriptEntry]] = {}
        self.messages: list[PostedMessage] = []
        self.statuses: list[PostedStatus] = []
        self.handbacks: list[HandbackSummary] = []

    def add(self, conversation_id: ConversationId, role: Role, text: str) -> int:
        """Append a transcript line (as the bot would store it); returns its seq."""
        lines = self.transcripts.setdefault(conversation_id, [])
        seq = len(lines) + 1
        lines.append(TranscriptEntry(seq=seq, role=role, text=text, at=self.clock()))
        return seq

    async def post_to_customer(
        self, conversation_id: ConversationId, *, text: str, agent_name: str, agent_id: AgentId
    ) -> int:
        lines = self.transcripts.setdefault(conversation_id, [])
        seq = len(lines) + 1
        lines.append(TranscriptEntry(seq=seq, role="agent", text=text, at=self.clock(), author=agent_name))
        self.messages.append(
            PostedMessage(
                conversation_id=conversation_id, seq=seq, text=text, agent_name=agent_name, agent_id=agent_id
            )
        )
        return seq

    async def post_status(
        self, conversation_id: ConversationId, status: CustomerStatus, details: JsonDict
    ) -> int:
        lines = self.transcripts.setdefault(conversation_id, [])
        seq = len(lines) + 1
        lines.append(TranscriptEntry(seq=seq, role="system", text=f"handoff {status}", at=self.clock()))
        self.statuses.append(
            PostedStatus(conversation_id=conversation_id, seq=seq, status=status, details=details)
        )
        return seq

    async def transcript(self, conversation_id: ConversationId) -> list[TranscriptEntry]:
        return list(self.transcripts.get(conversation_id, []))

    async def on_handback(self, conversation_id: ConversationId, summary: HandbackSummary) -> None:
        self.handbacks.append(summary)


class FakeDraftChecker:
    """Blocks drafts containing any ``blocked`` phrase, warns on ``warned`` phrases."""

    def __init__(
        self, blocked: Iterable[str] = ("保证", "guarantee"), warned: Iterable[str] = ("maybe",)
    ) -> None:
        self.blocked = tuple(blocked)
        self.warned = tuple(warned)
        self.checked: list[str] = []

    def check_agent_draft(
        self, text: str, *, locale: str, conversation_id: ConversationId
    ) -> list[DraftIssue]:
        self.checked.append(text)
        issues = [
            DraftIssue(rule_id="no_guarantees", severity="block", message=f"do not promise outcomes ({p!r})")
            for p in self.blocked
            if p in text
        ]
        issues += [
            DraftIssue(rule_id="hedging", severity="warn", message=f"avoid {p!r}")
            for p in self.warned
            if p in text
        ]
        return issues


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditRecord:
    actor: str
    action: str
    target: str
    details: JsonDict


@dataclass(slots=True)
class FakeAuditSink:
    """An ``AuditSink`` that keeps records in a list."""

    records: list[AuditRecord] = field(default_factory=list)

    async def record(self, actor: str, action: str, target: str, details: JsonDict) -> None:
        self.records.append(AuditRecord(actor=actor, action=action, target=target, details=dict(details)))

    def actions(self, action: str) -> list[AuditRecord]:
        return [r for r in self.records if r.action == action]


class FakeAgentTokens:
    """``AgentTokens`` with readable tokens: ``agent:<id>``."""

    def verify(self, token: str) -> AgentId:
        if not isinstance(token, str) or not token.startswith("agent:") or len(token) <= len("agent:"):
            raise InvalidAgentToken("bad agent token")
        return AgentId(token.removeprefix("agent:"))

    def mint(self, agent_id: AgentId) -> str:
        return f"agent:{agent_id}"


_ids = itertools.count(1)


def make_customer(*, tier: str = "gold", language: Language = "zh", **kw: object) -> CustomerProfile:
    """A masked demo customer."""
    base = CustomerProfile(masked_id="C****0042", name="王*明", segment="mass", tier=tier, language=language)
    return replace(base, **kw)  # type: ignore[arg-type]  # test builder


def make_request(
    conversation_id: str = "c1",
    *,
    reason: HandoffReason = HandoffReason.CUSTOMER_REQUEST,
    topic: str | None = "billing.annual_fee",
    tier: str = "gold",
    language: Language = "zh",
    **kw: object,
) -> HandoffRequest:
    """A handoff request with sensible defaults."""
    base = HandoffRequest(
        conversation_id=ConversationId(conversation_id),
        reason=reason,
        customer=make_customer(tier=tier, language=language),
        topic=topic,
    )
    return replace(base, **kw)  # type: ignore[arg-type]  # test builder


def make_ticket(
    conversation_id: str | None = None,
    *,
    priority: Priority = Priority.P3,
    created_at: datetime | None = None,
    language: Language = "zh",
    skills: tuple[Skill, ...] = (Skill.GENERAL,),
    reason: HandoffReason = HandoffReason.CUSTOMER_REQUEST,
    tier: str = "gold",
    ticket_id: str | None = None,
) -> Ticket:
    """A queued ticket."""
    n = next(_ids)
    created = created_at or datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
    return Ticket(
        id=TicketId(ticket_id or f"t{n:05d}"),
        conversation_id=ConversationId(conversation_id or f"conv{n:05d}"),
        reason=reason,
        priority=priority,
        language=language,
        skills=skills,
        tier=tier,
        topic="billing.statement",
        state=TicketState.QUEUED,
        created_at=created,
        sla_deadline=created + timedelta(seconds=300),
    )


def make_package(ticket: Ticket) -> ContextPackage:
    """A small package for ``ticket``."""
    request = make_request(
        ticket.conversation_id, reason=ticket.reason, tier=ticket.tier, language=ticket.language
    )
    transcript = [TranscriptEntry(seq=1, role="customer", text="我想问年费", at=ticket.created_at)]
    return build_context(request, ticket=ticket, transcript=transcript, tz=SHANGHAI)
