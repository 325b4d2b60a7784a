"""The chat model adapter: any OpenAI-compatible endpoint through ``langchain-openai``.

The only module in ``bot`` that imports ``openai`` / ``langchain_openai``. It adds what the
SDK leaves to callers: a hard ``asyncio.timeout`` around every call, bounded retries with
exponential backoff (connection errors, 429 and 5xx only, and never once a streamed piece
went out), the circuit breaker, and token/latency accounting. Every vendor failure leaves
as :class:`bot.errors.LLMUnavailable`.

Vendor notes (``research/dependency-feasibility.md`` §4): ``stream_usage=True`` or a custom
``base_url`` streams without usage; our own ``httpx.AsyncClient`` per model instead of
langchain-openai's process-wide cached one ("Event loop is closed" across loops);
langchain's streaming tool-call merge repairs truncated JSON arguments, so the raw
argument text is checked here.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import openai
from langchain_core.exceptions import LangChainException
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.utils import count_tokens_approximately
from langchain_openai import ChatOpenAI

from bot.errors import LLMUnavailable
from bot.llm.breaker import CircuitBreaker

logger = logging.getLogger(__name__)

TextSink = Callable[[str], Awaitable[None]]
RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True, kw_only=True)
class Usage:
    """Tokens and wall time of one or more calls."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: float = 0.0
    calls: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            latency_ms=round(self.latency_ms + other.latency_ms, 2),
            calls=self.calls + other.calls,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolCallRequest:
    """A tool call the model asked for (arguments parsed strictly)."""

    id: str
    name: str
    args: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class Completion:
    """One model answer: text and/or tool calls, the raw message, and what it cost."""

    text: str
    tool_calls: tuple[ToolCallRequest, ...]
    invalid_tool_calls: tuple[str, ...]
    message: AIMessage
    usage: Usage


class OpenAICompatChatModel:
    """``ChatOpenAI`` with timeouts, retries, a breaker and usage accounting."""

    def __init__(
        self,
        *,
        model: str,
        base_url: str | None,
        api_key: str | None,
        timeout_s: float,
        max_retries: int,
        breaker: CircuitBreaker,
        backoff_s: float = 0.2,
        max_backoff_s: float = 2.0,
        http_client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.model = model
        self.timeout_s = timeout_s
        self.max_retries = max(0, max_retries)
        self.breaker = breaker
        self._backoff_s = backoff_s
        self._max_backoff_s = max_backoff_s
        self._sleep = sleep
        self._owns_client = http_client is None
        self._http = http_client or httpx.AsyncClient(timeout=httpx.Timeout(timeout_s + 1.0))
        # The SDK's own retries are off: retries, backoff and the breaker live here, where they are bounded.
        self._llm = ChatOpenAI(
            model=model,
            base_url=base_url,
            api_key=api_key or "not-needed",  # type: ignore[arg-type]  # SecretStr coerced by pydantic
            max_retries=0,
            timeout=httpx.Timeout(timeout_s + 1.0),
            stream_usage=True,
            http_async_client=self._http,
        )

    async def aclose(self) -> None:
        if self._owns_client:
            await self._http.aclose()

    async def complete(
        self,
        messages: Sequence[BaseMessage],
        *,
        tools: Sequence[Mapping[str, Any]] = (),
        schema: tuple[str, dict[str, Any]] | None = None,
        on_text: TextSink | None = None,
    ) -> Completion:
        """One answer; streamed through ``on_text`` when given.

        ``tools`` are OpenAI tool schemas (built once, not per call: converting LangChain
        tools costs tens of milliseconds each time); ``schema`` is (name, JSON schema) for
        structured output.
        """
        if not self.breaker.allow():
            raise LLMUnavailable("the LLM circuit breaker is open")
        runnable: Any = self._llm.bind_tools([dict(t) for t in tools]) if tools else self._llm
        attempt = 0
        emitted = False

        async def sink(piece: str) -> None:
            nonlocal emitted
            emitted = True
            assert on_text is not None
            await on_text(piece)

        try:
            while True:
                started = time.perf_counter()
                try:
                    async with asyncio.timeout(self.timeout_s):
                        result = await self._once(
                            runnable,
                            messages,
                            schema=schema,
                            on_text=sink if on_text is not None else None,
                        )
                except TimeoutError as exc:
                    # A timed-out call is not retried: the turn's time budget is spent.
                    raise LLMUnavailable(f"LLM call timed out after {self.timeout_s}s") from exc
                except (openai.OpenAIError, httpx.HTTPError, LangChainException) as exc:
                    if emitted or attempt >= self.max_retries or not _is_retryable(exc):
                        raise LLMUnavailable(f"LLM call failed: {_describe(exc)}") from exc
                    delay = min(self._max_backoff_s, self._backoff_s * (2**attempt))
                    logger.info(
                        "llm.call.retry",
                        extra={"attempt": attempt + 1, "delay_s": delay, "error": type(exc).__name__},
                    )
                    attempt += 1
                    await self._sleep(delay)
                    continue
                latency = round((time.perf_counter() - started) * 1000, 2)
                break
        except LLMUnavailable:
            self.breaker.failure()
            raise
        except BaseException:
            self.breaker.release()
            raise
        self.breaker.success()
        return _completion(result, messages, latency)

    async def _once(
        self,
        runnable: Any,
        messages: Sequence[BaseMessage],
        *,
        schema: tuple[str, dict[str, Any]] | None,
        on_text: TextSink | None,
    ) -> AIMessage:
        kwargs: dict[str, Any] = {}
        if schema is not None:
            name, body = schema
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": name, "schema": body, "strict": True},
            }
        if on_text is None:
            message = await runnable.ainvoke(list(messages), **kwargs)
            assert isinstance(message, AIMessage)
            return message
        merged: AIMessageChunk | None = None
        async for chunk in runnable.astream(list(messages), **kwargs):
            merged = chunk if merged is None else merged + chunk
            if isinstance(chunk.content, str) and chunk.content:
                await on_text(chunk.content)
        if merged is None:
            raise LLMUnavailable("the LLM stream ended without a message")
        return merged


