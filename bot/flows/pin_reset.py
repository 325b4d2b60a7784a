"""PIN help: one step, no side effect, and the PIN never passes through the chat.

"我忘记密码了" → how to set, change or reset the PIN in the app (deep link), the lock after
too many wrong tries, and a reminder that the bank never asks for a PIN. Digits the customer
typed are never repeated: the reply is built from the schedule only, and the input guard
has already removed them from what is stored.
"""

from __future__ import annotations

import re
from typing import Any

from bot.answers.draft import Draft
from bot.flows.base import FlowInput, FlowResult, deep_link, ended
from bot.turn import TurnContext

_LOCKED = re.compile(r"锁|locked|lock", re.I)
# What a PIN looks like once the inbound guard has hidden it (or, defensively, before).
_SHARED = re.compile(r"\[redacted\]|\d{4,}|\*{3,}", re.I)


class PinResetFlow:
    """Guidance only: the app does the PIN."""

    id = "pin_reset"

    async def start(self, ctx: TurnContext, fs: dict[str, Any]) -> FlowResult:
        u = ctx.u
        text = u.text if u else ""
        lock = int(ctx.schedule.get("card.pin_wrong_attempts_lock"))
        shared = bool(u and ("sensitive_data" in u.signals or _SHARED.search(text)))
        parts = []
        if shared:
            parts.append(
                ctx.pick(
                    "为了您的安全，您刚才发送的数字已被隐藏。明光银行不会索要您的密码，请勿在聊天中发送。",
                    "For your safety, the digits you sent have been hidden. Lumen Bank will never ask "
                    "for your PIN; please don't share it in chat. ",
                )
            )
        if _LOCKED.search(text):
            parts.append(
                ctx.pick(
                    f"连续输错{lock}次后密码会锁定，到第二天自动解锁；解锁后可以在App中重新设置密码。",
                    f"After {lock} wrong tries the PIN locks until the next day; after that you can "
                    f"set a new one in the app. ",
                )
            )
        parts.append(
            ctx.pick(
                "交易密码只能由您本人在App中设置或修改，忘记密码也可以在App中通过身份验证后重新设置"
                + ("" if shared else "；明光银行不会索要您的密码，请勿在聊天中发送")
                + "。"
                + ("" if _LOCKED.search(text) else f"连续输错{lock}次会锁定到第二天。"),
                "You set or change your PIN yourself in the app; if you've forgotten it, the app lets you "
                "set a new "
                "one after verifying it's you."
                + (
                    ""
                    if shared
                    else " Lumen Bank will never ask for your PIN, so please don't share it in chat."
                )
                + ("" if _LOCKED.search(text) else f" {lock} wrong tries lock the PIN until the next day."),
            )
        )
        draft = Draft(
            text="".join(parts).strip(),
            handled="flow",
            tool_values=[lock],
            meta={"notice": shared},
            cards=[
                deep_link(
                    f"{fs['fid']}-pin",
                    ctx.pick("交易密码", "Your PIN"),
                    ctx.pick("去App设置密码", "Set PIN in the app"),
                    "app://card/pin",
                )
            ],
        )
        return ended(draft, "completed")

    async def step(self, ctx: TurnContext, fs: dict[str, Any], inp: FlowInput) -> FlowResult:
        return await self.start(ctx, fs)

    def accepts(self, ctx: TurnContext, fs: dict[str, Any]) -> bool:
        return False

    async def resume(self, ctx: TurnContext, fs: dict[str, Any]) -> Draft:
        return (await self.start(ctx, fs)).draft
