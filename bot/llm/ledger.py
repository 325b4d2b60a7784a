"""Per-turn LLM bookkeeping: every call goes through :class:`CallLedger`.

It records each call (``llm_call`` analytics records with tokens, latency, model and
prompt version; running totals in the conversation state), sums a turn's usage for the
turn record, and remembers within a turn that a call failed, so that the turn's later
calls fail at once instead of waiting for a dead endpoint again.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from langchain_core.messages import BaseMessage

from bot.errors import LLMUnavailable
from bot.guardrails import redact
from bot.llm.openai_compat import Completion, TextSink, Usage
from bot.turn import TurnContext

logger = logging.getLogger(__name__)

MAX_TURNS_KEPT = 512


class ChatModel(Protocol):
    """What the engine needs of a chat model (``OpenAICompatChatModel``)."""

    model: str

    async def complete(
        self,
        messages: Sequence[BaseMessage],
        *,
        tools: Sequence[Mapping[str, Any]] = (),
        schema: tuple[str, dict[str, Any]] | None = None,
        on_text: TextSink | None = None,
    ) -> Completion: ...


@dataclass(slots=True)
class TurnCalls:
    """One turn's calls: usage so far, prompt versions, whether one failed or an answer streamed."""

    usage: Usage = field(default_factory=Usage)
    failed: bool = False
    answered: bool = False
    versions: list[str] = field(default_factory=list)


class CallLedger:
    """Calls the model for a turn and keeps the turn's account."""

    def __init__(self, model: ChatModel, *, log_io: bool = False) -> None:
        self.model = model
        self._log_io = log_io
        self._turns: OrderedDict[tuple[str, int], TurnCalls] = OrderedDict()

    def turn(self, ctx: TurnContext) -> TurnCalls:
        key = (ctx.conversation_id, ctx.seq)
        calls = self._turns.get(key)
        if calls is None:
            calls = self._turns[key] = TurnCalls()
            while len(self._turns) > MAX_TURNS_KEPT:
                self._turns.popitem(last=False)
        return calls

    async def call(
        self, ctx: TurnContext, step: str, messages: Sequence[BaseMessage], version: str, **kwargs: Any
    ) -> Completion:
        """One model call for ``step``; raises at once when an earlier call of the turn failed."""
        turn = self.turn(ctx)
        if turn.failed:
            raise LLMUnavailable("an earlier LLM call in this turn failed")
        try:
            done = await self.model.complete(messages, **kwargs)
        except LLMUnavailable as exc:
            turn.failed = True
            ctx.record("llm_call", step=step, ok=False, error=str(exc))
            logger.warning(
                "llm.call.failed",
                extra={"conversation_id": ctx.conversation_id, "step": step, "error": str(exc)},
            )
            raise
        turn.usage = turn.usage + done.usage
        if version not in turn.versions:
            turn.versions.append(version)
        ctx.record(
            "llm_call",
            step=step,
            ok=True,
            prompt_tokens=done.usage.prompt_tokens,
            completion_tokens=done.usage.completion_tokens,
            latency_ms=done.usage.latency_ms,
            model=self.model.model,
            prompt=version,
        )
        totals = ctx.state.llm
        for key, value in (
            ("calls", 1),
            ("prompt_tokens", done.usage.prompt_tokens),
            ("completion_tokens", done.usage.completion_tokens),
        ):
            totals[key] = int(totals.get(key, 0)) + value
        if self._log_io:
            # Dev only (CARDCARE_LOG_MODEL_IO); redacted even then.
            logger.debug(
                "llm.io",
                extra={
                    "conversation_id": ctx.conversation_id,
                    "step": step,
                    "completion": redact(done.text).text[:2000],
                },
            )
        return done

    def usage_meta(self, ctx: TurnContext) -> dict[str, Any]:
        """The turn's usage as the turn record carries it (``meta["llm_usage"]``)."""
        turn = self.turn(ctx)
        return {
            "prompt_tokens": turn.usage.prompt_tokens,
            "completion_tokens": turn.usage.completion_tokens,
            "latency_ms": turn.usage.latency_ms,
            "model": self.model.model,
            "calls": turn.usage.calls,
            "prompts": list(turn.versions),
        }
