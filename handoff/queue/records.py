"""The flat record form of a ticket, shared by the SQLite columns and the Redis hash."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from handoff.models import (
    AgentId,
    ConversationId,
    Disposition,
    HandoffReason,
    Language,
    Priority,
    Skill,
    Ticket,
    TicketId,
    TicketState,
)

TICKET_FIELDS: tuple[str, ...] = (
    "id",
    "conversation_id",
    "reason",
    "priority",
    "language",
    "skills",
    "tier",
    "topic",
    "state",
    "offline",
    "created_at",
    "sla_deadline",
    "assigned_to",
    "assigned_at",
    "first_response_at",
    "closed_at",
    "sla_breached_at",
    "disposition",
    "csat",
    "csat_comment",
)


def iso(at: datetime) -> str:
    """Aware UTC ISO 8601 with microseconds (fixed width, so text order is time order)."""
    if at.tzinfo is None:
        raise ValueError("naive datetime: handoff times are aware UTC")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def micros(at: datetime) -> int:
    """Microseconds since the epoch."""
    return round(at.timestamp() * 1_000_000)


def ticket_record(ticket: Ticket) -> dict[str, str | None]:
    """Every field as text (``None`` for unset), in ``TICKET_FIELDS`` order."""
    return {
        "id": ticket.id,
        "conversation_id": ticket.conversation_id,
        "reason": ticket.reason.value,
        "priority": str(int(ticket.priority)),
        "language": ticket.language,
        "skills": ",".join(s.value for s in ticket.skills),
        "tier": ticket.tier,
        "topic": ticket.topic,
        "state": ticket.state.value,
        "offline": "1" if ticket.offline else "0",
        "created_at": iso(ticket.created_at),
        "sla_deadline": iso(ticket.sla_deadline),
        "assigned_to": ticket.assigned_to,
        "assigned_at": _opt_iso(ticket.assigned_at),
        "first_response_at": _opt_iso(ticket.first_response_at),
        "closed_at": _opt_iso(ticket.closed_at),
        "sla_breached_at": _opt_iso(ticket.sla_breached_at),
        "disposition": ticket.disposition.value if ticket.disposition else None,
        "csat": str(ticket.csat) if ticket.csat is not None else None,
        "csat_comment": ticket.csat_comment,
    }


def ticket_from_record(rec: Mapping[str, object]) -> Ticket:
    """Rebuild a ticket from a record (values may be text or, from SQLite, ints)."""

    def opt(name: str) -> str | None:
        value = rec.get(name)
        return None if value is None or value == "" else str(value)

    def when(name: str) -> datetime | None:
        value = opt(name)
        return datetime.fromisoformat(value) if value else None

    language: Language = "en" if str(rec["language"]) == "en" else "zh"
    skills = str(rec["skills"])
    disposition = opt("disposition")
    csat = opt("csat")
    created_at, deadline = when("created_at"), when("sla_deadline")
    assert created_at is not None and deadline is not None
    return Ticket(
        id=TicketId(str(rec["id"])),
        conversation_id=ConversationId(str(rec["conversation_id"])),
        reason=HandoffReason(str(rec["reason"])),
        priority=Priority(int(str(rec["priority"]))),
        language=language,
        skills=tuple(Skill(s) for s in skills.split(",") if s),
        tier=str(rec["tier"]),
        topic=opt("topic"),
        state=TicketState(str(rec["state"])),
        offline=str(rec.get("offline")) == "1",
        created_at=created_at,
        sla_deadline=deadline,
        assigned_to=AgentId(v) if (v := opt("assigned_to")) else None,
        assigned_at=when("assigned_at"),
        first_response_at=when("first_response_at"),
        closed_at=when("closed_at"),
        sla_breached_at=when("sla_breached_at"),
        disposition=Disposition(disposition) if disposition else None,
        csat=int(csat) if csat else None,
        csat_comment=opt("csat_comment"),
    )


def _opt_iso(at: datetime | None) -> str | None:
    return iso(at) if at is not None else None


def check_rating(rating: int) -> None:
    """CSAT is an integer from 1 to 5."""
    if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
        raise ValueError(f"CSAT rating must be an integer from 1 to 5, got {rating!r}")
