"""Disputes over the real socket: unrecognised charges go to the risk team; merchant problems open a case."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
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
    conversation_state,
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

FLOW = "dispute"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    yield from module_server(tmp_path_factory)


async def agent_context(server: LiveServer, agent_id: str, conversation_id: str) -> dict[str, Any]:
    """What an agent of the risk team reads when they open the chat."""
    async with httpx.AsyncClient(base_url=server.http) as http:
        token = (await http.post("/api/v1/demo/agent-token", json={"agent_id": agent_id})).json()["token"]
        r = await http.get(
            f"/api/v1/agent/conversations/{conversation_id}/context",
            headers={"Authorization": f"Bearer {token}"},
        )
        r.raise_for_status()
        data: dict[str, Any] = r.json()
        return data


async def assert_reported(server: LiveServer, chat: Chat, cid: str, done: dict[str, Any]) -> dict[str, Any]:
    """The fraud path's end: card frozen, one priority-1 fraud case, queued for the risk team."""
    assert_flow(done, FLOW, "handoff")
    snap = await snapshot(server, cid)
    assert snap["cards"][0]["status"] == "frozen"
    (case,) = snap["cases"]
    assert (case["kind"], case["priority"], case["status"]) == ("fraud", 1, "open")
    assert case["details"]["merchant"] == "GLOBAL DIGITAL SVCS" and case["details"]["amount"] == "4999.00"
    assert case["id"] in done["text"]
    queued = await chat.handoff("queued")
    assert queued["priority"] == 1 and queued["reason"] == "unrecognised_transaction"
    state = await conversation_state(server, chat.conversation_id)
    assert state["mode"] == "queued" and state["flow"] is None
    assert [a["kind"] for a in state["actions"]] == ["fraud_reported"]
    return case


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_unrecognised_charge_typed_freezes_reports_and_queues_for_risk(
    server: LiveServer, lang: str
) -> None:
    cid = await fresh_customer(server, "C007")
    chat = await Chat.open(server, cid, lang)
    listed = await chat.say(
        "有一笔交易不是我刷的" if lang == "zh" else "I see a charge on my card I don't recognise"
    )
    assert_flow(listed, FLOW, step="pick")
    (choices,) = cards_of(listed, "choices")
    first, second = choices["options"][:2]
    assert "GLOBAL DIGITAL SVCS" in first["label"] and "4,999.00" in first["label"]  # abroad: listed first
    assert "86.50" in second["label"]  # the second identical charge comes next
    confirm = await chat.say("第一笔" if lang == "zh" else "the first one")
    assert_flow(confirm, FLOW, step="confirm")
    done = await chat.say("确认" if lang == "zh" else "yes")
    assert chat.sent <= 3
    case = await assert_reported(server, chat, cid, done)
    assert ("10个工作日" if lang == "zh" else "10 business days") in done["text"]
    if lang == "zh":
        context = await agent_context(server, "liwei", chat.conversation_id)
        assert context["priority"] == 1 and "risk" in context["skills"]
        assert case["id"] in (context["reason_detail"] or "")
        assert [a["name"] for a in context["actions"]] == ["fraud_reported"]
        assert any(t["merchant"] == "GLOBAL DIGITAL SVCS" for t in context["transactions"])
    await chat.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_unrecognised_charge_by_clicks(server: LiveServer, lang: str) -> None:
    cid = await fresh_customer(server, "C007")
    chat = await Chat.open(server, cid, lang)
    listed = await chat.say("我的卡被盗刷了" if lang == "zh" else "There's a fraudulent charge on my card")
    confirm = await chat.press(option(listed, "GLOBAL DIGITAL SVCS", action="dispute.pick"))
    assert_flow(confirm, FLOW, step="confirm")
    done = await chat.press(confirm_button(confirm))
    assert chat.sent == 3
    await assert_reported(server, chat, cid, done)
    await chat.close()


