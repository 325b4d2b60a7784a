"""Segment-aware notes and one-time proactive offers, from the card system and the needs graph.

* The needs → products graph matches what the customer said ("下个月去日本") to the products
  that fit this customer's tier and data, with the reasons, eligible ones first.
* Proactive: a recent purchase of the schedule's minimum or more that can still be split,
  or a bill the customer says they cannot pay in full, gets the matching flow offered
  once per conversation (never pushed twice; a decline is remembered).
* Segments: a dormant card gets the re-activation note once; a new, inactive card the
  activation offer.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal
from typing import Any

from bot.answers.draft import Draft
from bot.cards.models import Customer, jsonable
from bot.finance import fmt_money
from bot.replies import fmt_date
from bot.turn import TurnContext

logger = logging.getLogger(__name__)

TRAVEL_INTENTS = {"benefits.rights", "fx.international"}
GRAPH_INTENTS = TRAVEL_INTENTS | {"installment", "limit.increase", "billing.annual_fee", "rewards.points",
                                  "cash_advance", "billing.statement"}
OFFER_INTENTS = {"billing.statement", "account.transactions", "billing.min_payment"}


def _offered(ctx: TurnContext, key: str) -> bool:
    return key in ctx.state.offers


def _mark(ctx: TurnContext, key: str) -> None:
    ctx.state.offers.append(key)


async def customer_facts(ctx: TurnContext, customer: Customer) -> Any:
    """The graph's view of this customer, read from the card system."""
    from knowledge.graph import CustomerFacts, Purchase

    card = await ctx.card()
    today = ctx.today()
    profile = await ctx.cards.limit_profile(ctx.customer_id, card.id)
    txns = await ctx.cards.transactions(ctx.customer_id, card.id, since=today - timedelta(days=90), limit=500)
    stmts = await ctx.cards.statements(ctx.customer_id, card.id, limit=1)
    pts = await ctx.cards.points(ctx.customer_id)
    fee = await ctx.cards.annual_fee(ctx.customer_id, card.id)
    plans = await ctx.cards.installment_plans(ctx.customer_id)
    stmt = stmts[0] if stmts else None
    return CustomerFacts(
        tier=customer.tier,
        tenure_months=profile.tenure_months,
        late_payments_6m=profile.late_payments_6m,
        late_payments_12m=profile.late_payments_12m,
        months_since_last_increase=profile.months_since_last_increase
        if profile.months_since_last_increase is not None else profile.tenure_months,
        avg_spend_3m=profile.avg_monthly_spend_3m,
        credit_limit=profile.credit_limit,
        recent_purchases=tuple(Purchase(amount=t.amount, posted_days_ago=(today - t.posted_on).days)
                               for t in txns if t.kind == "purchase" and not t.installment_plan_id),
        statement_balance=stmt.outstanding if stmt else Decimal(0),
        days_to_due=(stmt.due_date - today).days if stmt else None,
        points_balance=pts.balance,
        points_expiring=pts.expiring,
        active_installment_plans=sum(1 for p in plans if p.status == "active"),
        card_activated=card.status != "inactive",
        card_issued_days_ago=(today - card.issued_on).days,
        card_year_purchases=fee.progress.get("purchases"),
        card_year_spend=Decimal(fee.progress["spend"]) if "spend" in fee.progress else None,
    )


async def segment_notes(ctx: TurnContext, customer: Customer, graph: Any) -> Draft | None:
    """What fits this customer's need (from the graph), and the segment notes, once each."""
    u = ctx.u
    if u is None:
        return None
    if customer.segment == "dormant" and not _offered(ctx, "reactivation"):
        _mark(ctx, "reactivation")
        tier = ctx.schedule.tier(customer.tier)
        extra = ""
        if tier.waiver.get("kind") == "purchase_count":
            n = int(tier.waiver["min_purchases"])
            extra = ctx.pick(f"{tier.name('zh')}一个卡片年度内消费满{n}笔即可免年费。",
                             f" Your {tier.name('en')} card's annual fee is waived with {n} purchases in a card year.")
        return Draft(text=ctx.pick("您的卡已经有一段时间没有使用了，卡片和额度都正常可用，欢迎随时刷卡。" + extra,
                                   "Your card hasn't been used for a while; it and your credit limit are ready "
                                   "whenever you are." + extra), handled="account",
                     tool_values=[int(tier.waiver.get("min_purchases", 0))])
    if graph is None or u.intent not in GRAPH_INTENTS or (u.slots.tier and u.slots.tier != customer.tier):
        return None
    matches = graph.match_needs(u.text, ctx.lang)
    if not matches:
        return None
    need = matches[0]
    key = f"need:{need.need_id}"
    if _offered(ctx, key):
        return None
    facts = await customer_facts(ctx, customer)
    recs = [r for r in graph.recommend(need.need_id, facts, locale=ctx.lang) if not r.is_promotional]
    eligible = [r for r in recs if r.eligible][:3]
    if not eligible:
        return None
    _mark(ctx, key)
    lines = [f"· {r.label}：{r.reason}" if ctx.lang == "zh" else f"• {r.label}: {r.reason}" for r in eligible]
    head = ctx.pick(f"结合您的{ctx.schedule.tier(customer.tier).name('zh')}，这些可能对您有用：",
                    f"With your {ctx.schedule.tier(customer.tier).name('en')} card, these may help:")
    draft = Draft(text=head + "\n" + "\n".join(lines), handled="knowledge",
                  passages=[r.reason + " " + r.summary + " " + (r.cost or "") for r in eligible])
    flows = [r for r in eligible if r.flow is not None]
    if flows:
        draft.cards.append({"type": "choices", "id": f"need-{need.need_id}-{ctx.seq}", "options": [
            {"label": r.label, "action_id": "flow.start", "values": {"flow": r.flow.flow}} for r in flows[:3]]})
    ctx.record("recommendation", need=need.need_id, products=[r.product_id for r in eligible],
               segment=customer.segment, tier=customer.tier)
    return draft


