"""Account answers through the scoped account tools."""

from __future__ import annotations

import json

import pytest

from bot.answers import account
from bot.cards.simulated import SimulatedCardSystem
from bot.errors import LLMUnavailable
from bot.llm import LLMEngine
from bot.llm.tools import AccountArgs, ToolScopeError, check_scope
from bot.testing import FakeOpenAI, malformed_tool_call, text_reply, tool_call_reply
from tests.unit.llm.conftest import MakeCtx, RecordingOutput

QUESTION = "我这个月账单多少？"


def tool_messages(fake: FakeOpenAI, index: int) -> list[str]:
    return [m["content"] for m in fake.requests[index]["messages"] if m["role"] == "tool"]


async def test_account_answer_calls_the_tool_and_phrases_its_result(
    engine: LLMEngine, fake: FakeOpenAI, make_ctx: MakeCtx
) -> None:
    ctx = make_ctx(QUESTION, intent="billing.statement")
    offline = await account.statement(ctx)
    fake.enqueue(tool_call_reply("statement", {}))  # then the fake's default: the tool's own wording
    draft = await engine.answer(ctx, QUESTION, [], offline)
    first = fake.requests[0]
    assert '"tool": "statement"' in first["messages"][1]["content"]
    assert {t["function"]["name"] for t in first["tools"]} >= {"statement", "transactions", "limit", "points"}
    result = json.loads(tool_messages(fake, 1)[0])
    assert result["text"] == offline.text
    statement = offline.tool_values[0]
    assert statement["card_id"] not in tool_messages(fake, 1)[0], (
        "internal ids stay out of the model's context"
    )
    assert result["data"][0]["balance"] == statement["balance"]
    assert draft.text == offline.text and draft.handled == "account" and draft.meta["by"] == "llm"
    assert draft.cards == offline.cards, "the bill card stays"
    assert draft.meta["llm_usage"]["calls"] == 2
    out = ctx.out
    assert isinstance(out, RecordingOutput) and out.streamed and draft.text.startswith(out.streamed)


@pytest.mark.parametrize("args", [{"customer_id": "C002"}, {"card_last4": "OTHER"}, {"card_id": "OTHER"}])
async def test_a_tool_call_for_another_customer_or_card_is_refused(
    engine: LLMEngine, fake: FakeOpenAI, make_ctx: MakeCtx, cards: SimulatedCardSystem, args: dict[str, str]
) -> None:
    other = (await cards.cards("C002"))[-1]
    args = {
        k: (other.last4 if k == "card_last4" else other.id) if v == "OTHER" else v for k, v in args.items()
    }
    ctx = make_ctx(QUESTION, intent="billing.statement")
    offline = await account.statement(ctx)
    theirs = (await cards.statements("C002", other.id, limit=1))[0]
    fake.enqueue(
        tool_call_reply("statement", args), text_reply("抱歉，我暂时查不到这张卡的账单，可以为您转人工。")
    )
    draft = await engine.answer(ctx, QUESTION, [], offline)
    [result] = tool_messages(fake, 1)
    assert json.loads(result)["error"] == "refused"
    sent = json.dumps(fake.requests, ensure_ascii=False)
    assert str(theirs.balance) not in sent and other.id not in result
    assert any(kind == "llm_tool_refused" for kind, _ in ctx.records)
    assert draft.text.startswith("抱歉")


async def test_check_scope_accepts_the_customers_own_ids(
    make_ctx: MakeCtx, cards: SimulatedCardSystem
) -> None:
    ctx = make_ctx(QUESTION)
    own = (await cards.cards("C001"))[-1]
    await check_scope(ctx, AccountArgs(customer_id="C001", card_last4=own.last4, card_id=own.id))
    await check_scope(ctx, AccountArgs())
    with pytest.raises(ToolScopeError, match="customer_id"):
        await check_scope(ctx, AccountArgs(customer_id="C003"))


async def test_a_malformed_tool_call_gets_one_retry_with_the_error(
    engine: LLMEngine, fake: FakeOpenAI, make_ctx: MakeCtx
) -> None:
    ctx = make_ctx(QUESTION, intent="billing.statement")
    offline = await account.statement(ctx)
    fake.enqueue(malformed_tool_call("statement"), tool_call_reply("statement", {}))
    draft = await engine.answer(ctx, QUESTION, [], offline)
    assert "not valid JSON" in fake.requests[1]["messages"][-1]["content"]
    assert draft.meta["by"] == "llm" and draft.text == offline.text


@pytest.mark.parametrize("second", [malformed_tool_call("statement"), tool_call_reply("freeze_card", {})])
async def test_a_second_bad_tool_call_falls_back_to_the_offline_answer(
    engine: LLMEngine, fake: FakeOpenAI, make_ctx: MakeCtx, second: object
) -> None:
    ctx = make_ctx(QUESTION, intent="billing.statement")
    offline = await account.statement(ctx)
    fake.enqueue(malformed_tool_call("statement"), second)  # type: ignore[arg-type]
    with pytest.raises(LLMUnavailable, match="invalid_tool_call"):
        await engine.answer(ctx, QUESTION, [], offline)
    assert isinstance(ctx.out, RecordingOutput) and ctx.out.deltas == []