async def test_naming_the_charge_up_front_takes_two_steps_en(server: LiveServer) -> None:
    cid = await fresh_customer(server, "C007")
    chat = await Chat.open(server, cid, "en")
    confirm = await chat.say("The 4999 charge from GLOBAL DIGITAL SVCS wasn't me")
    assert_flow(confirm, FLOW, step="confirm")
    done = await chat.press(confirm_button(confirm))
    assert chat.sent == 2
    await assert_reported(server, chat, cid, done)
    await chat.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_charged_twice_opens_a_merchant_dispute_with_its_45_day_timeline(
    server: LiveServer, lang: str
) -> None:
    cid = await fresh_customer(server, "C007")
    chat = await Chat.open(server, cid, lang)
    confirm = await chat.say("美团外卖扣了两次" if lang == "zh" else "美团外卖 charged me twice")
    assert_flow(confirm, FLOW, step="confirm")
    done = await chat.say("确认" if lang == "zh" else "yes")
    assert_flow(done, FLOW, "completed")
    assert chat.sent == 2
    snap = await snapshot(server, cid)
    (case,) = snap["cases"]
    assert case["kind"] == "merchant_dispute" and case["details"]["reason"] == "duplicate"
    assert case["details"]["amount"] == "86.50"
    today = server.rt.cards.today()
    assert case["due_by"] == (today + timedelta(days=45)).isoformat()
    assert case["id"] in done["text"] and "45" in done["text"]
    assert snap["cards"][0]["status"] == "active" and not chat.handoffs()
    await chat.close()


async def test_unclear_problem_is_asked_with_choices(server: LiveServer) -> None:
    cid = await fresh_customer(server, "C007")
    chat = await Chat.open(server, cid, "zh")
    listed = await chat.say("我想对一笔交易提出争议")
    assert_flow(listed, FLOW, step="pick")
    why = await chat.press(option(listed, "疑似重复", action="dispute.pick"))
    assert_flow(why, FLOW, step="reason")
    assert [o["values"]["reason"] for o in cards_of(why, "choices")[0]["options"]] == [
        "unrecognised",
        "duplicate",
        "refund",
        "not_received",
    ]
    confirm = await chat.say("退款一直没到账")
    assert_flow(confirm, FLOW, step="confirm")
    assert "退款未到账" in str(cards_of(confirm, "confirm")[0]["lines"])
    done = await chat.press(confirm_button(confirm))
    assert_flow(done, FLOW, "completed")
    (case,) = (await snapshot(server, cid))["cases"]
    assert case["kind"] == "merchant_dispute" and case["details"]["reason"] == "refund"
    await chat.close()


@pytest.mark.parametrize(
    ("lang", "text", "says"),
    [
        ("zh", "Wagas那笔238元的消费不是我刷的", ["9月", "60天"]),
        ("en", "The 238 Wagas charge wasn't me", ["60-day window", "75 days ago"]),
    ],
)
async def test_outside_the_60_day_window_is_said_with_the_posting_date_and_a_person_offered(
    server: LiveServer, lang: str, text: str, says: list[str]
) -> None:
    cid = await fresh_customer(server, "C009")
    before = effects(await snapshot(server, cid))
    chat = await Chat.open(server, cid, lang)
    reply = await chat.say(text)
    assert_flow(reply, FLOW, "failed")
    posted = server.rt.cards.today() - timedelta(days=75)
    if lang == "zh":
        assert f"{posted.month}月{posted.day}日" in reply["text"]
    else:
        assert posted.strftime("%b ") + str(posted.day) in reply["text"]
    assert all(s in reply["text"] for s in says if s != "9月"), reply["text"]
    assert option(reply, action="handoff.request")
    assert effects(await snapshot(server, cid)) == before
    await chat.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_digression_at_the_confirmation_then_report(server: LiveServer, lang: str) -> None:
    cid = await fresh_customer(server, "C007")
    chat = await Chat.open(server, cid, lang)
    confirm = await chat.say("4999那笔不是我刷的" if lang == "zh" else "The 4999 charge wasn't me")
    assert_flow(confirm, FLOW, step="confirm")
    side = await chat.say(DIGRESSION[lang])
    assert_digression_answered(side, "confirm", fid_of(confirm))
    assert (await snapshot(server, cid))["cards"][0]["status"] == "active"
    done = await chat.press(confirm_button(side))
    await assert_reported(server, chat, cid, done)
    await chat.close()


