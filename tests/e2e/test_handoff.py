"""Human handoff end to end: real customer and agent WebSockets against a real server."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness import (
    AgentClient,
    ChatClient,
    LiveServer,
    ShiftedClock,
    agent_token,
    demo_token,
    live_server,
    make_settings,
)


@pytest.fixture(scope="module")
def clock() -> ShiftedClock:
    return ShiftedClock(china_hour=10)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, clock: ShiftedClock) -> Iterator[LiveServer]:
    settings = make_settings(tmp_path_factory.mktemp("var"), sla_check_interval_s=0.1)
    with live_server(settings, clock=clock) as s:
        yield s


async def customer(server: LiveServer, cid: str, locale: str = "zh-CN") -> ChatClient:
    c = ChatClient(server.ws, await demo_token(server.http, cid), locale=locale)
    await c.connect()
    return c


async def agent(server: LiveServer, agent_id: str) -> AgentClient:
    a = AgentClient(server.ws, await agent_token(server.http, agent_id))
    await a.connect()
    return a


def is_handoff(status: str) -> Any:
    return lambda f: f.get("type") == "handoff" and f.get("status") == status


@pytest.mark.parametrize(
    ("cid", "locale", "text", "agent_id"),
    [("C001", "zh-CN", "转人工", "zhangmin"), ("C009", "en-US", "agent please, I want a real person", "emily")],
)
async def test_explicit_request_reaches_the_queue_on_the_same_turn_and_agent_talks_live(
    server: LiveServer, cid: str, locale: str, text: str, agent_id: str
) -> None:
    c = await customer(server, cid, locale)
    conv = c.welcome["conversation_id"]
    await c.ask("我的额度是多少" if locale == "zh-CN" else "what's my credit limit?")
    await c.say(text)
    ack = await c.until(lambda f: f["type"] == "ack")
    queued = await c.until(is_handoff("queued"))
    assert queued["reply_to"] == ack["seq"]  # on the very turn the customer asked
    assert queued["priority"] == 3 and queued["reason"] == "customer_request" and queued["position"] >= 1
    a = await agent(server, agent_id)
    item = await a.queued(conv)
    assert item["reason"] == "customer_request" and item["priority"] == 3
    assigned = await a.claim(conv)
    assert assigned["type"] == "assigned"
    ctx = assigned["context"]
    assert ctx["reason"] == "customer_request" and ctx["priority"] == 3
    assert any(text in line["text"] for line in ctx["transcript"])
    assert ctx["summary"]["zh"] and ctx["summary"]["en"]
    joined = await c.until(is_handoff("assigned"))
    assert joined["agent_name"] == a.welcome["display_name"]
    await a.send({"type": "message", "conversation_id": conv, "text": "您好，我来帮您。" if locale == "zh-CN"
                  else "Hi, I'm here to help.", "client_msg_id": "ag-1"})
    await a.until(lambda f: f["type"] == "ack")
    got = await c.until(lambda f: f["type"] == "message" and f.get("role") == "agent")
    assert got["agent_name"] == a.welcome["display_name"]
    await c.say("谢谢，我想问下额度")
    relayed = await a.until(lambda f: f["type"] == "message" and f.get("role") == "customer")
    assert relayed["conversation_id"] == conv and "额度" in relayed["text"]
    await a.send({"type": "close", "conversation_id": conv, "disposition": "resolved"})
    await a.until(lambda f: f["type"] == "closed")
    await c.close()
    await a.close()


async def test_vip_customer_gets_priority_2_and_the_senior_skill(server: LiveServer) -> None:
    c = await customer(server, "C002")
    await c.say("我要人工客服")
    queued = await c.until(is_handoff("queued"))
    assert queued["priority"] == 2
    a = await agent(server, "emily")
    item = await a.queued(c.welcome["conversation_id"])
    assert "senior" in item["skills"] and item["tier"] == "platinum"
    await c.close()
    await a.close()


async def test_regulator_complaint_is_priority_1_with_a_complaint_case(server: LiveServer) -> None:
    c = await customer(server, "C003")
    await c.say("你们乱收费，我要投诉到银保监会！")
    queued = await c.until(is_handoff("queued"))
    reply = await c.until(lambda f: f["type"] == "message" and f.get("role") == "bot")
    assert queued["priority"] == 1 and queued["reason"] == "regulator_complaint"
    assert "CS" in reply["text"]  # the complaint's case id is told at once
    state = await server.call(lambda: server.rt.cards.snapshot("C003"))
    assert any(case["kind"] == "complaint" and case["priority"] == 1 for case in state["cases"])
    await c.close()


async def test_clear_frustration_hands_off(server: LiveServer) -> None:
    c = await customer(server, "C006")
    await c.say("你们这是什么破服务？？？气死我了！！！")
    queued = await c.until(is_handoff("queued"))
    assert queued["reason"] == "frustration"
    await c.close()


async def test_fraud_goes_to_the_risk_queue_at_priority_1(server: LiveServer) -> None:
    c = await customer(server, "C007")
    await c.say("昨晚有一笔4999的交易不是我刷的，我的卡被盗刷了")
    # The dispute flow finds the transaction from the description (or lists them to pick
    # from) and asks the customer to confirm the report before it freezes the card.
    for _ in range(3):
        reply = await c.until(lambda f: f["type"] == "message" and f.get("role") == "bot" and f.get("cards"))
        confirm = next((card for card in reply["cards"] if card["type"] == "confirm"), None)
        if confirm is not None:
            await c.click(confirm["confirm"]["action_id"], confirm["confirm"]["values"])
            break
        option = next(o for card in reply["cards"] if card["type"] == "choices" for o in card["options"]
                      if "4,999" in o["label"])
        await c.click(option["action_id"], option["values"])
    queued = await c.until(is_handoff("queued"), timeout=30)
    assert queued["priority"] == 1 and queued["reason"] == "unrecognised_transaction"
    risk = await agent(server, "liwei")
    item = await risk.queued(c.welcome["conversation_id"])
    assert "risk" in item["skills"]
    state = await server.call(lambda: server.rt.cards.snapshot("C007"))
    assert state["cards"][0]["status"] == "frozen"
    assert any(case["kind"] == "fraud" and case["priority"] == 1 for case in state["cases"])
    await c.close()
    await risk.close()


async def test_hand_back_resumes_the_assistant_with_what_the_agent_did(server: LiveServer) -> None:
    c = await customer(server, "C008")
    conv = c.welcome["conversation_id"]
    await c.say("转人工")
    await c.until(is_handoff("queued"))
    a = await agent(server, "zhangmin")
    await a.queued(conv)
    assert (await a.claim(conv))["type"] == "assigned"
    await c.until(is_handoff("assigned"))
    await a.send({"type": "message", "conversation_id": conv, "text": "已为您核实，年费问题已登记。"})
    await a.until(lambda f: f["type"] == "ack")
    await a.send({"type": "handback", "conversation_id": conv, "note": "客户还想了解积分"})
    await a.until(lambda f: f["type"] == "returned")
    await c.until(is_handoff("returned"))
    back = await c.until(lambda f: f["type"] == "message" and f.get("role") == "bot")
    assert "AI" in back["text"] and "积分" in back["text"]
    reply = await c.ask("我有多少积分")
    assert reply["role"] == "bot" and "12,400" in reply["text"]
    events = await server.call(lambda: server.rt.store.events_after(conv, 0))
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    await c.close()
    await a.close()


async def test_close_asks_for_csat_and_records_it(server: LiveServer) -> None:
    c = await customer(server, "C005")
    conv = c.welcome["conversation_id"]
    await c.say("找真人")
    await c.until(is_handoff("queued"))
    a = await agent(server, "zhangmin")
    await a.queued(conv)
    await a.claim(conv)
    await a.send({"type": "close", "conversation_id": conv, "disposition": "resolved"})
    closed = await c.until(is_handoff("closed"))
    assert closed["csat"] is True
    await c.click("csat", {"rating": 5, "comment": "很好"})
    thanks = await c.reply()
    assert "感谢" in thanks["text"], thanks
    await server.call(server.rt.conversations.idle)
    records = await server.call(lambda: server.rt.store.records(["csat"]))
    assert any(r.conversation_id == conv and r.data["rating"] == 5 for r in records)
    await c.close()
    await a.close()


async def test_messages_written_while_waiting_reach_the_agent(server: LiveServer) -> None:
    c = await customer(server, "C004", "en-US")
    conv = c.welcome["conversation_id"]
    await c.say("I need a human agent")
    await c.until(is_handoff("queued"))
    await c.say("my card ending 4521 was charged twice at Trip.com")
    await c.until(lambda f: f["type"] == "ack" and f["seq"] > 3)
    a = await agent(server, "emily")
    await a.queued(conv)
    ctx = (await a.claim(conv))["context"]
    assert any("charged twice" in line["text"] for line in ctx["transcript"])
    await c.close()
    await a.close()


async def test_agent_draft_blocked_by_the_compliance_guard_never_reaches_the_customer(server: LiveServer) -> None:
    c = await customer(server, "C001")
    conv = c.welcome["conversation_id"]
    await c.say("人工")
    await c.until(is_handoff("queued"))
    a = await agent(server, "zhangmin")
    await a.queued(conv)
    await a.claim(conv)
    await a.send({"type": "message", "conversation_id": conv, "text": "请把您卡背面的CVV三位数字发给我核实"})
    blocked = await a.until(lambda f: f["type"] in ("blocked", "ack"))
    assert blocked["type"] == "blocked" and blocked["rules"]
    with pytest.raises(asyncio.TimeoutError):
        await c.until(lambda f: f["type"] == "message" and f.get("role") == "agent", timeout=1.0)
    await c.close()
    await a.close()


async def test_sla_breach_raises_an_escalation_to_supervisors(server: LiveServer, clock: ShiftedClock) -> None:
    supervisor = await agent(server, "chenjing")
    c = await customer(server, "C009", "en-US")
    conv = c.welcome["conversation_id"]
    await c.say("talk to a person please")
    await c.until(is_handoff("queued"))
    await supervisor.queued(conv)
    clock.advance(301)  # past the 5-minute first-response target of priority 3
    escalation = await supervisor.until(lambda f: f["type"] == "escalation" and f["conversation_id"] == conv)
    assert escalation["priority"] == 3
    await c.close()
    await supervisor.close()


async def test_two_agents_claiming_at_once_exactly_one_wins(server: LiveServer) -> None:
    c = await customer(server, "C001")
    conv = c.welcome["conversation_id"]
    await c.say("我要找人工")
    await c.until(is_handoff("queued"))
    first, second = await agent(server, "zhangmin"), await agent(server, "chenjing")
    await first.queued(conv)
    await second.queued(conv)
    results = await asyncio.gather(first.claim(conv), second.claim(conv))
    kinds = sorted(r["type"] for r in results)
    assert kinds == ["assigned", "error"]
    assert next(r for r in results if r["type"] == "error")["code"] == "already_claimed"
    await c.close()
    await first.close()
    await second.close()


async def test_context_package_carries_every_slot_and_action(server: LiveServer) -> None:
    """Context completeness: what the customer gave and what was done is in the package."""
    c = await customer(server, "C001")
    conv = c.welcome["conversation_id"]
    await c.ask("我的卡丢了")  # freezes the card at once
    reply = await c.ask("我想把京东3299那笔分12期")
    assert reply["role"] == "bot"
    await c.say("转人工")
    await c.until(is_handoff("queued"))
    a = await agent(server, "zhangmin")
    await a.queued(conv)
    ctx = (await a.claim(conv))["context"]
    slots = {s["name"]: s["value"] for s in ctx["slots"]}
    assert slots.get("periods") == "12" and slots.get("merchant") == "京东" and slots.get("amount") == "3299"
    assert any(act["name"] == "card_frozen" for act in ctx["actions"])
    intents = [i["intent"] for i in ctx["intents"]]
    assert "card.lost_stolen" in intents and "installment" in intents
    summary = ctx["summary"]["zh"]
    assert "冻结" in summary or "挂失" in summary
    assert "****" in str(ctx["customer"]["masked_id"]) or "*" in ctx["customer"]["masked_id"]
    await c.close()
    await a.close()


def test_concurrent_claims_on_redis(tmp_path: Path, redis_url: str, redis_prefix: str) -> None:
    """The same race on the scale-out backend (Redis queue and bus)."""

    async def race(server: LiveServer) -> list[str]:
        c = await customer(server, "C001")
        conv = c.welcome["conversation_id"]
        await c.say("转人工")
        await c.until(is_handoff("queued"))
        first, second = await agent(server, "zhangmin"), await agent(server, "chenjing")
        await first.queued(conv)
        await second.queued(conv)
        results = await asyncio.gather(first.claim(conv), second.claim(conv))
        for x in (c, first, second):
            await x.close()
        return sorted(r["type"] for r in results)

    settings = make_settings(tmp_path, redis_url=redis_url, redis_prefix=redis_prefix)
    with live_server(settings, clock=ShiftedClock(10)) as s:
        assert asyncio.run(race(s)) == ["assigned", "error"]
