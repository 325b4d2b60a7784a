"""One behaviour suite for the EventBus port, run unchanged in memory and on a real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from handoff.bus.memory import InMemoryEventBus
from handoff.bus.redis import RedisEventBus
from handoff.errors import BusUnavailable
from handoff.ports import EventBus
from tests.redis_server import own_redis_process

WAIT_S = 5.0


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[EventBus]:
    b: EventBus
    if request.param == "memory":
        b = InMemoryEventBus()
    else:
        url = request.getfixturevalue("redis_url")
        b = RedisEventBus(url, prefix=request.getfixturevalue("redis_prefix"), poll_s=0.05)
    yield b
    await b.close()


async def next_message(stream: AsyncIterator[object]) -> object:
    return await asyncio.wait_for(anext(stream), WAIT_S)


async def test_bus_delivers_event_with_its_topic(bus: EventBus) -> None:
    async with bus.subscribe("conv.c1") as stream:
        await bus.publish("conv.c1", {"type": "message", "text": "我的卡丢了", "seq": 3})
        msg = await next_message(stream)
    assert msg.topic == "conv.c1"
    assert msg.event == {"type": "message", "text": "我的卡丢了", "seq": 3}


async def test_bus_skips_topics_not_subscribed(bus: EventBus) -> None:
    async with bus.subscribe("conv.c1") as stream:
        await bus.publish("conv.c2", {"n": 1})
        await bus.publish("conv.c1x", {"n": 2})
        await bus.publish("conv.c1", {"n": 3})
        msg = await next_message(stream)
    assert msg.event == {"n": 3}


async def test_bus_pattern_subscription_matches_many_topics(bus: EventBus) -> None:
    async with bus.subscribe("agent.*") as stream:
        await bus.publish("queue", {"n": 0})
        await bus.publish("agent.emily", {"n": 1})
        await bus.publish("agent.tom", {"n": 2})
        first, second = await next_message(stream), await next_message(stream)
    assert (first.topic, first.event) == ("agent.emily", {"n": 1})
    assert (second.topic, second.event) == ("agent.tom", {"n": 2})


async def test_bus_one_subscription_takes_several_topics_and_patterns(bus: EventBus) -> None:
    async with bus.subscribe("queue", "supervisors", "agent.*") as stream:
        for topic in ("queue", "other", "supervisors", "agent.liwei"):
            await bus.publish(topic, {"t": topic})
        got = [(await next_message(stream)).topic for _ in range(3)]
    assert got == ["queue", "supervisors", "agent.liwei"]


async def test_bus_fans_out_to_every_subscriber(bus: EventBus) -> None:
    async with bus.subscribe("queue") as a, bus.subscribe("queue") as b:
        await bus.publish("queue", {"change": "enqueued"})
        got_a, got_b = await next_message(a), await next_message(b)
    assert got_a.event == got_b.event == {"change": "enqueued"}


async def test_bus_keeps_publish_order(bus: EventBus) -> None:
    async with bus.subscribe("conv.c1") as stream:
        for n in range(50):
            await bus.publish("conv.c1", {"n": n})
        got = [(await next_message(stream)).event["n"] for _ in range(50)]
    assert got == list(range(50))


async def test_bus_subscriber_misses_events_published_before_it_subscribed(bus: EventBus) -> None:
    await bus.publish("conv.c1", {"n": "before"})
    async with bus.subscribe("conv.c1") as stream:
        await bus.publish("conv.c1", {"n": "after"})
        msg = await next_message(stream)
    assert msg.event == {"n": "after"}


async def test_bus_subscribers_get_independent_copies(bus: EventBus) -> None:
    event = {"items": [1, 2]}
    async with bus.subscribe("queue") as a, bus.subscribe("queue") as b:
        await bus.publish("queue", event)
        got_a = await next_message(a)
        got_a.event["items"].append(3)
        got_b = await next_message(b)
    assert got_b.event == {"items": [1, 2]}
    assert event == {"items": [1, 2]}


async def test_bus_rejects_non_json_events_and_bad_topics(bus: EventBus) -> None:
    with pytest.raises(TypeError):
        await bus.publish("queue", {"when": object()})
    with pytest.raises(ValueError):
        await bus.publish("", {"n": 1})
    with pytest.raises(ValueError):
        await bus.publish("queue", {"big": "x" * 70_000})


async def test_bus_publish_after_subscription_left_is_harmless(bus: EventBus) -> None:
    async with bus.subscribe("conv.c1") as stream:
        await bus.publish("conv.c1", {"n": 1})
        assert (await next_message(stream)).event == {"n": 1}
    await bus.publish("conv.c1", {"n": 2})
    async with bus.subscribe("conv.c1") as again:
        await bus.publish("conv.c1", {"n": 3})
        assert (await next_message(again)).event == {"n": 3}


async def test_bus_close_ends_iteration(bus: EventBus) -> None:
    async with bus.subscribe("queue") as stream:
        reader = asyncio.create_task(anext(stream))
        await bus.close()
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(reader, WAIT_S)


@pytest.mark.redis
async def test_redis_bus_resubscribes_after_redis_restart(redis_prefix: str) -> None:
    server = own_redis_process()
    reconnected = asyncio.Event()
    bus = RedisEventBus(
        server.url,
        prefix=redis_prefix,
        poll_s=0.05,
        backoff_initial_s=0.01,
        backoff_max_s=0.2,
        timeout_s=1.0,
        on_reconnect=reconnected.set,
    )
    try:
        async with bus.subscribe("conv.c1", "agent.*") as stream:
            await bus.publish("conv.c1", {"n": 1})
            assert (await next_message(stream)).event == {"n": 1}
            reader = asyncio.create_task(anext(stream))
            await asyncio.to_thread(server.restart)
            await asyncio.wait_for(reconnected.wait(), 15)
            await bus.publish("agent.tom", {"n": 2})
            msg = await asyncio.wait_for(reader, WAIT_S)
            assert (msg.topic, msg.event) == ("agent.tom", {"n": 2})
            await bus.publish("conv.c1", {"n": 3})
            assert (await next_message(stream)).event == {"n": 3}
            server.stop()
            with pytest.raises(BusUnavailable):
                await bus.publish("conv.c1", {"n": 4})
    finally:
        await bus.close()
        server.stop()
