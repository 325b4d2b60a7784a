"""The append-only audit log: who did what to which conversation, for everything the hub audits.

Audited today (``handoff/hub.py``, ``handoff/sla.py``, written by ``HandoffBridge.record``):
handoff.opened, ticket.claimed, context.read (claim, HTTP and ``context`` frame), draft.blocked,
note.added, ticket.handback, ticket.closed, csat.recorded, sla.breached. Side effects of the
assistant's flows (card freeze, installment plan, limit application, cases) are not audited
yet: see docs/security.md, "Known gaps".
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.harness import AgentClient, ChatClient, LiveServer, ShiftedClock, live_server, make_settings
from tests.security.scenario import hand_off


@pytest.fixture(scope="module")
def clock() -> ShiftedClock:
    return ShiftedClock(10)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, clock: ShiftedClock) -> Iterator[LiveServer]:
    settings = make_settings(tmp_path_factory.mktemp("var"), sla_check_interval_s=0.1)
    with live_server(settings, clock=clock) as s:
        yield s


async def audit(server: LiveServer, target: str | None = None) -> list[Any]:
    await server.call(server.rt.conversations.idle)
    entries = await server.call(server.rt.store.audit_log)
    return [e for e in entries if target is None or e.target == target]


def actions(entries: list[Any]) -> list[tuple[str, str]]:
    return [(e.actor, e.action) for e in entries]


async def agent(server: LiveServer, agent_id: str) -> AgentClient:
    a = AgentClient(server.ws, server.rt.tokens.mint(agent_id, "agent")[0])
    await a.connect()
    return a


async def test_handoff_claim_and_every_context_read_are_audited_with_the_agent(server: LiveServer) -> None:
    conversation_id = await hand_off(server, "C001", "zhangmin")
    entries = await audit(server, conversation_id)
    assert actions(entries) == [("assistant", "handoff.opened"), ("zhangmin", "ticket.claimed"),
                                ("zhangmin", "context.read")]
    opened, claimed, read = entries
    ticket_id = opened.details["ticket_id"]
    assert opened.details == {"ticket_id": ticket_id, "reason": "customer_request", "priority": 3}
    assert claimed.details == {"ticket_id": ticket_id}
    assert read.details == {"ticket_id": ticket_id, "via": "claim"}

    # The HTTP read, the supervisor's ``context`` frame: one record each, before the package leaves the hub.
    async with httpx.AsyncClient(base_url=server.http) as http:
        token = server.rt.tokens.mint("zhangmin", "agent")[0]
        r = await http.get(f"/api/v1/agent/conversations/{conversation_id}/context",
                           headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200
    supervisor = await agent(server, "chenjing")
    await supervisor.send({"type": "context", "conversation_id": conversation_id})
    await supervisor.until(lambda f: f["type"] == "context")
    await supervisor.close()
    reads = [e for e in await audit(server, conversation_id) if e.action == "context.read"]
    assert [(e.actor, e.details["via"]) for e in reads] == [("zhangmin", "claim"), ("zhangmin", "read"),
                                                            ("chenjing", "read")]
    assert all(e.created_at.tzinfo is not None for e in reads)


async def test_a_refused_context_read_is_audited_as_refused_not_as_a_read(server: LiveServer) -> None:
    conversation_id = await hand_off(server, "C001", "emily")
    before = await audit(server, conversation_id)
    async with httpx.AsyncClient(base_url=server.http) as http:
        token = server.rt.tokens.mint("tom", "agent")[0]
        r = await http.get(f"/api/v1/agent/conversations/{conversation_id}/context",
                           headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403
    added = (await audit(server, conversation_id))[len(before):]
    assert [(e.actor, e.action, e.details) for e in added] == [("tom", "context.refused", {"reason": "not_visible"})]


async def test_a_blocked_agent_draft_is_audited_with_its_rules_and_not_its_text(server: LiveServer) -> None:
    conversation_id = await hand_off(server, "C001", "emily")  # each agent holds at most 3 chats
    emily = await agent(server, "emily")
    draft = "请把您卡背面的CVV三位数字发给我核实"
    await emily.send({"type": "message", "conversation_id": conversation_id, "text": draft})
    blocked = await emily.until(lambda f: f["type"] in ("blocked", "ack"))
    assert blocked["type"] == "blocked"
    await emily.close()
    entry = next(e for e in await audit(server, conversation_id) if e.action == "draft.blocked")
    assert entry.actor == "emily"
    assert entry.details["rules"] == [r["rule_id"] for r in blocked["rules"]]
    assert "CVV" not in str(entry.details) and draft not in str(entry.details)


async def test_notes_hand_back_close_and_rating_are_audited(server: LiveServer) -> None:
    returned = await hand_off(server, "C001", "zhangmin")
    closed = await hand_off(server, "C001", "zhangmin")
    zhangmin, supervisor = await agent(server, "zhangmin"), await agent(server, "chenjing")
    await supervisor.send({"type": "note", "conversation_id": returned, "text": "客户身份已核实，尾号 1234"})
    await supervisor.until(lambda f: f["type"] == "noted")
    await zhangmin.send({"type": "handback", "conversation_id": returned, "note": "已处理"})
    await zhangmin.until(lambda f: f["type"] == "returned")
    await zhangmin.send({"type": "close", "conversation_id": closed, "disposition": "follow_up"})
    await zhangmin.until(lambda f: f["type"] == "closed")
    customer = ChatClient(server.ws, server.rt.tokens.mint("C001", "customer")[0])
    await customer.connect(conversation_id=closed)
    await customer.click("csat", {"rating": 4, "comment": "还行"})
    await customer.until(lambda f: f["type"] == "message" and f.get("role") == "bot" and "感谢" in f["text"])
    for c in (zhangmin, supervisor, customer):
        await c.close()

    tail = actions(await audit(server, returned))[-2:]
    assert tail == [("chenjing", "note.added"), ("zhangmin", "ticket.handback")]
    note = next(e for e in await audit(server, returned) if e.action == "note.added")
    assert set(note.details) == {"ticket_id", "chars"}  # the note's length, never its text
    entries = await audit(server, closed)
    assert actions(entries)[-2:] == [("zhangmin", "ticket.closed"), ("customer", "csat.recorded")]
    assert entries[-2].details["disposition"] == "follow_up" and entries[-1].details["rating"] == 4


async def test_a_missed_first_response_target_is_audited_by_the_sla_monitor(
    server: LiveServer, clock: ShiftedClock
) -> None:
    conversation_id = await hand_off(server, "C005", agent_id=None)
    clock.advance(301)  # past the 5-minute target of priority 3
    for _ in range(100):
        breached = [e for e in await audit(server, conversation_id) if e.action == "sla.breached"]
        if breached:
            break
        await asyncio.sleep(0.05)
    assert [(e.actor, e.action) for e in breached] == [("sla-monitor", "sla.breached")]


async def test_no_card_number_or_customer_text_in_any_audit_entry(server: LiveServer) -> None:
    customer = ChatClient(server.ws, server.rt.tokens.mint("C004", "customer")[0])
    await customer.connect()
    await customer.say("我的卡号是 6222 0212 3456 7890，我要转人工")
    await customer.until(lambda f: f.get("type") == "handoff")
    await customer.close()
    text = " ".join(f"{e.actor} {e.action} {e.target} {e.details}" for e in await audit(server))
    # the digits of the card number in any grouping; ids are hex, so a digit run inside one is not a card number
    assert not re.search(r"(?<![0-9a-f])\d{4}[ -]?\d{4}[ -]?\d{4}[ -]?\d{4}(?![0-9a-f])", text)
    assert "34567890" not in text.replace(" ", "")
    assert "卡号" not in text and "转人工" not in text and "已处理" not in text and "核实" not in text


def test_the_audit_log_refuses_updates_and_deletes(server: LiveServer) -> None:
    asyncio.run(hand_off(server, "C006", agent_id=None))  # at least one entry (the triggers act per row)
    db = sqlite3.connect(server.settings.db_path, timeout=10)
    try:
        assert db.execute("SELECT COUNT(*) FROM audit").fetchone()[0] > 0
        for sql in ("UPDATE audit SET actor = 'someone-else'", "DELETE FROM audit"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                db.execute(sql)
    finally:
        db.close()
