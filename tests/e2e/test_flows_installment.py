"""Purchase installments over the real socket: a quote with the APR, a period, a confirmation, one plan."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from bot.finance import fmt_money, installment_quote
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
    snapshot,
)
from tests.harness import LiveServer

FLOW = "installment"
# C001's ¥3,299.00 iPad at 京东 (zh) and C004's ¥7,450.00 Trip.com booking (en).
PURCHASE = {"zh": ("C001", Decimal("3299.00")), "en": ("C004", Decimal("7450.00"))}
ASK = {"zh": "我想把3299那笔消费分期", "en": "I'd like to split the 7450 purchase into installments"}
ASK_12 = {"zh": "我想把3299那笔分12期", "en": "split the 7450 purchase into 12 installments please"}
YES = {"zh": "确认", "en": "yes"}
LANGS = ["zh", "en"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    yield from module_server(tmp_path_factory)


def row_button(reply: dict[str, object], periods: int) -> dict[str, object]:
    (table,) = cards_of(reply, "table")  # type: ignore[arg-type]
    (row,) = [r for r in table["rows"] if r["cells"][0] == str(periods)]
    return dict(row["action"])


async def only_plan(server: LiveServer, cid: str, principal: Decimal, periods: int) -> dict[str, object]:
    snap = await snapshot(server, cid)
    (plan,) = snap["plans"]
    assert (Decimal(plan["principal"]), plan["periods"], plan["status"]) == (principal, periods, "active")
    return dict(plan)


@pytest.mark.parametrize("lang", LANGS)
async def test_typed_happy_path_in_two_steps(server: LiveServer, lang: str) -> None:
    source, principal = PURCHASE[lang]
    cid = await fresh_customer(server, source)
    chat = await Chat.open(server, cid, lang)
    confirm = await chat.say(ASK_12[lang])
    assert_flow(confirm, FLOW, step="confirm")
    quote = installment_quote(principal, 12, server.rt.extras["schedule"])
    assert fmt_money(quote.payment_per_period) in confirm["text"] and "14.31%" in confirm["text"]
    done = await chat.say(YES[lang])
    assert_flow(done, FLOW, "completed")
    assert chat.sent == 2
    plan = await only_plan(server, cid, principal, 12)
    assert Decimal(str(plan["payment_per_period"])) == quote.payment_per_period
    await chat.close()


@pytest.mark.parametrize("lang", LANGS)
async def test_click_happy_path_in_three_steps(server: LiveServer, lang: str) -> None:
    source, principal = PURCHASE[lang]
    cid = await fresh_customer(server, source)
    chat = await Chat.open(server, cid, lang)
    quote = await chat.say(ASK[lang])
    assert_flow(quote, FLOW, step="periods")
    (table,) = cards_of(quote, "table")
    assert [r["cells"][0] for r in table["rows"]] == ["3", "6", "12", "24"]
    assert [r["cells"][4] for r in table["rows"]] == ["13.45%", "14.26%", "14.31%", "14.54%"]
    assert [c["article_id"] for c in quote["citations"]] == ["installment-fees-apr"]  # how fees and APR work
    confirm = await chat.press(row_button(quote, 6))
    assert_flow(confirm, FLOW, step="confirm")
    done = await chat.press(confirm_button(confirm))
    assert_flow(done, FLOW, "completed")
    assert chat.sent == 3
    await only_plan(server, cid, principal, 6)
    await chat.close()


@pytest.mark.parametrize("lang", LANGS)
async def test_digression_at_the_confirmation(server: LiveServer, lang: str) -> None:
    source, principal = PURCHASE[lang]
    cid = await fresh_customer(server, source)
    chat = await Chat.open(server, cid, lang)
    confirm = await chat.say(ASK_12[lang])
    side = await chat.say(DIGRESSION[lang])
    assert_digression_answered(side, "confirm", fid_of(confirm))
    assert not (await snapshot(server, cid))["plans"]
    done = await chat.press(confirm_button(side))
    assert_flow(done, FLOW, "completed")
    await only_plan(server, cid, principal, 12)
    await chat.close()


@pytest.mark.parametrize(("lang", "how"), [("zh", "取消"), ("en", "cancel"), ("zh", "click")])
async def test_cancel_creates_no_plan(server: LiveServer, lang: str, how: str) -> None:
    source, _ = PURCHASE[lang]
    cid = await fresh_customer(server, source)
    before = effects(await snapshot(server, cid))
    chat = await Chat.open(server, cid, lang)
    confirm = await chat.say(ASK_12[lang])
    bye = await chat.press(cancel_button(confirm)) if how == "click" else await chat.say(how)
    assert flow_of(bye)["status"] == "cancelled"
    assert effects(await snapshot(server, cid)) == before
    await chat.close()


async def test_duplicated_confirmation_creates_one_plan(server: LiveServer) -> None:
    cid = await fresh_customer(server, "C001")
    chat = await Chat.open(server, cid, "zh")
    confirm = await chat.say(ASK_12["zh"])
    done, again = await duplicate_confirmation(server, chat, confirm_button(confirm))
    assert_flow(done, FLOW, "completed")
    (refused,) = again
    assert_refused_as_stale(refused)
    await only_plan(server, cid, Decimal("3299.00"), 12)
    state = await conversation_state(server, chat.conversation_id)
    assert [a["kind"] for a in state["actions"]] == ["installment_created"]
    await chat.close()


@pytest.mark.parametrize(
    ("lang", "text", "reason"),
    [
        ("en", "Please split the Wagas charge into installments", "at least ¥600.00"),
        ("zh", "把Wagas那笔消费分期", "满¥600.00才能分期"),
    ],
)
async def test_a_merchant_known_only_from_the_customers_history_is_found_and_refused_with_the_reason(
    server: LiveServer, lang: str, text: str, reason: str
) -> None:
    # C009's purchases at Wagas (a café not on the common-merchant list) are all under the ¥600 minimum.
    cid = await fresh_customer(server, "C009")
    chat = await Chat.open(server, cid, lang)
    reply = await chat.say(text)
    assert "Wagas" in reply["text"] and reason in reply["text"]
    assert not (await snapshot(server, cid))["plans"]
    await chat.close()
