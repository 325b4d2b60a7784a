"""Account answers from the card system: bill, minimum payment, transactions, limit, points,
annual fee, card status, replacement delivery. Card numbers appear as the last 4 digits only.

In the offline engine the intent calls these directly; in the LLM engine the same functions
back the LangChain tools bound to the model.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from bot.answers.draft import Draft
from bot.cards.models import Statement, Transaction, jsonable
from bot.finance import fmt_money, fmt_rate
from bot.replies import fmt_date
from bot.turn import TurnContext


def _m(value: Decimal) -> str:
    return fmt_money(value)


async def statement(ctx: TurnContext) -> Draft:
    """This month's bill: amount, minimum, due date, what is still owed."""
    card = await ctx.card()
    stmts = await ctx.cards.statements(ctx.customer_id, card.id, limit=1)
    if not stmts:
        return Draft(text=ctx.pick(
            f"您尾号{card.last4}的卡片目前还没有出过账单。",
            f"Your card ending {card.last4} has no statement yet."), handled="account", tool_values=[jsonable(card)])
    s = stmts[0]
    today = ctx.today()
    days = (s.due_date - today).days
    lines = [[ctx.pick("账单日", "Statement date"), fmt_date(s.statement_date, ctx.lang)],
             [ctx.pick("本期应还", "Statement balance"), _m(s.balance)],
             [ctx.pick("最低还款", "Minimum payment"), _m(s.min_payment)],
             [ctx.pick("到期还款日", "Payment due"), fmt_date(s.due_date, ctx.lang)],
             [ctx.pick("已还", "Paid"), _m(s.paid)]]
    if s.outstanding == 0:
        text = ctx.pick(
            f"您尾号{card.last4}的卡片本期账单（{fmt_date(s.statement_date, 'zh')}出账）{_m(s.balance)}已经还清，谢谢！"
            f"出账后的新消费会计入下期账单。",
            f"Your statement of {fmt_date(s.statement_date, 'en')} for the card ending {card.last4} "
            f"({_m(s.balance)}) is paid in full, thank you. New purchases go on the next statement.")
    elif days >= 0:
        text = ctx.pick(
            f"您尾号{card.last4}的卡片本期账单（{fmt_date(s.statement_date, 'zh')}出账）应还{_m(s.balance)}，"
            f"最低还款{_m(s.min_payment)}，到期还款日是{fmt_date(s.due_date, 'zh')}"
            + (f"（还有{days}天）" if days > 0 else "（就是今天）") + "。"
            + (f"目前还需还款{_m(s.outstanding)}。" if s.paid > 0 else "")
            + "在到期还款日前全额还款可以享受免息；只还最低还款额的话，未还部分会产生利息。",
            f"Your statement of {fmt_date(s.statement_date, 'en')} for the card ending {card.last4} is "
            f"{_m(s.balance)}, minimum payment {_m(s.min_payment)}, due on {fmt_date(s.due_date, 'en')}"
            + (f" ({days} days from today)." if days > 0 else " (today).")
            + (f" Still to pay: {_m(s.outstanding)}." if s.paid > 0 else "")
            + " Paying the full balance by the due date keeps your purchases interest-free; paying only the "
              "minimum means interest on the rest.")
    else:
        text = ctx.pick(
            f"您尾号{card.last4}的卡片账单（{fmt_date(s.statement_date, 'zh')}出账）应还{_m(s.balance)}，"
            f"到期还款日{fmt_date(s.due_date, 'zh')}已过，目前还需还款{_m(s.outstanding)}。",
            f"Your statement of {fmt_date(s.statement_date, 'en')} ({_m(s.balance)}) was due on "
            f"{fmt_date(s.due_date, 'en')}; {_m(s.outstanding)} is still to pay.")
    draft = Draft(text=text, handled="account", tool_values=[jsonable(s), days],
                  cards=[{"type": "info", "id": f"stmt-{s.id}", "title": ctx.pick("本期账单", "This statement"),
                          "lines": lines}])
    draft.meta["statement"] = jsonable(s)
    return draft


