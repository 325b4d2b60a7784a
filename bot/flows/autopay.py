"""Autopay: set it up, change it (full or minimum amount) or turn it off — at most three steps.

(1) "设置自动还款" → the current setting and a choice of full or minimum amount (and
"turn off" when it is on); (2) pick → a confirmation card; (3) confirm → the card system
changes the setting. Saying the mode up front ("自动还款全额") skips step 2. A change takes
effect from the next statement; the reply says which one, and what is still to pay by hand.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from bot.answers.draft import Draft
from bot.cards.models import Card, jsonable
from bot.errors import CardSystemError
from bot.finance import fmt_money
from bot.flows.base import FlowInput, FlowResult, button, cancelled, choices_card, confirm_card, ended
from bot.replies import fmt_date
from bot.turn import TurnContext

MODES = ("full", "minimum", "off")
_OFF = re.compile(
    r"关闭|关掉|取消|停止|停用|不要自动|解除|turn (it )?off|switch (it )?off|cancel|stop|disable|remove", re.I
)
_QUESTION = re.compile(r"[?？]|吗|什么|多少|怎么|为什么|\b(what|how|why|when|which)\b", re.I)
NAMES = {
    "full": ("全额还款", "the full statement balance"),
    "minimum": ("最低还款额", "the minimum payment"),
    "off": ("关闭自动还款", "autopay off"),
}


def next_statement(today: date, day: int) -> date:
    """The next statement date on ``day`` of a month, after ``today``."""
    current = today + timedelta(days=1)
    while current.day != day:
        current += timedelta(days=1)
    return current


def read_mode(ctx: TurnContext) -> str | None:
    u = ctx.u
    if u is None:
        return None
    if u.slots.autopay_mode:
        return u.slots.autopay_mode
    return "off" if _OFF.search(u.text) else None


class AutopayFlow:
    """Choose → confirm → set."""

    id = "autopay"

    async def start(self, ctx: TurnContext, fs: dict[str, Any]) -> FlowResult:
        card = await ctx.card()
        fs["slots"]["card"] = card.id
        mode = fs["slots"].get("kind") if fs["slots"].get("kind") in MODES else read_mode(ctx)
        if mode:
            return await self._choose_mode(ctx, fs, card, mode)
        return self._choose(ctx, fs, card)

    async def _card(self, ctx: TurnContext, fs: dict[str, Any]) -> Card:
        return next(c for c in await ctx.cards.cards(ctx.customer_id) if c.id == fs["slots"]["card"])

    def _current(self, ctx: TurnContext, card: Card) -> str:
        if card.autopay is None:
            return ctx.pick("您目前没有开通自动还款。", "You don't have autopay at the moment. ")
        return ctx.pick(
            f"您目前的自动还款是：{NAMES[card.autopay][0]}。",
            f"Your autopay currently pays {NAMES[card.autopay][1]}. ",
        )

    def _choose(self, ctx: TurnContext, fs: dict[str, Any], card: Card, lead: str = "") -> FlowResult:
        fs["step"] = "choose"
        options = [
            button(ctx.pick("全额还款", "Full balance"), "autopay.mode", fs, mode="full"),
            button(ctx.pick("最低还款额", "Minimum payment"), "autopay.mode", fs, mode="minimum"),
        ]
        if card.autopay is not None:
            options = [o for o in options if o["values"]["mode"] != card.autopay]
            options.append(
                button(ctx.pick("关闭自动还款", "Turn autopay off"), "autopay.mode", fs, mode="off")
            )
        text = (
            lead
            + self._current(ctx, card)
            + ctx.pick(
                "自动还款在每期到期还款日从您绑定的借记卡扣款，可以选择还全额或最低还款额。请选择：",
                "Autopay debits your linked debit card on each due date, for the full balance or the minimum "
                "payment. Which would you like?",
            )
        )
        return FlowResult(
            draft=Draft(
                text=text,
                handled="flow",
                tool_values=[jsonable(card)],
                cards=[choices_card(ctx.pick("自动还款", "Autopay"), fs, options)],
            ),
            state=fs,
        )

    async def _choose_mode(self, ctx: TurnContext, fs: dict[str, Any], card: Card, mode: str) -> FlowResult:
        if (card.autopay or "off") == mode:
            text = self._current(ctx, card) + ctx.pick("不需要修改。", "Nothing to change.")
            return ended(Draft(text=text, handled="flow", tool_values=[jsonable(card)]), "completed")
        return await self._confirm(ctx, fs, card, mode)

    async def _confirm(
        self, ctx: TurnContext, fs: dict[str, Any], card: Card, mode: str, lead: str = ""
    ) -> FlowResult:
        fs["step"] = "confirm"
        fs["slots"]["mode"] = mode
        starts = next_statement(ctx.today(), card.statement_day)
        lines = [
            [ctx.pick("卡片", "Card"), f"**** {card.last4}"],
            [
                ctx.pick("当前", "Now"),
                ctx.pick(NAMES[card.autopay][0], NAMES[card.autopay][1])
                if card.autopay
                else ctx.pick("未开通", "off"),
            ],
            [ctx.pick("改为", "Change to"), ctx.pick(NAMES[mode][0], NAMES[mode][1])],
            [
                ctx.pick("生效", "Takes effect"),
                ctx.pick(
                    f"{fmt_date(starts, 'zh')}出账的下期账单起",
                    f"from the statement of {fmt_date(starts, 'en')}",
                ),
            ],
        ]
        if mode == "off":
            text = ctx.pick(
                f"请确认：关闭自动还款，从下期账单（{fmt_date(starts, 'zh')}出账）起不再自动扣款，"
                "需要您按时自行还款。",
                f"Please confirm: turn autopay off. From the next statement ({fmt_date(starts, 'en')}) "
                f"nothing is debited automatically, so you'll pay by the due date yourself.",
            )
        else:
            text = ctx.pick(
                f"请确认：自动还款设为{NAMES[mode][0]}，在到期还款日从绑定的借记卡扣款，"
                f"从下期账单（{fmt_date(starts, 'zh')}出账）起生效。",
                f"Please confirm: autopay for {NAMES[mode][1]}, debited from your linked debit card on "
                f"the due date, from the next statement ({fmt_date(starts, 'en')}).",
            )
            if mode == "minimum":
                # The cost of paying only the minimum must be said before the customer agrees.
                text += ctx.pick("只还最低还款额时，未还清的部分不享受免息期，会按日计息。",
                                 " Paying only the minimum means the rest of the balance loses the "
                                 "interest-free period and accrues daily interest.")
        card_ = confirm_card(
            ctx,
            fs,
            title=ctx.pick("确认自动还款设置", "Confirm autopay"),
            lines=lines,
            action_id="autopay.confirm",
            label=ctx.pick("确认", "Confirm"),
        )
        return FlowResult(
            draft=Draft(
                text=lead + text, handled="flow", cards=[card_], tool_values=[jsonable(card), starts]
            ),
            state=fs,
        )

    async def step(self, ctx: TurnContext, fs: dict[str, Any], inp: FlowInput) -> FlowResult:
        fs["customer_steps"] = fs.get("customer_steps", 1) + 1
        card = await self._card(ctx, fs)
        if inp.kind == "action":
            if inp.action_id == "autopay.mode" and inp.values.get("mode") in MODES:
                return await self._choose_mode(ctx, fs, card, str(inp.values["mode"]))
            if inp.action_id == "autopay.confirm" and fs["step"] == "confirm":
                return await self._apply(ctx, fs, card)
            return FlowResult(draft=await self.resume(ctx, fs), state=fs)
        u = ctx.u
        assert u is not None
        mode = read_mode(ctx)
        if mode and mode != fs["slots"].get("mode"):
            return await self._choose_mode(ctx, fs, card, mode)
        if fs["step"] == "confirm" and u.is_affirmative is True:
            return await self._apply(ctx, fs, card)
        if fs["step"] == "confirm" and u.is_affirmative is False:
            return cancelled(ctx)
        return FlowResult(draft=await self.resume(ctx, fs), state=fs)

    async def _apply(self, ctx: TurnContext, fs: dict[str, Any], card: Card) -> FlowResult:
        mode = fs["slots"]["mode"]
        try:
            updated = await ctx.cards.set_autopay(
                ctx.customer_id,
                card.id,
                mode=None if mode == "off" else mode,
                key=f"{ctx.conversation_id}:{fs['fid']}:autopay",
            )
        except CardSystemError as exc:
            return ended(
                Draft(
                    text=ctx.pick(
                        f"抱歉，设置没有成功（{exc.message}），自动还款保持不变。",
                        f"Sorry, that didn't work ({exc.message}); your autopay is unchanged.",
                    ),
                    handled="flow",
                    resolved=False,
                ),
                "failed",
                action={"kind": "autopay_failed", "summary": f"autopay change failed: {exc.code}"},
            )
        starts = next_statement(ctx.today(), updated.statement_day)
        done = ctx.pick(
            f"已关闭自动还款，从下期账单（{fmt_date(starts, 'zh')}出账）起需要您自行还款。"
            if mode == "off"
            else f"已设置自动还款：{NAMES[mode][0]}，"
            f"从下期账单（{fmt_date(starts, 'zh')}出账）起在到期还款日自动扣款。",
            f"Done: autopay is off from the next statement ({fmt_date(starts, 'en')}); please pay by each "
            f"due date yourself."
            if mode == "off"
            else f"Done: autopay pays {NAMES[mode][1]} on each due date, from the next statement "
            f"({fmt_date(starts, 'en')}).",
        )
        values: list[Any] = [jsonable(updated), starts]
        stmts = await ctx.cards.statements(ctx.customer_id, card.id, limit=1)
        if stmts and stmts[0].outstanding > 0 and stmts[0].due_date >= ctx.today():
            s = stmts[0]
            done += ctx.pick(
                f"本期账单还需还款{fmt_money(s.outstanding)}，请在{fmt_date(s.due_date, 'zh')}前自行还款。",
                f" Your current bill still has {fmt_money(s.outstanding)} to pay by "
                f"{fmt_date(s.due_date, 'en')}; please pay that one yourself.",
            )
            values.append(jsonable(s))
        return ended(
            Draft(text=done, handled="flow", tool_values=values),
            "completed",
            action={
                "kind": "autopay_set",
                "mode": mode,
                "summary": f"autopay {mode} from statement {starts.isoformat()}",
            },
        )

    def accepts(self, ctx: TurnContext, fs: dict[str, Any]) -> bool:
        u = ctx.u
        if u is None or _QUESTION.search(u.text):
            return False
        if read_mode(ctx):
            return True
        return fs["step"] == "confirm" and u.is_affirmative is not None and len(u.text) <= 12

    async def resume(self, ctx: TurnContext, fs: dict[str, Any]) -> Draft:
        card = await self._card(ctx, fs)
        lead = ctx.pick("我们继续刚才的自动还款设置：", "Back to your autopay: ")
        if fs["step"] == "confirm" and fs["slots"].get("mode") in MODES:
            return (await self._confirm(ctx, fs, card, fs["slots"]["mode"], lead)).draft
        return self._choose(ctx, fs, card, lead).draft
