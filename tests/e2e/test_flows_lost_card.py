"""Lost card over the real socket: frozen at once, then a replacement with its fee for the tier."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.test_flows_common import (
    DIGRESSION,
    Chat,
    assert_digression_answered,
    assert_flow,
    assert_refused_as_stale,
    conversation_state,
    duplicate_confirmation,
    fid_of,
    flow_of,
    fresh_customer,
    module_server,
    option,
    snapshot,
)
from tests.harness import LiveServer

FLOW = "lost_card"
ASK = {"zh": "我的卡丢了", "en": "I lost my card"}
SOURCE = {"zh": "C001", "en": "C004"}  # gold: express ¥30; platinum: express free


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    yield from module_server(tmp_path_factory)


async def assert_frozen_and_replaced(server: LiveServer, cid: str, delivery: str, delivery_fee: str) -> None:
    snap = await snapshot(server, cid)
    old, new = snap["cards"]
    assert old["status"] == "frozen" and old["replaced_by"] == new["id"] and new["status"] == "inactive"
    (rep,) = snap["replacements"]
    assert (rep["delivery"], rep["delivery_fee"]) == (delivery, delivery_fee)


@pytest.mark.parametrize(
    ("lang", "delivery", "fee"), [("zh", "加急寄送", "30.00"), ("en", "express please", "0.00")]
)
async def test_typed_report_freezes_at_once_and_orders_in_two_steps(
    server: LiveServer, lang: str, delivery: str, fee: str
) -> None:
    cid = await fresh_customer(server, SOURCE[lang])
    chat = await Chat.open(server, cid, lang)
    offer = await chat.say(ASK[lang])
    assert_flow(offer, FLOW, step="delivery")
    assert (await snapshot(server, cid))["cards"][0]["status"] == "frozen"  # before any question
    done = await chat.say(delivery)
    assert_flow(done, FLOW, "completed")
    assert chat.sent == 2
    await assert_frozen_and_replaced(server, cid, "express", fee)
    state = await conversation_state(server, chat.conversation_id)
    assert [a["kind"] for a in state["actions"]] == ["card_frozen", "replacement_ordered"]
    await chat.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_click_report_in_two_steps(server: LiveServer, lang: str) -> None:
    cid = await fresh_customer(server, SOURCE[lang])
    chat = await Chat.open(server, cid, lang)
    offer = await chat.say(ASK[lang])
    done = await chat.press(option(offer, action="lostcard.delivery", delivery="standard"))
    assert_flow(done, FLOW, "completed")
    assert chat.sent == 2
    await assert_frozen_and_replaced(server, cid, "standard", "0.00")
    await chat.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_digression_at_the_delivery_choice(server: LiveServer, lang: str) -> None:
    cid = await fresh_customer(server, SOURCE[lang])
    chat = await Chat.open(server, cid, lang)
    offer = await chat.say(ASK[lang])
    side = await chat.say(DIGRESSION[lang])
    assert_digression_answered(side, "choices", fid_of(offer))
    assert not (await snapshot(server, cid))["replacements"]
    done = await chat.press(option(side, action="lostcard.delivery", delivery="standard"))
    assert_flow(done, FLOW, "completed")
    await assert_frozen_and_replaced(server, cid, "standard", "0.00")
    await chat.close()


@pytest.mark.parametrize(("lang", "how"), [("zh", "取消"), ("en", "cancel")])
async def test_cancel_at_the_delivery_choice_orders_nothing_and_says_the_card_stays_frozen(
    server: LiveServer, lang: str, how: str
) -> None:
    cid = await fresh_customer(server, SOURCE[lang])
    chat = await Chat.open(server, cid, lang)
    offer = await chat.say(ASK[lang])
    bye = await chat.say(how)
    assert flow_of(bye)["status"] == "cancelled"
    snap = await snapshot(server, cid)
    assert snap["cards"][0]["status"] == "frozen" and not snap["replacements"] and len(snap["cards"]) == 1
    assert "frozen" in bye["text"] or "冻结" in bye["text"]  # truthful: the freeze already happened
    assert_refused_as_stale(await chat.press(option(offer, action="lostcard.delivery", delivery="standard")))
    assert not (await snapshot(server, cid))["replacements"]
    await chat.close()


async def test_duplicated_report_and_delivery_choice_freeze_once_and_order_once(server: LiveServer) -> None:
    cid = await fresh_customer(server, "C001")
    chat = await Chat.open(server, cid, "zh")
    first = await chat.client.say(ASK["zh"])
    await chat.client.say(ASK["zh"], client_msg_id=first)
    second = await chat.client.say(ASK["zh"])
    seqs = await chat.acks(first, 2)
    assert seqs[0] == seqs[1]
    offer = await chat.reply_to(seqs[0])
    again = await chat.reply_to(await chat.ack(second))
    assert flow_of(again)["id"] == FLOW  # the report again: the same flow, the card already frozen
    done, late = await duplicate_confirmation(
        server, chat, option(again, action="lostcard.delivery", delivery="standard")
    )
    assert_flow(done, FLOW, "completed")
    (refused,) = late
    assert_refused_as_stale(refused)
    assert fid_of(offer) == fid_of(again)
    await assert_frozen_and_replaced(server, cid, "standard", "0.00")
    state = await conversation_state(server, chat.conversation_id)
    assert [a["kind"] for a in state["actions"]] == ["card_frozen", "replacement_ordered"]
    await chat.close()
