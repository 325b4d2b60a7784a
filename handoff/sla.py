"""``SlaMonitor``: escalates chats that miss their first-response target.

Targets come from the fee schedule (priority 1: 60 s, 2: 120 s, 3: 300 s) and are fixed on
each ticket as ``sla_deadline`` when it is opened (for offline tickets: from when agents come
on). A breach is recorded on the ticket once — even with a monitor in every server process —
published to supervisors and to the assigned agent, and written to the audit log.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from handoff.errors import BusUnavailable, HandoffError
from handoff.models import Clock, Escalation, utcnow
from handoff.ports import AuditSink, EventBus, HandoffQueue
from handoff.protocol import escalation_frame
from handoff.topics import TOPIC_QUEUE, TOPIC_SUPERVISORS, agent_topic

logger = logging.getLogger(__name__)


class SlaMonitor:
    """Checks open tickets against their deadlines; ``tick()`` once, or ``run()`` forever."""

    def __init__(
        self,
        *,
        queue: HandoffQueue,
        bus: EventBus,
        audit: AuditSink,
        clock: Clock = utcnow,
        interval_s: float = 5.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._queue = queue
        self._bus = bus
        self._audit = audit
        self._clock = clock
        self._interval_s = interval_s
        self._sleep = sleep

    async def tick(self) -> list[Escalation]:
        """Escalate every open ticket past its deadline without a first response (each one once)."""
        now = self._clock()
        escalations: list[Escalation] = []
        for ticket in await self._queue.open_tickets():
            if ticket.first_response_at is not None or ticket.sla_breached_at is not None:
                continue
            if now <= ticket.sla_deadline or not await self._queue.mark_breached(ticket.id, now):
                continue
            escalation = Escalation(
                ticket=ticket,
                breached_at=now,
                waited_s=max(0, int((now - ticket.created_at).total_seconds())),
            )
            escalations.append(escalation)
            await self._escalate(escalation)
        if escalations:
            await self._publish(TOPIC_QUEUE, {"type": "queue.changed"})
        return escalations

    async def run(self) -> None:
        """Tick every ``interval_s`` until cancelled (the service starts this as a task)."""
        while True:
            try:
                await self.tick()
            except HandoffError as exc:
                logger.warning("handoff.sla.tick_failed", extra={"error": type(exc).__name__})
            except Exception:  # task root: keep checking
                logger.exception("handoff.sla.tick_crashed")
            await self._sleep(self._interval_s)

    async def _escalate(self, escalation: Escalation) -> None:
        ticket = escalation.ticket
        frame = escalation_frame(escalation).dump()
        details = {
            "ticket_id": ticket.id,
            "priority": int(ticket.priority),
            "reason": ticket.reason.value,
            "assigned_to": ticket.assigned_to,
            "waited_s": escalation.waited_s,
            "sla_deadline": frame["sla_deadline"],
        }
        logger.warning("handoff.sla.breached", extra={"conversation_id": ticket.conversation_id, **details})
        await self._audit.record("sla-monitor", "sla.breached", ticket.conversation_id, details)
        await self._publish(TOPIC_SUPERVISORS, frame)
        if ticket.assigned_to is not None:
            await self._publish(agent_topic(ticket.assigned_to), frame)

    async def _publish(self, topic: str, event: dict[str, object]) -> None:
        try:
            await self._bus.publish(topic, event)
        except BusUnavailable:
            logger.warning("handoff.publish_failed", extra={"topic": topic})
