"""Early payoff over the real socket: the remaining principal plus 1%, confirmed, paid off once."""

from __future__ import annotations

from collections.abc import Iterator
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
    flow_of,
    fresh_customer,
    module_server,
    snapshot,
)
from tests.harness import LiveServer

FLOW = "installment_early_payoff"
ASK = {"zh": "我想提前还清分期", "en": "I want to pay off my installment plan early"}
YES = {"zh": "确认", "en": "yes"}
SOURCE = {"zh": "C001", "en": "C004"}
PURCHASE = {"zh": "3299.00", "en": "7450.00"}  # C001's iPad at 京东, C004's Trip.com booking


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    yield from module_server(tmp_path_factory)


async def customer_with_plan(server: LiveServer, lang: str) -> tuple[str, dict[str, object]]:
    """A fresh customer with one recent purchase on a 12-period plan."""
    cid = await fresh_customer(server, SOURCE[lang])
    snap = await snapshot(server, cid)
    (txn,) = [t for t in snap["transactions"] if t["amount"] == PURCHASE[lang]]
    card = snap["cards"][0]["id"]
    plan = await server.call(
        lambda: server.rt.cards.create_installment_plan(
            cid, card, kind="purchase", source_id=txn["id"], periods=12, key=f"setup:{cid}"
        )
    )
    return cid, {"id": plan.id, "principal": plan.principal}


def due_now(principal: object) -> tuple[str, str]:
    """(fee, total) as the reply writes them: 1% of the remaining principal, on top of it."""
    p = Decimal(str(principal))
    fee = (p / 100).quantize(Decimal("0.01"))
    return f"¥{fee:,.2f}", f"¥{p + fee:,.2f}"


async def plan_status(server: LiveServer, cid: str) -> str:
    (plan,) = (await snapshot(server, cid))["plans"]
    return str(plan["status"])


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_typed_payoff_in_two_steps(server: LiveServer, lang: str) -> None:
    cid, plan = await customer_with_plan(server, lang)
    chat = await Chat.open(server, cid, lang)
    confirm = await chat.say(ASK[lang])
    assert_flow(confirm, FLOW, step="confirm")
    fee, total = due_now(plan["principal"])
    assert fee in confirm["text"] and total in confirm["text"] and "1.00%" in confirm["text"]
    assert [c["article_id"] for c in confirm["citations"]] == ["installment-early-payoff"]
    assert confirm["citations"][0]["locale"] == lang
    done = await chat.say(YES[lang])
    assert_flow(done, FLOW, "completed")
    assert chat.sent == 2
    assert await plan_status(server, cid) == "paid_off"
    await chat.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_click_payoff(server: LiveServer, lang: str) -> None:
    cid, plan = await customer_with_plan(server, lang)
    chat = await Chat.open(server, cid, lang)
    confirm = await chat.say(ASK[lang])
    (card,) = cards_of(confirm, "confirm")
    assert card["lines"][-1][1] == due_now(plan["principal"])[1]
    done = await chat.press(confirm_button(confirm))
    assert_flow(done, FLOW, "completed")
    assert chat.sent == 2
    (stored,) = (await snapshot(server, cid))["plans"]
    assert stored["status"] == "paid_off" and stored["payoff_fee"] == due_now(plan["principal"])[0].strip("¥")
    await chat.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_digression_at_the_confirmation(server: LiveServer, lang: str) -> None:
    cid, _ = await customer_with_plan(server, lang)
    chat = await Chat.open(server, cid, lang)
    confirm = await chat.say(ASK[lang])
    side = await chat.say(DIGRESSION[lang])
    assert_digression_answered(side, "confirm", fid_of(confirm))
    assert await plan_status(server, cid) == "active"
    done = await chat.press(confirm_button(side))
    assert_flow(done, FLOW, "completed")
    assert await plan_status(server, cid) == "paid_off"
    await chat.close()


@pytest.mark.parametrize(("lang", "how"), [("zh", "算了"), ("en", "no thanks"), ("en", "click")])
async def test_cancel_keeps_the_plan(server: LiveServer, lang: str, how: str) -> None:
    cid, _ = await customer_with_plan(server, lang)
    before = effects(await snapshot(server, cid))
    chat = await Chat.open(server, cid, lang)
    confirm = await chat.say(ASK[lang])
    bye = await chat.press(cancel_button(confirm)) if how == "click" else await chat.say(how)
    assert flow_of(bye)["status"] == "cancelled"
    assert effects(await snapshot(server, cid)) == before
    await chat.close()


async def test_duplicated_confirmation_pays_off_once(server: LiveServer) -> None:
    cid, _ = await customer_with_plan(server, "zh")
    chat = await Chat.open(server, cid, "zh")
    confirm = await chat.say(ASK["zh"])
    done, again = await duplicate_confirmation(server, chat, confirm_button(confirm))
    assert_flow(done, FLOW, "completed")
    (refused,) = again
    assert_refused_as_stale(refused)
    assert await plan_status(server, cid) == "paid_off"
    state = await conversation_state(server, chat.conversation_id)
    assert [a["kind"] for a in state["actions"]] == ["installment_paid_off"]
    await chat.close()


async def test_without_a_plan_the_rule_is_explained(server: LiveServer) -> None:
    cid = await fresh_customer(server, "C001")
    chat = await Chat.open(server, cid, "zh")
    reply = await chat.say(ASK["zh"])
    assert_flow(reply, FLOW, "completed")
    assert "没有进行中的分期" in reply["text"] and "1.00%" in reply["text"]
    # The rule comes from the fee schedule; the reply names the article that explains it.
    assert [c["article_id"] for c in reply["citations"]] == ["installment-early-payoff"]
    await chat.close()
