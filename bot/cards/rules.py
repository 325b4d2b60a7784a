"""The bank's card rules, computed from the fee schedule: limit eligibility, installment
conditions, replacement and delivery fees, annual-fee waivers.

Pure functions over the customer's data; the simulated core enforces them and the flows
use them to explain, in plain words, why something is or is not possible.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from bot.cards.models import AnnualFeeStatus, Card, LimitProfile, Transaction
from bot.errors import CardSystemError
from bot.finance import money
from knowledge.fees import FeeSchedule


def months_between(start: date, end: date) -> int:
    """Whole months from ``start`` to ``end``."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if end.day < start.day:
        months -= 1
    return max(months, 0)


def limit_profile(doc: dict[str, Any], card_id: str, today: date) -> LimitProfile:
    """What the limit rules look at, from one customer's document."""
    card = next(c for c in doc["cards"] if c["id"] == card_id)
    late = [date.fromisoformat(d) for d in doc.get("late_payments", [])]
    increases = sorted(
        date.fromisoformat(i["on"]) for i in doc.get("limit_increases", []) if i["kind"] == "permanent"
    )
    last_inc = increases[-1] if increases else None
    spend: list[Decimal] = []
    for i in range(3):
        hi = today - timedelta(days=30 * i)
        lo = hi - timedelta(days=30)
        spend.append(
            sum(
                (
                    Decimal(t["amount"])
                    for t in doc["transactions"]
                    if t["card_id"] == card_id
                    and t["kind"] == "purchase"
                    and lo.isoformat() < t["posted_on"] <= hi.isoformat()
                ),
                Decimal(0),
            )
        )
    return LimitProfile(
        card_id=card_id,
        credit_limit=Decimal(card["credit_limit"]),
        temp_limit=Decimal(card["temp_limit"]) if card.get("temp_limit") else None,
        temp_limit_until=date.fromisoformat(card["temp_limit_until"]) if card.get("temp_limit_until") else None,
        tenure_months=months_between(date.fromisoformat(card["opened_on"]), today),
        late_payments_6m=sum(1 for d in late if (today - d).days <= 183),
        late_payments_12m=sum(1 for d in late if (today - d).days <= 365),
        last_permanent_increase_on=last_inc,
        months_since_last_increase=months_between(last_inc, today) if last_inc else None,
        avg_monthly_spend_3m=money(sum(spend, Decimal(0)) / 3),
        monthly_spend_3m=(money(spend[0]), money(spend[1]), money(spend[2])),
    )


def temporary_increase_problems(profile: LimitProfile, schedule: FeeSchedule) -> tuple[list[str], Decimal]:
    """Reasons a temporary increase is not possible (empty = eligible) and the highest limit."""
    problems = []
    if profile.tenure_months < int(schedule.get("credit_limit.temporary.min_tenure_months")):
        problems.append("tenure")
    if profile.late_payments_6m > 0:
        problems.append("late_payment")
    max_limit = money(profile.credit_limit * (1 + schedule.dec("credit_limit.temporary.max_increase_ratio")))
    return problems, max_limit


def permanent_increase_problems(profile: LimitProfile, schedule: FeeSchedule) -> tuple[list[str], Decimal]:
    """Reasons a permanent increase is not possible (empty = eligible) and the highest limit."""
    problems = []
    if profile.tenure_months < int(schedule.get("credit_limit.permanent.min_tenure_months")):
        problems.append("tenure")
    if profile.late_payments_12m > 0:
        problems.append("late_payment")
    gap = int(schedule.get("credit_limit.permanent.min_months_since_last_increase"))
    if profile.months_since_last_increase is not None and profile.months_since_last_increase < gap:
        problems.append("recent_increase")
    if profile.avg_monthly_spend_3m < profile.credit_limit * schedule.dec("credit_limit.permanent.min_avg_spend_ratio"):
        problems.append("low_spend")
    max_limit = money(profile.credit_limit * (1 + schedule.dec("credit_limit.permanent.max_increase_ratio")))
    return problems, max_limit


