"""A wired agent hub over real adapters (SQLite queue, in-memory bus) and fakes of the bot's protocols."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from handoff.bus.memory import InMemoryEventBus
from handoff.directory import demo_directory
from handoff.hub import AgentHub
from handoff.models import JsonDict
from handoff.queue.sqlite import SqliteHandoffQueue
from handoff.session import AgentSession
from handoff.testing import FakeAuditSink, FakeClock, FakeDraftChecker, FakeGateway

WAIT_S = 5.0


@dataclass
class HubEnv:
    hub: AgentHub
    queue: SqliteHandoffQueue
    bus: InMemoryEventBus
    gateway: FakeGateway
    drafts: FakeDraftChecker
    audit: FakeAuditSink
    clock: FakeClock
    path: Path

    @asynccontextmanager
    async def second_process(self) -> AsyncIterator[AgentHub]:
        """Another hub sharing the bus and the queue file, as a second server process would."""
        async with SqliteHandoffQueue(self.path) as queue:
            hub = AgentHub(
                queue=queue,
                bus=self.bus,
                gateway=self.gateway,
                drafts=self.drafts,
                audit=self.audit,
                directory=demo_directory(),
                clock=self.clock,
            )
            async with hub:
                yield hub


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[HubEnv]:
    clock = FakeClock()
    bus = InMemoryEventBus()
    queue = await SqliteHandoffQueue(tmp_path / "handoff.db").open()
    gateway = FakeGateway(clock)
    drafts = FakeDraftChecker()
    audit = FakeAuditSink()
    hub = AgentHub(
        queue=queue,
        bus=bus,
        gateway=gateway,
        drafts=drafts,
        audit=audit,
        directory=demo_directory(),
        clock=clock,
    )
    async with hub:
        yield HubEnv(
            hub=hub,
            queue=queue,
            bus=bus,
            gateway=gateway,
            drafts=drafts,
            audit=audit,
            clock=clock,
            path=tmp_path / "handoff.db",
        )
    await bus.close()
    await queue.aclose()


async def next_frame(session: AgentSession, type_: str | None = None) -> JsonDict:
    """The next frame (of ``type_`` when given, skipping others) within a few seconds."""
    while True:
        frame = await asyncio.wait_for(session.next_frame(), WAIT_S)
        if type_ is None or frame["type"] == type_:
            return frame


async def queue_frame_where(session: AgentSession, predicate: object) -> JsonDict:
    """Skip queue snapshots until one satisfies ``predicate``."""
    while True:
        frame = await next_frame(session, "queue")
        if predicate(frame):  # type: ignore[operator]
            return frame
