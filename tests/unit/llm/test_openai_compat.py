"""The adapter over real HTTP to the fake: retries, timeouts, the breaker, usage, tool-call parsing."""

from __future__ import annotations

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from bot.errors import LLMUnavailable
from bot.llm import OpenAICompatChatModel
from bot.llm.tools import tool_schemas
from bot.testing import (
    FakeOpenAI,
    delay_reply,
    error_reply,
    malformed_tool_call,
    text_reply,
    tool_call_reply,
)
from tests.unit.llm.conftest import Clock

MESSAGES = [SystemMessage("rules"), HumanMessage("<customer_message>\nhi\n</customer_message>")]


async def test_complete_retries_a_503_with_backoff_and_then_succeeds(
    model: OpenAICompatChatModel, fake: FakeOpenAI, sleeps: list[float]
) -> None:
    fake.enqueue(error_reply(503), text_reply("你好。"))
    done = await model.complete(MESSAGES)
    assert done.text == "你好。"
    assert len(fake.requests) == 2 and sleeps == [0.2]
    assert model.breaker.consecutive_failures == 0


async def test_complete_gives_up_after_the_retry_budget(
    model: OpenAICompatChatModel, fake: FakeOpenAI, sleeps: list[float]
) -> None:
    fake.enqueue(error_reply(500), error_reply(502), text_reply("too late"))
    with pytest.raises(LLMUnavailable, match="HTTP 502"):
        await model.complete(MESSAGES)
    assert len(fake.requests) == 2 and fake.pending == 1
    assert model.breaker.consecutive_failures == 1


async def test_complete_does_not_retry_a_client_error(model: OpenAICompatChatModel, fake: FakeOpenAI) -> None:
    fake.enqueue(error_reply(400, "bad request"))
    with pytest.raises(LLMUnavailable):
        await model.complete(MESSAGES)
    assert len(fake.requests) == 1


async def test_complete_times_out_without_retrying(model: OpenAICompatChatModel, fake: FakeOpenAI) -> None:
    fake.enqueue(delay_reply(5, text_reply("slow")), text_reply("never asked"))
    with pytest.raises(LLMUnavailable, match="timed out"):
        await model.complete(MESSAGES)
    assert len(fake.requests) == 1


async def test_open_breaker_refuses_without_a_request_until_the_probe(
    model: OpenAICompatChatModel, fake: FakeOpenAI, clock: Clock
) -> None:
    fake.enqueue(*[error_reply(400)] * 3)
    for _ in range(3):
        with pytest.raises(LLMUnavailable):
            await model.complete(MESSAGES)
    assert model.breaker.state == "open"
    with pytest.raises(LLMUnavailable, match="circuit breaker is open"):
        await model.complete(MESSAGES)
    assert len(fake.requests) == 3
    clock.advance(30)
    fake.enqueue(text_reply("back"))
    assert (await model.complete(MESSAGES)).text == "back"
    assert str(model.breaker.state) == "closed" and len(fake.requests) == 4


async def test_streamed_completion_reports_usage_from_the_final_chunk(
    model: OpenAICompatChatModel, fake: FakeOpenAI
) -> None:
    pieces: list[str] = []

    async def sink(piece: str) -> None:
        pieces.append(piece)

    fake.enqueue(text_reply("取现手续费为1%。最低10元。", chunk_chars=3))
    done = await model.complete(MESSAGES, on_text=sink)
    assert "".join(pieces) == done.text == "取现手续费为1%。最低10元。" and len(pieces) > 3
    assert fake.requests[0]["stream_options"] == {"include_usage": True}
    assert done.usage.prompt_tokens > 0 and done.usage.completion_tokens > 0 and done.usage.calls == 1


@pytest.mark.parametrize("streamed", [False, True])
async def test_tool_calls_are_parsed_and_broken_arguments_are_reported(
    model: OpenAICompatChatModel, fake: FakeOpenAI, streamed: bool
) -> None:
    async def sink(piece: str) -> None:
        return None

    on_text = sink if streamed else None
    fake.enqueue(tool_call_reply("statement", {"card_last4": "6217"}), malformed_tool_call("statement"))
    good = await model.complete(MESSAGES, tools=tool_schemas(), on_text=on_text)
    assert [(c.name, c.args) for c in good.tool_calls] == [("statement", {"card_last4": "6217"})]
    assert fake.requests[0]["tools"][0]["function"]["name"] == "statement"
    assert "customer_id" in fake.requests[0]["tools"][0]["function"]["parameters"]["properties"]
    # Streaming merges partial JSON leniently; the adapter must still see that it was cut off.
    bad = await model.complete(MESSAGES, tools=tool_schemas(), on_text=on_text)
    assert bad.tool_calls == () and len(bad.invalid_tool_calls) == 1
