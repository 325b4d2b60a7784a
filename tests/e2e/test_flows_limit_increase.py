"""Limit increase over the real socket: calculator, amount, confirmation, the card system's decision."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

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
    fresh_customer,
    module_server,
    option,
    snapshot,
)
from tests.harness import LiveServer

FLOW = "limit_increase"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    yield from module_server(tmp_path_factory)


def today(server: LiveServer) -> date:
    return server.rt.cards.today()  # type: ignore[no-any-return]


def temp_limit(snap: dict[str, object]) -> tuple[object, object]:
    card = snap["cards"][0]  # type: ignore[index]
    return card["temp_limit"], card["temp_limit_until"]


async def test_temporary_increase_typed_zh_is_approved_in_three_steps(server: LiveServer) -> None:
    cid = await fresh_customer(server, "C001")
    chat = await Chat.open(server, cid, "zh")
    first = await chat.say("我想提额")
    assert_flow(first, FLOW, step="choose")
    (calc,) = cards_of(first, "info")
    assert ["当前额度", "¥30,000.00"] in calc["lines"] and ["临时额度最高", "¥45,000.00"] in calc["lines"]
    assert ["固定额度最高", "¥39,000.00"] in calc["lines"]
    assert any(line[0].startswith("近3个月消费") and line[1].count("¥") == 3 for line in calc["lines"])
    assert any("¥9,000.00" == line[1] for line in calc["lines"])  # 30% of the limit, the permanent rule
    (link,) = cards_of(first, "link")
    assert link["url"] == "app://card/limit-increase?card=K00101"
    confirm = await chat.say("临时提到4万，用30天")
    assert_flow(confirm, FLOW, step="confirm")
    assert "¥40,000.00" in confirm["text"] and "结果以审批为准" in confirm["text"]
    done = await chat.say("确认")
    assert_flow(done, FLOW, "completed")
    assert chat.sent <= 3
    until = today(server) + timedelta(days=30)
    assert "¥40,000.00" in done["text"] and "审批通过" in done["text"]
    assert temp_limit(await snapshot(server, cid)) == ("40000.00", until.isoformat())
    state = await conversation_state(server, chat.conversation_id)
    assert [a["kind"] for a in state["actions"]] == ["limit_increase_approved"]
    await chat.close()


async def test_temporary_increase_by_clicks_zh(server: LiveServer) -> None:
    cid = await fresh_customer(server, "C001")
    chat = await Chat.open(server, cid, "zh")
    first = await chat.say("我想提额")
    confirm = await chat.press(option(first, action="limit.pick", kind="temporary"))
    assert_flow(confirm, FLOW, step="confirm")
    assert ["申请额度", "¥45,000.00"] in cards_of(confirm, "confirm")[0]["lines"]
    done = await chat.press(confirm_button(confirm))
    assert_flow(done, FLOW, "completed")
    assert chat.sent == 3
    assert temp_limit(await snapshot(server, cid))[0] == "45000.00"
    await chat.close()


async def test_everything_said_up_front_goes_straight_to_the_confirmation_en(server: LiveServer) -> None:
    cid = await fresh_customer(server, "C004")
    chat = await Chat.open(server, cid, "en")
    confirm = await chat.say("I need a temporary increase to 100,000 for 60 days")
    assert_flow(confirm, FLOW, step="confirm")
    assert "¥100,000.00" in confirm["text"] and "60 days" in confirm["text"]
    done = await chat.say("yes")
    assert_flow(done, FLOW, "completed")
    assert chat.sent == 2
    until = today(server) + timedelta(days=60)
    assert "Approved" in done["text"]
    assert temp_limit(await snapshot(server, cid)) == ("100000.00", until.isoformat())
    await chat.close()


async def test_form_submit_en_and_only_the_eligible_kind_is_offered(server: LiveServer) -> None:
    cid = await fresh_customer(server, "C004")  # platinum, spends under 30% of the limit
    chat = await Chat.open(server, cid, "en")
    first = await chat.say("I want to raise my limit")
    assert_flow(first, FLOW, step="choose")
    assert "A permanent increase isn't possible now" in first["text"] and "30% of your limit" in first["text"]
    forms = cards_of(first, "form")
    assert [f["submit"]["values"]["kind"] for f in forms] == ["temporary"]
    assert [c["article_id"] for c in first["citations"]] == ["temporary-limit-increase"]  # the offered kind's rules
    amount, days = forms[0]["fields"]
    assert (amount["min"], amount["max"]) == (80001, 120000)
    assert [o[0] for o in days["options"]] == ["30", "60", "90"]
    confirm = await chat.press(forms[0]["submit"], amount=110000, days="90")
    assert_flow(confirm, FLOW, step="confirm")
    done = await chat.press(confirm_button(confirm))
    assert_flow(done, FLOW, "completed")
    assert chat.sent == 3
    assert temp_limit(await snapshot(server, cid))[0] == "110000.00"
    await chat.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_permanent_increase_is_a_case_decided_within_one_business_day(
    server: LiveServer, lang: str
) -> None:
    cid = await fresh_customer(server, "C001")
    chat = await Chat.open(server, cid, lang)
    first = await chat.say(
        "我想提高固定额度" if lang == "zh" else "I'd like a permanent increase of my credit limit"
    )
    assert_flow(first, FLOW, step="amount")
    confirm = await chat.press(option(first, action="limit.pick", kind="permanent"))
    done = await chat.press(confirm_button(confirm))
    assert_flow(done, FLOW, "completed")
    assert chat.sent == 3
    snap = await snapshot(server, cid)
    (case,) = snap["cases"]
    assert case["kind"] == "limit_increase" and case["status"] == "pending"
    assert case["details"]["requested_limit"] == "39000.00"
    assert case["id"] in done["text"]
    assert ("1个工作日" in done["text"]) if lang == "zh" else ("1 business day" in done["text"])
    assert Decimal(snap["cards"][0]["credit_limit"]) == 30000  # nothing changes before the decision
    # A second application while this one is pending is not offered.
    again = await chat.say(
        "我想提高固定额度" if lang == "zh" else "I'd like a permanent increase of my credit limit"
    )
    assert case["id"] in again["text"]
    assert not [f for f in cards_of(again, "form") if f["submit"]["values"]["kind"] == "permanent"]
    await chat.close()


@pytest.mark.parametrize(
    ("lang", "text", "why"),
    [
        ("zh", "我想提额", "最近6个月内有逾期还款记录；保持按时还款满6个月后可以再申请"),
        ("en", "Can I get a higher credit limit? I'd like to apply", "late payment in the last 6 months"),
    ],
)
async def test_late_payment_makes_both_kinds_ineligible_with_the_way_back(
    server: LiveServer, lang: str, text: str, why: str
) -> None:
    cid = await fresh_customer(server, "C006")
    before = effects(await snapshot(server, cid))
    chat = await Chat.open(server, cid, lang)
    reply = await chat.say(text)
    assert_flow(reply, FLOW, "failed")
    assert why in reply["text"]
    assert not cards_of(reply, "form") and not cards_of(reply, "confirm")
    assert effects(await snapshot(server, cid)) == before
    await chat.close()


@pytest.mark.parametrize(
    ("lang", "source", "ask", "amount"),
    [
        ("zh", "C001", "临时提到4万，用30天", "¥40,000.00"),
        ("en", "C004", "temporary increase to 100000 for 30 days please", "¥100,000.00"),
    ],
)
async def test_digression_at_the_confirmation_is_answered_then_the_card_comes_back(
    server: LiveServer, lang: str, source: str, ask: str, amount: str
) -> None:
    cid = await fresh_customer(server, source)
    chat = await Chat.open(server, cid, lang)
    confirm = await chat.say(ask)
    assert_flow(confirm, FLOW, step="confirm")
    side = await chat.say(DIGRESSION[lang])
    assert_digression_answered(side, "confirm", fid_of(confirm))
    assert amount in side["text"]
    done = await chat.press(confirm_button(side))
    assert_flow(done, FLOW, "completed")
    assert temp_limit(await snapshot(server, cid))[0] == amount.strip("¥").replace(",", "")
    await chat.close()


@pytest.mark.parametrize(("lang", "how"), [("zh", "取消"), ("en", "cancel"), ("zh", "click")])
async def test_cancel_at_the_confirmation_changes_nothing(server: LiveServer, lang: str, how: str) -> None:
    cid = await fresh_customer(server, "C001")
    before = effects(await snapshot(server, cid))
    chat = await Chat.open(server, cid, lang)
    confirm = await chat.say(
        "临时提到4万，用30天" if lang == "zh" else "temporary increase to 40000 for 30 days"
    )
    assert_flow(confirm, FLOW, step="confirm")
    bye = await chat.press(cancel_button(confirm)) if how == "click" else await chat.say(how)
    assert flow_status(bye) == "cancelled"
    assert effects(await snapshot(server, cid)) == before
    stale = await chat.press(confirm_button(confirm))
    assert_refused_as_stale(stale)
    assert effects(await snapshot(server, cid)) == before
    await chat.close()


def flow_status(reply: dict[str, object]) -> object:
    return (reply.get("meta") or {}).get("flow", {}).get("status")  # type: ignore[union-attr]


async def test_duplicated_confirmation_applies_once(server: LiveServer) -> None:
    cid = await fresh_customer(server, "C001")
    chat = await Chat.open(server, cid, "zh")
    confirm = await chat.say("临时提额到4万，30天")  # everything up front: straight to the confirmation
    assert_flow(confirm, FLOW, step="confirm")
    done, again = await duplicate_confirmation(server, chat, confirm_button(confirm))
    assert_flow(done, FLOW, "completed")
    (refused,) = again
    assert_refused_as_stale(refused)
    snap = await snapshot(server, cid)
    assert temp_limit(snap)[0] == "40000.00"
    assert [i["kind"] for i in snap["limit_increases"]] == ["temporary"]
    state = await conversation_state(server, chat.conversation_id)
    assert [a["kind"] for a in state["actions"]] == ["limit_increase_approved"]
    await chat.close()


async def test_amount_out_of_range_is_explained_and_the_flow_carries_on(server: LiveServer) -> None:
    cid = await fresh_customer(server, "C001")
    chat = await Chat.open(server, cid, "zh")
    reply = await chat.say("临时提到10万，用30天")
    assert_flow(reply, FLOW, step="amount")
    assert "最高¥45,000.00" in reply["text"]
    assert temp_limit(await snapshot(server, cid)) == (None, None)
    confirm = await chat.say("4万")
    assert_flow(confirm, FLOW, step="confirm")  # the days said before are kept
    assert "30天" in confirm["text"]
    days = await chat.say("120天")
    assert_flow(days, FLOW, step="amount")
    assert "30到90天" in days["text"]
    await chat.close()


async def test_card_system_rejection_leaves_no_change_and_the_flow_consistent(server: LiveServer) -> None:
    cid = await fresh_customer(server, "C001")
    chat = await Chat.open(server, cid, "zh")
    confirm = await chat.say("临时提到4万，用30天")
    assert_flow(confirm, FLOW, step="confirm")
    # Meanwhile the bank lowered the limit: ¥40,000 is now above what a temporary increase allows.
    doc = copy.deepcopy(await snapshot(server, cid))
    doc["cards"][0]["credit_limit"] = "20000.00"
    await server.call(lambda: server.rt.cards.add_customer_doc(doc))
    reply = await chat.press(confirm_button(confirm))
    assert_flow(reply, FLOW, step="amount")
    assert "¥30,000.00" in reply["text"]  # the new highest temporary limit
    snap = await snapshot(server, cid)
    assert temp_limit(snap) == (None, None) and not snap["limit_increases"]
    done = await chat.press(option(reply, action="limit.pick", kind="temporary"))
    done = await chat.press(confirm_button(done))
    assert_flow(done, FLOW, "completed")
    assert temp_limit(await snapshot(server, cid))[0] == "30000.00"
    await chat.close()
