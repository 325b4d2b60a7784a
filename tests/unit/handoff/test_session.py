"""Agent sessions, hub start-up and the bus topics the hub publishes on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from handoff.directory import DEMO_AGENTS, demo_directory
from handoff.errors import BusUnavailable, SessionOverflow
from handoff.hub import AgentHub
from handoff.models import BusMessage, JsonDict
from handoff.queue.sqlite import SqliteHandoffQueue
from handoff.session import AgentSession
from handoff.settings import HandoffSettings
from handoff.testing import FakeAuditSink, FakeDraftChecker, FakeGateway
from handoff.topics import TOPIC_QUEUE, TOPIC_SUPERVISORS, agent_of, agent_topic


async def test_session_delivers_in_order_then_gives_up_when_far_behind() -> None:
    session = AgentSession(DEMO_AGENTS[0], max_frames=3)
    for n in range(3):
        session.send({"n": n})
    assert [await session.next_frame() for _ in range(2)] == [{"n": 0}, {"n": 1}]
    for n in range(3, 6):
        session.send({"n": n})  # the fourth pending frame overflows
    with pytest.raises(SessionOverflow):
        await session.next_frame()
    session.send({"n": 99})  # ignored once overflowed
    assert session.pending() == 0


def test_topics_are_pinned() -> None:
    assert (TOPIC_QUEUE, TOPIC_SUPERVISORS, agent_topic("emily")) == ("queue", "supervisors", "agent.emily")
    assert agent_of("agent.emily") == "emily" and agent_of("conv.c1") is None


class DeadBus:
    """A bus whose subscriptions cannot be made."""

    async def publish(self, topic: str, event: JsonDict) -> None:
        raise BusUnavailable("down")

    @asynccontextmanager
    async def subscribe(self, topic_or_pattern: str, *more: str) -> AsyncIterator[AsyncIterator[BusMessage]]:
        raise BusUnavailable("down")
        yield  # pragma: no cover

    async def close(self) -> None:
        return None


async def test_hub_start_fails_when_the_bus_cannot_subscribe(tmp_path: Path) -> None:
    async with SqliteHandoffQueue(tmp_path / "h.db") as queue:
        hub = AgentHub(
            queue=queue,
            bus=DeadBus(),
            gateway=FakeGateway(),
            drafts=FakeDraftChecker(),
            audit=FakeAuditSink(),
            directory=demo_directory(),
            settings=HandoffSettings(io_timeout_s=0.2),
        )
        with pytest.raises(BusUnavailable):
            await hub.start()
        await hub.stop()
