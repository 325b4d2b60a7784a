"""The turn engine: input guard → understand → decide → respond → output guard → persist → send.

One pipeline for both engines. The offline engine (default) understands with the trained
classifier and slot parsers and answers with extractive, cited answers, account tools and
templates; with an LLM configured, the same pipeline asks the LLM to understand and to
phrase, and falls back to the offline parts whenever the LLM fails or is too slow.
Business actions happen only inside deterministic flows with explicit confirmation.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from bot.answers import account
from bot.answers.draft import Draft
from bot.answers.knowledge import citation, compose_answer
from bot.cards.port import CardSystem
from bot.conversations import Turn, TurnOutput
from bot.errors import CardSystemError, LLMUnavailable
from bot.flows import FLOW_INTENTS_OF, FLOWS
from bot.flows.base import FlowInput, FlowResult, HandoffAsk, is_cancel, new_flow_state
from bot.guard import OutputGuard
from bot.guardrails import SECRET_TOKEN, inspect_input
from bot.offers import hardship_answer, proactive_offers, segment_notes
from bot.replies import fmt_eta, say
from bot.router import ACCOUNT_INTENTS, Route, route
from bot.turn import TurnContext
from knowledge.fees import FeeSchedule

logger = logging.getLogger(__name__)

FOLLOW_UP = re.compile(
    r"^(那|那么|还有|如果是|换成|要是)|呢[？?]?$|^(and|what about|how about|and for|what if)\b", re.I
)
QUESTION_INTENTS_FOR_REPEAT = {"billing.interest_fees", "benefits.rights", "fx.international", "cash_advance",
                               "application.status", "card.cancel", "profile.update", "payment.how_to_pay"}
FRUSTRATION_HANDOFF = 0.75
NEVER_ASK_ARTICLE = "security-never-ask"  # what the bank never asks for
CLEAR_MARGIN = 1.2  # the best article's score over the second's, for answering an unsure intent


class Understander(Protocol):
    """Understanding of one customer turn (offline classifier, or an LLM with the classifier behind it)."""

    def understand(self, text: str, *, locale_hint: str = "zh", today: Any = None) -> Any: ...


class Retriever(Protocol):
    async def retrieve(self, query: str, *, locale: str, tier: str | None = None, k: int = 5,
                       history: Any = ()) -> list[Any]: ...


class HandoffPort(Protocol):
    """How the engine asks for a person (the bot's bridge to the agent hub)."""

    async def request(self, ctx: TurnContext, ask: HandoffAsk) -> dict[str, Any] | None: ...

    async def record_csat(self, conversation_id: str, rating: int, comment: str | None) -> None: ...


class LLMAssist(Protocol):
    """The LLM engine's part of a turn; every method may raise ``LLMUnavailable``."""

    async def understand(self, ctx: TurnContext, text: str, offline: Any) -> Any: ...

    async def answer(self, ctx: TurnContext, question: str, passages: list[Any], offline: Draft) -> Draft: ...

    async def regenerate(self, ctx: TurnContext, draft: Draft, problems: list[str]) -> Draft | None: ...


@dataclass(kw_only=True)
class EngineParts:
    """What the engine works with (built by the composition root)."""

    understander: Understander
    cards: CardSystem
    schedule: FeeSchedule
    store: Any
    retriever: Retriever | None = None
    graph: Any = None
    handoff: HandoffPort | None = None
    llm: LLMAssist | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now().astimezone())
    max_text_chars: int = 2000


