"""Card replacement (damaged or expiring, not lost): delivery, confirm, order — three customer steps.

(1) "我的卡坏了要换卡" → standard or express delivery to the (masked) address on file,
each with its cost for the customer's tier and this card year; (2) pick → a confirmation
card with the fees; (3) confirm → the replacement is ordered (idempotent), with its delivery
window and tracking number. Naming the delivery up front ("加急换卡") skips step 2.
Tracking an order later is an account answer ("新卡到哪了"), not this flow.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from bot.answers.draft import Draft
from bot.cards.models import Card, jsonable
from bot.cards.rules import replacement_fees
from bot.errors import CardSystemError
from bot.finance import fmt_money
from bot.flows.base import (
    FlowInput,
    FlowResult,
    button,
    cancelled,
    choices_card,
    confirm_card,
    deep_link,
    ended,
)
from bot.replies import fmt_date
from bot.turn import TurnContext

DELIVERIES = ("standard", "express")
_EXPIRING = re.compile(r"过期|到期|有效期|expir", re.I)
_QUESTION = re.compile(r"[?？]|吗|什么|多少|怎么|为什么|\b(what|how|why|when|which)\b", re.I)


class ReplacementFlow:
    """Delivery → confirm → order."""

    id = "card_replacement"

    async def _card(self, ctx: TurnContext, fs: dict[str, Any]) -> Card:
        if fs["slots"].get("card"):
            return next(c for c in await ctx.cards.cards(ctx.customer_id) if c.id == fs["slots"]["card"])
        return await ctx.card()

    async def _fees(self, ctx: TurnContext, card: Card, delivery: str) -> tuple[Decimal, Decimal]:
        """(replacement fee, delivery fee): the first replacement in a card year is free."""
        doc = {"replacements": jsonable(await ctx.cards.replacements(ctx.customer_id))}
        return replacement_fees(doc, jsonable(card), delivery, ctx.today(), ctx.schedule)

    async def start(self, ctx: TurnContext, fs: dict[str, Any]) -> FlowResult:
        card = await self._card(ctx, fs)
        fs["slots"]["card"] = card.id
        in_transit = next(
            (
                r
                for r in await ctx.cards.replacements(ctx.customer_id)
                if card.id in (r.old_card_id, r.new_card_id) and r.status != "delivered"
            ),
            None,
        )
        if card.replaced_by or in_transit is not None:
            text = ctx.pick(
                "您的新卡已经在补发中，不需要重复申请；问我“新卡到哪了”可以查看寄送进度。",
                "A replacement is already on its way, so there's no need to order another; ask me "
                '"where is my new card" to track it.',
            )
            return ended(Draft(text=text, handled="flow", tool_values=[jsonable(card)]), "completed")
        u = ctx.u
        text = u.text if u else ""
        fs["slots"]["reason"] = "expiring" if _EXPIRING.search(text) else "damaged"
        if u and u.slots.delivery:
            return await self._confirm(ctx, fs, card, u.slots.delivery)
        return await self._delivery(ctx, fs, card)

    async def _delivery(self, ctx: TurnContext, fs: dict[str, Any], card: Card, lead: str = "") -> FlowResult:
        fs["step"] = "delivery"
        customer = await ctx.customer()
        options, lines, values = [], [], []
        for delivery in DELIVERIES:
            fee, delivery_fee = await self._fees(ctx, card, delivery)
            span = ctx.schedule.get(f"card.delivery.{delivery}_business_days")
            name, days, cost = self._describe(ctx, delivery, span, fee + delivery_fee)
            options.append(
                button(
                    f"{name}（{days}，{cost}）" if ctx.lang == "zh" else f"{name} ({days}, {cost})",
                    "replacement.delivery",
                    fs,
                    delivery=delivery,
                )
            )
            lines.append(f"{name}{days}，{cost}" if ctx.lang == "zh" else f"{name}: {days}, {cost}")
            values += [fee, delivery_fee, fee + delivery_fee, span["min"], span["max"]]
        text = lead + ctx.pick(
            f"可以为您尾号{card.last4}的卡片补发新卡，寄到您预留的地址（{customer.masked_address}）。请选择寄送方式："
            + "；".join(lines)
            + "。",
            f"I can send you a new card to replace the one ending {card.last4}, to the address on file "
            f"({customer.masked_address}). Choose delivery: " + "; ".join(lines) + ".",
        )
        return FlowResult(
            draft=Draft(
                text=text,
                handled="flow",
                tool_values=[jsonable(card), *values],
                cards=[choices_card(ctx.pick("补发新卡", "Replacement card"), fs, options)],
            ),
            state=fs,
        )

    def _describe(
        self, ctx: TurnContext, delivery: str, span: dict[str, Any], total: Decimal
    ) -> tuple[str, str, str]:
        name = ctx.pick("普通寄送" if delivery == "standard" else "加急寄送", delivery.capitalize())
        days = ctx.pick(f"{span['min']}–{span['max']}个工作日", f"{span['min']}–{span['max']} business days")
        cost = ctx.pick(
            "免费" if total == 0 else fmt_money(total), "free" if total == 0 else fmt_money(total)
        )
        return name, days, cost

    async def _confirm(
        self, ctx: TurnContext, fs: dict[str, Any], card: Card, delivery: str, lead: str = ""
    ) -> FlowResult:
        fs["step"] = "confirm"
        fs["slots"]["delivery"] = delivery
        customer = await ctx.customer()
        fee, delivery_fee = await self._fees(ctx, card, delivery)
        span = ctx.schedule.get(f"card.delivery.{delivery}_business_days")
        name, days, cost = self._describe(ctx, delivery, span, fee + delivery_fee)
        free = ctx.pick("免费", "free")
        lines = [
            [ctx.pick("原卡", "Current card"), f"**** {card.last4}"],
            [ctx.pick("寄送", "Delivery"), f"{name}，{days}" if ctx.lang == "zh" else f"{name}, {days}"],
            [ctx.pick("补卡费", "Replacement fee"), fmt_money(fee) if fee else free],
            [ctx.pick("寄送费", "Delivery fee"), fmt_money(delivery_fee) if delivery_fee else free],
            [ctx.pick("地址", "Address"), customer.masked_address],
        ]
        text = lead + ctx.pick(
            f"请确认：为尾号{card.last4}的卡片补发新卡，{name}（{days}），费用{cost}。新卡卡号不同，收到后请激活；"
            "新卡激活前原卡可以照常使用，激活后原卡停用。",
            f"Please confirm: a new card to replace the one ending {card.last4}, {name.lower()} delivery "
            f"({days}), cost {cost}. The new card has a new number: activate it when it arrives. Your current "
            "card keeps working until then and stops when the new one is activated.",
        )
        cards = [
            confirm_card(
                ctx,
                fs,
                title=ctx.pick("确认补发新卡", "Confirm replacement"),
                lines=lines,
                action_id="replacement.confirm",
                label=ctx.pick("确认下单", "Order it"),
            ),
            deep_link(
                f"{fs['fid']}-addr",
                ctx.pick("地址有变？", "Address changed?"),
                ctx.pick("在App中更新地址", "Update it in the app"),
                "app://profile/address",
            ),
        ]
        return FlowResult(
            draft=Draft(
                text=text,
                handled="flow",
                cards=cards,
                tool_values=[jsonable(card), fee, delivery_fee, fee + delivery_fee, span["min"], span["max"]],
            ),
            state=fs,
        )

    async def step(self, ctx: TurnContext, fs: dict[str, Any], inp: FlowInput) -> FlowResult:
        fs["customer_steps"] = fs.get("customer_steps", 1) + 1
        card = await self._card(ctx, fs)
        u = ctx.u
        if inp.kind == "action":
            if inp.action_id == "replacement.delivery" and inp.values.get("delivery") in DELIVERIES:
                return await self._confirm(ctx, fs, card, str(inp.values["delivery"]))
            if inp.action_id == "replacement.confirm" and fs["step"] == "confirm":
                return await self._order(ctx, fs, card)
            return FlowResult(draft=await self.resume(ctx, fs), state=fs)
        assert u is not None
        if u.slots.delivery and u.slots.delivery != fs["slots"].get("delivery"):
            return await self._confirm(ctx, fs, card, u.slots.delivery)
        if fs["step"] == "confirm" and u.is_affirmative is True:
            return await self._order(ctx, fs, card)
        if u.is_affirmative is False:
            return cancelled(ctx)
        return FlowResult(draft=await self.resume(ctx, fs), state=fs)

    async def _order(self, ctx: TurnContext, fs: dict[str, Any], card: Card) -> FlowResult:
        delivery = fs["slots"]["delivery"]
        try:
            rep = await ctx.cards.order_replacement(
                ctx.customer_id, card.id, delivery=delivery, key=f"{ctx.conversation_id}:{fs['fid']}:replace"
            )
        except CardSystemError as exc:
            text = (
                ctx.pick(
                    "这张卡已经在补发中，不需要重复申请。",
                    "A replacement for this card is already on its way.",
                )
                if exc.code == "already_replaced"
                else ctx.pick(
                    f"抱歉，补卡没有下单成功（{exc.message}），没有产生任何费用，原卡状态不变。",
                    f"Sorry, the replacement couldn't be ordered ({exc.message}); nothing was charged and "
                    f"your card is unchanged.",
                )
            )
            return ended(
                Draft(text=text, handled="flow", resolved=exc.code == "already_replaced"),
                "failed",
                action={"kind": "replacement_failed", "summary": f"replacement failed: {exc.code}"},
            )
        total = rep.fee + rep.delivery_fee
        text = ctx.pick(
            f"新卡已下单：{'加急' if delivery == 'express' else '普通'}寄送，"
            f"预计{fmt_date(rep.eta_from, 'zh')}至{fmt_date(rep.eta_to, 'zh')}"
            f"送达（{rep.address_masked}），运单号{rep.tracking_no}，"
            f"费用{'免费' if total == 0 else fmt_money(total)}。"
            f"新卡卡号不同，收到后请在App中激活，并更新绑定在其他平台的卡号。",
            f"Your new card is ordered by {delivery} delivery, expected {fmt_date(rep.eta_from, 'en')}–"
            f"{fmt_date(rep.eta_to, 'en')} ({rep.address_masked}), tracking number {rep.tracking_no}, cost "
            f"{'free' if total == 0 else fmt_money(total)}. It has a new number: activate it in the app "
            "when it "
            f"arrives and update it wherever your old card was saved.",
        )
        return ended(
            Draft(text=text, handled="flow", tool_values=[jsonable(rep), total]),
            "completed",
            action={
                "kind": "replacement_ordered",
                "delivery": delivery,
                "replacement_id": rep.id,
                "summary": f"replacement ordered ({delivery}), tracking {rep.tracking_no}",
            },
        )

    def accepts(self, ctx: TurnContext, fs: dict[str, Any]) -> bool:
        u = ctx.u
        if u is None or _QUESTION.search(u.text):
            return False
        if u.slots.delivery:
            return True
        return fs["step"] == "confirm" and u.is_affirmative is not None and len(u.text) <= 12

    async def resume(self, ctx: TurnContext, fs: dict[str, Any]) -> Draft:
        card = await self._card(ctx, fs)
        lead = ctx.pick("我们继续刚才的补卡：", "Back to your replacement card: ")
        if fs["step"] == "confirm" and fs["slots"].get("delivery") in DELIVERIES:
            return (await self._confirm(ctx, fs, card, fs["slots"]["delivery"], lead)).draft
        return (await self._delivery(ctx, fs, card, lead)).draft