async def min_payment(ctx: TurnContext) -> Draft:
    """The current minimum payment, and how it is made up."""
    card = await ctx.card()
    stmts = await ctx.cards.statements(ctx.customer_id, card.id, limit=1)
    rate = ctx.schedule.dec("billing.min_payment_rate")
    if not stmts:
        return Draft(text=ctx.pick("您目前还没有账单，暂时没有最低还款额。", "You have no statement yet, so no minimum "
                                   "payment is due."), handled="account")
    s = stmts[0]
    text = ctx.pick(
        f"您本期（{fmt_date(s.statement_date, 'zh')}出账）的最低还款额是{_m(s.min_payment)}，"
        f"到期还款日{fmt_date(s.due_date, 'zh')}。最低还款额 = 消费和取现余额的{fmt_rate(rate)}，"
        f"加上当期账单中的分期本金、手续费、年费等费用和利息的100%。按最低还款额还款不会影响信用记录，"
        f"但未还清的部分不享受免息，会按日计息。",
        f"Your minimum payment on the statement of {fmt_date(s.statement_date, 'en')} is {_m(s.min_payment)}, "
        f"due on {fmt_date(s.due_date, 'en')}. The minimum is {fmt_rate(rate)} of your purchase and cash-advance "
        f"balance plus 100% of the installments, fees and interest billed in that statement. Paying it keeps "
        f"your account in good standing, but the unpaid rest loses the interest-free period and accrues "
        f"daily interest.")
    return Draft(text=text, handled="account", tool_values=[jsonable(s), 100])


def _txn_line(t: Transaction, lang: str) -> list[str]:
    return [fmt_date(t.posted_on, lang), t.merchant, fmt_money(t.amount)]


def match_transactions(txns: list[Transaction], ctx: TurnContext) -> list[Transaction]:
    """Transactions matching the turn's merchant / amount / date slots (all of them if none)."""
    if ctx.u is None:
        return txns
    s = ctx.u.slots
    out = txns
    if s.merchant:
        from bot.nlu.merchants import canonical_merchant

        m = canonical_merchant(s.merchant).lower()
        out = [t for t in out if _same_merchant(m, t.merchant)]
    if s.amount is not None:
        out = [t for t in out if abs(t.amount - s.amount) < Decimal("1")] or out
    if s.date_range is not None:
        lo, hi = s.date_range
        out = [t for t in out if lo <= t.posted_on <= hi] or out
    elif s.date is not None:
        out = [t for t in out if abs((t.posted_on - s.date).days) <= 1] or out
    return out


def named_merchants(txns: list[Transaction], text: str) -> set[str]:
    """The customer's own merchants that their words name. The understanding step knows common
    merchants only; a local café or "GLOBAL DIGITAL SVCS" is found here, in their own history."""
    low = text.lower()
    out = set()
    for merchant in {t.merchant for t in txns if len(t.merchant) >= 2}:
        name = merchant.lower()
        if name.isascii():
            if re.search(rf"(?<![a-z0-9]){re.escape(name)}(?![a-z0-9])", low):
                out.add(merchant)
        elif name in low:
            out.add(merchant)
    return out


def described_transactions(txns: list[Transaction], ctx: TurnContext) -> list[Transaction] | None:
    """The transactions the customer's words point at: None when they point at none, [] when
    they describe one that isn't there."""
    u = ctx.u
    if u is None:
        return None
    named = named_merchants(txns, u.text) if not u.slots.merchant else set()
    if named:
        return match_transactions([t for t in txns if t.merchant in named], ctx)
    if u.slots.merchant or u.slots.amount is not None or u.slots.date or u.slots.date_range:
        found = match_transactions(txns, ctx)
        return [] if found is txns else found
    return None


def _same_merchant(wanted: str, merchant: str) -> bool:
    from bot.nlu.merchants import canonical_merchant

    have = canonical_merchant(merchant).lower()
    return wanted in have or have in wanted or wanted in merchant.lower()


