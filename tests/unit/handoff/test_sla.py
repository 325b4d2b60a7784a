"""SLA monitor: first-response targets per priority, escalations once, with a fake clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta

import pytest

from handoff.models import AgentId, ConversationId, HandoffReason, Priority
from handoff.settings import HandoffSettings, SlaTargets
from handoff.sla import SlaMonitor
from handoff.testing import make_request
from tests.unit.handoff.conftest import HubEnv, next_frame

WAIT_S = 5.0


def monitor(env: HubEnv) -> SlaMonitor:
    return SlaMonitor(queue=env.queue, bus=env.bus, audit=env.audit, clock=env.clock)


async def test_sla_breach_escalates_to_supervisors_once(env: HubEnv) -> None:
    placed = await env.hub.open_handoff(make_request("c1", reason=HandoffReason.UNRECOGNISED_TRANSACTION))
    sla = monitor(env)
    async with env.bus.subscribe("supervisors") as supervisors:
        env.clock.advance(60)
        assert await sla.tick() == []  # due now, not yet late
        env.clock.advance(1)
        (escalation,) = await sla.tick()
        frame = (await asyncio.wait_for(anext(supervisors), WAIT_S)).event
    assert escalation.ticket.id == placed.ticket.id and escalation.waited_s == 61
    assert frame["type"] == "escalation" and frame["conversation_id"] == "c1"
    assert (frame["priority"], frame["reason"], frame["assigned_to"], frame["waited_s"]) == (
        1,
        "unrecognised_transaction",
        None,
        61,
    )
    assert (await env.queue.get(placed.ticket.id)).sla_breached_at == env.clock.now
    assert [r.target for r in env.audit.actions("sla.breached")] == ["c1"]
    env.clock.advance(100)
    assert await sla.tick() == []  # recorded once


async def test_sla_targets_follow_priority(env: HubEnv) -> None:
    await env.hub.open_handoff(make_request("p1", reason=HandoffReason.REGULATOR_COMPLAINT))
    await env.hub.open_handoff(make_request("p2", tier="platinum"))
    await env.hub.open_handoff(make_request("p3"))
    sla = monitor(env)
    late = []
    for step in (61, 60, 180):
        env.clock.advance(step)
        late.append([e.ticket.conversation_id for e in await sla.tick()])
    assert late == [["p1"], ["p2"], ["p3"]]


def test_sla_targets_come_from_the_fee_schedule_config() -> None:
    service = {
        "timezone": "Asia/Shanghai",
        "agent_hours": {"start": "09:00", "end": "21:00"},
        "always_open_topics": ["card.lost_stolen"],
        "first_response_seconds": {1: 10, 2: 20, 3: 30},
    }
    settings = HandoffSettings.from_service_config(service, io_timeout_s=1.0)
    at = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
    assert settings.sla.deadline(Priority.P3, at) == at + timedelta(seconds=30)
    assert (settings.hours.start, settings.hours.end) == (time(9), time(21))
    assert settings.routing.always_open_topics == frozenset({"card.lost_stolen"})
    assert settings.io_timeout_s == 1.0
    with pytest.raises(ValueError):
        SlaTargets(first_response_seconds={Priority.P1: 10, Priority.P2: 20})


async def test_sla_no_breach_after_first_response(env: HubEnv) -> None:
    await env.hub.open_handoff(make_request("c1"))
    await env.hub.claim(AgentId("zhangmin"), ConversationId("c1"))
    env.clock.advance(100)
    await env.hub.agent_message(AgentId("zhangmin"), ConversationId("c1"), "您好")
    env.clock.advance(1000)
    assert await monitor(env).tick() == []


async def test_sla_breach_of_assigned_chat_reaches_the_agent_and_supervisor_sockets(env: HubEnv) -> None:
    await env.hub.open_handoff(make_request("c1"))
    async with (
        env.hub.connect(AgentId("zhangmin")) as agent,
        env.hub.connect(AgentId("chenjing")) as supervisor,
    ):
        await env.hub.claim(AgentId("zhangmin"), ConversationId("c1"))
        env.clock.advance(301)
        await monitor(env).tick()
        to_agent = await next_frame(agent, "escalation")
        to_supervisor = await next_frame(supervisor, "escalation")
    assert to_agent == to_supervisor
    assert to_agent["assigned_to"] == "zhangmin" and to_agent["conversation_id"] == "c1"


async def test_sla_run_loop_ticks_until_cancelled(env: HubEnv) -> None:
    await env.hub.open_handoff(make_request("c1"))
    env.clock.advance(301)
    slept: asyncio.Queue[float] = asyncio.Queue()
    gate = asyncio.Event()

    async def fake_sleep(seconds: float) -> None:
        slept.put_nowait(seconds)
        await gate.wait()

    runner = asyncio.create_task(
        SlaMonitor(
            queue=env.queue, bus=env.bus, audit=env.audit, clock=env.clock, interval_s=5, sleep=fake_sleep
        ).run()
    )
    assert await asyncio.wait_for(slept.get(), WAIT_S) == 5
    runner.cancel()
    with pytest.raises(asyncio.CancelledError):
        await runner
    assert len(env.audit.actions("sla.breached")) == 1