@pytest.mark.parametrize(("lang", "how"), [("zh", "取消"), ("en", "cancel"), ("en", "click")])
async def test_cancel_at_the_confirmation_changes_nothing(server: LiveServer, lang: str, how: str) -> None:
    cid = await fresh_customer(server, "C007")
    before = effects(await snapshot(server, cid))
    chat = await Chat.open(server, cid, lang)
    confirm = await chat.say("4999那笔不是我刷的" if lang == "zh" else "The 4999 charge wasn't me")
    bye = await chat.press(cancel_button(confirm)) if how == "click" else await chat.say(how)
    assert flow_of(bye)["status"] == "cancelled"
    assert effects(await snapshot(server, cid)) == before
    assert not chat.handoffs()
    await chat.close()


async def test_duplicated_confirmation_freezes_once_and_opens_one_case(server: LiveServer) -> None:
    cid = await fresh_customer(server, "C007")
    chat = await Chat.open(server, cid, "zh")
    confirm = await chat.say("4999那笔不是我刷的")
    done, again = await duplicate_confirmation(server, chat, confirm_button(confirm))
    await assert_reported(server, chat, cid, done)
    # The second confirmation arrives while the chat waits for a person: it goes to the queue, unanswered.
    assert again == []
    snap = await snapshot(server, cid)
    assert len(snap["cases"]) == 1
    assert len(chat.handoffs("queued")) == 1
    await chat.close()


async def test_a_charge_already_reported_is_not_reported_twice(server: LiveServer) -> None:
    cid = await fresh_customer(server, "C007")
    first = await Chat.open(server, cid, "zh")
    confirm = await first.say("美团外卖扣了两次")
    await first.press(confirm_button(confirm))
    await first.close()
    chat = await Chat.open(server, cid, "zh")
    again = await chat.say("美团外卖扣了两次")
    (case,) = (await snapshot(server, cid))["cases"]
    assert_flow(again, FLOW, "completed")
    assert case["id"] in again["text"] and "不需要重复提交" in again["text"]
    assert len((await snapshot(server, cid))["cases"]) == 1
    await chat.close()


async def test_lost_card_button_and_a_fraud_remark_in_a_lost_card_chat_lead_here(server: LiveServer) -> None:
    cid = await fresh_customer(server, "C007")
    chat = await Chat.open(server, cid, "zh")
    lost = await chat.say("我的卡丢了，好像还被盗刷了")
    assert_flow(lost, "lost_card", step="delivery")
    ordered = await chat.press(option(lost, action="lostcard.delivery", delivery="standard"))
    assert_flow(ordered, "lost_card", "completed")
    listed = await chat.press(option(ordered, action="flow.start", flow="dispute"))
    assert_flow(listed, FLOW, step="pick")
    confirm = await chat.press(option(listed, "GLOBAL DIGITAL SVCS", action="dispute.pick"))
    done = await chat.press(confirm_button(confirm))
    assert_flow(done, FLOW, "handoff")
    assert "已经是冻结状态" in done["text"]  # frozen by the loss report; not frozen twice
    snap = await snapshot(server, cid)
    assert [c["kind"] for c in snap["cases"]] == ["fraud"]
    assert (await chat.handoff("queued"))["priority"] == 1
    await chat.close()

    # Mid lost-card flow, a remark about a charge that wasn't the customer starts this flow.
    cid = await fresh_customer(server, "C007")
    chat = await Chat.open(server, cid, "zh")
    await chat.say("我的卡丢了")
    switched = await chat.say("还有一笔4999的交易不是我刷的")
    assert_flow(switched, FLOW, step="confirm")
    await chat.close()


async def test_stale_dispute_card_after_the_report_is_refused(server: LiveServer) -> None:
    cid = await fresh_customer(server, "C007")
    chat = await Chat.open(server, cid, "zh")
    listed = await chat.say("美团外卖扣了两次")
    done = await chat.press(confirm_button(listed))
    assert_flow(done, FLOW, "completed")
    stale = await chat.press(cancel_button(listed))
    assert_refused_as_stale(stale)
    await chat.close()
