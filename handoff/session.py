"""``AgentSession``: one connected agent socket's outbox on this server process."""

from __future__ import annotations

import asyncio
import logging

from handoff.errors import SessionOverflow
from handoff.models import Agent, JsonDict

logger = logging.getLogger(__name__)

_OVERFLOW: JsonDict = {"type": "__overflow__"}


class AgentSession:
    """Frames waiting to be written to one agent socket.

    The hub pushes frames (queue snapshots, customer messages, escalations); the socket
    handler writes them in order with ``next_frame``. A socket that falls more than
    ``max_frames`` behind is given up on: ``next_frame`` raises ``SessionOverflow`` and the
    console reconnects, getting a fresh snapshot.
    """

    def __init__(self, agent: Agent, *, max_frames: int = 1000) -> None:
        self.agent = agent
        self._out: asyncio.Queue[JsonDict] = asyncio.Queue(max_frames)
        self._overflowed = False

    def send(self, frame: JsonDict) -> None:
        """Queue ``frame`` for the socket (never blocks)."""
        if self._overflowed:
            return
        try:
            self._out.put_nowait(frame)
        except asyncio.QueueFull:
            self._overflowed = True
            while not self._out.empty():
                self._out.get_nowait()
            self._out.put_nowait(_OVERFLOW)
            logger.warning("handoff.session.overflow", extra={"agent_id": self.agent.id})

    async def next_frame(self) -> JsonDict:
        """The next frame to write; raises ``SessionOverflow`` once the socket fell too far behind."""
        frame = await self._out.get()
        if frame is _OVERFLOW:
            raise SessionOverflow(f"agent {self.agent.id!r} socket fell behind")
        return frame

    def pending(self) -> int:
        """Frames queued and not yet written."""
        return self._out.qsize()
