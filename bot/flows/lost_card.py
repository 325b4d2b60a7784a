"""Lost or stolen card: freeze at once, then replace, then protection — two customer steps.

(1) "我的卡丢了" → the card is frozen before any question is asked, and the reply offers
standard or express delivery of the replacement to the (masked) address on file, each
with its fee for the customer's tier; (2) pick one → the replacement is ordered, with its
delivery window and tracking number, and lost-card protection explained for eligible tiers.
"""

from __future__ import annotations

import re
from typing import Any

from bot.answers.draft import Draft
from bot.cards.models import Card, jsonable
from bot.cards.rules import replacement_fees
from bot.errors import CardSystemError
from bot.finance import fmt_money
from bot.flows.base import (
    FlowInput,
    FlowResult,
    HandoffAsk,
    button,
    choices_card,
    deep_link,
    ended,
)
from bot.replies import fmt_date
from bot.turn import TurnContext

STOLEN = re.compile(r"被偷|偷了|被抢|抢了|stolen|robbed|theft")


class LostCardFlow:
    """Report → freeze → replace → protection."""

    id = "lost_card"

    async def start(self, ctx: TurnContext, fs: dict[str, Any]) -> FlowResult:
        card = await ctx.card()
        text = ctx.u.text if ctx.u else ""
        reason = "stolen" if STOLEN.search(text) else "lost"
        fs["slots"]["reason"] = reason
        fs["slots"]["card"] = card.id
        parts: list[str] = []
        action: dict[str, Any] | None = None
        if card.status == "frozen":
            parts.append(ctx.pick(f"您尾号{card.last4}的卡片已经处于冻结状态，不能再交易。",
                                  f"Your card ending {card.last4} is already frozen and cannot be used."))
        elif card.status in ("active", "inactive"):
            try:
                frozen = await ctx.cards.freeze_card(ctx.customer_id, card.id, reason=reason,
                                                     key=f"{ctx.conversation_id}:{fs['fid']}:freeze")
            except CardSystemError as exc:
                return ended(Draft(text=ctx.pick(f"抱歉，冻结没有成功（{exc.message}），我马上为您转接人工客服处理。",
                                                 f"Sorry, the freeze failed ({exc.message}); I'm connecting you to a "
                                                 f"person right away."), handled="flow", resolved=False), "handoff",
                             handoff=HandoffAsk(reason="flow_failed", priority=1, skills=("risk",),
                                                note="card freeze failed"))
            now = ctx.clock()
            action = {"kind": "card_frozen", "card": f"**** {frozen.last4}", "at": now.isoformat(),
                      "summary": ctx.pick(f"已冻结尾号{frozen.last4}的卡片（挂失）",
                                          f"card **** {frozen.last4} frozen (reported {reason})")}
            parts.append(ctx.pick(f"已为您冻结尾号{card.last4}的卡片，现在起这张卡不能再交易。挂失冻结后不能解冻，我们会为您补发新卡。",
                                  f"Your card ending {card.last4} is frozen now and can't be used any more. After a "
                                  f"loss report it can't be unfrozen; we'll send you a new card."))
        else:
            return ended(Draft(text=ctx.pick(f"您尾号{card.last4}的卡片已注销，不需要挂失。", f"Your card ending {card.last4} "
                                             f"is already closed; no need to report it."), handled="flow"), "completed")
        ctx.forget_card()
        customer = await ctx.customer()
        card = next(c for c in await ctx.cards.cards(ctx.customer_id) if c.id == fs["slots"]["card"])
        if card.replaced_by:
            fs["step"] = "done"
            return ended(Draft(text="".join(parts) + ctx.pick("新卡已经在补发中，问我“新卡到哪了”可以查看寄送进度。",
                                                              "A replacement is already on its way; ask me "
                                                              "\"where is my new card\" for tracking."),
                               handled="flow"), "completed", action=action)
        fs["step"] = "delivery"
        draft = self._delivery_offer(ctx, fs, card, customer.masked_address,
                                     await ctx.cards.replacements(ctx.customer_id))
        draft.text = "".join(parts) + draft.text
        if ctx.u and "fraud_risk" in ctx.u.signals:
            draft.text += ctx.pick("您提到可能有被盗刷的交易，补卡完成后我会帮您逐笔核对。",
                                   " You mentioned charges that may not be yours; after the replacement I'll go "
                                   "through them with you.")
            fs["slots"]["then_dispute"] = True
        return FlowResult(draft=draft, state=fs, action=action)

    def _delivery_offer(self, ctx: TurnContext, fs: dict[str, Any], card: Card, address: str,
                        replacements: list[Any]) -> Draft:
        schedule = ctx.schedule
        today = ctx.today()
        options = []
        lines = []
        values: list[Any] = []
        # Earlier replacements of this card year decide whether this one is free.
        doc = {"replacements": [jsonable(r) for r in replacements], "cards": []}
        for delivery in ("standard", "express"):
            fee, delivery_fee = replacement_fees(doc, jsonable(card), delivery, today, schedule)
            span = schedule.get(f"card.delivery.{delivery}_business_days")
            total = fee + delivery_fee
            name = ctx.pick("普通寄送" if delivery == "standard" else "加急寄送", delivery.capitalize())
            cost = ctx.pick("免费" if total == 0 else fmt_money(total), "free" if total == 0 else fmt_money(total))
            days = ctx.pick(f"{span['min']}–{span['max']}个工作日", f"{span['min']}–{span['max']} business days")
            options.append(button(f"{name}（{days}，{cost}）" if ctx.lang == "zh" else f"{name} ({days}, {cost})",
                                  "lostcard.delivery", fs, delivery=delivery))
            lines.append(f"{name}{days}，{cost}" if ctx.lang == "zh" else f"{name}: {days}, {cost}")
            values += [fee, delivery_fee, total, span["min"], span["max"]]
        options.append(button(ctx.pick("地址有变", "My address changed"), "lostcard.address", fs))
        text = ctx.pick(f"新卡将寄到您预留的地址（{address}）。请选择寄送方式：" + "；".join(lines) + "。",
                        f" The new card goes to the address on file ({address}). Choose delivery: "
                        + "; ".join(lines) + ".")
        return Draft(text=text, handled="flow", tool_values=values,
                     cards=[choices_card(ctx.pick("补发新卡", "Replacement card"), fs, options)])

    async def step(self, ctx: TurnContext, fs: dict[str, Any], inp: FlowInput) -> FlowResult:
        fs["customer_steps"] = fs.get("customer_steps", 1) + 1
        u = ctx.u
        if inp.action_id == "lostcard.address":
            fs["step"] = "address"
            draft = Draft(text=ctx.pick("请先在App的“个人信息”中更新邮寄地址，更新后回到这里告诉我“地址改好了”，我再为您补发；也可以由人工客服协助。",
                                        "Please update your mailing address in the app's profile first, then tell "
                                        "me \"address updated\" and I'll order the card; an agent can also help."),
                          handled="flow",
                          cards=[deep_link(f"{fs['fid']}-addr", ctx.pick("更新地址", "Update address"),
                                           ctx.pick("打开个人信息", "Open profile"), "app://profile/address"),
                                 choices_card("", fs, [button(ctx.pick("地址改好了", "Address updated"),
                                                              "lostcard.address_done", fs)], "addr-done")])
            return FlowResult(draft=draft, state=fs)
        if inp.action_id == "lostcard.address_done" or (fs["step"] == "address" and u and u.is_affirmative):
            fs["step"] = "delivery"
            customer = await ctx.customer()
            card = next(c for c in await ctx.cards.cards(ctx.customer_id) if c.id == fs["slots"]["card"])
            return FlowResult(draft=self._delivery_offer(ctx, fs, card, customer.masked_address,
                                     await ctx.cards.replacements(ctx.customer_id)), state=fs)
        delivery = inp.values.get("delivery") if inp.action_id == "lostcard.delivery" else (u.slots.delivery if u else None)
        if delivery in ("standard", "express"):
            return await self._order(ctx, fs, str(delivery))
        if u and u.is_affirmative is False and fs["step"] == "delivery":
            return ended(Draft(text=ctx.pick("好的，卡片已冻结，暂不补发。需要补卡时随时告诉我。",
                                             "Okay: the card stays frozen and no replacement is ordered for now. "
                                             "Tell me whenever you want one."), handled="flow"), "completed")
        return FlowResult(draft=await self.resume(ctx, fs), state=fs)

    async def _order(self, ctx: TurnContext, fs: dict[str, Any], delivery: str) -> FlowResult:
        try:
            rep = await ctx.cards.order_replacement(ctx.customer_id, fs["slots"]["card"], delivery=delivery,  # type: ignore[arg-type]
                                                    key=f"{ctx.conversation_id}:{fs['fid']}:replace")
        except CardSystemError as exc:
            return ended(Draft(text=ctx.pick(f"抱歉，补卡没有下单成功（{exc.message}），卡片仍处于冻结状态，安全无虞。我为您转接人工客服。",
                                             f"Sorry, the replacement order failed ({exc.message}); your card stays "
                                             f"frozen and safe. I'm connecting you to a person."),
                               handled="flow", resolved=False), "handoff",
                         handoff=HandoffAsk(reason="flow_failed", priority=1, skills=("risk",),
                                            note="replacement order failed"))
        customer = await ctx.customer()
        tier = ctx.schedule.tier(customer.tier)
        fee_total = rep.fee + rep.delivery_fee
        hours = int(ctx.schedule.get("card.lost_card_protection_hours"))
        protection = (ctx.pick(f"您的{tier.name('zh')}享有挂失保障：挂失前{hours}小时内的非本人交易，理赔受理后会退还给您。如果发现这类交易，告诉我即可发起。",
                               f" Your {tier.name('en')} card has lost-card protection: unauthorised transactions "
                               f"in the {hours} hours before your report are refunded once the claim is accepted. "
                               f"Tell me if you see any.")
                      if tier.lost_card_protection else
                      ctx.pick("如果发现不是本人的交易，请告诉我，我会帮您发起争议。",
                               " If you see any transaction that wasn't you, tell me and I'll open a dispute."))
        text = ctx.pick(
            f"新卡已下单：{'加急' if delivery == 'express' else '普通'}寄送，预计{fmt_date(rep.eta_from, 'zh')}至{fmt_date(rep.eta_to, 'zh')}送达，"
            f"运单号{rep.tracking_no}，费用{'免费' if fee_total == 0 else fmt_money(fee_total)}。新卡卡号不同，收到后请在App中激活，"
            f"并更新绑定在其他平台的卡号。" + protection,
            f"Your new card is ordered by {delivery} delivery, expected {fmt_date(rep.eta_from, 'en')}–"
            f"{fmt_date(rep.eta_to, 'en')}, tracking number {rep.tracking_no}, cost "
            f"{'free' if fee_total == 0 else fmt_money(fee_total)}. It has a new number: activate it in the app "
            f"when it arrives and update it wherever your old card was saved." + protection)
        draft = Draft(text=text, handled="flow", tool_values=[jsonable(rep), fee_total, hours])
        if fs["slots"].get("then_dispute"):
            draft.cards.append({"type": "choices", "id": f"{fs['fid']}-dispute", "options": [
                {"label": ctx.pick("核对可疑交易", "Check suspicious charges"), "action_id": "flow.start",
                 "values": {"flow": "dispute"}}]})
        return ended(draft, "completed", action={"kind": "replacement_ordered", "delivery": delivery,
                                                 "summary": ctx.pick(f"已补发新卡（{'加急' if delivery == 'express' else '普通'}寄送，运单号{rep.tracking_no}）",
                                                                     f"replacement ordered ({delivery}), tracking {rep.tracking_no}")})

    def accepts(self, ctx: TurnContext, fs: dict[str, Any]) -> bool:
        u = ctx.u
        if u is None:
            return False
        if fs["step"] == "delivery" and (u.slots.delivery or (u.is_affirmative is False and len(u.text) <= 8)):
            return True
        return fs["step"] == "address" and u.is_affirmative is True

    async def resume(self, ctx: TurnContext, fs: dict[str, Any]) -> Draft:
        if fs["step"] == "address":
            return Draft(text=ctx.pick("地址更新好后告诉我，我为您补发新卡。", "Tell me when your address is updated and I'll "
                                       "order the new card."), handled="flow")
        customer = await ctx.customer()
        card = next(c for c in await ctx.cards.cards(ctx.customer_id) if c.id == fs["slots"]["card"])
        draft = self._delivery_offer(ctx, fs, card, customer.masked_address,
                                     await ctx.cards.replacements(ctx.customer_id))
        draft.text = ctx.pick("您的卡已冻结。", "Your card is frozen.") + draft.text
        return draft