class ChatEngine:
    """Handles one customer input per call; mutates ``turn.state``."""

    def __init__(self, parts: EngineParts) -> None:
        self.p = parts
        self.guard = OutputGuard(parts.schedule)

    # -- entry points -------------------------------------------------------------------

    async def handle(self, turn: Turn, out: TurnOutput) -> None:
        started = time.perf_counter()
        ctx = TurnContext(turn=turn, out=out, cards=self.p.cards, schedule=self.p.schedule, clock=self.p.clock,
                          lang=turn.state.language or ("zh" if turn.locale.startswith("zh") else "en"))
        first = turn.state.turns == 0
        shared_secret = False
        try:
            if turn.input.kind == "action":
                draft = await self._action(ctx)
            else:
                with ctx.timed("input_guard"):
                    inspection = inspect_input(turn.input.text, max_chars=self.p.max_text_chars)
                # Secrets were already deleted before the message was stored: the mask says so.
                shared_secret = "secret" in inspection.flags or SECRET_TOKEN in turn.input.text
                draft = await self._message(ctx, inspection)
        except CardSystemError as exc:
            logger.warning("engine.card_system_error", extra={"conversation_id": ctx.conversation_id,
                                                               "code": exc.code})
            draft = Draft(text=say("card_system_down", ctx.lang), handled="fallback", resolved=False)
        except asyncio.CancelledError:
            raise
        except Exception:
            # Whatever failed (a slow embedding, an index error, a bug), the customer gets an
            # answer and a way to a person, never silence.
            logger.exception("engine.turn_failed", extra={"conversation_id": ctx.conversation_id})
            draft = self._no_answer(ctx)
            draft.text = say("fallback", ctx.lang)
        self._cite_rules(draft, ctx.lang)
        with ctx.timed("guard"):
            gctx = self.guard.context(draft, intent=ctx.u.intent if ctx.u else None, shared_secret=shared_secret,
                                      declined=frozenset(turn.state.memory.get("declined_offers", [])))
        regenerate = None
        if self.p.llm is not None and draft.meta.get("by") == "llm":
            llm = self.p.llm

            async def regenerate(problems: list[str]) -> Draft | None:
                try:
                    return await llm.regenerate(ctx, draft, problems)
                except LLMUnavailable:
                    return None

        await asyncio.sleep(0)  # let waiting sockets (acks) run between the turn's CPU-heavy steps
        with ctx.timed("guard"):
            result = await self.guard.finalize(draft, lang=ctx.lang, gctx=gctx, regenerate=regenerate)
        if result.draft is not draft and draft.meta.get("streamed"):
            # Deltas already went out under this id: the final message must take their place in the widget.
            result.draft.meta.update(streamed=True, message_id=draft.meta["message_id"])
        draft = result.draft
        if shared_secret and not draft.meta.get("notice"):
            draft.text = say("secret_notice", ctx.lang) + ("\n\n" + draft.text if draft.text else "")
        if first and draft.meta.get("greeting"):
            draft.text = say("intro", ctx.lang, name="")
        elif first and "AI" not in draft.text:
            draft.text = (ctx.pick("您好，我是明光银行智能助手（AI）。", "Hi, I'm Lumen Bank's assistant (AI). ")
                          + draft.text)
        await self._emit(ctx, draft)
        await self._after(ctx, draft, result.action, [v.rule_id for v in result.violations], started)

    def _cite_rules(self, draft: Draft, lang: str) -> None:
        """A flow that states a rule names its article (``meta["cite"]``); the reply cites it."""
        lead = getattr(self.p.retriever, "lead_passage", None)
        for article_id in draft.meta.pop("cite", ()):
            passage = lead(article_id, lang) if lead is not None else None
            if passage is not None and all(c["article_id"] != article_id for c in draft.citations):
                draft.citations.append(citation(passage))

    def understand_json(self, text: str, locale: str) -> dict[str, Any]:
        """The understanding endpoint's body."""
        u = self.p.understander.understand(text, locale_hint="zh" if locale.startswith("zh") else "en",
                                           today=self.p.cards.today())
        data: dict[str, Any] = u.as_dict()
        return data

    # -- customer message -----------------------------------------------------------------

    async def _message(self, ctx: TurnContext, inspection: Any) -> Draft:
        text = inspection.clean_text
        state = ctx.state
        with ctx.timed("understand"):
            u = self.p.understander.understand(inspection.redacted, locale_hint=ctx.lang, today=ctx.today())
        await asyncio.sleep(0)
        if self.p.llm is not None:
            try:
                u = await self.p.llm.understand(ctx, inspection.redacted, u)
            except LLMUnavailable:
                ctx.record("llm_fallback", step="understand")
        ctx.u = u
        ctx.lang = u.language
        state.language = u.language
        state.sentiment.append(round(u.sentiment, 3))
        u = self._follow_up(ctx, u)
        ctx.u = u
        state.intents.append({"seq": ctx.seq, "intent": u.intent, "confidence": round(u.confidence, 3)})
        self._remember_slots(ctx)
        if "prompt_injection" in inspection.flags and "human_request" not in u.signals and (
                not u.is_confident or u.intent in ("out_of_scope", "complaint", "chitchat")):
            # Only a genuine banking question inside an injection attempt gets answered.
            return Draft(text=say("injection", ctx.lang), handled="decline")
        if "secret_offer" in u.signals and "secret" not in inspection.flags:
            # "Do you need my PIN?": never, from anyone; said before anything else (a code just sent
            # gets the masking notice instead).
            return Draft(text=say("secret_offer", ctx.lang), handled="knowledge", meta={"cite": [NEVER_ASK_ARTICLE]})
        trigger = self._trigger(ctx, text) or self._safeguard(ctx)
        if trigger is not None:
            draft = await trigger
        elif state.flow:
            draft = await self._in_flow(ctx, text)
        else:
            draft = await self._route(ctx, text)
        if "prompt_injection" in inspection.flags:
            # The banking question is answered; the attempt to change the rules is refused, openly.
            draft.text = say("injection_note", ctx.lang) + draft.text
        return draft

    def _safeguard(self, ctx: TurnContext) -> Any:
        """Privacy and hardship answers that replace the routed answer (an awaitable or None)."""
        assert ctx.u is not None
        if _asks_for_someone_else(ctx.u):
            return self._other_person(ctx)
        if _hardship_plea(ctx.u) and not ctx.state.flow:
            return self._hardship(ctx)
        return None

    async def _hardship(self, ctx: TurnContext) -> Draft:
        ctx.record("hardship", intent=ctx.u.intent if ctx.u else None)
        return await hardship_answer(ctx, await ctx.customer())

    async def _other_person(self, ctx: TurnContext) -> Draft:
        """Someone else's account or personal data: refused plainly, with what they can do instead."""
        ctx.record("privacy_refused", intent=ctx.u.intent if ctx.u else None)
        return Draft(text=say("other_customer", ctx.lang) + say("other_customer_next", ctx.lang), handled="decline")

    def _follow_up(self, ctx: TurnContext, u: Any) -> Any:
        """"那白金卡呢？" / "what about 24 months?": reuse the previous question's intent."""
        prev = next((i for i in reversed(ctx.state.intents) if i["intent"] not in
                     ("chitchat", "out_of_scope", "human.agent")), None)
        if prev is None or len(u.text) > 30:
            return u
        has_slot = bool(u.slots.tier or u.slots.periods or u.slots.amount or u.slots.merchant)
        weak = not u.is_confident or u.intent in ("chitchat", "out_of_scope")
        if weak and (has_slot or FOLLOW_UP.search(u.text.strip())) and (has_slot or u.intent != "chitchat"):
            from dataclasses import replace

            ctx.record("follow_up", intent=prev["intent"])
            return replace(u, intent=prev["intent"], confidence=max(u.confidence, 0.6), is_confident=True)
        return u

    def _remember_slots(self, ctx: TurnContext) -> None:
        assert ctx.u is not None
        for key, value in ctx.u.slots.as_dict().items():
            ctx.state.memory.setdefault("slots", {})[key] = value

    def _trigger(self, ctx: TurnContext, text: str) -> Any:
        """Handoff and risk triggers that win over everything else (returns an awaitable or None)."""
        u = ctx.u
        assert u is not None
        sig = u.signals
        if "regulator_complaint" in sig:
            return self._complaint(ctx, regulator=True)
        wants_person = "human_request" in sig or u.intent == "human.agent"
        if (u.intent == "card.lost_stolen" or "urgent_loss" in sig) and not (
                ctx.state.flow and ctx.state.flow["id"] == "lost_card"):
            r = route("card.lost_stolen", text)
            if r.kind == "flow":
                # Freeze first, before any other question; a person can follow on the same turn.
                if wants_person:
                    return self._lost_then_person(ctx)
                return self._flow_with_answer(ctx, "lost_card", text, answer=r.also_answer)
        if wants_person:
            return self._handoff(ctx, HandoffAsk(reason="customer_request", priority=3))
        if "fraud_risk" in sig and not (ctx.state.flow and ctx.state.flow["id"] in ("dispute", "lost_card")):
            r = route("fraud.dispute", text)
            if r.kind == "flow":
                return self._flow_with_answer(ctx, "dispute", text, answer=r.also_answer)
        if "refusal" in sig and ctx.state.turns > 0:
            return self._handoff(ctx, HandoffAsk(reason="answer_refused", priority=3,
                                                 note="customer rejected the assistant's answer"))
        if "abuse" in sig or u.frustration >= FRUSTRATION_HANDOFF:
            return self._handoff(ctx, HandoffAsk(reason="frustration", priority=3, note="customer frustrated"),
                                 lead=say("abuse", ctx.lang))
        if self._is_repeat(ctx):
            return self._handoff(ctx, HandoffAsk(reason="repeated_question", priority=3,
                                                 note=f"asked twice: {u.intent}"))
        return None

    async def _lost_then_person(self, ctx: TurnContext) -> Draft:
        draft = await self._start_flow(ctx, "lost_card")
        hand = await self._handoff(ctx, HandoffAsk(reason="customer_request", priority=1,
                                                   note="card lost; customer asked for a person",
                                                   topic="card.lost_stolen"))
        return draft.extend(hand)

    def _is_repeat(self, ctx: TurnContext) -> bool:
        """The same question came back after an answer that did not resolve it."""
        u = ctx.u
        assert u is not None
        last = ctx.state.memory.get("last_turn")
        if not last or last.get("resolved", True):
            return False
        if last.get("handled") == "clarify" and not u.is_confident:
            return True
        return bool(last.get("intent") == u.intent and u.intent not in ("chitchat",) and last.get("handled")
                    in ("knowledge", "fallback", "clarify"))

    # -- routing --------------------------------------------------------------------------

    async def _route(self, ctx: TurnContext, text: str, *, allow_flows: bool = True) -> Draft:
        u = ctx.u
        assert u is not None
        if not u.is_confident:
            return await self._clarify_or_answer(ctx, text)
        r = route(u.intent, text)
        customer = await ctx.customer()
        if u.slots.tier and u.slots.tier != customer.tier and r.kind == "account" and r.target in (
                "annual_fee", "points"):
            r = Route(kind="knowledge")
        match r.kind:
            case "handoff":
                return await self._handoff(ctx, HandoffAsk(reason=r.target, priority=3))
            case "complaint":
                return await self._complaint(ctx, regulator=False)
            case "chitchat":
                return self._chitchat(ctx, text)
            case "decline":
                return self._decline(ctx)
            case "flow" if allow_flows:
                return await self._flow_with_answer(ctx, r.target, text, answer=r.also_answer)
            case "flow":
                return await self._knowledge(ctx, text, offer=r.target)
            case "account":
                return await self._account_answer(ctx, text, r)
            case _:
                if r.target == "installment_quote":
                    quoted = self._quote_answer(ctx)
                    if quoted is not None:
                        return quoted
                offer = r.offer if allow_flows or not ctx.state.flow else None
                draft = await self._knowledge(ctx, text, offer=offer)
                return await self._enrich(ctx, draft)

    async def _account_answer(self, ctx: TurnContext, text: str, r: Route) -> Draft:
        """The customer's own figures (phrased by the LLM when there is one), with the rule behind them if asked."""
        draft = await self._account(ctx, r.target)
        if self.p.llm is not None and draft.handled == "account" and draft.text:
            # The LLM phrases it from the scoped account tools; the offline draft is the fallback.
            try:
                draft = await self.p.llm.answer(ctx, text, [], draft)
            except LLMUnavailable:
                ctx.record("llm_fallback", step="answer")
        if r.also_knowledge:
            extra = await self._knowledge(ctx, text, offer=None)
            if extra.resolved:
                draft.extend(extra)
        return await self._enrich(ctx, draft)

    async def _flow_with_answer(self, ctx: TurnContext, flow_id: str, text: str, *, answer: bool) -> Draft:
        """Start the flow; when the customer also asked a question, answer it (cited) as well."""
        draft = await self._start_flow(ctx, flow_id)
        if answer:
            extra = await self._knowledge(ctx, text, offer=None)
            if extra.resolved:
                draft.extend(extra)
        return draft

    def _quote_answer(self, ctx: TurnContext) -> Draft | None:
        """"一万二分12期每期还多少": the installment calculator on the customer's amount, cited."""
        u = ctx.u
        if u is None or u.slots.amount is None:
            return None
        from bot.finance import fmt_money, fmt_rate, installment_quote

        principal = u.slots.amount
        terms = [p.periods for p in self.p.schedule.installment_plans()]
        asked = [u.slots.periods] if u.slots.periods in terms else terms
        quotes = [installment_quote(principal, p, self.p.schedule) for p in asked]
        lines = []
        for q in quotes:
            lines.append(ctx.pick(
                f"分{q.periods}期：年化利率{fmt_rate(q.apr)}，每期还款{fmt_money(q.payment_per_period)}（含手续费"
                f"{fmt_money(q.fee_per_period)}），总手续费{fmt_money(q.total_fee)}",
                f"{q.periods} periods: APR {fmt_rate(q.apr)}, {fmt_money(q.payment_per_period)} per period "
                f"(including a {fmt_money(q.fee_per_period)} fee), total fee {fmt_money(q.total_fee)}"))
        text = ctx.pick(f"{fmt_money(principal)}分期的费用：", f"For {fmt_money(principal)}: ") + \
            ctx.pick("；", "; ").join(lines) + ctx.pick("。这是按费率表的试算，办理前会再给您确认。",
                                                        ". This is a quote from the fee schedule; nothing is set "
                                                        "up until you confirm.")
        draft = Draft(text=text, handled="knowledge", tool_values=[principal, *[vars_of(q) for q in quotes]])
        cited = article_citation("installment-fees-apr", ctx.lang)
        if cited is not None:
            draft.citations.append(cited[0])
            draft.passages.append(cited[1])
        draft.cards.append({"type": "choices", "id": f"offer-installment-{ctx.seq}", "options": [
            {"label": _offer_label("installment", ctx.lang), "action_id": "flow.start",
             "values": {"flow": "installment"}}]})
        return draft

    async def _account(self, ctx: TurnContext, target: str) -> Draft:
        handlers: dict[str, Any] = {
            "statement": account.statement, "min_payment": account.min_payment, "annual_fee": account.annual_fee,
            "transactions": account.transactions, "limit": account.limit, "points": account.points,
            "card_status": account.card_status, "payment_status": account.last_statement_paid,
        }
        if target == "replacement_status":
            found = await account.replacement_status(ctx)
            if found is not None:
                return found
            return await self._knowledge(ctx, ctx.u.text if ctx.u else "", offer="card_replacement")
        draft: Draft = await handlers[target](ctx)
        article = ACCOUNT_ARTICLES.get(target)
        if article and not draft.citations:
            cited = article_citation(article, ctx.lang)
            if cited is not None:
                draft.citations.append(cited[0])
                draft.passages.append(cited[1])
        return draft

    async def _knowledge(self, ctx: TurnContext, text: str, *, offer: str | None) -> Draft:
        if self.p.retriever is None:
            return Draft(text=say("no_answer", ctx.lang), handled="knowledge", resolved=False)
        customer = await ctx.customer()
        tier = (ctx.u.slots.tier if ctx.u else None) or customer.tier
        history = [q["text"] for q in ctx.state.questions[-3:]]
        with ctx.timed("retrieve"):
            passages = await self.p.retriever.retrieve(text, locale=ctx.lang, tier=tier, k=3, history=history,
                                                       per_article=4)
        ctx.state.questions.append({"seq": ctx.seq, "text": text[:200]})
        if not passages:
            return self._no_answer(ctx)
        with ctx.timed("compose"):
            draft = compose_answer(text, passages, ctx.lang, tier=tier)
        if not draft.resolved:
            return self._no_answer(ctx)
        if self.p.llm is not None:
            try:
                draft = await self.p.llm.answer(ctx, text, passages, draft)
            except LLMUnavailable:
                ctx.record("llm_fallback", step="answer")
        if offer and offer in FLOWS and not (ctx.state.flow and ctx.state.flow["id"] == offer):
            draft.cards.append({"type": "choices", "id": f"offer-{offer}-{ctx.seq}", "options": [
                {"label": _offer_label(offer, ctx.lang), "action_id": "flow.start", "values": {"flow": offer}}]})
            ctx.record("flow", flow=offer, event="offered", segment=customer.segment,
                       intent=ctx.u.intent if ctx.u else None)
        return draft

    def _no_answer(self, ctx: TurnContext) -> Draft:
        return Draft(text=say("no_answer", ctx.lang), handled="fallback", resolved=False,
                     cards=[{"type": "choices", "id": f"noanswer-{ctx.seq}", "options": [
                         {"label": ctx.pick("转人工客服", "Talk to a person"), "action_id": "handoff.request",
                          "values": {}}]}])

    async def _enrich(self, ctx: TurnContext, draft: Draft) -> Draft:
        """Segment-aware notes and one-time proactive offers after an answer."""
        try:
            customer = await ctx.customer()
            note = await segment_notes(ctx, customer, self.p.graph)
            if note is not None:
                draft.extend(note)
            offer = await proactive_offers(ctx, customer)
            if offer is not None:
                draft.extend(offer)
        except CardSystemError:
            logger.warning("engine.enrich_failed", extra={"conversation_id": ctx.conversation_id})
        return draft

    async def _clarify_or_answer(self, ctx: TurnContext, text: str) -> Draft:
        """Unsure of the intent: when the knowledge base's best article serves one of the likely
        intents, answer from it (cited); otherwise ask which one was meant."""
        u = ctx.u
        assert u is not None
        likely = {a.intent for a in u.alternatives[:3]} - {"out_of_scope", "chitchat", "human.agent"}
        if self.p.retriever is not None and likely:
            customer = await ctx.customer()
            with ctx.timed("retrieve"):
                passages = await self.p.retriever.retrieve(text, locale=ctx.lang, tier=customer.tier, k=3,
                                                           per_article=4)
            # Answer only when one article clearly stands out and serves a likely intent; a vague
            # question ("那个费") spreads over many articles and still gets the question back.
            # (``per_article`` passages share their article's score: compare with the next article.)
            runner_up = next((p.score for p in passages if p.article_id != passages[0].article_id), None)
            clear = runner_up is None or passages[0].score >= CLEAR_MARGIN * runner_up
            if passages and clear and set(passages[0].intents) & likely:
                draft = compose_answer(text, passages, ctx.lang, tier=customer.tier)
                if draft.resolved:
                    ctx.record("clarify_skipped", intents=sorted(likely), article=passages[0].article_id)
                    return draft
        return self._clarify(ctx)

    def _clarify(self, ctx: TurnContext) -> Draft:
        u = ctx.u
        assert u is not None
        options = []
        for alt in u.alternatives:
            if alt.intent in ("out_of_scope", "chitchat") or len(options) >= 3:
                continue
            options.append({"label": _intent_label(alt.intent, ctx.lang), "action_id": "clarify",
                            "values": {"intent": alt.intent, "text": u.text[:300]}})
        if not options:
            return self._decline(ctx)
        options.append({"label": say("clarify_other", ctx.lang), "action_id": "handoff.request", "values": {}})
        return Draft(text=say("clarify", ctx.lang), handled="clarify", resolved=False,
                     cards=[{"type": "choices", "id": f"clarify-{ctx.seq}", "options": options}])

    def _decline(self, ctx: TurnContext) -> Draft:
        return Draft(text=say("out_of_scope", ctx.lang), handled="decline", resolved=True,
                     cards=[quick_menu(ctx.lang, ctx.seq)])

    def _chitchat(self, ctx: TurnContext, text: str) -> Draft:
        low = text.lower()
        name = ""
        if re.search(r"谢|thank|thx|多谢", low):
            key = "thanks"
        elif re.search(r"再见|拜拜|bye|goodbye|see you", low):
            key = "bye"
        elif re.search(r"机器人|真人|是人吗|\bbot\b|\bhuman\b|real person|are you (a )?(robot|ai|person)", low):
            key = "are_you_human"
        else:
            key = "hello"
        return Draft(text=say(key, ctx.lang, name=name), handled="chitchat",
                     cards=[quick_menu(ctx.lang, ctx.seq)] if key == "hello" else [],
                     meta={"greeting": key == "hello"})

    # -- complaints and handoff -------------------------------------------------------------

    async def _complaint(self, ctx: TurnContext, *, regulator: bool) -> Draft:
        u = ctx.u
        card = await ctx.card()
        case = await ctx.cards.open_case(
            ctx.customer_id, kind="complaint", card_id=card.id, priority=1 if regulator else 2,
            details={"summary": (u.text if u else "")[:300], "regulator": regulator}, key=ctx.key("complaint"))
        ctx.record("complaint", regulator=regulator, case=case.id)
        self._action_log(ctx, "complaint.opened", f"complaint case {case.id} opened")
        lead = say("complaint", ctx.lang, case=case.id,
                   first=self.p.schedule.get("service.complaint_first_answer_business_days"),
                   days=self.p.schedule.get("service.complaint_resolution_days"),
                   regulator=say("complaint_regulator", ctx.lang) if regulator else "")
        ask = HandoffAsk(reason="regulator_complaint" if regulator else "complaint", priority=1 if regulator else 2,
                         skills=("complaints",), note=f"complaint case {case.id}")
        draft = await self._handoff(ctx, ask, lead=lead, quiet=True)
        draft.handled = "complaint"
        draft.tool_values.append({"case": case.id, "first": 2, "days": 15})
        return draft

    async def _handoff(self, ctx: TurnContext, ask: HandoffAsk, *, lead: str = "", quiet: bool = False) -> Draft:
        state = ctx.state
        if state.mode in ("queued", "agent"):
            return Draft(text=say("handoff_already", ctx.lang), handled="handoff")
        if state.flow:
            self._end_flow(ctx, "abandoned")
        if self.p.handoff is None:
            return Draft(text=(lead + "\n\n" if lead else "") + say("handoff_unavailable", ctx.lang),
                         handled="handoff", resolved=False)
        placement = await self.p.handoff.request(ctx, ask)
        if placement is None:
            return Draft(text=(lead + "\n\n" if lead else "") + say("handoff_unavailable", ctx.lang),
                         handled="handoff", resolved=False)
        state.mode = "queued"
        state.handoff = {"reason": ask.reason, "priority": placement.get("priority", ask.priority),
                         "ticket_id": placement.get("ticket_id"), "seq": ctx.seq}
        ctx.record("handoff", reason=ask.reason, priority=placement.get("priority", ask.priority),
                   offline=placement.get("offline", False))
        hours = self.p.schedule.get("service.agent_hours")
        if placement.get("offline"):
            text = say("handoff_offline", ctx.lang, start=hours["start"], end=hours["end"],
                       ticket=placement.get("ticket_id", ""))
        elif quiet:
            text = ""
        else:
            why = ""
            text = say("handoff_queued", ctx.lang, why=why, position=placement.get("position") or 1,
                       eta=fmt_eta(placement.get("eta_s") or 60, ctx.lang))
        full = "\n\n".join(t for t in (lead, text) if t)
        return Draft(text=full, handled="handoff", tool_values=[placement.get("position") or 1,
                                                                   placement.get("eta_s") or 60,
                                                                   round((placement.get("eta_s") or 60) / 60)],
                     meta={"notice": False})

    # -- flows ----------------------------------------------------------------------------

    async def _start_flow(self, ctx: TurnContext, flow_id: str, **slots: Any) -> Draft:
        flow = FLOWS.get(flow_id)
        if flow is None:
            return await self._knowledge(ctx, ctx.u.text if ctx.u else "", offer=None)
        if ctx.state.flow and ctx.state.flow["id"] != flow_id:
            self._end_flow(ctx, "abandoned")
        fs = new_flow_state(flow_id, ctx, **slots)
        customer = await ctx.customer()
        ctx.record("flow", flow=flow_id, event="started", segment=customer.segment,
                   intent=ctx.u.intent if ctx.u else None)
        result = await flow.start(ctx, fs)
        return await self._apply_flow(ctx, flow_id, result)

    async def _in_flow(self, ctx: TurnContext, text: str) -> Draft:
        fs = ctx.state.flow
        assert fs is not None and ctx.u is not None
        flow = FLOWS[fs["id"]]
        if is_cancel(text):
            return await self._cancel_flow(ctx, fs)
        if flow.accepts(ctx, fs):
            result = await flow.step(ctx, fs, FlowInput(kind="text", text=text))
            return await self._apply_flow(ctx, fs["id"], result)
        u = ctx.u
        other_flow = route(u.intent, text) if u.is_confident else None
        if other_flow is not None and other_flow.kind == "flow" and other_flow.target != fs["id"] and \
                u.intent not in FLOW_INTENTS_OF.get(fs["id"], ()) and not _asks_question(text):
            return await self._start_flow(ctx, other_flow.target)
        if u.is_confident and u.intent in FLOW_INTENTS_OF.get(fs["id"], ()) and not _asks_question(text):
            result = await flow.step(ctx, fs, FlowInput(kind="text", text=text))
            return await self._apply_flow(ctx, fs["id"], result)
        # A digression: answer it, then pick the flow up where it was (twice; then let it go).
        answer = await self._route(ctx, text, allow_flows=False)
        ctx.record("digression", flow=fs["id"], intent=u.intent)
        fs["digressions"] = fs.get("digressions", 0) + 1
        if fs["digressions"] > 2:
            self._end_flow(ctx, "abandoned")
            return answer
        resume = await flow.resume(ctx, fs)
        resume.tool_values.append(fs.get("slots", {}))  # the flow's own facts may be restated
        return answer.extend(resume)

    async def _cancel_flow(self, ctx: TurnContext, fs: dict[str, Any]) -> Draft:
        """Stop the flow; say truthfully what (if anything) was already done."""
        done = [a for a in ctx.state.actions if a.get("fid") == fs.get("fid")]
        if done:
            text = ctx.pick("好的，后续步骤不再办理。已经完成的操作保持不变："
                            + "；".join(a["summary"] for a in done) + "。",
                            "Okay, I've stopped here. What was already done stays done: "
                            + "; ".join(a["summary"] for a in done) + ".")
        else:
            text = ctx.pick("好的，已取消，没有办理任何业务。还有其他需要吗？",
                            "Okay, cancelled; nothing was changed. Anything else?")
        return await self._apply_flow(ctx, fs["id"], FlowResult(draft=Draft(text=text, handled="flow"), state=None,
                                                                 status="cancelled"))

    async def _apply_flow(self, ctx: TurnContext, flow_id: str, result: FlowResult) -> Draft:
        state = ctx.state
        before = state.flow
        if result.action:
            self._action_log(ctx, result.action.get("kind", flow_id), result.action.get("summary", ""),
                             fid=(result.state or before or {}).get("fid"))
        for fs in (before, result.state):
            if fs:  # what the flow collected (labels, amounts, dates) may be restated
                result.draft.tool_values.append(fs.get("slots", {}))
        state.flow = result.state
        if result.status != "continue":
            customer = await ctx.customer()
            event = {"completed": "completed", "cancelled": "abandoned", "failed": "failed",
                     "handoff": "failed"}[result.status]
            if result.status == "handoff" and result.handoff is not None and \
                    result.handoff.reason == "unrecognised_transaction":
                event = "completed"  # a fraud report ends, as designed, with the risk team
            ctx.record("flow", flow=flow_id, event=event, segment=customer.segment,
                       intent=ctx.u.intent if ctx.u else None)
            state.flows_done.append({"flow": flow_id, "status": result.status, "seq": ctx.seq})
        draft = result.draft
        draft.handled = "flow"
        draft.meta["flow"] = {"id": flow_id, "status": result.status,
                              "step": result.state.get("step") if result.state else None}
        if result.handoff is not None:
            hand = await self._handoff(ctx, result.handoff)
            draft.extend(hand)
        return draft

    def _end_flow(self, ctx: TurnContext, event: str) -> None:
        fs = ctx.state.flow
        if fs:
            ctx.record("flow", flow=fs["id"], event=event, segment=None, intent=None)
            ctx.state.flows_done.append({"flow": fs["id"], "status": event, "seq": ctx.seq})
        ctx.state.flow = None

    # -- actions (card clicks) ----------------------------------------------------------

    async def _action(self, ctx: TurnContext) -> Draft:
        inp = ctx.turn.input
        aid = inp.action_id or ""
        values = inp.values
        state = ctx.state
        if aid == "csat":
            return await self._csat(ctx, values)
        if aid in ("quick", "clarify"):
            text = str(values.get("text") or "")
            if not text:
                return Draft(text=say("clarify", ctx.lang), handled="clarify", resolved=False)
            inspection = inspect_input(text, max_chars=self.p.max_text_chars)
            if aid == "clarify" and values.get("intent"):
                return await self._forced_intent(ctx, inspection, str(values["intent"]))
            return await self._message(ctx, inspection)
        if aid == "handoff.request":
            return await self._handoff(ctx, HandoffAsk(reason="customer_request", priority=3))
        if aid == "flow.start":
            flow_id = str(values.get("flow", ""))
            if flow_id not in FLOWS:
                return Draft(text=ctx.pick("这个操作已失效。", "That option is no longer available."), handled="flow")
            slots = {k: values[k] for k in ("txn", "kind") if values.get(k)}
            return await self._start_flow(ctx, flow_id, **slots)
        fs = state.flow
        if fs is None or values.get("fid") != fs.get("fid"):
            return Draft(text=ctx.pick("这张卡片已经过期了（对应的业务已结束或已更新）。如需办理，请重新告诉我。",
                                       "That card is no longer current (its request already ended or changed). "
                                       "Tell me again if you'd like to do it."), handled="flow")
        if aid == "flow.cancel":
            return await self._cancel_flow(ctx, fs)
        result = await FLOWS[fs["id"]].step(ctx, fs, FlowInput(kind="action", action_id=aid, values=dict(values)))
        return await self._apply_flow(ctx, fs["id"], result)

    async def _forced_intent(self, ctx: TurnContext, inspection: Any, intent: str) -> Draft:
        from dataclasses import replace

        u = self.p.understander.understand(inspection.redacted, locale_hint=ctx.lang, today=ctx.today())
        ctx.u = replace(u, intent=intent, confidence=1.0, is_confident=True)
        ctx.lang = u.language
        ctx.state.intents.append({"seq": ctx.seq, "intent": intent, "confidence": 1.0})
        return await self._route(ctx, inspection.clean_text)

    async def _csat(self, ctx: TurnContext, values: dict[str, Any]) -> Draft:
        rating = values.get("rating")
        if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
            return Draft(text=ctx.pick("请选择1到5星。", "Please choose 1 to 5 stars."), handled="csat")
        comment = values.get("comment")
        comment = str(comment)[:500] if comment else None
        ctx.state.csat = {"rating": rating, "seq": ctx.seq}
        ctx.record("csat", rating=rating)
        if self.p.handoff is not None:
            await self.p.handoff.record_csat(ctx.conversation_id, rating, comment)
        return Draft(text=say("csat_thanks", ctx.lang), handled="csat")

    # -- output and bookkeeping ---------------------------------------------------------

    async def _emit(self, ctx: TurnContext, draft: Draft) -> None:
        if not draft.text and not draft.cards:
            return
        from bot.conversations import new_message_id

        message_id = new_message_id()
        if not draft.meta.get("streamed"):
            for piece in stream_pieces(draft.text):
                await ctx.out.delta(message_id, piece)
        meta = {k: v for k, v in draft.meta.items() if k in ("flow", "by")}
        meta["handled"] = draft.handled
        await ctx.out.message(draft.text, message_id=draft.meta.get("message_id", message_id),
                              citations=draft.citations, cards=draft.cards, meta=meta)

    def _action_log(self, ctx: TurnContext, kind: str, summary: str, fid: str | None = None) -> None:
        ctx.state.actions.append({"kind": kind, "summary": summary, "at": ctx.clock().isoformat(), "seq": ctx.seq,
                                  "fid": fid})

    async def _after(self, ctx: TurnContext, draft: Draft, guard_action: str, rules: list[str],
                     started: float) -> None:
        state = ctx.state
        state.turns += 1
        for c in draft.citations:
            ref = {"article_id": c["article_id"], "title": c["title"], "locale": c["locale"]}
            if ref not in state.citations:
                state.citations.append(ref)
        u = ctx.u
        state.memory["last_turn"] = {"intent": u.intent if u else None, "handled": draft.handled,
                                     "resolved": draft.resolved, "seq": ctx.seq}
        latency_ms = round((time.perf_counter() - started) * 1000, 2)
        customer = None
        try:
            customer = await ctx.customer()
        except CardSystemError:
            customer = None
        turn = {
            "seq": ctx.seq, "intent": u.intent if u else None, "confidence": round(u.confidence, 3) if u else None,
            "language": ctx.lang, "handled": draft.handled, "resolved": draft.resolved, "latency_ms": latency_ms,
            "engine": "llm" if draft.meta.get("by") == "llm" else "offline", "guard": guard_action,
            "rules": rules, "segment": customer.segment if customer else None,
            "tier": customer.tier if customer else None, "kind": ctx.turn.input.kind,
            "flow": (draft.meta.get("flow") or {}).get("id"), "citations": [c["article_id"] for c in draft.citations],
            "sentiment": round(u.sentiment, 3) if u else None,
            "llm": draft.meta.get("llm_usage"),
            "stages_ms": ctx.timings,
        }
        records = [("turn", turn), *ctx.records]
        if rules:
            records.append(("violation", {"rules": rules, "action": guard_action, "actor": "bot"}))
        try:
            await self.p.store.add_records(records, conversation_id=ctx.turn.conversation.id)
        except Exception:
            # Analytics must never cost the customer a reply.
            logger.warning("engine.record_failed", extra={"conversation_id": ctx.conversation_id},
                           exc_info=True)


