"""The conversation service: store every customer input, acknowledge it, and run turns.

Sockets are thin; this is where the rules live:

* a customer input is stored (idempotent on ``client_msg_id``) before it is acknowledged;
* turns of one conversation run one at a time, in ``seq`` order, in a task the service
  owns, so a customer who disconnects mid-turn still gets the reply on reconnect;
* after a crash, inputs stored but not yet answered are processed when the customer
  comes back (``last_processed_seq`` in the state, ``reply_to`` on replies);
* every stored event is published on the bus topic ``conv.<id>``, which is how a socket
  on another server process sees agent messages and bot replies.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from bot.domain import Conversation, ConversationId, CustomerId, Event, JsonDict
from bot.errors import Forbidden, StateConflict
from bot.ports import ConversationStore
from bot.state import ConversationState

logger = logging.getLogger(__name__)

CUSTOMER_ROLE = "customer"


class Bus(Protocol):
    """What the service needs of the event bus (``handoff.EventBus`` satisfies it)."""

    async def publish(self, topic: str, event: JsonDict) -> None: ...


def conv_topic(conversation_id: str) -> str:
    """The bus topic carrying one conversation's frames."""
    return f"conv.{conversation_id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class CustomerInput:
    """One stored customer input: a text message or an action on a card."""

    seq: int
    kind: Literal["message", "action"]
    text: str = ""
    action_id: str | None = None
    values: JsonDict = field(default_factory=dict)

    @classmethod
    def from_event(cls, event: Event) -> CustomerInput:
        if event.type == "action":
            return cls(seq=event.seq, kind="action", action_id=event.data.get("action_id"),
                       values=dict(event.data.get("values") or {}), text=event.data.get("label", ""))
        return cls(seq=event.seq, kind="message", text=str(event.data.get("text", "")))


@dataclass(slots=True, kw_only=True)
class Turn:
    """What the engine sees for one customer input."""

    conversation: Conversation
    input: CustomerInput
    state: ConversationState
    locale: str


class TurnOutput:
    """How the engine speaks: streamed deltas, stored messages and handoff frames."""

    def __init__(self, service: ConversationService, conversation_id: ConversationId, reply_to: int) -> None:
        self._service = service
        self._conversation_id = conversation_id
        self.reply_to = reply_to
        self.sent: list[Event] = []

    async def delta(self, message_id: str, text: str) -> None:
        """A streamed piece of a reply (not stored; the final ``message`` is)."""
        await self._service.publish(self._conversation_id, {"type": "delta", "message_id": message_id, "text": text})

    async def typing(self, active: bool = True) -> None:
        await self._service.publish(self._conversation_id, {"type": "typing", "active": active})

    async def message(
        self,
        text: str,
        *,
        role: str = "bot",
        message_id: str | None = None,
        citations: Sequence[JsonDict] = (),
        cards: Sequence[JsonDict] = (),
        meta: JsonDict | None = None,
    ) -> Event:
        data: JsonDict = {
            "role": role,
            "message_id": message_id or new_message_id(),
            "text": text,
            "citations": list(citations),
            "cards": list(cards),
            "reply_to": self.reply_to,
        }
        if meta:
            data["meta"] = meta
        event = await self._service.append(self._conversation_id, "message", data)
        self.sent.append(event)
        return event

    async def handoff(self, status: str, **details: Any) -> Event:
        event = await self._service.append(self._conversation_id, "handoff", {"status": status, **details})
        self.sent.append(event)
        return event


class TurnEngine(Protocol):
    """Understand → decide → respond for one customer input (mutates ``turn.state``)."""

    async def handle(self, turn: Turn, out: TurnOutput) -> None: ...


class HumanChannel(Protocol):
    """Where customer inputs go while a person has the conversation (the agent hub)."""

    async def customer_message(self, conversation_id: str, seq: int, text: str) -> None: ...