def check_purchase_installment(
    doc: dict[str, Any], card_id: str, txn_id: str, today: date, schedule: FeeSchedule
) -> Decimal:
    """The principal of an eligible purchase installment; raises ``CardSystemError`` otherwise."""
    txn = next((t for t in doc["transactions"] if t["id"] == txn_id and t["card_id"] == card_id), None)
    if txn is None:
        raise CardSystemError("unknown_transaction", f"transaction {txn_id!r} is not on this card")
    if txn["kind"] != "purchase":
        raise CardSystemError("not_a_purchase", "only purchases can be split into installments")
    if txn.get("installment_plan_id"):
        raise CardSystemError("already_installed", "this purchase is already on an installment plan")
    amount = Decimal(txn["amount"])
    minimum = schedule.dec("installments.purchase_min_amount")
    if amount < minimum:
        raise CardSystemError("amount_too_small", f"a purchase installment needs a purchase of at least {minimum}")
    window = int(schedule.get("installments.purchase_window_days"))
    if (today - date.fromisoformat(txn["posted_on"])).days > window:
        raise CardSystemError("outside_window", f"purchases can be split within {window} days of posting")
    return money(amount)


def check_bill_installment(
    doc: dict[str, Any], card_id: str, statement_id: str, today: date, schedule: FeeSchedule
) -> Decimal:
    """The principal of an eligible bill installment (the unpaid statement balance)."""
    stmts = sorted((s for s in doc["statements"] if s["card_id"] == card_id), key=lambda s: s["statement_date"])
    if not stmts or stmts[-1]["id"] != statement_id:
        raise CardSystemError("not_current_statement", "only the current statement can be split")
    stmt = stmts[-1]
    if stmt.get("installment_plan_id"):
        raise CardSystemError("already_installed", "this statement is already on an installment plan")
    if today > date.fromisoformat(stmt["due_date"]):
        raise CardSystemError("past_due_date", "a bill can be split only before its due date")
    outstanding = Decimal(stmt["balance"]) - Decimal(stmt["paid"])
    minimum = schedule.dec("installments.bill_min_amount")
    if outstanding < minimum:
        raise CardSystemError("amount_too_small", f"a bill installment needs a balance of at least {minimum}")
    return money(outstanding)


def card_year_start(opened_on: date, today: date) -> date:
    """The start of the current card year (anniversary of opening)."""
    try:
        anniversary = opened_on.replace(year=today.year)
    except ValueError:  # opened on 29 February
        anniversary = date(today.year, 3, 1)
    if anniversary > today:
        try:
            anniversary = anniversary.replace(year=today.year - 1)
        except ValueError:
            anniversary = date(today.year - 1, 3, 1)
    return anniversary


def replacement_fees(
    doc: dict[str, Any], card: dict[str, Any], delivery: str, today: date, schedule: FeeSchedule
) -> tuple[Decimal, Decimal]:
    """``(replacement fee, delivery fee)``: the first replacement in a card year is free."""
    year_start = card_year_start(date.fromisoformat(card["opened_on"]), today)
    used = sum(1 for r in doc.get("replacements", []) if r["ordered_on"] >= year_start.isoformat())
    free = int(schedule.get("card.free_replacements_per_card_year"))
    fee = Decimal("0.00") if used < free else money(schedule.dec("card.replacement_fee"))
    tier = schedule.tier(card["tier"])
    delivery_fee = Decimal("0.00")
    if delivery == "express" and not tier.express_delivery_free:
        delivery_fee = money(schedule.dec("card.delivery.express_fee"))
    return fee, delivery_fee


def annual_fee_status(
    card: Card, txns: list[Transaction], today: date, schedule: FeeSchedule
) -> AnnualFeeStatus:
    """The card's annual fee, whether this card year's waiver rule is met, and progress toward it."""
    tier = schedule.tier(card.tier)
    start = card_year_start(card.opened_on, today)
    end = card_year_start(card.opened_on, today + timedelta(days=366)) - timedelta(days=1)
    if end < today:
        end = today
    year_txns = [t for t in txns if t.kind == "purchase" and t.posted_on >= start]
    kind = tier.waiver.get("kind", "none")
    progress: dict[str, Any] = {}
    waived = tier.annual_fee == 0
    if kind == "purchase_count":
        need = int(tier.waiver["min_purchases"])
        progress = {"purchases": len(year_txns), "needed": need}
        waived = len(year_txns) >= need
    elif kind == "spend_or_points":
        spent = money(sum((t.amount for t in year_txns), Decimal(0)))
        progress = {"spend": str(spent), "needed_spend": str(tier.waiver["min_spend"]),
                    "points_option": tier.waiver["points"]}
        waived = spent >= Decimal(str(tier.waiver["min_spend"]))
    return AnnualFeeStatus(
        tier=card.tier, fee=money(tier.annual_fee), waived=waived, rule=kind, progress=progress,
        card_year_ends=end,
    )