async def transactions(ctx: TurnContext, *, limit: int = 8) -> Draft:
    """Recent transactions (filtered by what the customer said), as a table card."""
    card = await ctx.card()
    since = ctx.today() - timedelta(days=90)
    all_txns = await ctx.cards.transactions(ctx.customer_id, None, since=since, limit=500)
    named = named_merchants(all_txns, ctx.u.text) if ctx.u and not ctx.u.slots.merchant else set()
    found = match_transactions([t for t in all_txns if t.merchant in named] if named else all_txns, ctx)
    filtered = found is not all_txns
    if not found:
        return Draft(text=ctx.pick("最近90天没有找到符合条件的交易。", "I found no matching transactions in the last 90 "
                                   "days."), handled="account", tool_values=[90])
    shown = found[:limit]
    total = sum((t.amount for t in found if t.kind == "purchase"), Decimal(0))
    if filtered and len(found) <= 3:
        parts = [f"{fmt_date(t.posted_on, ctx.lang)} {t.merchant} {fmt_money(t.amount)}" for t in found]
        text = ctx.pick("找到这几笔交易：" + "；".join(parts) + "。如果其中有不是您本人的交易，请告诉我，我会立即帮您处理。",
                        "I found: " + "; ".join(parts) + ". If any of these wasn't you, tell me and I'll act "
                        "on it right away.")
    else:
        text = ctx.pick(
            f"这是您尾号{card.last4}的卡片最近的{len(shown)}笔交易" + (f"（共找到{len(found)}笔，消费合计{fmt_money(total)}）"
                                                              if filtered else "") + "：",
            f"Here are the latest {len(shown)} transactions on your card ending {card.last4}"
            + (f" ({len(found)} found, purchases total {fmt_money(total)})" if filtered else "") + ":")
    table = {"type": "table", "id": f"txns-{ctx.seq}", "title": ctx.pick("最近交易", "Recent transactions"),
             "columns": [ctx.pick("日期", "Date"), ctx.pick("商户", "Merchant"), ctx.pick("金额", "Amount")],
             "rows": [{"cells": _txn_line(t, ctx.lang)} for t in shown]}
    return Draft(text=text, handled="account", cards=[table],
                 tool_values=[jsonable(found[:50]), len(shown), len(found), total, 90])


async def limit(ctx: TurnContext) -> Draft:
    """Credit limit, available credit and any temporary limit with its end date."""
    card = await ctx.card()
    today = ctx.today()
    eff = card.effective_limit(today)
    avail = card.available(today)
    temp = ""
    if card.temp_limit is not None and card.temp_limit_until is not None and today <= card.temp_limit_until:
        temp = ctx.pick(f"其中临时额度{_m(card.temp_limit)}有效至{fmt_date(card.temp_limit_until, 'zh')}，到期后恢复为{_m(card.credit_limit)}。",
                        f" A temporary limit of {_m(card.temp_limit)} applies until "
                        f"{fmt_date(card.temp_limit_until, 'en')}; after that it is {_m(card.credit_limit)} again.")
    text = ctx.pick(
        f"您尾号{card.last4}的卡片当前信用额度{_m(eff)}，可用额度{_m(avail)}。{temp}如需提高额度，我可以帮您测算和申请。",
        f"Your card ending {card.last4} has a credit limit of {_m(eff)} and {_m(avail)} available.{temp} If you "
        f"need more, I can check what you could get and apply for you.")
    return Draft(text=text, handled="account", tool_values=[jsonable(card), eff, avail],
                 cards=[{"type": "choices", "id": f"limit-offer-{ctx.seq}", "options": [
                     {"label": ctx.pick("申请提额", "Raise my limit"), "action_id": "flow.start",
                      "values": {"flow": "limit_increase"}}]}])


