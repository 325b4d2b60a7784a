"""AgentHub with real adapters and in-memory fakes of the bot's protocols."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from handoff.context import ActionRecord, Slot
from handoff.errors import (
    AgentAtCapacity,
    GatewayUnavailable,
    InvalidTransition,
    NotAssigned,
    NotVisible,
    TicketAlreadyClaimed,
    TicketNotFound,
    UnknownAgent,
)
from handoff.models import (
    AgentId,
    ConversationId,
    Disposition,
    HandoffReason,
    MessageBlocked,
    MessageSent,
    Priority,
    Skill,
    TicketState,
)
from handoff.testing import make_request
from tests.unit.handoff.conftest import HubEnv, next_frame, queue_frame_where

ZHANG, LI, EMILY, TOM, WANG, CHEN = (
    AgentId(a) for a in ("zhangmin", "liwei", "emily", "tom", "wangfang", "chenjing")
)
C1, C2 = ConversationId("c1"), ConversationId("c2")


def conversations(frame: dict) -> list[str]:
    return [item["conversation_id"] for item in frame["items"]]


async def test_hub_open_handoff_queues_on_the_same_call(env: HubEnv) -> None:
    env.gateway.add(C1, "customer", "年费能免吗")
    env.gateway.add(C1, "customer", "转人工")
    placed = await env.hub.open_handoff(make_request("c1", reason=HandoffReason.CUSTOMER_REQUEST))
    ticket = placed.ticket
    assert ticket.state is TicketState.QUEUED and not ticket.offline
    assert (ticket.priority, ticket.skills, ticket.language) == (Priority.P3, (Skill.GENERAL,), "zh")
    assert ticket.sla_deadline == env.clock.now + timedelta(seconds=300)
    assert placed.position == 1 and placed.eta_seconds is not None and placed.eta_seconds > 0
    assert [t.id for t in await env.queue.waiting()] == [ticket.id]
    package = await env.queue.package(ticket.id)
    assert [e.text for e in package.transcript] == ["年费能免吗", "转人工"]
    assert env.audit.actions("handoff.opened")[0].details["ticket_id"] == ticket.id


async def test_hub_open_handoff_is_idempotent_while_open(env: HubEnv) -> None:
    first = await env.hub.open_handoff(make_request("c1"))
    again = await env.hub.open_handoff(make_request("c1", reason=HandoffReason.FRUSTRATION))
    assert again.ticket.id == first.ticket.id and again.ticket.reason is HandoffReason.CUSTOMER_REQUEST
    assert len(await env.queue.waiting()) == 1
    assert len(env.audit.actions("handoff.opened")) == 1


async def test_hub_routes_high_risk_and_vip(env: HubEnv) -> None:
    fraud = await env.hub.open_handoff(
        make_request("c1", reason=HandoffReason.UNRECOGNISED_TRANSACTION, topic="fraud.dispute")
    )
    regulator = await env.hub.open_handoff(make_request("c2", reason=HandoffReason.REGULATOR_COMPLAINT))
    vip = await env.hub.open_handoff(make_request("c3", tier="diamond"))
    assert (fraud.ticket.priority, fraud.ticket.skills) == (Priority.P1, (Skill.RISK,))
    assert fraud.ticket.sla_deadline == env.clock.now + timedelta(seconds=60)
    assert (regulator.ticket.priority, regulator.ticket.skills) == (Priority.P1, (Skill.COMPLAINTS,))
    assert (vip.ticket.priority, vip.ticket.skills) == (Priority.P2, (Skill.SENIOR,))


async def test_hub_outside_hours_opens_an_offline_ticket_except_for_urgent_topics(env: HubEnv) -> None:
    env.clock.now = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai
    opens = datetime(2026, 11, 3, 0, 0, tzinfo=UTC)  # 08:00 next morning
    message = await env.hub.open_handoff(make_request("c1", topic="billing.annual_fee"))
    assert message.ticket.offline and message.opens_at == opens
    assert message.ticket.sla_deadline == opens + timedelta(seconds=300)
    assert message.eta_seconds is not None and message.eta_seconds >= 9 * 3600
    lost = await env.hub.open_handoff(make_request("c2", topic="card.lost_stolen"))
    assert not lost.ticket.offline and lost.opens_at is None
    assert lost.ticket.priority is Priority.P1


async def test_hub_offline_ticket_is_visible_to_agents_when_they_come_on(env: HubEnv) -> None:
    env.clock.now = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
    await env.hub.open_handoff(make_request("c1"))
    env.clock.now = datetime(2026, 11, 3, 0, 5, tzinfo=UTC)  # 08:05, Zhang Min logs in
    async with env.hub.connect(ZHANG) as session:
        frame = await next_frame(session, "queue")
    assert conversations(frame) == ["c1"] and frame["items"][0]["offline"] is True


async def test_hub_claim_returns_context_and_tells_the_customer(env: HubEnv) -> None:
    env.gateway.add(C1, "customer", "我的年费为什么没有免")
    request = make_request(
        "c1",
        slots=(Slot(name="card_last4", value="1234"),),
        actions=(ActionRecord(name="card.query", result="查询了年费状态", at=env.clock.now),),
    )
    placed = await env.hub.open_handoff(request)
    env.gateway.add(C1, "customer", "还在吗？")  # written while queued
    package = await env.hub.claim(ZHANG, C1)
    assert package.ticket_id == placed.ticket.id
    assert [e.text for e in package.transcript if e.role == "customer"] == [
        "我的年费为什么没有免",
        "还在吗？",
    ]
    assert package.slots == request.slots and package.actions == request.actions
    status = env.gateway.statuses[-1]
    assert (status.conversation_id, status.status, status.details["agent_name"]) == (C1, "assigned", "张敏")
    assert (await env.queue.get(placed.ticket.id)).assigned_to == ZHANG
    read = env.audit.actions("context.read")
    assert [(r.actor, r.target, r.details["via"]) for r in read] == [("zhangmin", "c1", "claim")]
    with pytest.raises(TicketAlreadyClaimed):
        await env.hub.claim(EMILY, C1)
    again = await env.hub.claim(ZHANG, C1)  # the same agent again, e.g. after a reconnect
    assert again.ticket_id == placed.ticket.id
    assert [s.status for s in env.gateway.statuses] == ["assigned"]  # the customer is told once


async def test_hub_claim_requires_matching_skills(env: HubEnv) -> None:
    await env.hub.open_handoff(make_request("c1"))  # zh, general
    with pytest.raises(NotVisible):
        await env.hub.claim(LI, C1)  # risk only
    with pytest.raises(NotVisible):
        await env.hub.claim(TOM, C1)  # English only
    with pytest.raises(UnknownAgent):
        await env.hub.claim(AgentId("ghost"), C1)
    with pytest.raises(TicketNotFound):
        await env.hub.claim(ZHANG, C2)
    assert (await env.hub.claim(CHEN, C1)).conversation_id == C1  # the supervisor may take anything


async def test_hub_claim_respects_capacity(env: HubEnv) -> None:
    for n in range(3):
        await env.hub.open_handoff(make_request(f"r{n}", reason=HandoffReason.UNRECOGNISED_TRANSACTION))
    await env.hub.claim(LI, ConversationId("r0"))
    await env.hub.claim(LI, ConversationId("r1"))
    with pytest.raises(AgentAtCapacity):
        await env.hub.claim(LI, ConversationId("r2"))  # capacity 2


async def test_hub_context_read_is_audited_and_limited_to_the_agents_queue(env: HubEnv) -> None:
    await env.hub.open_handoff(make_request("c1"))
    package = await env.hub.context(EMILY, C1)
    assert package.conversation_id == C1
    with pytest.raises(NotVisible):
        await env.hub.context(TOM, C1)
    assert [(r.actor, r.details["via"]) for r in env.audit.actions("context.read")] == [("emily", "read")]
    await env.hub.claim(ZHANG, C1)
    with pytest.raises(NotVisible):
        await env.hub.context(EMILY, C1)  # assigned to someone else now
    assert (await env.hub.context(CHEN, C1)).conversation_id == C1
    refused = [(r.actor, r.target, r.details["reason"]) for r in env.audit.actions("context.refused")]
    assert refused == [("tom", C1, "not_visible"), ("emily", C1, "not_visible")]


async def test_hub_a_read_of_a_conversation_without_a_ticket_is_refused_and_audited(env: HubEnv) -> None:
    with pytest.raises(TicketNotFound):
        await env.hub.context(EMILY, ConversationId("c_unknown"))
    assert [(r.actor, r.details["reason"]) for r in env.audit.actions("context.refused")] == [
        ("emily", "no_ticket")
    ]


async def test_hub_blocked_draft_never_reaches_the_customer(env: HubEnv) -> None:
    await env.hub.open_handoff(make_request("c1"))
    await env.hub.claim(ZHANG, C1)
    result = await env.hub.agent_message(ZHANG, C1, "我保证明天就退款")
    assert isinstance(result, MessageBlocked)
    assert [i.rule_id for i in result.issues] == ["no_guarantees"]
    assert env.gateway.messages == []
    assert (await env.queue.latest(C1)).first_response_at is None
    assert env.audit.actions("draft.blocked")[0].details == {"rules": ["no_guarantees"]}


async def test_hub_agent_message_reaches_customer_and_records_first_response(env: HubEnv) -> None:
    await env.hub.open_handoff(make_request("c1"))
    await env.hub.claim(ZHANG, C1)
    env.clock.advance(25)
    first = await env.hub.agent_message(ZHANG, C1, "您好，我是张敏，maybe 我先帮您查一下")
    assert isinstance(first, MessageSent) and first.is_first_response
    assert [w.rule_id for w in first.warnings] == ["hedging"]
    posted = env.gateway.messages[-1]
    assert (posted.conversation_id, posted.agent_name, posted.agent_id, posted.seq) == (
        C1,
        "张敏",
        ZHANG,
        first.seq,
    )
    assert (await env.queue.latest(C1)).first_response_at == env.clock.now
    second = await env.hub.agent_message(ZHANG, C1, "已为您核实")
    assert isinstance(second, MessageSent) and not second.is_first_response
    with pytest.raises(NotAssigned):
        await env.hub.agent_message(EMILY, C1, "hello")


async def test_hub_gateway_failure_is_reported_to_the_agent(env: HubEnv) -> None:
    await env.hub.open_handoff(make_request("c1"))
    await env.hub.claim(ZHANG, C1)

    async def broken(*args: object, **kwargs: object) -> int:
        raise ConnectionError("store down")

    env.gateway.post_to_customer = broken  # type: ignore[method-assign]
    with pytest.raises(GatewayUnavailable):
        await env.hub.agent_message(ZHANG, C1, "您好")
    assert (await env.queue.latest(C1)).first_response_at is None


async def test_hub_notes_never_reach_the_customer(env: HubEnv) -> None:
    await env.hub.open_handoff(make_request("c1"))
    await env.hub.claim(ZHANG, C1)
    before = (list(env.gateway.messages), list(env.gateway.statuses), list(env.gateway.transcripts[C1]))
    note = await env.hub.note(ZHANG, C1, "客户要求回电，已记录")
    assert (
        list(env.gateway.messages),
        list(env.gateway.statuses),
        list(env.gateway.transcripts[C1]),
    ) == before
    assert [n.text for n in (await env.hub.context(ZHANG, C1)).notes] == [note.text]
    assert "客户要求回电" not in str(env.audit.records)  # the audit trail keeps no note text
    await env.hub.note(CHEN, C1, "主管已阅")  # supervisors may add notes
    with pytest.raises(NotAssigned):
        await env.hub.note(EMILY, C1, "x")


async def test_hub_handback_tells_the_bot_what_the_agent_did(env: HubEnv) -> None:
    await env.hub.open_handoff(make_request("c1"))
    await env.hub.claim(ZHANG, C1)
    await env.hub.agent_message(ZHANG, C1, "年费已为您减免")
    await env.hub.note(ZHANG, C1, "已在核心系统减免年费")
    env.clock.advance(120)
    returned = await env.hub.handback(ZHANG, C1, note="年费已减免，请继续回答其他问题")
    assert returned.state is TicketState.RETURNED
    (summary,) = env.gateway.handbacks
    assert summary.agent_messages == ("年费已为您减免",)
    assert summary.notes == ("已在核心系统减免年费",)
    assert summary.note == "年费已减免，请继续回答其他问题"
    assert (summary.agent_id, summary.agent_name, summary.returned_at) == (ZHANG, "张敏", env.clock.now)
    assert env.gateway.statuses[-1].status == "returned"
    assert await env.queue.assigned_to(ZHANG) == []
    assert await env.queue.handle_times() == [pytest.approx(120.0)]


async def test_hub_handback_failure_leaves_the_chat_with_the_agent(env: HubEnv) -> None:
    await env.hub.open_handoff(make_request("c1"))
    await env.hub.claim(ZHANG, C1)

    async def broken(*args: object) -> None:
        raise RuntimeError("bot busy")

    env.gateway.on_handback = broken  # type: ignore[method-assign]
    with pytest.raises(GatewayUnavailable):
        await env.hub.handback(ZHANG, C1)
    assert (await env.queue.latest(C1)).state is TicketState.ASSIGNED


async def test_hub_close_frees_capacity_and_asks_for_csat(env: HubEnv) -> None:
    await env.hub.open_handoff(make_request("c1"))
    await env.hub.claim(ZHANG, C1)
    with pytest.raises(InvalidTransition):
        await env.hub.record_csat(C1, 5)
    closed = await env.hub.close(ZHANG, C1, Disposition.RESOLVED)
    assert closed.state is TicketState.CLOSED and closed.disposition is Disposition.RESOLVED
    status = env.gateway.statuses[-1]
    assert status.status == "closed" and status.details["csat"] == {"requested": True, "scale": [1, 5]}
    assert await env.queue.assigned_to(ZHANG) == []
    rated = await env.hub.record_csat(C1, 5, "很专业")
    assert (rated.csat, rated.csat_comment) == (5, "很专业")
    with pytest.raises(NotAssigned):
        await env.hub.close(ZHANG, C1, Disposition.RESOLVED)


async def test_hub_customer_message_reaches_agent_on_another_process(env: HubEnv) -> None:
    async with env.second_process() as other:
        await env.hub.open_handoff(make_request("c1"))
        async with other.connect(ZHANG) as session:
            await other.claim(ZHANG, C1)
            await env.hub.customer_message(C1, 7, "我的卡号尾号是1234")
            frame = await next_frame(session, "message")
    assert frame == {
        "type": "message",
        "conversation_id": "c1",
        "role": "customer",
        "text": "我的卡号尾号是1234",
        "seq": 7,
    }


async def test_hub_customer_message_while_queued_is_not_relayed(env: HubEnv) -> None:
    await env.hub.open_handoff(make_request("c1"))
    async with env.hub.connect(ZHANG) as session:
        await env.hub.customer_message(C1, 3, "在吗")
        await env.hub.claim(ZHANG, C1)
        await env.hub.customer_message(C1, 4, "你好")
        frame = await next_frame(session, "message")
    assert frame["seq"] == 4


async def test_hub_snapshots_are_filtered_by_skills_and_pushed_on_change(env: HubEnv) -> None:
    async with (
        env.hub.connect(ZHANG) as zhang,
        env.hub.connect(TOM) as tom,
        env.hub.connect(CHEN) as chen,
    ):
        assert conversations(await next_frame(zhang, "queue")) == []
        await env.hub.open_handoff(make_request("zh-general"))
        await env.hub.open_handoff(
            make_request("en-fraud", reason=HandoffReason.UNRECOGNISED_TRANSACTION, language="en")
        )
        z = await queue_frame_where(zhang, lambda f: len(f["items"]) >= 1)
        t = await queue_frame_where(tom, lambda f: len(f["items"]) >= 1)
        c = await queue_frame_where(chen, lambda f: len(f["items"]) == 2)
        assert conversations(z) == ["zh-general"]
        assert conversations(t) == ["en-fraud"]
        assert conversations(c) == ["en-fraud", "zh-general"]  # priority 1 first
        item = c["items"][0]
        assert {k: item[k] for k in ("priority", "reason", "skills", "language", "position")} == {
            "priority": 1,
            "reason": "unrecognised_transaction",
            "skills": ["risk"],
            "language": "en",
            "position": 1,
        }
        await env.hub.claim(ZHANG, ConversationId("zh-general"))
        z = await queue_frame_where(zhang, lambda f: f["assigned"])
        assert conversations(z) == [] and [a["conversation_id"] for a in z["assigned"]] == ["zh-general"]


async def test_hub_tells_customers_behind_their_new_position(env: HubEnv) -> None:
    await env.hub.open_handoff(make_request("c1"))
    env.clock.advance(1)
    second = await env.hub.open_handoff(make_request("c2"))
    assert second.position == 2
    await env.hub.claim(ZHANG, C1)
    update = [s for s in env.gateway.statuses if s.conversation_id == C2]
    assert [(s.status, s.details["position"]) for s in update] == [("queued", 1)]


async def test_hub_cancel_by_customer_informs_the_agent(env: HubEnv) -> None:
    await env.hub.open_handoff(make_request("c1"))
    async with env.hub.connect(ZHANG) as session:
        await env.hub.claim(ZHANG, C1)
        cancelled = await env.hub.cancel_handoff(C1)
        frame = await next_frame(session, "closed")
    assert cancelled is not None and cancelled.disposition is Disposition.ABANDONED
    assert frame["by"] == "customer" and frame["conversation_id"] == "c1"
    assert await env.queue.assigned_to(ZHANG) == []
    assert await env.hub.cancel_handoff(C1) is None


async def test_hub_placement_follows_the_ticket(env: HubEnv) -> None:
    assert await env.hub.placement(C1) is None
    await env.hub.open_handoff(make_request("c1"))
    assert (await env.hub.placement(C1)).position == 1
    await env.hub.claim(ZHANG, C1)
    placed = await env.hub.placement(C1)
    assert placed.position is None and placed.ticket.state is TicketState.ASSIGNED