def _describe(exc: BaseException) -> str:
    if isinstance(exc, openai.APIStatusError):
        return f"HTTP {exc.status_code}"
    return type(exc).__name__


def _is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in RETRYABLE_STATUS
    return isinstance(exc, openai.APIConnectionError | httpx.TransportError)


def _completion(message: AIMessage, messages: Sequence[BaseMessage], latency_ms: float) -> Completion:
    text = (
        message.content
        if isinstance(message.content, str)
        else "".join(str(p.get("text", "")) if isinstance(p, dict) else str(p) for p in message.content)
    )
    calls, invalid = _tool_calls(message)
    meta = message.usage_metadata
    if meta:
        usage = Usage(
            prompt_tokens=int(meta.get("input_tokens", 0)),
            completion_tokens=int(meta.get("output_tokens", 0)),
            latency_ms=latency_ms,
            calls=1,
        )
    else:
        usage = Usage(
            prompt_tokens=count_tokens_approximately(list(messages)),
            completion_tokens=count_tokens_approximately([message]),
            latency_ms=latency_ms,
            calls=1,
        )
    return Completion(text=text, tool_calls=calls, invalid_tool_calls=invalid, message=message, usage=usage)


def _tool_calls(message: AIMessage) -> tuple[tuple[ToolCallRequest, ...], tuple[str, ...]]:
    invalid = [
        f"{c.get('name')!r}: {c.get('error') or 'invalid arguments'}" for c in message.invalid_tool_calls
    ]
    calls: list[ToolCallRequest] = []
    raw_args: dict[str, str] = {}
    if isinstance(message, AIMessageChunk):
        # The streaming merge repairs partial JSON ('{"a": "C0' becomes {"a": "C0"}): recheck strictly.
        raw_args = {str(c.get("id")): c.get("args") or "" for c in message.tool_call_chunks}
    for call in message.tool_calls:
        call_id = str(call.get("id") or "")
        raw = raw_args.get(call_id)
        if raw is not None and raw.strip():
            try:
                parsed = json.loads(raw)
            except ValueError:
                invalid.append(f"{call['name']!r}: arguments are not valid JSON")
                continue
            if not isinstance(parsed, dict):
                invalid.append(f"{call['name']!r}: arguments are not a JSON object")
                continue
        calls.append(ToolCallRequest(id=call_id, name=call["name"], args=dict(call.get("args") or {})))
    return tuple(calls), tuple(invalid)
