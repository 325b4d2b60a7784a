"""Installment flow: split a purchase or the current bill, and pay a plan off early.

Happy path, at most three customer steps: (1) "把京东那笔分期" → a quote table for that
purchase (3/6/12/24 periods: payment, fee per period, total fee, APR); (2) pick a period →
a confirmation card; (3) confirm → the plan is created. Saying the period up front skips
step 2. Every figure comes from ``bot.finance.installment_quote`` over the fee schedule.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bot.answers.account import described_transactions
from bot.answers.draft import Draft
from bot.cards.models import Transaction, jsonable
from bot.errors import CardSystemError
from bot.finance import early_payoff, fmt_money, fmt_rate, installment_quote
from bot.flows.base import (
    FlowInput,
    FlowResult,
    button,
    cancel_button,
    cancelled,
    choices_card,
    confirm_card,
    ended,
)
from bot.replies import fmt_date
from bot.turn import TurnContext

BILL_WORDS = ("账单", "本期", "这期", "整期", "bill", "statement", "balance")


def _periods(ctx: TurnContext) -> tuple[int, ...]:
    return tuple(p.periods for p in ctx.schedule.installment_plans())


async def eligible_purchases(ctx: TurnContext) -> list[Transaction]:
    """Posted purchases of at least the schedule minimum, within the window, not yet split."""
    minimum = ctx.schedule.dec("installments.purchase_min_amount")
    window = int(ctx.schedule.get("installments.purchase_window_days"))
    card = await ctx.card()
    txns = await ctx.cards.transactions(ctx.customer_id, card.id, limit=500)
    today = ctx.today()
    return [t for t in txns if t.kind == "purchase" and t.amount >= minimum
            and (today - t.posted_on).days <= window and not t.installment_plan_id]


def quote_table(ctx: TurnContext, fs: dict[str, Any], principal: Decimal) -> dict[str, Any]:
    rows = []
    for periods in _periods(ctx):
        q = installment_quote(principal, periods, ctx.schedule)
        rows.append({
            "cells": [str(periods), fmt_money(q.payment_per_period), fmt_money(q.fee_per_period),
                      fmt_money(q.total_fee), fmt_rate(q.apr)],
            "action": button(ctx.pick(f"分{periods}期", f"{periods} periods"), "installment.periods", fs,
                             periods=periods),
        })
    return {
        "type": "table", "id": f"{fs['fid']}-quote", "title": ctx.pick(f"{fmt_money(principal)} 分期方案",
                                                                      f"Installment options for {fmt_money(principal)}"),
        "columns": [ctx.pick("期数", "Periods"), ctx.pick("每期还款", "Per period"), ctx.pick("每期手续费", "Fee per period"),
                    ctx.pick("总手续费", "Total fee"), ctx.pick("年化利率", "APR")],
        "rows": rows,
        "footnote": ctx.pick("手续费按分期本金每期收取；年化利率按内部收益率×12计算。提前还清需付剩余本金的1%，之后各期手续费不再收取。",
                             "The fee is charged on the original principal every period; APR = monthly IRR × 12. "
                             "Paying off early costs 1% of the remaining principal; later fees are not charged."),
    }


class InstallmentFlow:
    """Purchase or bill installment."""

    id = "installment"

    async def start(self, ctx: TurnContext, fs: dict[str, Any]) -> FlowResult:
        u = ctx.u
        text = (u.text if u else "").lower()
        kind = (u.slots.installment_kind if u else None) or fs["slots"].get("kind")
        if kind is None and any(w in text for w in BILL_WORDS) and not (u and (u.slots.merchant or u.slots.amount)):
            kind = "bill"
        if u and u.slots.periods:
            fs["slots"]["periods"] = u.slots.periods
        if kind == "bill":
            return await self._bill(ctx, fs)
        return await self._purchase(ctx, fs)

    async def _purchase(self, ctx: TurnContext, fs: dict[str, Any]) -> FlowResult:
        candidates = await eligible_purchases(ctx)
        wanted = fs["slots"].get("txn")
        described = None if wanted else described_transactions(await self._card_transactions(ctx), ctx)
        if wanted:
            chosen = [t for t in candidates if t.id == wanted]
        elif described is not None:
            ids = {t.id for t in described}
            chosen = [t for t in candidates if t.id in ids]
            if not chosen:
                return await self._not_eligible(ctx, fs, described)
        else:
            chosen = candidates
        if len(chosen) == 1:
            return self._quote(ctx, fs, chosen[0])
        if not chosen:
            return await self._none(ctx, fs)
        fs["step"] = "pick"
        options = [button(f"{fmt_date(t.posted_on, ctx.lang)} {t.merchant} {fmt_money(t.amount)}", "installment.pick", fs,
                          txn=t.id) for t in chosen[:6]]
        draft = Draft(text=ctx.pick("您想把哪一笔消费分期？以下是可以分期的消费：", "Which purchase would you like to split? "
                                    "These can be split:"), handled="flow",
                      cards=[choices_card(ctx.pick("选择消费", "Pick a purchase"), fs, options)],
                      tool_values=[jsonable(chosen[:6])])
        return FlowResult(draft=draft, state=fs)

    @staticmethod
    async def _card_transactions(ctx: TurnContext) -> list[Transaction]:
        card = await ctx.card()
        return await ctx.cards.transactions(ctx.customer_id, card.id, limit=500)

    async def _not_eligible(self, ctx: TurnContext, fs: dict[str, Any], matches: list[Transaction]) -> FlowResult:
        """The customer described a purchase that cannot be split: say why in plain words."""
        minimum = ctx.schedule.dec("installments.purchase_min_amount")
        window = int(ctx.schedule.get("installments.purchase_window_days"))
        if not matches:
            text = ctx.pick("没有找到您说的这笔消费。", "I couldn't find that purchase.")
            values: list[Any] = []
        else:
            t = matches[0]
            age = (ctx.today() - t.posted_on).days
            values = [jsonable(t), age]
            if t.installment_plan_id:
                reason = ctx.pick("这笔消费已经办理过分期了", "that purchase is already on an installment plan")
            elif t.amount < minimum:
                reason = ctx.pick(f"单笔消费满{fmt_money(minimum)}才能分期", f"a single purchase must be at least "
                                  f"{fmt_money(minimum)}")
            elif age > window:
                reason = ctx.pick(f"消费入账{window}天内才能办理分期（这笔已入账{age}天）",
                                  f"purchases can be split within {window} days of posting (this one was "
                                  f"{age} days ago)")
            else:
                reason = ctx.pick("这笔交易不是消费", "it isn't a purchase")
            text = ctx.pick(f"{fmt_date(t.posted_on, 'zh')}在{t.merchant}的{fmt_money(t.amount)}暂时不能分期：{reason}。",
                            f"The {fmt_money(t.amount)} at {t.merchant} on {fmt_date(t.posted_on, 'en')} can't be "
                            f"split: {reason}.")
        others = await eligible_purchases(ctx)
        if others:
            fs["slots"].pop("txn", None)
            fs["step"] = "pick"
            options = [button(f"{fmt_date(t.posted_on, ctx.lang)} {t.merchant} {fmt_money(t.amount)}",
                              "installment.pick", fs, txn=t.id) for t in others[:6]]
            draft = Draft(text=text + ctx.pick("这些消费可以分期：", " These can be split:"), handled="flow",
                          cards=[choices_card(ctx.pick("可分期的消费", "Purchases you can split"), fs, options)],
                          tool_values=[*values, jsonable(others[:6]), minimum, window])
            return FlowResult(draft=draft, state=fs)
        draft = Draft(text=text, handled="flow", tool_values=[*values, minimum, window], resolved=True)
        return ended(draft, "failed")

    async def _none(self, ctx: TurnContext, fs: dict[str, Any]) -> FlowResult:
        minimum = ctx.schedule.dec("installments.purchase_min_amount")
        window = int(ctx.schedule.get("installments.purchase_window_days"))
        stmt_ok = await self._bill_principal(ctx)
        text = ctx.pick(f"您最近{window}天内没有满{fmt_money(minimum)}、尚未分期的单笔消费。",
                        f"You have no purchase of {fmt_money(minimum)} or more from the last {window} days that "
                        f"isn't already split.")
        if stmt_ok is not None:
            fs["step"] = "offer_bill"
            draft = Draft(text=text + ctx.pick(f"不过本期账单还有{fmt_money(stmt_ok)}未还，可以办理账单分期。",
                                               f" Your current bill has {fmt_money(stmt_ok)} outstanding, which "
                                               f"you could split instead."),
                          handled="flow", tool_values=[minimum, window, stmt_ok],
                          cards=[choices_card("", fs, [button(ctx.pick("账单分期", "Split my bill"), "installment.bill", fs),
                                                       cancel_button(ctx, fs)])])
            return FlowResult(draft=draft, state=fs)
        return ended(Draft(text=text, handled="flow", tool_values=[minimum, window]), "failed")

    async def _bill_principal(self, ctx: TurnContext) -> Decimal | None:
        card = await ctx.card()
        stmts = await ctx.cards.statements(ctx.customer_id, card.id, limit=1)
        if not stmts:
            return None
        s = stmts[0]
        if s.outstanding >= ctx.schedule.dec("installments.bill_min_amount") and ctx.today() <= s.due_date:
            return s.outstanding
        return None

    async def _bill(self, ctx: TurnContext, fs: dict[str, Any]) -> FlowResult:
        card = await ctx.card()
        stmts = await ctx.cards.statements(ctx.customer_id, card.id, limit=1)
        minimum = ctx.schedule.dec("installments.bill_min_amount")
        if not stmts:
            return ended(Draft(text=ctx.pick("您还没有账单，暂时不能办理账单分期。", "You have no statement yet, so there "
                                             "is no bill to split."), handled="flow"), "failed")
        s = stmts[0]
        if ctx.today() > s.due_date:
            return ended(Draft(text=ctx.pick(f"账单分期需要在到期还款日（{fmt_date(s.due_date, 'zh')}）前办理，本期已过期。",
                                             f"A bill can be split only before its due date ({fmt_date(s.due_date, 'en')})"
                                             f", which has passed."), handled="flow", tool_values=[jsonable(s)]), "failed")
        if s.outstanding < minimum:
            return ended(Draft(text=ctx.pick(f"账单分期要求未还金额不低于{fmt_money(minimum)}，您本期还需还款{fmt_money(s.outstanding)}。",
                                             f"A bill installment needs at least {fmt_money(minimum)} outstanding; yours "
                                             f"is {fmt_money(s.outstanding)}."), handled="flow",
                               tool_values=[jsonable(s), minimum]), "failed")
        fs["slots"].update({"kind": "bill", "source": s.id, "principal": str(s.outstanding),
                            "label": ctx.pick(f"{fmt_date(s.statement_date, 'zh')}账单", f"statement of "
                                              f"{fmt_date(s.statement_date, 'en')}")})
        return self._offer(ctx, fs, s.outstanding)

    def _quote(self, ctx: TurnContext, fs: dict[str, Any], t: Transaction) -> FlowResult:
        fs["slots"].update({"kind": "purchase", "source": t.id, "principal": str(t.amount),
                            "label": f"{fmt_date(t.posted_on, ctx.lang)} {t.merchant}"})
        return self._offer(ctx, fs, t.amount)

    def _offer(self, ctx: TurnContext, fs: dict[str, Any], principal: Decimal) -> FlowResult:
        periods = fs["slots"].get("periods")
        if periods in _periods(ctx):
            return self._confirm(ctx, fs, int(periods))
        fs["step"] = "periods"
        label = fs["slots"]["label"]
        text = ctx.pick(f"{label}的{fmt_money(principal)}可以分期，各期数的费用如下（年化利率已列出），请选择期数：",
                        f"{label} ({fmt_money(principal)}) can be split. Here is what each term costs, with its "
                        f"APR; pick the number of periods:")
        if periods:
            text = ctx.pick(f"暂不支持分{periods}期。", f"{periods} periods isn't offered. ") + text
        draft = Draft(text=text, handled="flow", cards=[quote_table(ctx, fs, principal)], tool_values=[principal],
                      meta={"cite": ["installment-fees-apr"]})
        self._quote_values(ctx, draft, principal)
        return FlowResult(draft=draft, state=fs)

    def _quote_values(self, ctx: TurnContext, draft: Draft, principal: Decimal) -> None:
        for p in _periods(ctx):
            q = installment_quote(principal, p, ctx.schedule)
            draft.tool_values.append(jsonable(q))

    def _confirm(self, ctx: TurnContext, fs: dict[str, Any], periods: int) -> FlowResult:
        principal = Decimal(fs["slots"]["principal"])
        q = installment_quote(principal, periods, ctx.schedule)
        fs["slots"]["periods"] = periods
        fs["step"] = "confirm"
        lines = [[ctx.pick("分期内容", "What"), fs["slots"]["label"]],
                 [ctx.pick("本金", "Principal"), fmt_money(q.principal)],
                 [ctx.pick("期数", "Periods"), str(periods)],
                 [ctx.pick("每期还款", "Per period"), fmt_money(q.payment_per_period)],
                 [ctx.pick("每期手续费", "Fee per period"), fmt_money(q.fee_per_period)],
                 [ctx.pick("总手续费", "Total fee"), fmt_money(q.total_fee)],
                 [ctx.pick("年化利率", "APR"), fmt_rate(q.apr)]]
        if q.last_payment != q.payment_per_period:
            lines.insert(4, [ctx.pick("最后一期", "Last period"), fmt_money(q.last_payment)])
        text = ctx.pick(
            f"分{periods}期：年化利率{fmt_rate(q.apr)}，每期还款{fmt_money(q.payment_per_period)}（含手续费{fmt_money(q.fee_per_period)}），"
            f"总手续费{fmt_money(q.total_fee)}。确认后立即生效，请确认：",
            f"{periods} periods: APR {fmt_rate(q.apr)}, {fmt_money(q.payment_per_period)} per period (including a "
            f"{fmt_money(q.fee_per_period)} fee), total fee {fmt_money(q.total_fee)}. It takes effect once you "
            f"confirm:")
        draft = Draft(text=text, handled="flow", tool_values=[jsonable(q), periods],
                      cards=[confirm_card(ctx, fs, title=ctx.pick("确认分期", "Confirm installment"), lines=lines,
                                          action_id="installment.confirm")])
        return FlowResult(draft=draft, state=fs)

    async def step(self, ctx: TurnContext, fs: dict[str, Any], inp: FlowInput) -> FlowResult:
        fs["customer_steps"] = fs.get("customer_steps", 1) + 1
        u = ctx.u
        if inp.action_id == "installment.pick" and inp.values.get("txn"):
            fs["slots"]["txn"] = str(inp.values["txn"])
            return await self._purchase(ctx, fs)
        if inp.action_id == "installment.bill":
            return await self._bill(ctx, fs)
        if inp.action_id == "installment.periods" or (fs["step"] in ("periods", "confirm") and u and u.slots.periods):
            periods = int(inp.values.get("periods") or (u.slots.periods if u else 0) or 0)
            if periods not in _periods(ctx):
                draft = Draft(text=ctx.pick(f"可选的期数是{'、'.join(map(str, _periods(ctx)))}期。",
                                            f"The terms offered are {', '.join(map(str, _periods(ctx)))} periods."),
                              handled="flow", tool_values=list(_periods(ctx)))
                return FlowResult(draft=draft, state=fs)
            return self._confirm(ctx, fs, periods)
        if fs["step"] == "confirm" and (inp.action_id == "installment.confirm" or (u and u.is_affirmative is True)):
            return await self._create(ctx, fs)
        if fs["step"] == "confirm" and u and u.is_affirmative is False:
            return cancelled(ctx)
        if fs["step"] == "pick" and u and u.slots.periods and not (u.slots.merchant or u.slots.amount):
            fs["slots"]["periods"] = u.slots.periods
            return FlowResult(draft=await self.resume(ctx, fs), state=fs)
        if fs["step"] == "pick" and u and (u.slots.merchant or u.slots.amount or u.slots.date):
            if u.slots.periods:
                fs["slots"]["periods"] = u.slots.periods
            return await self._purchase(ctx, fs)
        return FlowResult(draft=await self.resume(ctx, fs), state=fs)

    async def _create(self, ctx: TurnContext, fs: dict[str, Any]) -> FlowResult:
        card = await ctx.card()
        slots = fs["slots"]
        try:
            plan = await ctx.cards.create_installment_plan(
                ctx.customer_id, card.id, kind=slots["kind"], source_id=slots["source"], periods=int(slots["periods"]),
                key=f"{ctx.conversation_id}:{fs['fid']}:create")
        except CardSystemError as exc:
            return ended(Draft(text=ctx.pick(f"抱歉，分期没有办理成功（{exc.message}），没有产生任何费用。",
                                             f"Sorry, the installment could not be set up ({exc.message}); nothing "
                                             f"was charged."), handled="flow", resolved=False), "failed",
                         action={"kind": "installment_failed", "code": exc.code})
        fee, _ = early_payoff(plan.principal, ctx.schedule)
        text = ctx.pick(
            f"已为您办理分期：{slots['label']}，本金{fmt_money(plan.principal)}分{plan.periods}期，每期还款{fmt_money(plan.payment_per_period)}，"
            f"年化利率{fmt_rate(plan.apr)}，从下期账单开始入账。如需提前还清，只需付剩余本金和剩余本金1%的手续费，之后各期手续费不再收取。",
            f"Done: {slots['label']}, {fmt_money(plan.principal)} over {plan.periods} periods, "
            f"{fmt_money(plan.payment_per_period)} per period, APR {fmt_rate(plan.apr)}, starting on your next "
            f"statement. You can pay it off early at any time for the remaining principal plus 1% of it; later "
            f"fees are then not charged.")
        draft = Draft(text=text, handled="flow", tool_values=[jsonable(plan), fee, 1])
        return ended(draft, "completed", action={"kind": "installment_created", "plan_id": plan.id,
                                                 "summary": ctx.pick(f"已办理分期：{fmt_money(plan.principal)}分{plan.periods}期",
                                                                     f"installment created: {fmt_money(plan.principal)} over {plan.periods} periods")})

    def accepts(self, ctx: TurnContext, fs: dict[str, Any]) -> bool:
        u = ctx.u
        if u is None:
            return False
        if fs["step"] in ("periods", "confirm") and u.slots.periods:
            return True
        if fs["step"] == "confirm" and u.is_affirmative is not None:
            return len(u.text) <= 12 or u.intent == "installment"
        if fs["step"] == "pick" and (u.slots.merchant or u.slots.amount or u.slots.periods):
            return True
        return fs["step"] == "pick" and bool(u.slots.date) and u.intent in ("installment", "account.transactions")

    async def resume(self, ctx: TurnContext, fs: dict[str, Any]) -> Draft:
        slots = fs["slots"]
        if fs["step"] == "confirm":
            result = self._confirm(ctx, fs, int(slots["periods"]))
            result.draft.text = ctx.pick("我们继续刚才的分期：", "Back to your installment: ") + result.draft.text
            return result.draft
        if fs["step"] == "periods":
            principal = Decimal(slots["principal"])
            draft = Draft(text=ctx.pick(f"我们继续刚才的分期：{slots['label']}的{fmt_money(principal)}，请选择期数：",
                                        f"Back to your installment: {slots['label']} ({fmt_money(principal)}); pick "
                                        f"the number of periods:"),
                          handled="flow", cards=[quote_table(ctx, fs, principal)], tool_values=[principal])
            self._quote_values(ctx, draft, principal)
            return draft
        result = await self._purchase(ctx, fs)
        return result.draft


PAYOFF_ARTICLE = "installment-early-payoff"  # the knowledge article an early-payoff reply cites


class EarlyPayoffFlow:
    """Pay an installment plan off early: remaining principal plus the schedule's fee."""

    id = "installment_early_payoff"

    async def start(self, ctx: TurnContext, fs: dict[str, Any]) -> FlowResult:
        plans = [p for p in await ctx.cards.installment_plans(ctx.customer_id) if p.status == "active"]
        if not plans:
            rate = ctx.schedule.dec("installments.early_payoff_fee_rate")
            return ended(Draft(text=ctx.pick(f"您目前没有进行中的分期。分期可以随时提前还清，手续费为剩余本金的{fmt_rate(rate)}。",
                                             f"You have no active installment plans. Plans can be paid off early at "
                                             f"any time for {fmt_rate(rate)} of the remaining principal."),
                               handled="flow", tool_values=[rate], meta={"cite": [PAYOFF_ARTICLE]}), "completed")
        if len(plans) == 1:
            fs["slots"]["plan"] = plans[0].id
            return self._confirm(ctx, fs, plans[0])
        fs["step"] = "pick"
        options = [button(f"{fmt_money(p.principal)} × {p.periods}", "payoff.pick", fs, plan=p.id) for p in plans]
        return FlowResult(draft=Draft(text=ctx.pick("您想提前还清哪一笔分期？", "Which plan would you like to pay off?"),
                                      handled="flow", cards=[choices_card("", fs, options)],
                                      tool_values=[jsonable(plans)]), state=fs)

    def _confirm(self, ctx: TurnContext, fs: dict[str, Any], plan: Any) -> FlowResult:
        fee, total = early_payoff(plan.remaining_principal, ctx.schedule)
        rate = fmt_rate(ctx.schedule.dec("installments.early_payoff_fee_rate"))
        fs["step"] = "confirm"
        text = ctx.pick(f"提前还清这笔分期需一次性还款{fmt_money(total)}：剩余本金{fmt_money(plan.remaining_principal)}加手续费{fmt_money(fee)}"
                        f"（剩余本金的{rate}），之后各期手续费不再收取。确认吗？",
                        f"Paying this plan off now costs {fmt_money(total)}: the remaining principal "
                        f"{fmt_money(plan.remaining_principal)} plus a {fmt_money(fee)} fee ({rate} of it); later fees "
                        f"are not charged. Confirm?")
        lines = [[ctx.pick("剩余本金", "Remaining principal"), fmt_money(plan.remaining_principal)],
                 [ctx.pick("提前还款手续费", "Early payoff fee"), fmt_money(fee)],
                 [ctx.pick("合计", "Total due now"), fmt_money(total)]]
        return FlowResult(draft=Draft(text=text, handled="flow", tool_values=[jsonable(plan), fee, total, 1],
                                      meta={"cite": [PAYOFF_ARTICLE]},
                                      cards=[confirm_card(ctx, fs, title=ctx.pick("提前还清", "Pay off early"),
                                                          lines=lines, action_id="payoff.confirm")]), state=fs)

    async def step(self, ctx: TurnContext, fs: dict[str, Any], inp: FlowInput) -> FlowResult:
        fs["customer_steps"] = fs.get("customer_steps", 1) + 1
        plans = {p.id: p for p in await ctx.cards.installment_plans(ctx.customer_id)}
        if inp.action_id == "payoff.pick" and inp.values.get("plan") in plans:
            fs["slots"]["plan"] = inp.values["plan"]
            return self._confirm(ctx, fs, plans[str(inp.values["plan"])])
        confirmed = inp.action_id == "payoff.confirm" or (ctx.u is not None and ctx.u.is_affirmative is True)
        if fs["step"] == "confirm" and confirmed:
            try:
                plan = await ctx.cards.pay_off_plan(ctx.customer_id, fs["slots"]["plan"],
                                                    key=f"{ctx.conversation_id}:{fs['fid']}:payoff")
            except CardSystemError as exc:
                return ended(Draft(text=ctx.pick(f"抱歉，没有办理成功（{exc.message}）。", f"Sorry, that didn't work "
                                                 f"({exc.message})."), handled="flow", resolved=False), "failed")
            return ended(Draft(text=ctx.pick("已为您提前还清这笔分期，款项将计入本期账单。", "Done: the plan is paid off; "
                                             "the amount goes on your current statement."), handled="flow",
                               tool_values=[jsonable(plan)]), "completed",
                         action={"kind": "installment_paid_off", "plan_id": plan.id})
        if ctx.u is not None and ctx.u.is_affirmative is False:
            return cancelled(ctx)
        return FlowResult(draft=await self.resume(ctx, fs), state=fs)

    def accepts(self, ctx: TurnContext, fs: dict[str, Any]) -> bool:
        return fs["step"] == "confirm" and ctx.u is not None and ctx.u.is_affirmative is not None and len(ctx.u.text) <= 12

    async def resume(self, ctx: TurnContext, fs: dict[str, Any]) -> Draft:
        plans = {p.id: p for p in await ctx.cards.installment_plans(ctx.customer_id)}
        if fs["step"] == "confirm" and fs["slots"].get("plan") in plans:
            return self._confirm(ctx, fs, plans[fs["slots"]["plan"]]).draft
        return (await self.start(ctx, fs)).draft
