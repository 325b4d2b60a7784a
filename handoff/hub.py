"""``AgentHub``: opens handoffs, lets agents claim, answer, note, hand back and close them.

The hub owns no socket. The bot calls ``open_handoff``, ``customer_message``,
``cancel_handoff``, ``placement`` and ``record_csat``; the agent API calls the agent
operations and reads frames from ``connect``'s session. Everything that must reach an agent
socket on another server process travels on the event bus:

* ``queue``        — "something changed": every process pushes fresh snapshots to its agents
* ``agent.<id>``   — frames for one agent (customer messages, escalations, closed-by-customer)
* ``supervisors``  — SLA escalations
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Self, TypeVar

from handoff.context import ContextPackage, HandoffRequest, build_context
from handoff.errors import (
    BusUnavailable,
    GatewayUnavailable,
    InvalidTransition,
    NotAssigned,
    NotVisible,
    TicketNotFound,
)
from handoff.models import (
    Agent,
    AgentId,
    AgentMessageResult,
    AgentNote,
    Clock,
    ConversationId,
    Disposition,
    HandbackSummary,
    JsonDict,
    MessageBlocked,
    MessageSent,
    Placement,
    QueueView,
    Ticket,
    TicketId,
    TicketState,
    TranscriptEntry,
    utcnow,
)
from handoff.ports import (
    AgentDirectory,
    AuditSink,
    ConversationGateway,
    CustomerStatus,
    DraftChecker,
    EventBus,
    HandoffQueue,
)
from handoff.protocol import ClosedFrame, CustomerMessageFrame
from handoff.relay import AgentRelay, agent_view
from handoff.routing import can_serve, estimate_wait, lane_position, same_lane, serving_slots
from handoff.session import AgentSession
from handoff.settings import HandoffSettings
from handoff.topics import TOPIC_QUEUE, agent_topic

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class _Line:
    """What an ETA needs, read once for many tickets."""

    waiting: list[Ticket]
    handle_seconds: list[float]
    agents: list[Agent]


def new_ticket_id() -> TicketId:
    """A fresh, unguessable ticket id."""
    return TicketId(f"t_{uuid.uuid4().hex}")


class AgentHub:
    """Coordinates handoffs between the bot, the queue and agent sockets on any process."""

    def __init__(
        self,
        *,
        queue: HandoffQueue,
        bus: EventBus,
        gateway: ConversationGateway,
        drafts: DraftChecker,
        audit: AuditSink,
        directory: AgentDirectory,
        settings: HandoffSettings | None = None,
        clock: Clock = utcnow,
        ticket_ids: Callable[[], TicketId] = new_ticket_id,
    ) -> None:
        self._queue = queue
        self._bus = bus
        self._gateway = gateway
        self._drafts = drafts
        self._audit = audit
        self._directory = directory
        self._settings = settings or HandoffSettings()
        self._clock = clock
        self._ticket_ids = ticket_ids
        self._relay = AgentRelay(
            bus=bus,
            queue=queue,
            clock=clock,
            max_frames=self._settings.session_queue_max,
            ready_timeout_s=self._settings.io_timeout_s,
        )

    # -- lifecycle ----------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Start relaying bus events to agent sockets; returns once the subscription is live."""
        await self._relay.start()

    async def stop(self) -> None:
        """Stop relaying."""
        await self._relay.stop()

    # -- bot side -----------------------------------------------------------------------

    async def open_handoff(self, request: HandoffRequest) -> Placement:
        """Queue the conversation for a person on this very turn; idempotent while a handoff is open."""
        now = self._clock()
        s = self._settings
        route = s.routing.route(
            reason=request.reason,
            topic=request.topic,
            tier=request.customer.tier,
            language=request.customer.language,
        )
        staffed = s.hours.is_staffed(now, always_open=route.is_always_open)
        start = now if staffed else s.hours.next_opening(now)
        ticket = Ticket(
            id=self._ticket_ids(),
            conversation_id=request.conversation_id,
            reason=request.reason,
            priority=route.priority,
            language=route.language,
            skills=route.skills,
            tier=request.customer.tier,
            topic=request.topic,
            state=TicketState.QUEUED,
            created_at=now,
            sla_deadline=s.sla.deadline(route.priority, start),
            offline=not staffed,
        )
        transcript = await self._transcript(request.conversation_id) or []
        package = build_context(request, ticket=ticket, transcript=transcript, tz=s.hours.zone)
        stored, created = await self._queue.enqueue(ticket, package)
        if created:
            details = {
                "ticket_id": stored.id,
                "reason": stored.reason.value,
                "priority": int(stored.priority),
            }
            await self._audit.record("assistant", "handoff.opened", stored.conversation_id, details)
            logger.info("handoff.ticket.opened", extra={"ticket_id": stored.id, **details})
            await self._changed()
        return await self._placement(stored, now)

    async def placement(self, conversation_id: ConversationId) -> Placement | None:
        """Where the conversation's latest handoff stands (position and ETA while queued)."""
        ticket = await self._queue.latest(conversation_id)
        return await self._placement(ticket, self._clock()) if ticket else None

    async def customer_message(self, conversation_id: ConversationId, seq: int, text: str) -> None:
        """Relay a customer message (already stored by the bot) to the assigned agent, wherever connected."""
        ticket = await self._queue.latest(conversation_id)
        if ticket is None or ticket.state is not TicketState.ASSIGNED or ticket.assigned_to is None:
            return  # queued: the agent reads it in the transcript on claim
        frame = CustomerMessageFrame(conversation_id=conversation_id, text=text, seq=seq)
        await self._publish(agent_topic(ticket.assigned_to), frame.dump())

    async def cancel_handoff(self, conversation_id: ConversationId) -> Ticket | None:
        """The customer left or withdrew the request: close the open handoff as abandoned."""
        ticket = await self._queue.latest(conversation_id)
        if ticket is None or not ticket.is_open:
            return None
        closed = await self._queue.close(
            ticket.id, by=None, disposition=Disposition.ABANDONED, at=self._clock()
        )
        await self._audit.record("customer", "handoff.cancelled", conversation_id, {"ticket_id": ticket.id})
        if ticket.assigned_to is not None:
            frame = ClosedFrame(
                conversation_id=conversation_id, ticket_id=ticket.id, disposition="abandoned", by="customer"
            )
            await self._publish(agent_topic(ticket.assigned_to), frame.dump())
        else:
            await self._announce_positions(ticket)
        await self._changed()
        return closed

    async def record_csat(
        self, conversation_id: ConversationId, rating: int, comment: str | None = None
    ) -> Ticket:
        """Store the customer's 1..5 rating of their latest (ended) handoff."""
        ticket = await self._queue.latest(conversation_id)
        if ticket is None:
            raise TicketNotFound(conversation_id)
        rated = await self._queue.record_csat(ticket.id, rating, comment)
        await self._audit.record(
            "customer", "csat.recorded", conversation_id, {"ticket_id": ticket.id, "rating": rating}
        )
        return rated

    # -- agent side ---------------------------------------------------------------------

    async def queue_view(self, agent_id: AgentId) -> QueueView:
        """The waiting chats the agent may take (by skills) and the chats they hold."""
        agent = await self._directory.get(agent_id)
        return await agent_view(self._queue, agent, await self._queue.waiting(), self._clock())

    async def claim(self, agent_id: AgentId, conversation_id: ConversationId) -> ContextPackage:
        """Take a waiting chat (atomic across processes) and get its context package."""
        agent = await self._directory.get(agent_id)
        ticket = await self._open_ticket(conversation_id)
        # Skills decide who may claim; a chat someone else just took is "already claimed", not forbidden.
        if not (can_serve(agent, ticket) or ticket.assigned_to == agent.id):
            raise NotVisible(agent.id, conversation_id)
        if ticket.state is TicketState.ASSIGNED and ticket.assigned_to == agent.id:
            # A repeated claim (a console reconnecting): the context again, no second "assigned".
            return await self._read_context(agent, ticket, via="claim")
        claimed = await self._queue.claim(ticket.id, agent.id, capacity=agent.capacity, at=self._clock())
        await self._audit.record(agent.id, "ticket.claimed", conversation_id, {"ticket_id": claimed.id})
        logger.info("handoff.ticket.claimed", extra={"ticket_id": claimed.id, "agent_id": agent.id})
        await self._notify_status(
            conversation_id, "assigned", {"ticket_id": claimed.id, "agent_name": agent.display_name}
        )
        await self._changed()
        await self._announce_positions(claimed)
        return await self._read_context(agent, claimed, via="claim")

    async def context(self, agent_id: AgentId, conversation_id: ConversationId) -> ContextPackage:
        """The context package, for an agent who may see the chat (audit-logged)."""
        agent = await self._directory.get(agent_id)
        ticket = await self._queue.latest(conversation_id)
        if ticket is None or not self._is_visible(agent, ticket):
            # A refused read is a security event too: who tried to see which conversation.
            reason = "no_ticket" if ticket is None else "not_visible"
            await self._audit.record(agent.id, "context.refused", conversation_id, {"reason": reason})
            if ticket is None:
                raise TicketNotFound(conversation_id)
            raise NotVisible(agent.id, conversation_id)
        return await self._read_context(agent, ticket, via="read")

    async def agent_message(
        self, agent_id: AgentId, conversation_id: ConversationId, text: str
    ) -> AgentMessageResult:
        """Check the draft; a blocked draft goes back to the agent and nothing reaches the customer."""
        agent, ticket = await self._assigned(agent_id, conversation_id)
        issues = self._drafts.check_agent_draft(text, locale=ticket.language, conversation_id=conversation_id)
        blocking = tuple(i for i in issues if i.severity == "block")
        if blocking:
            rule_ids = [i.rule_id for i in blocking]
            await self._audit.record(agent.id, "draft.blocked", conversation_id, {"rules": rule_ids})
            logger.info("handoff.draft.blocked", extra={"ticket_id": ticket.id, "rules": rule_ids})
            return MessageBlocked(conversation_id=conversation_id, issues=blocking)
        seq = await self._call(
            self._gateway.post_to_customer(
                conversation_id, text=text, agent_name=agent.display_name, agent_id=agent.id
            )
        )
        _, first = await self._queue.record_first_response(ticket.id, self._clock())
        if first:
            await self._changed()
        warnings = tuple(i for i in issues if i.severity != "block")
        return MessageSent(
            conversation_id=conversation_id, seq=seq, warnings=warnings, is_first_response=first
        )

    async def note(self, agent_id: AgentId, conversation_id: ConversationId, text: str) -> AgentNote:
        """An internal note on the chat: kept with the ticket, never sent to the customer."""
        agent, ticket = await self._assigned(agent_id, conversation_id, supervisors_too=True)
        note = AgentNote(ticket_id=ticket.id, agent_id=agent.id, text=text, at=self._clock())
        await self._queue.add_note(note)
        await self._audit.record(
            agent.id, "note.added", conversation_id, {"ticket_id": ticket.id, "chars": len(text)}
        )
        return note

    async def handback(
        self, agent_id: AgentId, conversation_id: ConversationId, note: str | None = None
    ) -> Ticket:
        """Return the chat to the assistant, telling the bot what the agent did and said."""
        agent, ticket = await self._assigned(agent_id, conversation_id)
        now = self._clock()
        transcript = await self._transcript(conversation_id) or []
        since = ticket.assigned_at or ticket.created_at
        summary = HandbackSummary(
            ticket_id=ticket.id,
            conversation_id=conversation_id,
            agent_id=agent.id,
            agent_name=agent.display_name,
            note=note or None,
            agent_messages=tuple(e.text for e in transcript if e.role == "agent" and e.at >= since),
            notes=tuple(n.text for n in await self._queue.notes(ticket.id)),
            assigned_at=ticket.assigned_at,
            returned_at=now,
        )
        # The bot takes the conversation back first: if that fails the agent still holds it and can retry.
        await self._call(self._gateway.on_handback(conversation_id, summary))
        returned = await self._queue.handback(ticket.id, agent.id, at=now)
        await self._audit.record(agent.id, "ticket.handback", conversation_id, {"ticket_id": ticket.id})
        await self._notify_status(
            conversation_id, "returned", {"ticket_id": ticket.id, "agent_name": agent.display_name}
        )
        await self._changed()
        return returned

    async def close(
        self, agent_id: AgentId, conversation_id: ConversationId, disposition: Disposition
    ) -> Ticket:
        """End the chat, free the agent's capacity, tell the customer and ask for a rating."""
        if disposition is Disposition.ABANDONED:
            raise InvalidTransition("agents close with resolved, follow_up or unresolved")
        agent, ticket = await self._assigned(agent_id, conversation_id)
        closed = await self._queue.close(ticket.id, by=agent.id, disposition=disposition, at=self._clock())
        details = {"ticket_id": ticket.id, "disposition": disposition.value}
        await self._audit.record(agent.id, "ticket.closed", conversation_id, details)
        await self._notify_status(
            conversation_id,
            "closed",
            {
                "ticket_id": ticket.id,
                "agent_name": agent.display_name,
                "csat": {"requested": True, "scale": [1, 5]},
            },
        )
        await self._changed()
        return closed

    @asynccontextmanager
    async def connect(self, agent_id: AgentId) -> AsyncIterator[AgentSession]:
        """Register an agent socket on this process; its first frame is a queue snapshot."""
        agent = await self._directory.get(agent_id)
        async with self._relay.connect(agent) as session:
            yield session

    # -- internals ----------------------------------------------------------------------

    async def _placement(self, ticket: Ticket, now: datetime) -> Placement:
        if ticket.state is not TicketState.QUEUED:
            return Placement(ticket=ticket, position=None, eta_seconds=None)
        line = await self._line()
        return self._place(ticket, line, now)

    async def _line(self) -> _Line:
        return _Line(
            waiting=await self._queue.waiting(),
            handle_seconds=await self._queue.handle_times(),
            agents=await self._directory.all(),
        )

    def _place(self, ticket: Ticket, line: _Line, now: datetime) -> Placement:
        s = self._settings
        position = lane_position(ticket, line.waiting)
        eta = estimate_wait(
            position,
            handle_seconds=line.handle_seconds,
            slots=serving_slots(line.agents, ticket),
            default_handle_seconds=s.default_handle_seconds,
        )
        always_open = s.routing.route(
            reason=ticket.reason, topic=ticket.topic, tier=ticket.tier, language=ticket.language
        ).is_always_open
        opens_at = None
        if not s.hours.is_staffed(now, always_open=always_open):
            opens_at = s.hours.next_opening(now)
            eta += int((opens_at - now).total_seconds())
        return Placement(ticket=ticket, position=position, eta_seconds=eta, opens_at=opens_at)

    async def _announce_positions(self, left: Ticket) -> None:
        """Tell the customers who were behind a ticket that left the line (same lane) their new place."""
        line = await self._line()
        now = self._clock()
        for ticket in line.waiting:
            if same_lane(ticket, left) and (ticket.priority, ticket.created_at) >= (
                left.priority,
                left.created_at,
            ):
                placed = self._place(ticket, line, now)
                details = {
                    "ticket_id": ticket.id,
                    "position": placed.position,
                    "eta_seconds": placed.eta_seconds,
                }
                await self._notify_status(ticket.conversation_id, "queued", details)

    def _is_visible(self, agent: Agent, ticket: Ticket) -> bool:
        if agent.is_supervisor or ticket.assigned_to == agent.id:
            return True
        return ticket.state is TicketState.QUEUED and can_serve(agent, ticket)

    async def _open_ticket(self, conversation_id: ConversationId) -> Ticket:
        ticket = await self._queue.latest(conversation_id)
        if ticket is None or not ticket.is_open:
            raise TicketNotFound(conversation_id)
        return ticket

    async def _assigned(
        self, agent_id: AgentId, conversation_id: ConversationId, *, supervisors_too: bool = False
    ) -> tuple[Agent, Ticket]:
        agent = await self._directory.get(agent_id)
        ticket = await self._queue.latest(conversation_id)
        if ticket is not None and ticket.state is TicketState.ASSIGNED:
            if ticket.assigned_to == agent.id or (supervisors_too and agent.is_supervisor):
                return agent, ticket
        raise NotAssigned(agent.id, conversation_id)

    async def _read_context(self, agent: Agent, ticket: Ticket, *, via: str) -> ContextPackage:
        package = await self._queue.package(ticket.id)
        transcript = await self._transcript(ticket.conversation_id)
        notes = await self._queue.notes(ticket.id)
        # Audit before the package leaves the hub: no record, no read.
        await self._audit.record(
            agent.id, "context.read", ticket.conversation_id, {"ticket_id": ticket.id, "via": via}
        )
        return package.with_live(transcript=transcript, notes=notes)

    async def _transcript(self, conversation_id: ConversationId) -> list[TranscriptEntry] | None:
        try:
            return await self._call(self._gateway.transcript(conversation_id))
        except GatewayUnavailable:
            logger.warning("handoff.transcript_unavailable", extra={"conversation_id": conversation_id})
            return None

    async def _notify_status(
        self, conversation_id: ConversationId, status: CustomerStatus, details: JsonDict
    ) -> None:
        try:
            await self._call(self._gateway.post_status(conversation_id, status, details))
        except GatewayUnavailable:
            logger.warning(
                "handoff.status_not_delivered", extra={"conversation_id": conversation_id, "status": status}
            )

    async def _call(self, call: Awaitable[T]) -> T:
        """Run one call into the bot's gateway with a timeout; its failures become ``GatewayUnavailable``."""
        try:
            async with asyncio.timeout(self._settings.io_timeout_s):
                return await call
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the bot's code, any error: translated at this boundary
            raise GatewayUnavailable(f"conversation gateway failed: {type(exc).__name__}: {exc}") from exc

    async def _changed(self) -> None:
        await self._publish(TOPIC_QUEUE, {"type": "queue.changed"})

    async def _publish(self, topic: str, event: JsonDict) -> None:
        try:
            await self._bus.publish(topic, event)
        except BusUnavailable:
            # The state change is stored; consoles catch up on the next snapshot or context read.
            logger.warning("handoff.publish_failed", extra={"topic": topic})
