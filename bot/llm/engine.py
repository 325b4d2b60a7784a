"""The LLM engine's part of a turn: understand, answer (streamed), regenerate, summarise.

``ChatEngine`` runs one pipeline; with an LLM configured it calls :class:`LLMEngine` in the
understand and respond steps, and uses the offline engine's result whenever a method
raises :class:`LLMUnavailable` (endpoint down or slow, breaker open, output invalid twice).

* ``understand`` reads the (redacted) message into JSON of a closed schema; only intent ids
  of INTENTS.md pass, and the offline reading fills everything the model did not give.
* ``answer`` phrases a knowledge answer from the retrieved passages, or an account answer
  from the account tools (scoped to the signed-in customer), streaming each sentence that
  passes the guard's checks. Its draft carries the passages and tool values it may state
  figures from, so the output guard checks the final text against exactly those.
* ``regenerate`` rewrites a reply the guard blocked, once, with the problems listed.
* ``summarize`` writes the short summary a human agent reads on handoff.

Once a call fails in a turn, later calls in the same turn fail at once: the customer waits
for at most one timeout.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import replace
from typing import Any, Protocol

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import SecretStr

from bot.answers.draft import Draft
from bot.answers.knowledge import citation, terms
from bot.cards.models import jsonable
from bot.conversations import new_message_id
from bot.engine import EngineParts
from bot.errors import CardSystemError, LLMOutputInvalid, LLMUnavailable
from bot.guard import OutputGuard
from bot.guardrails import Severity, inspect_input, redact
from bot.llm.breaker import CircuitBreaker
from bot.llm.ledger import CallLedger, ChatModel
from bot.llm.openai_compat import OpenAICompatChatModel
from bot.llm.prompting import block, json_block, leaks_prompt, load_prompt, system_message
from bot.llm.streaming import Accept, SentenceGate
from bot.llm.structured import SCHEMA_NAME, UNDERSTANDING_SCHEMA, merge_understanding, parse_understanding
from bot.llm.tools import ToolRun, account_tools, run_tool_calls, tool_schemas, without_ids
from bot.nlu import DEFAULT_CONFIDENCE_THRESHOLD, Understanding
from bot.router import route
from bot.turn import TurnContext
from knowledge.fees import FeeSchedule

logger = logging.getLogger(__name__)

MAX_TOOL_ROUNDS = 3
SUMMARY_MAX_CHARS = 600


class LLMEngine:
    """Implements the engine's ``LLMAssist`` seam over a :class:`ChatModel`."""

    def __init__(
        self,
        *,
        model: ChatModel,
        schedule: FeeSchedule,
        confidence_threshold: float = DEFAULT_CONFIDENCE_THRESHOLD,
        log_io: bool = False,
    ) -> None:
        self.model = model
        self._calls = CallLedger(model, log_io=log_io)
        self._guard = OutputGuard(schedule)
        self._threshold = confidence_threshold

    # -- understand -------------------------------------------------------------------------

    async def understand(self, ctx: TurnContext, text: str, offline: Understanding) -> Understanding:
        """The offline reading with the model's intent and slots (invalid output: one retry)."""
        system, version = system_message("understand")
        reading = {
            "intent": offline.intent,
            "confidence": round(offline.confidence, 3),
            "language": offline.language,
            "slots": offline.slots.as_dict(),
            "alternatives": [a.intent for a in offline.alternatives],
        }
        messages: list[BaseMessage] = [
            SystemMessage(system),
            HumanMessage(
                "\n\n".join(
                    [
                        json_block("offline_reading", reading),
                        *self._history(ctx),
                        block("customer_message", redact(text, today=ctx.today()).text),
                    ]
                )
            ),
        ]
        for attempt in range(2):
            done = await self._calls.call(
                ctx, "understand", messages, version, schema=(SCHEMA_NAME, UNDERSTANDING_SCHEMA)
            )
            try:
                return merge_understanding(offline, parse_understanding(done.text), threshold=self._threshold)
            except LLMOutputInvalid as exc:
                ctx.record("llm_invalid", step="understand", attempt=attempt + 1)
                if attempt:
                    raise LLMUnavailable("the understanding was invalid twice") from exc
                messages += [
                    AIMessage(done.text),
                    HumanMessage(load_prompt("invalid_output").render(error=str(exc))),
                ]
        raise AssertionError("unreachable")

    # -- answer -------------------------------------------------------------------------------

    async def answer(self, ctx: TurnContext, question: str, passages: list[Any], offline: Draft) -> Draft:
        """A streamed, grounded reply; account drafts are phrased from the scoped account tools."""
        if offline.handled == "account":
            return await self._account_answer(ctx, question, offline)
        return await self._knowledge_answer(ctx, question, passages, offline)

    async def _knowledge_answer(
        self, ctx: TurnContext, question: str, passages: list[Any], offline: Draft
    ) -> Draft:
        asked = redact(question, today=ctx.today()).text
        sources = Draft(
            text="",
            handled=offline.handled,
            tool_values=list(offline.tool_values),
            passages=_unique([p.text for p in passages] + offline.passages),
            decisions=set(offline.decisions),
        )
        tier = (ctx.u.slots.tier if ctx.u else None) or await _tier(ctx)
        system, version = system_message("answer")
        data = [
            json_block("customer", {"language": ctx.lang, "tier": tier}),
            *self._history(ctx),
            *[block("passage", p.text, id=p.article_id, title=f"{p.title} > {p.section}") for p in passages],
            block("draft", offline.text),
            block("customer_message", asked),
        ]
        messages: list[BaseMessage] = [SystemMessage(system), HumanMessage("\n\n".join(data))]
        message_id, gate = self._gate(ctx, sources, system)
        try:
            done = await self._calls.call(ctx, "answer", messages, version, on_text=gate.feed)
        except LLMUnavailable:
            return self._give_up(ctx, offline, gate, message_id, "unavailable")
        text = done.text.strip()
        if not text or leaks_prompt(text, system):
            return self._give_up(ctx, offline, gate, message_id, "prompt_leak" if text else "empty")
        cites = _citations(text, passages) or list(offline.citations)
        return self._draft(
            ctx,
            offline,
            sources,
            text,
            message_id,
            gate,
            citations=cites,
            llm={"task": "answer", "question": asked, "text": text},
        )

    async def _account_answer(self, ctx: TurnContext, question: str, offline: Draft) -> Draft:
        asked = redact(question, today=ctx.today()).text
        system, version = system_message("account")
        hint = route(ctx.u.intent, question).target if ctx.u else ""
        messages: list[BaseMessage] = [
            SystemMessage(system),
            HumanMessage(
                "\n\n".join(
                    [
                        json_block("hint", {"tool": hint, "language": ctx.lang}),
                        *self._history(ctx),
                        block("customer_message", asked),
                    ]
                )
            ),
        ]
        runs: list[ToolRun] = []
        tools = account_tools(ctx, runs)
        sources = Draft(
            text="",
            handled="account",
            tool_values=list(offline.tool_values),
            passages=list(offline.passages),
            decisions=set(offline.decisions),
        )
        message_id, gate = self._gate(ctx, sources, system)
        invalid = used = 0
        for _ in range(MAX_TOOL_ROUNDS):
            try:
                done = await self._calls.call(
                    ctx, "account", messages, version, tools=tool_schemas(), on_text=gate.feed
                )
            except LLMUnavailable:
                return self._give_up(ctx, offline, gate, message_id, "unavailable")
            results, problems = (
                await run_tool_calls(done, tools)
                if done.tool_calls and not done.invalid_tool_calls
                else ([], list(done.invalid_tool_calls))
            )
            if problems:
                invalid += 1
                ctx.record("llm_invalid", step="account", attempt=invalid)
                if invalid > 1:
                    return self._give_up(ctx, offline, gate, message_id, "invalid_tool_call")
                messages.append(HumanMessage(load_prompt("invalid_output").render(error="; ".join(problems))))
                continue
            for run in runs[used:]:
                sources.tool_values.extend(run.draft.tool_values)
                sources.decisions |= run.draft.decisions
            used = len(runs)
            if results:
                # The tool results are sources now: the gate judges the next sentences against them too.
                messages += [done.message, *results]
                gate.accept = self._acceptor(ctx, sources, system)
                continue
            text = done.text.strip()
            if not text or leaks_prompt(text, system):
                return self._give_up(ctx, offline, gate, message_id, "prompt_leak" if text else "empty")
            return self._draft(
                ctx,
                offline,
                sources,
                text,
                message_id,
                gate,
                citations=list(offline.citations),
                llm={"task": "account", "question": asked, "text": text},
            )
        return self._give_up(ctx, offline, gate, message_id, "too_many_tool_rounds")

    # -- regenerate and summarise ---------------------------------------------------------------

    async def regenerate(self, ctx: TurnContext, draft: Draft, problems: list[str]) -> Draft | None:
        """One corrected reply for the guard, or ``None``; never streamed (the final message shows it)."""
        llm = draft.meta.get("llm") or {}
        previous = str(llm.get("text") or draft.text)
        system, version = system_message("regenerate", problems="\n".join(f"- {p}" for p in problems) or "-")
        data = [*[block("passage", p) for p in draft.passages]]
        if draft.tool_values:
            data.append(json_block("account_data", {"values": without_ids(jsonable(draft.tool_values))}))
        data += [block("customer_message", str(llm.get("question") or "")), block("previous_reply", previous)]
        messages: list[BaseMessage] = [SystemMessage(system), HumanMessage("\n\n".join(data))]
        try:
            done = await self._calls.call(ctx, "regenerate", messages, version)
        except LLMUnavailable:
            return None
        text = done.text.strip()
        if not text or leaks_prompt(text, system):
            ctx.record("llm_rejected", step="regenerate", reason="prompt_leak" if text else "empty")
            return None
        full = draft.text.replace(previous, text, 1) if previous in draft.text else text
        meta = {**draft.meta, "llm": {**llm, "text": text}, "llm_usage": self._calls.usage_meta(ctx)}
        return replace(draft, text=full, meta=meta)

    async def summarize(self, ctx: TurnContext, transcript_text: str) -> str | None:
        """A short, redacted summary of the conversation for the agent taking over, or ``None``."""
        system, version = system_message(
            "summarize", language="Simplified Chinese" if ctx.lang == "zh" else "English"
        )
        messages: list[BaseMessage] = [
            SystemMessage(system),
            HumanMessage(block("transcript", redact(transcript_text, today=ctx.today()).text)),
        ]
        try:
            done = await self._calls.call(ctx, "summarize", messages, version)
        except LLMUnavailable:
            return None
        text = redact(done.text.strip(), today=ctx.today()).text[:SUMMARY_MAX_CHARS]
        if not text or leaks_prompt(text, system):
            return None
        return text

    # -- parts ----------------------------------------------------------------------------------

    def _history(self, ctx: TurnContext) -> list[str]:
        asked = [q["text"] for q in ctx.state.questions if q.get("seq") != ctx.seq][-3:]
        if not asked:
            return []
        return [block("history", "\n".join(redact(q, today=ctx.today()).text for q in asked))]

    def _gate(self, ctx: TurnContext, sources: Draft, system: str) -> tuple[str, SentenceGate]:
        """A message id and a gate for this answer; only a turn's first answer streams.

        The first answer is the head of the turn's reply (other drafts are appended to it),
        so the final message, which carries its id, replaces exactly the deltas shown.
        """
        turn = self._calls.turn(ctx)
        message_id = new_message_id()

        async def emit(piece: str) -> None:
            await ctx.out.delta(message_id, piece)

        gate = SentenceGate(emit=emit, accept=self._acceptor(ctx, sources, system))
        if turn.answered:
            gate.stop()
        turn.answered = True
        return message_id, gate

    def _acceptor(self, ctx: TurnContext, sources: Draft, system: str) -> Accept:
        """The guard's verdict on a reply prefix: nothing blocking, every figure grounded, no prompt."""
        shared_secret = "secret" in inspect_input(ctx.turn.input.text or "").flags
        gctx = self._guard.context(
            sources,
            intent=ctx.u.intent if ctx.u else None,
            shared_secret=shared_secret,
            declined=frozenset(ctx.state.memory.get("declined_offers", [])),
        )

        def accept(prefix: str) -> bool:
            if shared_secret or leaks_prompt(prefix, system):
                # With a secret shared, the reply must open with the "we never ask" notice: stream nothing.
                return False
            violations, ungrounded = self._guard.inspect(prefix, ctx.lang, gctx)
            return not ungrounded and not any(
                v.severity in (Severity.BLOCK, Severity.REWRITE) for v in violations
            )

        return accept

    def _draft(
        self,
        ctx: TurnContext,
        offline: Draft,
        sources: Draft,
        text: str,
        message_id: str,
        gate: SentenceGate,
        *,
        citations: list[dict[str, Any]],
        llm: dict[str, Any],
    ) -> Draft:
        meta = {**offline.meta, "by": "llm", "llm_usage": self._calls.usage_meta(ctx), "llm": llm}
        if gate.has_sent:
            meta.update(streamed=True, message_id=message_id)
        return Draft(
            text=text,
            handled=offline.handled,
            citations=citations,
            cards=list(offline.cards),
            tool_values=sources.tool_values,
            passages=sources.passages,
            decisions=sources.decisions,
            resolved=True,
            meta=meta,
        )

    def _give_up(
        self, ctx: TurnContext, offline: Draft, gate: SentenceGate, message_id: str, reason: str
    ) -> Draft:
        """Fall back to the offline draft: raise, unless deltas went out (its final message replaces them)."""
        gate.stop()
        if not gate.has_sent:
            raise LLMUnavailable(f"LLM answer abandoned: {reason}")
        ctx.record("llm_fallback", step="answer", reason=reason)
        offline.meta.update(streamed=True, message_id=message_id, llm_usage=self._calls.usage_meta(ctx))
        return offline