def new_message_id() -> str:
    return f"m_{uuid.uuid4().hex[:16]}"


class ConversationService:
    """Stores inputs, runs turns in order, publishes every stored event."""

    def __init__(
        self,
        store: ConversationStore,
        bus: Bus,
        engine: TurnEngine,
        *,
        human: HumanChannel | None = None,
        inbound_filter: Callable[[str], str] = lambda text: text,
        max_concurrent_turns: int = 4,
    ) -> None:
        self.store = store
        self.bus = bus
        self.engine = engine
        self.human = human
        self._inbound_filter = inbound_filter
        # Admission control: at most this many turns compute at once. Inputs beyond it wait
        # (not runnable), so storing and acknowledging new messages is never queued behind a
        # backlog of turns when the process is saturated.
        self._turn_slots = asyncio.Semaphore(max_concurrent_turns)
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False

    # -- conversations -----------------------------------------------------------------------

    async def open_conversation(
        self, customer_id: str, locale: str, conversation_id: str | None
    ) -> tuple[Conversation, ConversationState]:
        """Resume the customer's conversation or start a new one; never another's."""
        if conversation_id:
            conv = await self.store.get_conversation(ConversationId(conversation_id))
            if conv is None or conv.customer_id != customer_id:
                raise Forbidden(f"conversation {conversation_id!r} is not this customer's")
        else:
            conv = await self.store.create_conversation(CustomerId(customer_id), locale)
        doc, _ = await self.store.load_state(conv.id)
        state = ConversationState.from_doc(doc)
        if state.last_processed_seq < conv.last_seq:
            self.kick(conv.id)  # inputs stored before a crash still get their answer
        return conv, state

    # -- inputs ------------------------------------------------------------------------------

    async def submit_message(self, conv: Conversation, client_msg_id: str, text: str) -> tuple[Event, bool]:
        """Store a customer message (card numbers and secrets masked first) and schedule its turn."""
        data = {"role": CUSTOMER_ROLE, "message_id": f"u_{client_msg_id}"[:120],
                "client_msg_id": client_msg_id, "text": self._inbound_filter(text)}
        return await self._submit(conv, "message", data, client_msg_id)

    async def submit_action(
        self, conv: Conversation, client_msg_id: str, action_id: str, values: JsonDict, label: str = ""
    ) -> tuple[Event, bool]:
        data = {"role": CUSTOMER_ROLE, "message_id": f"u_{client_msg_id}"[:120], "client_msg_id": client_msg_id,
                "action_id": action_id, "values": values, "label": label}
        return await self._submit(conv, "action", data, client_msg_id)

    async def _submit(self, conv: Conversation, type: str, data: JsonDict, cmid: str) -> tuple[Event, bool]:
        event, created = await self.store.append(conv.id, type, data, client_msg_id=cmid)
        if created:
            # The echo to the customer's other devices goes out from the turn task, so the
            # ack is not held up by it (a socket orders frames by seq anyway).
            self.kick(conv.id, echo=event.frame())
        return event, created

    # -- events ------------------------------------------------------------------------------

    async def append(self, conversation_id: ConversationId, type: str, data: JsonDict) -> Event:
        event, _ = await self.store.append(conversation_id, type, data)
        await self.publish(conversation_id, event.frame())
        return event

    async def publish(self, conversation_id: str, frame: JsonDict) -> None:
        try:
            await self.bus.publish(conv_topic(conversation_id), frame)
        except Exception:
            # The event is stored; a socket that misses it fetches it by seq.
            logger.warning("conversation.publish_failed", extra={"conversation_id": conversation_id}, exc_info=True)

    async def update_state(
        self, conversation_id: ConversationId, change: Callable[[ConversationState], Awaitable[None] | None]
    ) -> ConversationState:
        """Apply ``change`` to the stored state with compare-and-set, retrying on conflicts."""
        for _ in range(20):
            doc, version = await self.store.load_state(conversation_id)
            state = ConversationState.from_doc(doc)
            result = change(state)
            if asyncio.iscoroutine(result):
                await result
            try:
                await self.store.save_state(conversation_id, state.to_doc(), version)
                return state
            except StateConflict:
                await asyncio.sleep(0.005)
        raise StateConflict(f"conversation {conversation_id!r}: state kept changing")

    # -- turns -------------------------------------------------------------------------------

    def kick(self, conversation_id: str, *, echo: JsonDict | None = None) -> None:
        """Make sure the conversation's pending inputs get processed (once, in order)."""
        if self._closing:
            return
        task = asyncio.create_task(self._process(ConversationId(conversation_id), echo))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _process(self, conversation_id: ConversationId, echo: JsonDict | None = None) -> None:
        lock = self._locks.setdefault(conversation_id, asyncio.Lock())
        self._users[conversation_id] = self._users.get(conversation_id, 0) + 1
        try:
            if echo is not None:
                await self.publish(conversation_id, echo)
            async with lock:
                while True:
                    async with self._turn_slots:
                        if not await self._process_next(conversation_id):
                            break
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("conversation.turn_failed", extra={"conversation_id": conversation_id})
        finally:
            self._users[conversation_id] -= 1
            if self._users[conversation_id] == 0:
                del self._users[conversation_id]
                self._locks.pop(conversation_id, None)

    async def _process_next(self, conversation_id: ConversationId) -> bool:
        conv = await self.store.get_conversation(conversation_id)
        if conv is None:
            return False
        doc, version = await self.store.load_state(conversation_id)
        state = ConversationState.from_doc(doc)
        events = await self.store.events_after(conversation_id, state.last_processed_seq)
        pending = next((e for e in events if e.data.get("role") == CUSTOMER_ROLE), None)
        if pending is None:
            if events:
                await self._mark_processed(conversation_id, events[-1].seq)
            return False
        if any(e.data.get("reply_to") == pending.seq for e in events):
            # Answered before a crash, not yet marked: do not answer twice.
            await self._mark_processed(conversation_id, pending.seq)
            return True
        if state.mode in ("queued", "agent") and self.human is not None:
            text = pending.data.get("text") or pending.data.get("label") or ""
            await self.human.customer_message(conversation_id, pending.seq, str(text))
            await self._mark_processed(conversation_id, pending.seq)
            return True
        turn = Turn(conversation=conv, input=CustomerInput.from_event(pending), state=state, locale=conv.locale)
        out = TurnOutput(self, conversation_id, pending.seq)
        await self.engine.handle(turn, out)
        turn.state.last_processed_seq = max(turn.state.last_processed_seq, pending.seq)
        await self._save_after_turn(conversation_id, turn.state, version)
        return True

    async def _mark_processed(self, conversation_id: ConversationId, seq: int) -> None:
        def mark(state: ConversationState) -> None:
            state.last_processed_seq = max(state.last_processed_seq, seq)

        await self.update_state(conversation_id, mark)

    async def _save_after_turn(self, conversation_id: ConversationId, state: ConversationState, version: int) -> None:
        try:
            await self.store.save_state(conversation_id, state.to_doc(), version)
        except StateConflict:
            # Someone else (the agent hub, on any process) changed the state meanwhile: keep
            # their handoff fields, take the turn's result for everything else.
            def merge(latest: ConversationState) -> None:
                keep = {k: getattr(latest, k) for k in ("mode", "handoff", "agent_summary", "csat")}
                for name in ConversationState.model_fields:
                    setattr(latest, name, getattr(state, name))
                if latest.mode != "bot" or keep["mode"] != "bot":
                    for k, v in keep.items():
                        setattr(latest, k, v)

            await self.update_state(conversation_id, merge)

    async def idle(self) -> None:
        """Wait until every scheduled turn has finished (tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        self._closing = True
        await self.idle()