# The rule behind each account answer: the article it cites alongside the customer's data.
ACCOUNT_ARTICLES = {
    "statement": "billing-cycle", "min_payment": "minimum-payment", "annual_fee": "annual-fee-and-waivers",
    "limit": "credit-limit-query", "points": "points-redemption", "card_status": "card-declined",
    "payment_status": "payment-channels",
}


@functools.cache
def _articles_by_key() -> dict[tuple[str, str], Any]:
    from knowledge.articles import load_articles

    return {(a.id, a.locale): a for a in load_articles()}


def article_citation(article_id: str, lang: str) -> tuple[dict[str, Any], str] | None:
    """A citation (and the article's text, for grounding) of one article in ``lang``."""
    article = _articles_by_key().get((article_id, lang))
    if article is None:
        return None
    section = next((line[3:].strip() for line in article.body.splitlines() if line.startswith("## ")), "")
    body = " ".join(line.strip() for line in article.body.splitlines()
                    if line.strip() and not line.startswith("#") and not line.startswith("|"))
    return ({"article_id": article.id, "locale": article.locale, "title": article.title, "section": section,
             "version": str(article.version), "snippet": body[:160] + ("…" if len(body) > 160 else "")},
            article.body)


def vars_of(value: Any) -> dict[str, Any]:
    from bot.cards.models import jsonable

    data: dict[str, Any] = jsonable(value)
    return data


