"""The bot's side of a handoff: what ``handoff`` declares, the bot implements here.

* ``HandoffBridge.request`` builds the context package inputs from the conversation state and
  the card system (everything already masked) and opens the handoff on the same turn;
* the ``ConversationGateway`` stores agent messages and status events in the conversation and
  keeps its mode (bot → queued → agent → bot) in step;
* ``check_agent_draft`` runs the compliance guard on every agent draft;
* ``record`` writes the append-only audit log; ``verify``/``mint`` are agent tokens.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from bot.auth import TokenService
from bot.conversations import ConversationService, new_message_id
from bot.domain import ConversationId
from bot.errors import AuthError, CardSystemError, LLMUnavailable
from bot.flows.base import HandoffAsk
from bot.guardrails import Severity, check, redact
from bot.replies import say
from bot.state import ConversationState
from bot.turn import TurnContext
from handoff.context import (
    ActionRecord,
    ArticleRef,
    CustomerProfile,
    FlowState,
    HandoffRequest,
    IntentMark,
    SentimentPoint,
    Slot,
    TransactionRef,
)
from handoff.errors import HandoffError, InvalidAgentToken
from handoff.models import AgentId, DraftIssue, HandbackSummary, HandoffReason, LocalText, TranscriptEntry

logger = logging.getLogger(__name__)

STATUS_MODE = {"queued": "queued", "message_left": "queued", "assigned": "agent", "returned": "bot",
               "closed": "bot"}
FLOW_STATUS = {"completed": "completed", "cancelled": "cancelled", "abandoned": "cancelled", "failed": "failed",
               "handoff": "failed"}


def mask_name(name: str) -> str:
    """王小明 → 王*明; Emily Johnson → E*** J***."""
    if not name:
        return name
    if all("\u4e00" <= ch <= "\u9fff" for ch in name):
        return name[0] + "*" * max(1, len(name) - 2) + (name[-1] if len(name) > 1 else "")
    return " ".join(p[0] + "***" for p in name.split())


class HandoffBridge:
    """Implements the handoff package's ports for the bot, and the engine's ``HandoffPort``."""

    def __init__(self, conversations: ConversationService, tokens: TokenService) -> None:
        self.conversations = conversations
        self.tokens = tokens
        self.hub: Any = None
        # The LLM engine's summariser when an LLM is configured; the handoff package always
        # writes its own templated summary as well.
        self.summarize: Callable[[TurnContext, str], Awaitable[str | None]] | None = None

    # -- engine side (HandoffPort) ---------------------------------------------------------

    async def request(self, ctx: TurnContext, ask: HandoffAsk) -> dict[str, Any] | None:
        if self.hub is None:
            return None
        try:
            request = await self._request(ctx, ask)
            placement = await self.hub.open_handoff(request)
        except (HandoffError, CardSystemError) as exc:
            logger.warning("handoff.request_failed", extra={"conversation_id": ctx.conversation_id,
                                                             "error": type(exc).__name__})
            return None
        t = placement.ticket
        info = {"ticket_id": t.id, "priority": int(t.priority), "position": placement.position,
                "eta_s": placement.eta_seconds, "offline": bool(t.offline)}
        status = {"ticket_id": t.id, "reason": t.reason.value, "priority": int(t.priority),
                  "position": placement.position, "eta_s": placement.eta_seconds, "reply_to": ctx.seq}
        if t.offline:
            await self.post_status(ConversationId(ctx.conversation_id), "message_left", status)
        else:
            await self.post_status(ConversationId(ctx.conversation_id), "queued", status)
        return info

    async def record_csat(self, conversation_id: str, rating: int, comment: str | None) -> None:
        if self.hub is None:
            return
        try:
            await self.hub.record_csat(ConversationId(conversation_id), rating, comment)
        except HandoffError:
            logger.info("handoff.csat_without_ticket", extra={"conversation_id": conversation_id})

    async def _request(self, ctx: TurnContext, ask: HandoffAsk) -> HandoffRequest:
        state: ConversationState = ctx.state
        customer = await ctx.customer()
        card = await ctx.card()
        lang = ctx.lang if ctx.lang in ("zh", "en") else "zh"
        flags = []
        if ask.reason in ("unrecognised_transaction",) or (ctx.u and "fraud_risk" in ctx.u.signals):
            flags.append("fraud_reported")
        if card.status == "frozen":
            flags.append("card_frozen")
        profile = CustomerProfile(
            masked_id=f"{customer.id[:1]}***{customer.id[-2:]}",
            name=mask_name(customer.display_name(lang)),
            segment=customer.segment,
            tier=customer.tier,
            language=lang,  # type: ignore[arg-type]
            identifiers=(),
            risk_flags=tuple(flags),
            is_verified=True,
        )
        slots = [Slot(name=k, value=str(v), flow=None) for k, v in (state.memory.get("slots") or {}).items()]
        if state.flow:
            slots += [Slot(name=k, value=str(v), flow=state.flow["id"]) for k, v in state.flow.get("slots", {}).items()]
        flows = [FlowState(flow=f["flow"], status=FLOW_STATUS.get(f["status"], "failed"), step=None)  # type: ignore[arg-type]
                 for f in state.flows_done]
        if state.flow:
            flows.append(FlowState(flow=state.flow["id"], status="active", step=state.flow.get("step")))
        actions = [ActionRecord(name=a["kind"], result=a.get("summary") or a["kind"],
                                at=datetime.fromisoformat(a["at"])) for a in state.actions]
        articles = [ArticleRef(id=c["article_id"], title=c["title"]) for c in state.citations]
        txns = await self._relevant_transactions(ctx, state, ask.txn_ids)
        topic = ask.topic or (ctx.u.intent if ctx.u else None)
        if ask.reason == "unrecognised_transaction":
            topic = "fraud.dispute"
        return HandoffRequest(
            conversation_id=ConversationId(ctx.conversation_id),
            reason=HandoffReason(_reason(ask.reason)),
            customer=profile,
            topic=topic,
            reason_detail=ask.note or None,
            intents=tuple(IntentMark(intent=i["intent"], seq=i.get("seq")) for i in state.intents),
            slots=tuple(slots),
            flows=tuple(flows),
            actions=tuple(actions),
            articles=tuple(articles),
            transactions=tuple(txns),
            sentiment=tuple(SentimentPoint(seq=n + 1, score=s) for n, s in enumerate(state.sentiment[-20:])),
            summary=await self._summary(ctx),
            next_steps=tuple(_next_steps(ask, state)),
        )

    async def _summary(self, ctx: TurnContext) -> str | None:
        if self.summarize is None:
            return None
        lines = await self.transcript(ConversationId(ctx.conversation_id))
        try:
            return await self.summarize(ctx, "\n".join(f"{e.role}: {e.text}" for e in lines[-40:]))
        except LLMUnavailable:
            return None

    async def _relevant_transactions(self, ctx: TurnContext, state: ConversationState,
                                     disputed: tuple[str, ...] = ()) -> list[TransactionRef]:
        wanted = {str(v) for f in ([state.flow] if state.flow else []) for k, v in f.get("slots", {}).items()
                  if k in ("txn", "source")} | set(disputed)
        since = ctx.today() - timedelta(days=14)
        try:
            txns = await ctx.cards.transactions(ctx.customer_id, None, since=since, limit=8)
            picked = [t for t in await ctx.cards.transactions(ctx.customer_id, None, limit=500) if t.id in wanted]
        except CardSystemError:
            return []
        seen = set()
        out = []
        for t in picked + txns:
            if t.id in seen:
                continue
            seen.add(t.id)
            out.append(TransactionRef(id=t.id, posted_on=t.posted_on, merchant=t.merchant, amount=str(t.amount),
                                      note="customer disputes this" if t.id in disputed or t.id in wanted
                                      else None))
        return out[:10]

    # -- handoff ports (ConversationGateway) -------------------------------------------------

    async def post_to_customer(self, conversation_id: ConversationId, *, text: str, agent_name: str,
                               agent_id: AgentId) -> int:
        data = {"role": "agent", "message_id": new_message_id(), "text": text, "agent_name": agent_name,
                "agent_id": agent_id, "citations": [], "cards": []}
        event = await self.conversations.append(conversation_id, "message", data)
        return event.seq

    async def post_status(self, conversation_id: ConversationId, status: str, details: dict[str, Any]) -> int:
        def change(state: ConversationState) -> None:
            state.mode = STATUS_MODE.get(status, state.mode)  # type: ignore[assignment]
            if status in ("returned", "closed"):
                state.handoff = None
            if status == "closed":
                state.memory["last_turn"] = {"handled": "handoff", "resolved": True}

        await self.conversations.update_state(conversation_id, change)
        data = {"status": status, **{k: v for k, v in details.items() if v is not None}}
        if "eta_seconds" in data:  # the customer protocol's name (docs/protocol.md)
            data["eta_s"] = data.pop("eta_seconds")
        if status == "closed":
            # The customer protocol's flag: ask for a 1-5 rating (docs/protocol.md).
            data["csat"] = bool(details.get("csat", True))
        event = await self.conversations.append(conversation_id, "handoff", data)
        if status == "returned":
            await self._welcome_back(conversation_id)
        return event.seq

    async def transcript(self, conversation_id: ConversationId) -> list[TranscriptEntry]:
        events = await self.conversations.store.events_after(conversation_id, 0)
        out = []
        for e in events:
            role = e.data.get("role")
            if e.type == "handoff":
                out.append(TranscriptEntry(seq=e.seq, role="system", text=f"[handoff {e.data.get('status')}]",
                                           at=e.created_at))
                continue
            if role not in ("customer", "bot", "agent", "system"):
                continue
            text = e.data.get("text") or e.data.get("label") or (f"[{e.data.get('action_id')}]" if e.type == "action"
                                                                  else "")
            out.append(TranscriptEntry(seq=e.seq, role=role, text=redact(str(text)).text, at=e.created_at,
                                       author=e.data.get("agent_name")))
        return out

    async def on_handback(self, conversation_id: ConversationId, summary: HandbackSummary) -> None:
        def change(state: ConversationState) -> None:
            state.mode = "bot"
            state.handoff = None
            state.agent_summary = {"agent": summary.agent_name, "note": summary.note,
                                   "said": list(summary.agent_messages)[-5:], "at": summary.returned_at.isoformat()}
            state.actions.append({"kind": "agent.handback", "summary": f"{summary.agent_name}: {summary.note or ''}",
                                  "at": summary.returned_at.isoformat(), "seq": None})
            state.memory["last_turn"] = {"handled": "handoff", "resolved": True}

        await self.conversations.update_state(conversation_id, change)

    async def _welcome_back(self, conversation_id: ConversationId) -> None:
        """After the "returned" status: the assistant says it is back (with the agent's note)."""
        doc, _ = await self.conversations.store.load_state(conversation_id)
        state = ConversationState.from_doc(doc)
        lang = state.language or "zh"
        note = ""
        agent_note = (state.agent_summary or {}).get("note")
        if agent_note:
            note = (f"客服备注：{redact(agent_note).text}。" if lang == "zh" else
                    f"The agent's note: {redact(agent_note).text}. ")
        await self.conversations.append(conversation_id, "message", {
            "role": "bot", "message_id": new_message_id(), "text": say("returned", lang, note=note),
            "citations": [], "cards": []})

    # -- DraftChecker, AuditSink, AgentTokens ------------------------------------------------

    def check_agent_draft(self, text: str, *, locale: str, conversation_id: ConversationId) -> list[DraftIssue]:
        lang = "zh" if locale.startswith("zh") else "en"
        issues = []
        for v in check(text, locale=lang, actor="agent"):
            if v.severity in (Severity.BLOCK,):
                sev = "block"
            elif v.severity in (Severity.WARN, Severity.REWRITE):
                sev = "block" if v.severity is Severity.REWRITE else "warn"
            else:
                continue
            issues.append(DraftIssue(rule_id=v.rule_id, severity=sev,  # type: ignore[arg-type]
                                     message=v.message_zh if lang == "zh" else v.message_en))
        return issues

    async def record(self, actor: str, action: str, target: str, details: dict[str, Any]) -> None:
        await self.conversations.store.audit(actor, action, target, details)

    def verify(self, token: str) -> AgentId:
        try:
            return AgentId(self.tokens.verify(token, scope="agent").subject)
        except AuthError as exc:
            raise InvalidAgentToken(str(exc)) from exc

    def mint(self, agent_id: AgentId) -> str:
        return self.tokens.mint(agent_id, "agent")[0]

    # -- HumanChannel ---------------------------------------------------------------------

    async def customer_message(self, conversation_id: str, seq: int, text: str) -> None:
        if self.hub is not None:
            await self.hub.customer_message(ConversationId(conversation_id), seq, redact(text).text)


def _reason(reason: str) -> str:
    known = {r.value for r in HandoffReason}
    aliases = {"flow_failed": "flow_failure", "unrecognised": "unrecognised_transaction"}
    reason = aliases.get(reason, reason)
    return reason if reason in known else "customer_request"


def _next_steps(ask: HandoffAsk, state: ConversationState) -> list[LocalText]:
    steps = {
        "unrecognised_transaction": LocalText(zh="核实可疑交易并跟进欺诈案件；确认是否需要补卡。",
                                              en="Verify the disputed transaction and follow the fraud case; "
                                                 "confirm whether a replacement is needed."),
        "regulator_complaint": LocalText(zh="安抚客户，记录诉求，按投诉流程在时限内答复。",
                                         en="Acknowledge, record the request, answer within the complaint timelines."),
        "complaint": LocalText(
            zh="了解投诉原因并给出处理方案。", en="Understand the complaint and propose a resolution."
        ),
        "flow_failure": LocalText(zh="检查失败的业务并为客户办理。", en="Check the failed request and complete it for "
                                                                       "the customer."),
    }
    out = [steps[ask.reason]] if ask.reason in steps else []
    if state.flow:
        out.append(LocalText(zh=f"客户正在办理：{state.flow['id']}（{state.flow.get('step')}）。",
                             en=f"In progress: {state.flow['id']} ({state.flow.get('step')})."))
    return out
