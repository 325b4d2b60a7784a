"""Flows survive a server restart, one test per flow family.

One ``cardcare serve`` process takes every family to the middle of its flow (each with its
own seeded customer and conversation); the process is stopped and a new one started on the
same var dir; then each test reconnects with its conversation id and finishes the flow with
the card it was shown before the restart. Two process starts cover all families.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.e2e.test_flows_common import (
    Chat,
    Restartable,
    assert_flow,
    confirm_button,
    option,
)


@dataclass
class Midway:
    """Where a family's conversation was when the server stopped."""

    customer_id: str
    lang: str
    conversation_id: str
    last_seq: int
    sent: int
    reply: dict[str, Any]


async def installment(server: Restartable) -> Midway:
    return await _advance(server, "C002", "zh", ["我想把6800那笔消费分12期"], "confirm")


async def lost_card(server: Restartable) -> Midway:
    return await _advance(server, "C003", "zh", ["我的卡丢了"], "delivery")


async def limit_increase(server: Restartable) -> Midway:
    return await _advance(server, "C001", "zh", ["我想提额", "临时提到4万，用30天"], "confirm")


async def dispute(server: Restartable) -> Midway:
    return await _advance(server, "C007", "zh", ["有一笔交易不是我刷的"], "pick")


async def activation(server: Restartable) -> Midway:
    return await _advance(server, "C005", "en", ["activate my card"], "confirm")


async def autopay(server: Restartable) -> Midway:
    return await _advance(server, "C008", "zh", ["设置自动还款"], "choose")


async def replacement(server: Restartable) -> Midway:
    return await _advance(server, "C004", "en", ["my card is damaged, I need a replacement"], "delivery")


FAMILIES: dict[str, Callable[[Restartable], Awaitable[Midway]]] = {
    "installment": installment,
    "lost_card": lost_card,
    "limit_increase": limit_increase,
    "dispute": dispute,
    "activation": activation,
    "autopay": autopay,
    "card_replacement": replacement,
}


async def _advance(server: Restartable, cid: str, lang: str, texts: list[str], step: str) -> Midway:
    chat = await Chat.open(server, cid, lang)
    reply: dict[str, Any] = {}
    for text in texts:
        reply = await chat.say(text)
    assert (reply.get("meta") or {}).get("flow", {}).get("step") == step, reply
    await chat.close()
    return Midway(
        customer_id=cid,
        lang=lang,
        conversation_id=chat.conversation_id,
        last_seq=chat.client.last_seq,
        sent=chat.sent,
        reply=reply,
    )


@pytest.fixture(scope="module")
def restarted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Restartable, dict[str, Midway]]]:
    server = Restartable(tmp_path_factory.mktemp("restart") / "var").start()
    try:

        async def advance_all() -> dict[str, Midway]:
            return {name: await advance(server) for name, advance in FAMILIES.items()}

        midway = asyncio.run(advance_all())
        server.restart()
        yield server, midway
    finally:
        server.stop()


async def resume(server: Restartable, m: Midway) -> Chat:
    """Reconnect after the restart: the same conversation, and nothing happened in it meanwhile."""
    chat = await Chat.open(
        server, m.customer_id, m.lang, conversation_id=m.conversation_id, last_seq=m.last_seq
    )
    assert chat.client.welcome["conversation_id"] == m.conversation_id
    assert chat.client.welcome["seq"] == m.last_seq and chat.client.welcome["mode"] == "bot"
    chat.sent = m.sent
    return chat


async def test_installment_resumes_at_its_confirmation(
    restarted: tuple[Restartable, dict[str, Midway]],
) -> None:
    server, midway = restarted
    m = midway["installment"]
    chat = await resume(server, m)
    done = await chat.say("确认")  # typed: the flow's state, not only its card, came through
    assert_flow(done, "installment", "completed")
    assert chat.sent == 2
    (plan,) = (await server.state(m.customer_id))["plans"]
    assert (plan["principal"], plan["periods"]) == ("6800.00", 12)
    await chat.close()


async def test_lost_card_resumes_at_the_delivery_choice(
    restarted: tuple[Restartable, dict[str, Midway]],
) -> None:
    server, midway = restarted
    m = midway["lost_card"]
    chat = await resume(server, m)
    done = await chat.press(option(m.reply, action="lostcard.delivery", delivery="express"))
    assert_flow(done, "lost_card", "completed")
    state = await server.state(m.customer_id)
    assert state["cards"][0]["status"] == "frozen" and [r["delivery"] for r in state["replacements"]] == [
        "express"
    ]
    await chat.close()


async def test_limit_increase_resumes_at_its_confirmation(
    restarted: tuple[Restartable, dict[str, Midway]],
) -> None:
    server, midway = restarted
    m = midway["limit_increase"]
    chat = await resume(server, m)
    done = await chat.press(confirm_button(m.reply))
    assert_flow(done, "limit_increase", "completed")
    assert chat.sent == 3
    assert (await server.state(m.customer_id))["cards"][0]["temp_limit"] == "40000.00"
    await chat.close()


async def test_dispute_resumes_at_the_transaction_list(
    restarted: tuple[Restartable, dict[str, Midway]],
) -> None:
    server, midway = restarted
    m = midway["dispute"]
    chat = await resume(server, m)
    confirm = await chat.press(option(m.reply, "GLOBAL DIGITAL SVCS", action="dispute.pick"))
    done = await chat.press(confirm_button(confirm))
    assert_flow(done, "dispute", "handoff")
    assert chat.sent == 3
    queued = await chat.handoff("queued")
    assert queued["priority"] == 1
    state = await server.state(m.customer_id)
    assert state["cards"][0]["status"] == "frozen" and [c["kind"] for c in state["cases"]] == ["fraud"]
    await chat.close()


@pytest.mark.parametrize("family", ["activation", "autopay", "card_replacement"])
async def test_other_flows_resume_where_they_were(
    restarted: tuple[Restartable, dict[str, Midway]], family: str
) -> None:
    server, midway = restarted
    m = midway[family]
    chat = await resume(server, m)
    if family == "activation":
        done = await chat.press(confirm_button(m.reply))
    elif family == "autopay":
        done = await chat.press(
            confirm_button(await chat.press(option(m.reply, action="autopay.mode", mode="full")))
        )
    else:
        done = await chat.press(
            confirm_button(
                await chat.press(option(m.reply, action="replacement.delivery", delivery="standard"))
            )
        )
    assert_flow(done, family, "completed")
    card = (await server.state(m.customer_id))["cards"][0]
    assert {
        "activation": card["status"] == "active",
        "autopay": card["autopay"] == "full",
        "card_replacement": card["replaced_by"] is not None,
    }[family]
    await chat.close()