def _asks_question(text: str) -> bool:
    return bool(re.search(r"[?？]|吗|什么|多少|怎么|为什么|是不是|\b(what|how|why|when|which|is it|does|do i)\b", text,
                          re.I))


INTENT_LABELS = {
    "billing.statement": ("查账单", "My bill"), "billing.min_payment": ("最低还款", "Minimum payment"),
    "billing.interest_fees": ("利息和费用", "Interest and fees"), "billing.annual_fee": ("年费", "Annual fee"),
    "payment.how_to_pay": ("还款方式", "How to pay"), "account.transactions": ("交易明细", "My transactions"),
    "card.activate": ("激活卡片", "Activate a card"), "card.lost_stolen": ("挂失", "Lost or stolen card"),
    "card.replace": ("补换卡", "Replace a card"), "card.declined": ("刷卡失败", "Card declined"),
    "card.pin": ("密码", "PIN"), "fraud.dispute": ("交易争议/盗刷", "Dispute a charge"),
    "limit.query": ("查额度", "My credit limit"), "limit.increase": ("提额", "Raise my limit"),
    "installment": ("分期", "Installments"), "cash_advance": ("取现", "Cash advance"),
    "rewards.points": ("积分", "Points"), "benefits.rights": ("卡片权益", "Card benefits"),
    "fx.international": ("境外用卡", "Using the card abroad"), "application.status": ("申请信用卡", "Apply for a card"),
    "card.cancel": ("销卡", "Cancel the card"), "profile.update": ("修改资料", "Update my details"),
    "complaint": ("投诉", "Complaint"), "human.agent": ("转人工", "Talk to a person"),
}


