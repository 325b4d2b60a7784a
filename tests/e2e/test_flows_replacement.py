"""Card replacement over the real socket: delivery with its fee for the tier, confirm, order once."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import timedelta

import pytest

from tests.e2e.test_flows_common import (
    DIGRESSION,
    Chat,
    assert_digression_answered,
    assert_flow,
    assert_refused_as_stale,
    cancel_button,
    cards_of,
    confirm_button,
    duplicate_confirmation,
    effects,
    fid_of,
    flow_of,
    fresh_customer,
    module_server,
    option,
    snapshot,
)
from tests.harness import LiveServer

FLOW = "card_replacement"
ASK = {"zh": "我的卡坏了要换卡", "en": "my card is damaged, I need a replacement"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    yield from module_server(tmp_path_factory)


async def only_replacement(server: LiveServer, cid: str) -> dict[str, object]:
    snap = await snapshot(server, cid)
    (rep,) = snap["replacements"]
    old, new = snap["cards"]
    assert old["replaced_by"] == new["id"] == rep["new_card_id"] and new["status"] == "inactive"
    return dict(rep)


async def test_gold_express_typed_zh_costs_the_delivery_fee(server: LiveServer) -> None:
    cid = await fresh_customer(server, "C001")
    chat = await Chat.open(server, cid, "zh")
    offer = await chat.say(ASK["zh"])
    assert_flow(offer, FLOW, step="delivery")
    assert "普通寄送5–7个工作日，免费" in offer["text"] and "加急寄送2–3个工作日，¥30.00" in offer["text"]
    assert "上海市浦东新区" in offer["text"] and "世纪大道" not in offer["text"]  # the address stays masked
    confirm = await chat.say("加急")
    assert_flow(confirm, FLOW, step="confirm")
    assert ["寄送费", "¥30.00"] in cards_of(confirm, "confirm")[0]["lines"]
    done = await chat.say("确认")
    assert_flow(done, FLOW, "completed")
    assert chat.sent == 3
    rep = await only_replacement(server, cid)
    assert (rep["delivery"], rep["fee"], rep["delivery_fee"]) == ("express", "0.00", "30.00")
    assert rep["tracking_no"] in done["text"]
    tracking = await chat.say("新卡到哪了")
    assert rep["tracking_no"] in tracking["text"]
    await chat.close()


async def test_standard_by_clicks_zh_is_free(server: LiveServer) -> None:
    cid = await fresh_customer(server, "C001")
    chat = await Chat.open(server, cid, "zh")
    offer = await chat.say(ASK["zh"])
    confirm = await chat.press(option(offer, action="replacement.delivery", delivery="standard"))
    done = await chat.press(confirm_button(confirm))
    assert_flow(done, FLOW, "completed")
    assert chat.sent == 3
    rep = await only_replacement(server, cid)
    assert (rep["fee"], rep["delivery_fee"]) == ("0.00", "0.00")
    await chat.close()


@pytest.mark.parametrize("how", ["typed", "click"])
async def test_platinum_express_is_free_en(server: LiveServer, how: str) -> None:
    cid = await fresh_customer(server, "C004")
    chat = await Chat.open(server, cid, "en")
    offer = await chat.say(ASK["en"])
    assert "Express: 2–3 business days, free" in offer["text"]
    if how == "typed":
        confirm = await chat.say("express please")
        done = await chat.say("yes")
    else:
        confirm = await chat.press(option(offer, action="replacement.delivery", delivery="express"))
        done = await chat.press(confirm_button(confirm))
    assert_flow(done, FLOW, "completed")
    assert chat.sent == 3
    rep = await only_replacement(server, cid)
    assert (rep["delivery"], rep["fee"], rep["delivery_fee"]) == ("express", "0.00", "0.00")
    await chat.close()


async def test_second_replacement_in_a_card_year_costs_the_fee(server: LiveServer) -> None:
    cid = await fresh_customer(server, "C001")
    doc = copy.deepcopy(await snapshot(server, cid))
    ordered = server.rt.cards.today() - timedelta(days=10)
    doc["replacements"] = [
        {
            "id": "R-earlier",
            "old_card_id": "K00100",
            "new_card_id": "K00101",
            "delivery": "standard",
            "fee": "0.00",
            "delivery_fee": "0.00",
            "status": "delivered",
            "ordered_on": ordered.isoformat(),
            "eta_from": ordered.isoformat(),
            "eta_to": ordered.isoformat(),
            "tracking_no": "SF0",
            "address_masked": "上海市浦东新区 ***",
        }
    ]
    await server.call(lambda: server.rt.cards.add_customer_doc(doc))
    chat = await Chat.open(server, cid, "zh")
    offer = await chat.say("卡片快过期了，想换张新卡")
    assert "普通寄送5–7个工作日，¥20.00" in offer["text"] and "加急寄送2–3个工作日，¥50.00" in offer["text"]
    confirm = await chat.press(option(offer, action="replacement.delivery", delivery="standard"))
    assert ["补卡费", "¥20.00"] in cards_of(confirm, "confirm")[0]["lines"]
    await chat.press(confirm_button(confirm))
    snap = await snapshot(server, cid)
    assert [r["fee"] for r in snap["replacements"]] == ["0.00", "20.00"]
    await chat.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_digression_at_the_confirmation(server: LiveServer, lang: str) -> None:
    cid = await fresh_customer(server, "C001")
    chat = await Chat.open(server, cid, lang)
    offer = await chat.say(ASK[lang])
    confirm = await chat.press(option(offer, action="replacement.delivery", delivery="standard"))
    side = await chat.say(DIGRESSION[lang])
    assert_digression_answered(side, "confirm", fid_of(confirm))
    assert not (await snapshot(server, cid))["replacements"]
    done = await chat.press(confirm_button(side))
    assert_flow(done, FLOW, "completed")
    await only_replacement(server, cid)
    await chat.close()


@pytest.mark.parametrize(("lang", "how"), [("zh", "取消"), ("en", "cancel"), ("en", "click")])
async def test_cancel_changes_nothing(server: LiveServer, lang: str, how: str) -> None:
    cid = await fresh_customer(server, "C001")
    before = effects(await snapshot(server, cid))
    chat = await Chat.open(server, cid, lang)
    offer = await chat.say(ASK[lang])
    confirm = await chat.press(option(offer, action="replacement.delivery", delivery="express"))
    bye = await chat.press(cancel_button(confirm)) if how == "click" else await chat.say(how)
    assert flow_of(bye)["status"] == "cancelled"
    assert effects(await snapshot(server, cid)) == before
    await chat.close()


async def test_duplicated_confirmation_orders_one_card_and_a_second_request_is_told_it_is_on_its_way(
    server: LiveServer,
) -> None:
    cid = await fresh_customer(server, "C001")
    chat = await Chat.open(server, cid, "zh")
    offer = await chat.say(ASK["zh"])
    confirm = await chat.press(option(offer, action="replacement.delivery", delivery="standard"))
    done, again = await duplicate_confirmation(server, chat, confirm_button(confirm))
    assert_flow(done, FLOW, "completed")
    (refused,) = again
    assert_refused_as_stale(refused)
    await only_replacement(server, cid)
    more = await chat.say("我的卡坏了，再换一张")
    assert_flow(more, FLOW, "completed")
    assert "已经在补发中" in more["text"]
    await only_replacement(server, cid)
    await chat.close()