async def _tier(ctx: TurnContext) -> str | None:
    try:
        return (await ctx.customer()).tier
    except CardSystemError:
        return None


def _unique(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _citations(text: str, passages: Sequence[Any]) -> list[dict[str, Any]]:
    """Citations of the passages the reply draws on (by shared terms), best first."""
    said = {t for t in terms(text) if len(t) > 1}
    if not said or not passages:
        return []
    scored = [
        (len(said & {t for t in terms(f"{p.title} {p.text}") if len(t) > 1}) / len(said), p) for p in passages
    ]
    best = max(s for s, _ in scored)
    if best < 0.25:
        return []
    out: list[dict[str, Any]] = []
    for score, p in sorted(scored, key=lambda sp: -sp[0]):
        c = citation(p)
        if score >= 0.6 * best and all(
            (c["article_id"], c["section"]) != (o["article_id"], o["section"]) for o in out
        ):
            out.append(c)
    return out


class LLMSettings(Protocol):
    """The settings the LLM engine reads (``bot.server.settings.BotSettings`` has them)."""

    openai_api_key: SecretStr | None
    openai_base_url: str | None
    chat_model: str
    llm_timeout_s: float
    llm_max_retries: int
    llm_breaker_failures: int
    llm_breaker_reset_s: float
    log_model_io: bool


def build_llm_assist(settings: LLMSettings, stack: AsyncExitStack, parts: EngineParts) -> LLMEngine:
    """The LLM engine for these settings (called by ``bot/server/wiring.py`` when an LLM is configured).

    The breaker reads the engine's clock, so a test that moves the clock moves the breaker.
    """
    breaker = CircuitBreaker(
        failures=settings.llm_breaker_failures,
        reset_s=settings.llm_breaker_reset_s,
        clock=lambda: parts.clock().timestamp(),
    )
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
    model = OpenAICompatChatModel(
        model=settings.chat_model,
        base_url=settings.openai_base_url,
        api_key=key,
        timeout_s=settings.llm_timeout_s,
        max_retries=settings.llm_max_retries,
        breaker=breaker,
    )
    stack.push_async_callback(model.aclose)
    tool_schemas()  # converted once at startup, not on the first customer's turn (and inside its timeout)
    threshold = getattr(parts.understander, "confidence_threshold", DEFAULT_CONFIDENCE_THRESHOLD)
    return LLMEngine(
        model=model, schedule=parts.schedule, confidence_threshold=threshold, log_io=settings.log_model_io
    )