def _asks_for_someone_else(u: Any) -> bool:
    """Someone else's account data, asked as an account question (or an unsure or out-of-scope one);
    "我帮我妈问分期手续费" is a knowledge question and is answered."""
    return "third_party" in u.signals and (
        u.intent in ACCOUNT_INTENTS or not u.is_confident or u.intent in ("out_of_scope", "chitchat")
    )


def _hardship_plea(u: Any) -> bool:
    """"I can't pay this month, will you send someone round?" is a plea, not a complaint or an
    unclear question: it gets the options and a person at once."""
    return "hardship" in u.signals and (
        not u.is_confident or u.intent in _PLEA_INTENTS
        or (u.intent == "complaint" and "complaint" not in u.signals)
    )


# Intents a "cannot pay" message lands on when it is a plea rather than a request (an
# installment or a person asked for by name still goes to its flow or the queue).
_PLEA_INTENTS = frozenset({"out_of_scope", "chitchat", "payment.how_to_pay", "billing.min_payment",
                           "billing.interest_fees", "billing.statement"})


def _intent_label(intent: str, lang: str) -> str:
    zh, en = INTENT_LABELS.get(intent, (intent, intent))
    return zh if lang == "zh" else en


OFFER_LABELS = {
    "installment": ("办理分期", "Set up an installment"), "limit_increase": ("申请提额", "Apply for a higher limit"),
    "lost_card": ("挂失冻结", "Report and freeze"), "dispute": ("发起争议", "Dispute a charge"),
    "activation": ("激活卡片", "Activate my card"), "autopay": ("设置自动还款", "Set up autopay"),
    "pin_reset": ("重置密码", "Reset my PIN"), "card_replacement": ("补换卡", "Replace my card"),
    "installment_early_payoff": ("提前还清分期", "Pay off early"),
}