async def points(ctx: TurnContext) -> Draft:
    """Points balance, what is about to expire, and what it is worth."""
    p = await ctx.cards.points(ctx.customer_id)
    per_yuan = int(ctx.schedule.get("points.statement_credit_points_per_yuan"))
    per_mile = int(ctx.schedule.get("points.points_per_airline_mile"))
    worth = (Decimal(p.balance) / per_yuan).quantize(Decimal("0.01"))
    expiring = ""
    if p.expiring and p.expiring_on:
        expiring = ctx.pick(f"其中{p.expiring:,}分将于{fmt_date(p.expiring_on, 'zh')}到期，建议尽早使用。",
                            f" {p.expiring:,} of them expire on {fmt_date(p.expiring_on, 'en')}; use them before then.")
    text = ctx.pick(
        f"您目前有{p.balance:,}积分。{expiring}积分可以按{per_yuan}分=1元抵扣账单（您的积分约可抵{_m(worth)}），"
        f"或按{per_mile}分=1英里兑换航空里程。",
        f"You have {p.balance:,} points.{expiring} Points convert to statement credit at {per_yuan} points = ¥1 "
        f"(yours are worth about {_m(worth)}) or to airline miles at {per_mile} points = 1 mile.")
    return Draft(text=text, handled="account", tool_values=[jsonable(p), worth])


async def annual_fee(ctx: TurnContext) -> Draft:
    """This card year's annual fee and whether the waiver is met."""
    card = await ctx.card()
    st = await ctx.cards.annual_fee(ctx.customer_id, card.id)
    tier = ctx.schedule.tier(st.tier)
    name = tier.name(ctx.lang)
    end = fmt_date(st.card_year_ends, ctx.lang)
    if st.fee == 0:
        text = ctx.pick(f"您的{name}没有年费。", f"Your {name} card has no annual fee.")
    elif st.waived:
        text = ctx.pick(f"您的{name}年费{_m(st.fee)}，本卡片年度（至{end}）您已满足减免条件，免收年费。",
                        f"Your {name} card's annual fee is {_m(st.fee)}; you have met the waiver this card year "
                        f"(until {end}), so it is waived.")
    elif st.rule == "purchase_count":
        need, have = st.progress["needed"], st.progress["purchases"]
        text = ctx.pick(f"您的{name}年费{_m(st.fee)}，一个卡片年度内消费满{need}笔即可免收。本卡片年度（至{end}）您已消费{have}笔，"
                        f"再消费{need - have}笔就能免年费。",
                        f"Your {name} card's annual fee is {_m(st.fee)}, waived with {need} purchases in a card "
                        f"year. This card year (until {end}) you have made {have}; {need - have} more and it's waived.")
    elif st.rule == "spend_or_points":
        spent = Decimal(st.progress["spend"])
        need = Decimal(st.progress["needed_spend"])
        pts = int(st.progress["points_option"])
        text = ctx.pick(f"您的{name}年费{_m(st.fee)}。一个卡片年度内消费满{_m(need)}可免年费，本卡片年度（至{end}）已消费{_m(spent)}；"
                        f"也可以用{pts:,}积分抵扣年费。",
                        f"Your {name} card's annual fee is {_m(st.fee)}. It is waived when card-year spend reaches "
                        f"{_m(need)}; this card year (until {end}) you have spent {_m(spent)}. You can also "
                        f"redeem {pts:,} points for it.")
    else:
        text = ctx.pick(f"您的{name}年费{_m(st.fee)}，不设减免。",
                        f"Your {name} card's annual fee is {_m(st.fee)} and is not waived.")
    draft = Draft(text=text, handled="account", tool_values=[jsonable(st)])
    if st.waived or st.fee == 0:
        draft.decisions.add("annual_fee_waived")
    return draft


