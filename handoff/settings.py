"""Plain configuration for the handoff package. The service builds it (from the fee
schedule's ``service`` section and its own settings); nothing here reads the environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from types import MappingProxyType
from typing import Any

from handoff.hours import AgentHours
from handoff.models import Priority
from handoff.routing import RoutingPolicy


def _default_first_response() -> Mapping[Priority, int]:
    # The bank's published targets; the service passes the fee schedule's copy.
    return {Priority.P1: 60, Priority.P2: 120, Priority.P3: 300}


@dataclass(frozen=True, slots=True, kw_only=True)
class SlaTargets:
    """Seconds to the first agent response, per priority."""

    first_response_seconds: Mapping[Priority, int] = field(default_factory=_default_first_response)

    def __post_init__(self) -> None:
        seconds = {Priority(int(k)): int(v) for k, v in self.first_response_seconds.items()}
        missing = set(Priority) - set(seconds)
        if missing or any(v <= 0 for v in seconds.values()):
            raise ValueError(f"first response targets need a positive value for every priority: {seconds}")
        object.__setattr__(self, "first_response_seconds", MappingProxyType(seconds))

    def deadline(self, priority: Priority, start: datetime) -> datetime:
        """When the first response for a ticket of ``priority`` that started waiting at ``start`` is due."""
        return start + timedelta(seconds=self.first_response_seconds[priority])


@dataclass(frozen=True, slots=True, kw_only=True)
class HandoffSettings:
    """Everything the hub, the SLA monitor and the agent API need to know."""

    sla: SlaTargets = field(default_factory=SlaTargets)
    hours: AgentHours = field(default_factory=AgentHours)
    routing: RoutingPolicy = field(default_factory=RoutingPolicy)
    io_timeout_s: float = 5.0
    """Every call to the queue, the bus and the bot's gateway is bounded by this."""
    default_handle_seconds: float = 300.0
    """Handling time assumed for ETAs until real samples exist."""
    handle_samples: int = 50
    """How many recent handling times the ETA looks at."""
    sla_check_interval_s: float = 5.0
    max_frame_bytes: int = 16 * 1024
    max_text_chars: int = 4000
    hello_timeout_s: float = 10.0
    session_queue_max: int = 1000
    """Frames buffered for a slow agent socket before it is closed (the console reconnects)."""

    @classmethod
    def from_service_config(cls, service: Mapping[str, Any], **overrides: Any) -> HandoffSettings:
        """Build from the fee schedule's ``service`` section.

        Reads ``timezone``, ``agent_hours.start``/``end`` (``"HH:MM"``), ``always_open_topics``
        and ``first_response_seconds`` (``{1: 60, 2: 120, 3: 300}``).
        """
        hours = service["agent_hours"]
        always_open = frozenset(str(t) for t in service.get("always_open_topics", ()))
        routing = overrides.pop("routing", None) or RoutingPolicy(
            always_open_topics=always_open or RoutingPolicy().always_open_topics
        )
        return cls(
            sla=SlaTargets(
                first_response_seconds={
                    Priority(int(k)): int(v) for k, v in service["first_response_seconds"].items()
                }
            ),
            hours=AgentHours(
                timezone=str(service["timezone"]),
                start=time.fromisoformat(str(hours["start"])),
                end=time.fromisoformat(str(hours["end"])),
            ),
            routing=routing,
            **overrides,
        )