def _offer_label(flow: str, lang: str) -> str:
    zh, en = OFFER_LABELS.get(flow, (flow, flow))
    return zh if lang == "zh" else en


def quick_menu(lang: str, seq: int) -> dict[str, Any]:
    """The "service supermarket" entries."""
    items = [("查账单", "Show my bill", "查一下我的账单", "Show my bill"),
             ("分期", "Installments", "我想办分期", "I want to split a purchase into installments"),
             ("额度", "Credit limit", "我的额度是多少", "What is my credit limit?"),
             ("挂失", "Lost card", "我的卡丢了", "I lost my card"),
             ("积分", "Points", "我有多少积分", "How many points do I have?")]
    return {"type": "choices", "id": f"menu-{seq}", "title": "常用服务" if lang == "zh" else "Popular services",
            "options": [{"label": zl if lang == "zh" else el, "action_id": "quick",
                         "values": {"text": zt if lang == "zh" else et}} for zl, el, zt, et in items]}


def stream_pieces(text: str, size: int = 24) -> list[str]:
    """The reply cut into a few pieces for delta frames (the final message replaces them)."""
    if not text:
        return []
    parts = re.split(r"(?<=[。！？；.!?;])", text)
    pieces: list[str] = []
    buf = ""
    for part in parts:
        buf += part
        if len(buf) >= size:
            pieces.append(buf)
            buf = ""
    if buf:
        pieces.append(buf)
    return pieces[:12]
