"""The flow engine's shared pieces: flow state, inputs, results, cards, and the registry.

A flow is data plus small typed step functions. Its state is a JSON dict stored in the
conversation state (``state.flow``), so a reconnect, a restart or a handoff and hand-back
resumes it where it was. Side effects go through the card-system port only, each with an
idempotency key tied to the flow instance (``fid``), so a duplicated or retried
confirmation never acts twice.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from bot.answers.draft import Draft
from bot.turn import TurnContext

Status = Literal["continue", "completed", "cancelled", "failed", "handoff"]

_CANCEL_WORD = r"(取消|算了|不办了|不用了|不要了|不需要了|先不了|不弄了|不分了|退出|cancel|stop|never ?mind|forget it|no thanks|quit)"
CANCEL_WORDS = re.compile(
    rf"^({_CANCEL_WORD}[，,、。.!！\s]*)+$|取消(办理|申请|分期)|不想(办|分期|申请)了|\bcancel (it|this|that)\b|"
    r"\b(i changed my mind|don'?t want (it|to) (any ?more)?)\b",
    re.I,
)


@dataclass(slots=True, kw_only=True)
class FlowInput:
    """What the customer did inside a flow: typed text or a click on one of its cards."""

    kind: Literal["text", "action"]
    text: str = ""
    action_id: str | None = None
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True, kw_only=True)
class HandoffAsk:
    """A flow's request to hand the conversation to a person."""

    reason: str
    priority: int
    skills: tuple[str, ...] = ()
    note: str = ""
    txn_ids: tuple[str, ...] = ()
    """Transactions the person must look at (marked in the context package)."""
    topic: str | None = None
    """What the customer needs help with, when it is not the turn's intent (routing uses it)."""


@dataclass(slots=True, kw_only=True)
class FlowResult:
    """A step's reply, the flow's next state (``None`` once it ended) and its status."""

    draft: Draft
    state: dict[str, Any] | None
    status: Status = "continue"
    handoff: HandoffAsk | None = None
    action: dict[str, Any] | None = None


class Flow(Protocol):
    """One in-chat service flow."""

    id: str

    async def start(self, ctx: TurnContext, fs: dict[str, Any]) -> FlowResult: ...

    async def step(self, ctx: TurnContext, fs: dict[str, Any], inp: FlowInput) -> FlowResult: ...

    def accepts(self, ctx: TurnContext, fs: dict[str, Any]) -> bool:
        """Whether a typed turn answers the flow's current step (not a digression)."""
        ...

    async def resume(self, ctx: TurnContext, fs: dict[str, Any]) -> Draft:
        """The reminder shown after a digression: where we were, with the step's card again."""
        ...


def new_flow_state(flow_id: str, ctx: TurnContext, **slots: Any) -> dict[str, Any]:
    """A fresh flow instance; ``fid`` keys its side effects and ties its cards to it."""
    return {"id": flow_id, "fid": f"f{uuid.uuid4().hex[:10]}", "step": "start", "slots": dict(slots),
            "started_seq": ctx.seq, "customer_steps": 1}


def is_cancel(text: str) -> bool:
    return bool(CANCEL_WORDS.search(text.strip()))


def button(label: str, action_id: str, fs: dict[str, Any], **values: Any) -> dict[str, Any]:
    """A card button bound to this flow instance."""
    return {"label": label, "action_id": action_id, "values": {"fid": fs["fid"], **values}}


def cancel_button(ctx: TurnContext, fs: dict[str, Any]) -> dict[str, Any]:
    return button(ctx.pick("取消", "Cancel"), "flow.cancel", fs)


def confirm_card(
    ctx: TurnContext, fs: dict[str, Any], *, title: str, lines: list[list[str]], action_id: str, label: str | None = None
) -> dict[str, Any]:
    return {
        "type": "confirm", "id": f"{fs['fid']}-confirm", "title": title, "lines": lines,
        "confirm": button(label or ctx.pick("确认办理", "Confirm"), action_id, fs),
        "cancel": cancel_button(ctx, fs),
    }


def choices_card(title: str, fs: dict[str, Any], options: list[dict[str, Any]], suffix: str = "choices") -> dict[str, Any]:
    return {"type": "choices", "id": f"{fs['fid']}-{suffix}", "title": title, "options": options}


def deep_link(card_id: str, title: str, label: str, url: str) -> dict[str, Any]:
    return {"type": "link", "id": card_id, "title": title, "label": label, "url": url}


def ended(draft: Draft, status: Status, **kw: Any) -> FlowResult:
    return FlowResult(draft=draft, state=None, status=status, **kw)


def cancelled(ctx: TurnContext) -> FlowResult:
    return ended(Draft(text=ctx.pick("好的，已取消，没有办理任何业务。还有其他需要吗？",
                                     "Okay, cancelled; nothing was changed. Anything else?"), handled="flow"),
                 "cancelled")
