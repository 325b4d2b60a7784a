"""Scale-out: two hubs (two server processes) sharing one Redis for the queue and the bus."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import pytest

from handoff.bus.redis import RedisEventBus
from handoff.directory import demo_directory
from handoff.errors import TicketAlreadyClaimed
from handoff.hub import AgentHub
from handoff.models import AgentId, ConversationId
from handoff.queue.redis import RedisHandoffQueue
from handoff.testing import FakeAuditSink, FakeClock, FakeDraftChecker, FakeGateway, make_request
from tests.unit.handoff.conftest import next_frame, queue_frame_where

pytestmark = pytest.mark.redis


@asynccontextmanager
async def process(url: str, prefix: str, clock: FakeClock, gateway: FakeGateway) -> AsyncIterator[AgentHub]:
    async with AsyncExitStack() as stack:
        queue = await stack.enter_async_context(RedisHandoffQueue(url, prefix=prefix + "q:"))
        bus = RedisEventBus(url, prefix=prefix + "bus:", poll_s=0.05)
        stack.push_async_callback(bus.close)
        hub = AgentHub(
            queue=queue,
            bus=bus,
            gateway=gateway,
            drafts=FakeDraftChecker(),
            audit=FakeAuditSink(),
            directory=demo_directory(),
            clock=clock,
        )
        yield await stack.enter_async_context(hub)


async def test_scale_out_customer_on_one_process_agent_on_another(redis_url: str, redis_prefix: str) -> None:
    clock = FakeClock()
    gateway = FakeGateway(clock)
    async with (
        process(redis_url, redis_prefix, clock, gateway) as a,
        process(redis_url, redis_prefix, clock, gateway) as b,
    ):
        async with b.connect(AgentId("zhangmin")) as zhang, b.connect(AgentId("emily")) as emily:
            await a.open_handoff(make_request("c1"))
            await queue_frame_where(zhang, lambda f: [i["conversation_id"] for i in f["items"]] == ["c1"])
            results = await asyncio.gather(
                a.claim(AgentId("emily"), ConversationId("c1")),
                b.claim(AgentId("zhangmin"), ConversationId("c1")),
                return_exceptions=True,
            )
            winners = [r for r in results if not isinstance(r, BaseException)]
            assert len(winners) == 1
            assert all(isinstance(r, TicketAlreadyClaimed) for r in results if isinstance(r, BaseException))
            holder = (await a.placement(ConversationId("c1"))).ticket.assigned_to
            session = zhang if holder == "zhangmin" else emily
            await a.customer_message(ConversationId("c1"), 5, "还在吗")
            frame = await next_frame(session, "message")
    assert frame["text"] == "还在吗" and frame["seq"] == 5
    assert [s.status for s in gateway.statuses] == ["assigned"]
