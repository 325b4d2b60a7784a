"""Routing policy, as pure functions: priority and skills for a handoff, who may serve it,
where it stands in line and how long the wait should be.

Priorities follow the bank's service targets: 1 = fraud, lost card, regulator complaint;
2 = VIP (platinum, diamond) and complaints; 3 = everything else.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from handoff.models import Agent, HandoffReason, Language, Priority, Skill, Ticket

VIP_TIERS: frozenset[str] = frozenset({"platinum", "diamond"})
RISK_TOPICS: frozenset[str] = frozenset({"card.lost_stolen", "fraud.dispute"})
COMPLAINT_TOPICS: frozenset[str] = frozenset({"complaint"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Route:
    """Where a handoff goes."""

    priority: Priority
    skills: tuple[Skill, ...]
    language: Language
    is_always_open: bool
    """Staffed around the clock (lost or stolen card, fraud)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RoutingPolicy:
    """Decides priority and skills from the reason, the topic and the card tier."""

    vip_tiers: frozenset[str] = VIP_TIERS
    risk_topics: frozenset[str] = RISK_TOPICS
    always_open_topics: frozenset[str] = RISK_TOPICS
    complaint_topics: frozenset[str] = field(default=COMPLAINT_TOPICS)

    def route(self, *, reason: HandoffReason, topic: str | None, tier: str, language: Language) -> Route:
        """Priority is the most urgent rule that applies; the skill is the most specialised one."""
        is_fraud = reason is HandoffReason.UNRECOGNISED_TRANSACTION or topic in self.risk_topics
        is_regulator = reason is HandoffReason.REGULATOR_COMPLAINT
        is_complaint = is_regulator or reason is HandoffReason.COMPLAINT or topic in self.complaint_topics
        is_vip = tier in self.vip_tiers or reason is HandoffReason.VIP_POLICY
        if is_fraud or is_regulator:
            priority = Priority.P1
        elif is_complaint or is_vip:
            priority = Priority.P2
        else:
            priority = Priority.P3
        if is_fraud:
            skill = Skill.RISK
        elif is_complaint:
            skill = Skill.COMPLAINTS
        elif is_vip:
            skill = Skill.SENIOR
        else:
            skill = Skill.GENERAL
        always_open = reason is HandoffReason.UNRECOGNISED_TRANSACTION or topic in self.always_open_topics
        return Route(priority=priority, skills=(skill,), language=language, is_always_open=always_open)


def can_serve(agent: Agent, ticket: Ticket) -> bool:
    """Supervisors serve everything; others need the ticket's language and all of its skills."""
    if agent.is_supervisor:
        return True
    return ticket.language in agent.languages and all(s in agent.skills for s in ticket.skills)


def same_lane(a: Ticket, b: Ticket) -> bool:
    """Two tickets compete for the same agents when language and skills match."""
    return a.language == b.language and a.skills == b.skills


def lane_position(ticket: Ticket, waiting: Sequence[Ticket]) -> int:
    """1-based place of ``ticket`` among the waiting tickets of its lane (``waiting`` is in queue order)."""
    ahead = 0
    for other in waiting:
        if other.id == ticket.id:
            return ahead + 1
        if same_lane(other, ticket):
            ahead += 1
    return ahead + 1


def serving_slots(agents: Iterable[Agent], ticket: Ticket) -> int:
    """Concurrent chats the lane's agents can hold; supervisors count only when no one else serves it."""
    regular = [a for a in agents if not a.is_supervisor and can_serve(a, ticket)]
    pool = regular or [a for a in agents if a.is_supervisor]
    return sum(a.capacity for a in pool)


def estimate_wait(
    position: int, *, handle_seconds: Sequence[float], slots: int, default_handle_seconds: float
) -> int:
    """Seconds until an agent should join.

    With every slot busy, one frees up every ``typical / slots`` seconds on average (``typical``
    = the median of recent handling times), and ``position`` of them must free up.
    """
    typical = statistics.median(handle_seconds) if handle_seconds else default_handle_seconds
    return math.ceil(position * typical / max(1, slots))