async def card_status(ctx: TurnContext) -> Draft:
    """Why a card might not work: its status and available credit."""
    card = await ctx.card()
    today = ctx.today()
    avail = card.available(today)
    reasons = {
        "frozen": ctx.pick(f"您尾号{card.last4}的卡片已冻结（挂失后无法解冻，会补发新卡），所以无法交易。",
                           f"Your card ending {card.last4} is frozen (after a loss report it cannot be unfrozen; a "
                           f"replacement is issued), so payments are declined."),
        "inactive": ctx.pick(f"您尾号{card.last4}的卡片还没有激活，激活后才能使用。需要我现在帮您激活吗？",
                             f"Your card ending {card.last4} isn't activated yet; it works once activated. Shall "
                             f"I activate it now?"),
        "closed": ctx.pick(f"您尾号{card.last4}的卡片已注销或被新卡替换。",
                           f"Your card ending {card.last4} is closed or was replaced by a new card."),
    }
    if card.status in reasons:
        text = reasons[card.status]
    elif avail <= 0:
        text = ctx.pick(f"您的卡片状态正常，但可用额度为{_m(avail)}，额度不足会导致交易被拒。还款后额度会恢复。",
                        f"Your card is active but has {_m(avail)} available; payments beyond the available "
                        f"credit are declined. Your credit comes back as you repay.")
    else:
        text = ctx.pick(f"您尾号{card.last4}的卡片状态正常，可用额度{_m(avail)}。",
                        f"Your card ending {card.last4} is active with {_m(avail)} available.")
    draft = Draft(text=text, handled="account", tool_values=[jsonable(card), avail])
    if card.status == "inactive":
        draft.cards.append({"type": "choices", "id": f"activate-{ctx.seq}", "options": [
            {"label": ctx.pick("激活卡片", "Activate the card"), "action_id": "flow.start",
             "values": {"flow": "activation"}}]})
    return draft


async def replacement_status(ctx: TurnContext) -> Draft | None:
    """The latest replacement's delivery, or ``None`` when there is none."""
    reps = await ctx.cards.replacements(ctx.customer_id)
    if not reps:
        return None
    r = reps[-1]
    status = {"ordered": ctx.pick("已下单", "ordered"), "shipped": ctx.pick("已寄出", "on its way"),
              "delivered": ctx.pick("已送达", "delivered")}[r.status]
    text = ctx.pick(
        f"您的新卡{status}，{'加急' if r.delivery == 'express' else '普通'}寄送，预计{fmt_date(r.eta_from, 'zh')}至"
        f"{fmt_date(r.eta_to, 'zh')}送达（{r.address_masked}），运单号{r.tracking_no}。收到后请在App中激活。",
        f"Your new card is {status} by {r.delivery} delivery, expected between {fmt_date(r.eta_from, 'en')} and "
        f"{fmt_date(r.eta_to, 'en')} ({r.address_masked}), tracking number {r.tracking_no}. Activate it in the "
        f"app when it arrives.")
    return Draft(text=text, handled="account", tool_values=[jsonable(r)])


async def last_statement_paid(ctx: TurnContext) -> Draft:
    """Whether payments arrived against the latest statement."""
    card = await ctx.card()
    stmts = await ctx.cards.statements(ctx.customer_id, card.id, limit=1)
    if not stmts:
        return Draft(text="", handled="account", resolved=False)
    s: Statement = stmts[0]
    text = ctx.pick(
        f"本期账单（{fmt_date(s.statement_date, 'zh')}出账，应还{_m(s.balance)}）目前已入账还款{_m(s.paid)}，还需还款{_m(s.outstanding)}。"
        f"App内用借记卡还款实时到账，银行转账1个工作日内到账。",
        f"Against your statement of {fmt_date(s.statement_date, 'en')} ({_m(s.balance)}) we have received "
        f"{_m(s.paid)}; {_m(s.outstanding)} is still to pay. In-app payments post in real time, bank transfers "
        f"within 1 business day.")
    return Draft(text=text, handled="account", tool_values=[jsonable(s), 1])


def days_between(a: date, b: date) -> int:
    return (b - a).days


def tool_snapshot(value: Any) -> Any:
    """JSON for grounding and context packages."""
    return jsonable(value)
