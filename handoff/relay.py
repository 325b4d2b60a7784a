"""``AgentRelay``: the agent sockets connected to this server process, fed from the event bus.

Whatever process changes the queue or has something for an agent publishes it on the bus;
every process's relay delivers it to the sockets it holds. Queue snapshots are recomputed
per agent (filtered by skills) after every change; bursts of changes coalesce into one push.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Self

from handoff.errors import BusUnavailable
from handoff.models import Agent, AgentId, BusMessage, Clock, QueueEntry, QueueView, Ticket
from handoff.ports import EventBus, HandoffQueue
from handoff.protocol import queue_frame
from handoff.routing import can_serve, lane_position
from handoff.session import AgentSession
from handoff.topics import AGENT_TOPIC_PATTERN, TOPIC_QUEUE, TOPIC_SUPERVISORS, agent_of

logger = logging.getLogger(__name__)


async def agent_view(queue: HandoffQueue, agent: Agent, waiting: list[Ticket], now: datetime) -> QueueView:
    """The waiting tickets ``agent`` may take (in queue order, with lane positions) and the ones they hold."""
    items = tuple(
        QueueEntry(
            ticket=t,
            position=lane_position(t, waiting),
            waiting_s=max(0, int((now - t.created_at).total_seconds())),
        )
        for t in waiting
        if can_serve(agent, t)
    )
    return QueueView(items=items, assigned=tuple(await queue.assigned_to(agent.id)))


class AgentRelay:
    """Owns this process's agent sessions and the bus subscription that feeds them."""

    def __init__(
        self, *, bus: EventBus, queue: HandoffQueue, clock: Clock, max_frames: int, ready_timeout_s: float
    ) -> None:
        self._bus = bus
        self._queue = queue
        self._clock = clock
        self._max_frames = max_frames
        self._ready_timeout_s = ready_timeout_s
        self._sessions: dict[AgentId, set[AgentSession]] = {}
        self._dirty = asyncio.Event()
        self._ready = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Subscribe and start pushing; returns once the subscription is live."""
        self._runner = asyncio.create_task(self._run(), name="handoff-relay")
        ready = asyncio.create_task(self._ready.wait())
        await asyncio.wait(
            {ready, self._runner}, timeout=self._ready_timeout_s, return_when="FIRST_COMPLETED"
        )
        ready.cancel()
        if not self._ready.is_set():
            await self.stop()
            raise BusUnavailable("the agent relay could not subscribe to the event bus in time")

    async def stop(self) -> None:
        """Stop the background tasks."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        runner.cancel()
        await asyncio.wait({runner})  # never raises: our own cancellation still propagates
        if not runner.cancelled() and runner.exception() is not None:
            logger.error("handoff.relay.failed", exc_info=runner.exception())

    @asynccontextmanager
    async def connect(self, agent: Agent) -> AsyncIterator[AgentSession]:
        """Register a socket for ``agent``; its first frame is a queue snapshot."""
        if self._runner is None:
            raise RuntimeError("start the agent hub before connecting agents")
        session = AgentSession(agent, max_frames=self._max_frames)
        self._sessions.setdefault(agent.id, set()).add(session)
        try:
            view = await agent_view(self._queue, agent, await self._queue.waiting(), self._clock())
            session.send(queue_frame(view).dump())
            yield session
        finally:
            sessions = self._sessions.get(agent.id, set())
            sessions.discard(session)
            if not sessions:
                self._sessions.pop(agent.id, None)

    def connected(self) -> list[AgentId]:
        """Agents with at least one socket on this process."""
        return list(self._sessions)

    async def _run(self) -> None:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._listen())
            tasks.create_task(self._push_forever())

    async def _listen(self) -> None:
        delay = 0.1
        while True:
            try:
                async with self._bus.subscribe(TOPIC_QUEUE, TOPIC_SUPERVISORS, AGENT_TOPIC_PATTERN) as stream:
                    self._ready.set()
                    delay = 0.1
                    self._dirty.set()  # anything missed while not subscribed: push fresh snapshots
                    async for message in stream:
                        self._dispatch(message)
                return  # the bus was closed
            except BusUnavailable:
                logger.warning("handoff.relay.subscribe_failed", extra={"retry_in_s": delay})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    def _dispatch(self, message: BusMessage) -> None:
        if message.topic == TOPIC_QUEUE:
            self._dirty.set()
        elif message.topic == TOPIC_SUPERVISORS:
            for sessions in self._sessions.values():
                for session in sessions:
                    # An assigned supervisor also gets it on their own topic: once is enough.
                    if session.agent.is_supervisor and session.agent.id != message.event.get("assigned_to"):
                        session.send(message.event)
        elif (agent_id := agent_of(message.topic)) is not None:
            for session in self._sessions.get(AgentId(agent_id), ()):
                session.send(message.event)

    async def _push_forever(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()  # changes arriving while we compute set it again: bursts coalesce
            try:
                await self._push()
            except Exception:  # task root: one failed snapshot must not stop the next
                logger.exception("handoff.snapshot_failed")

    async def _push(self) -> None:
        if not self._sessions:
            return
        waiting = await self._queue.waiting()
        now = self._clock()
        for sessions in list(self._sessions.values()):
            if not sessions:
                continue
            agent = next(iter(sessions)).agent
            frame = queue_frame(await agent_view(self._queue, agent, waiting, now)).dump()
            for session in list(sessions):
                session.send(frame)
