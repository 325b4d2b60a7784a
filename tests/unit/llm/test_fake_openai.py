"""The fake endpoint speaks the wire format clients rely on (checked with plain HTTP)."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bot.testing import FakeOpenAI, error_reply, text_reply, tool_call_reply
from bot.testing.fake_openai import fill_schema


@pytest.fixture
async def http(fake: FakeOpenAI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=fake.app), base_url="http://fake/v1"
    ) as client:
        yield client


def sse(body: str) -> list[Any]:
    lines = [ln.removeprefix("data: ") for ln in body.splitlines() if ln.startswith("data: ")]
    assert lines[-1] == "[DONE]"
    return [json.loads(ln) for ln in lines[:-1]]


async def test_streamed_tool_call_deltas_carry_their_index_and_usage_comes_last(
    http: httpx.AsyncClient, fake: FakeOpenAI
) -> None:
    fake.enqueue(tool_call_reply("statement", {"card_last4": "6217"}))
    r = await http.post(
        "/chat/completions",
        json={
            "model": "m",
            "stream": True,
            "messages": [{"role": "user", "content": "hi"}],
            "stream_options": {"include_usage": True},
        },
    )
    chunks = sse(r.text)
    calls = [
        d["tool_calls"][0]
        for c in chunks
        if c["choices"]
        for d in [c["choices"][0]["delta"]]
        if "tool_calls" in d
    ]
    assert calls[0]["id"] and calls[0]["function"] == {"name": "statement", "arguments": ""}
    assert all(c["index"] == 0 for c in calls)
    assert json.loads("".join(c["function"]["arguments"] for c in calls)) == {"card_last4": "6217"}
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0


async def test_errors_use_the_openai_error_shape(http: httpx.AsyncClient, fake: FakeOpenAI) -> None:
    fake.enqueue(error_reply(429, "slow down"), text_reply("ok"))
    r = await http.post("/chat/completions", json={"messages": []})
    assert r.status_code == 429 and r.json()["error"]["message"] == "slow down"
    r = await http.post("/chat/completions", json={"messages": []})
    assert r.json()["choices"][0]["message"]["content"] == "ok"
    assert len(fake.requests) == 2 and fake.pending == 0


async def test_embeddings_are_deterministic_unit_vectors_and_models_are_listed(
    http: httpx.AsyncClient,
) -> None:
    r = await http.post(
        "/embeddings", json={"model": "e", "input": ["年费", "年费", "取现"], "dimensions": 32}
    )
    vectors = [d["embedding"] for d in r.json()["data"]]
    assert vectors[0] == vectors[1] != vectors[2] and len(vectors[0]) == 32
    assert math.isclose(sum(v * v for v in vectors[2]), 1.0)
    assert (await http.get("/models")).json()["data"][0]["id"] == "fake-gpt"


def test_fill_schema_takes_hints_that_fit_and_defaults_the_rest() -> None:
    schema = {
        "type": "object",
        "properties": {
            "intent": {"enum": ["a", "b"]},
            "confidence": {"type": "number"},
            "slot": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "n": {"type": "integer"},
        },
    }
    assert fill_schema(schema, '{"intent": "b", "confidence": 0.7, "n": "x"}') == {
        "intent": "b",
        "confidence": 0.7,
        "slot": None,
        "n": 1,
    }
    assert fill_schema(schema, '"intent": "z"')["intent"] == "a"