async def proactive_offers(ctx: TurnContext, customer: Customer) -> Draft | None:
    """One matching flow offer, at most once per conversation."""
    u = ctx.u
    if u is None:
        return None
    declined = set(ctx.state.memory.get("declined_offers", []))
    if "hardship" in u.signals and not _offered(ctx, "bill_installment") and "installment" not in declined:
        return await _bill_offer(ctx, customer)
    if u.intent in OFFER_INTENTS and not _offered(ctx, "purchase_installment") and "installment" not in declined:
        return await _purchase_offer(ctx, customer)
    if customer.segment == "new" and not _offered(ctx, "activation"):
        card = await ctx.card()
        if card.status == "inactive":
            _mark(ctx, "activation")
            return Draft(text=ctx.pick(f"另外，您尾号{card.last4}的新卡还没有激活，需要现在激活吗？",
                                       f"Also, your new card ending {card.last4} isn't activated yet. Activate it now?"),
                         handled="account", cards=[{"type": "choices", "id": f"offer-activation-{ctx.seq}", "options": [
                             {"label": ctx.pick("激活卡片", "Activate"), "action_id": "flow.start",
                              "values": {"flow": "activation"}}]}])
    return None


async def _purchase_offer(ctx: TurnContext, customer: Customer) -> Draft | None:
    from bot.flows.installment import eligible_purchases

    candidates = await eligible_purchases(ctx)
    if not candidates:
        return None
    recent = [c for c in candidates if (ctx.today() - c.posted_on).days <= 14] or candidates
    t = max(recent, key=lambda x: (x.amount, x.posted_on))
    _mark(ctx, "purchase_installment")
    ctx.record("flow", flow="installment", event="offered", segment=customer.segment, intent=ctx.u.intent if ctx.u else None)
    return Draft(
        text=ctx.pick(f"您{fmt_date(t.posted_on, 'zh')}在{t.merchant}消费的{fmt_money(t.amount)}可以办理分期，需要看看分期方案吗？",
                      f"Your {fmt_money(t.amount)} purchase at {t.merchant} on {fmt_date(t.posted_on, 'en')} can be "
                      f"split into installments. Want to see the options?"),
        handled="account", tool_values=[jsonable(t)],
        cards=[{"type": "choices", "id": f"offer-installment-{ctx.seq}", "options": [
            {"label": ctx.pick("看看分期方案", "Show installment options"), "action_id": "flow.start",
             "values": {"flow": "installment", "txn": t.id}}]}])


async def hardship_answer(ctx: TurnContext, customer: Customer) -> Draft:
    """A customer who says they cannot pay: the options with their figures, and a person to talk to.

    Never pressure, never a threat (compliance COL-08): the bill installment offer when the
    statement allows it, else the grace period and a person for a repayment arrangement.
    """
    offer = None if _offered(ctx, "bill_installment") else await _bill_offer(ctx, customer)
    lead = ctx.pick("理解您现在的难处，我们一起想办法。", "I understand this is hard right now; let's find a way through it. ")
    if offer is not None:
        offer.text = lead + offer.text
        return offer
    grace = int(ctx.schedule.dec("billing.grace_days"))
    return Draft(
        text=lead + ctx.pick(f"在到期还款日后{grace}天内至少还上最低还款额，就算按时还款、不收滞纳金。如果最低还款也有困难，"
                             f"我可以为您转接人工客服，一起商量还款安排。",
                             f"Paying at least the minimum payment within {grace} days after the due date counts as on "
                             f"time, with no late fee. If even the minimum is hard, I can connect you to a person to "
                             f"talk about a repayment arrangement."),
        handled="account", tool_values=[grace], meta={"cite": ["repayment-grace-period"]},
        cards=[{"type": "choices", "id": f"hardship-{ctx.seq}", "options": [
            {"label": ctx.pick("转人工商量", "Talk to a person"), "action_id": "handoff.request", "values": {}}]}])


async def _bill_offer(ctx: TurnContext, customer: Customer) -> Draft | None:
    card = await ctx.card()
    stmts = await ctx.cards.statements(ctx.customer_id, card.id, limit=1)
    minimum = ctx.schedule.dec("installments.bill_min_amount")
    if not stmts or stmts[0].outstanding < minimum or ctx.today() > stmts[0].due_date:
        return None
    s = stmts[0]
    _mark(ctx, "bill_installment")
    ctx.record("flow", flow="installment", event="offered", segment=customer.segment, intent=ctx.u.intent if ctx.u else None)
    return Draft(
        text=ctx.pick(f"如果这期{fmt_money(s.outstanding)}一次还不上，可以按时还最低还款额{fmt_money(s.min_payment)}保持良好记录，"
                      f"或者把账单办理分期，需要的话我也可以为您转接人工客服商量还款安排。",
                      f"If you can't pay the {fmt_money(s.outstanding)} in full this time, paying the minimum "
                      f"{fmt_money(s.min_payment)} on time keeps your record clean, or you can split the bill into "
                      f"installments; I can also connect you to a person to talk about a repayment plan."),
        handled="account", tool_values=[jsonable(s)],
        cards=[{"type": "choices", "id": f"offer-bill-{ctx.seq}", "options": [
            {"label": ctx.pick("看看账单分期", "Show bill installment options"), "action_id": "flow.start",
             "values": {"flow": "installment", "kind": "bill"}},
            {"label": ctx.pick("转人工商量", "Talk to a person"), "action_id": "handoff.request", "values": {}}]}])
