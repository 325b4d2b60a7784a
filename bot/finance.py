"""Deterministic money math: installment quotes, APR by IRR, cash-advance and late fees.

Every figure comes from the fee schedule; nothing here is an LLM's arithmetic. Amounts are
``Decimal`` yuan rounded half-up to the cent.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from knowledge.fees import FeeSchedule

CENT = Decimal("0.01")


def money(value: Decimal | int | str) -> Decimal:
    """Round half-up to the cent."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def fmt_money(value: Decimal, *, locale: str = "zh") -> str:
    """``¥12,000.00`` style; the same in both languages (CNY everywhere)."""
    del locale
    return f"¥{money(value):,.2f}"


def fmt_rate(rate: Decimal) -> str:
    """A fraction as a percentage with two decimals: 0.1431 → ``14.31%``."""
    return f"{(rate * 100).quantize(CENT, rounding=ROUND_HALF_UP)}%"


@dataclass(frozen=True, slots=True, kw_only=True)
class InstallmentQuote:
    """What an installment plan costs, period by period."""

    principal: Decimal
    periods: int
    fee_rate: Decimal
    fee_per_period: Decimal
    principal_per_period: Decimal
    payment_per_period: Decimal
    last_payment: Decimal
    total_fee: Decimal
    total_payment: Decimal
    apr: Decimal

    def payments(self) -> list[Decimal]:
        """The payment of each period (the last one absorbs the principal's rounding)."""
        return [self.payment_per_period] * (self.periods - 1) + [self.last_payment]


def installment_quote(principal: Decimal, periods: int, schedule: FeeSchedule) -> InstallmentQuote:
    """Quote ``principal`` over ``periods`` with the schedule's fee rate and stated APR.

    The per-period fee is charged on the original principal every period. The principal is
    split evenly in cents; the last period carries the remainder.
    """
    terms = schedule.installment_plan(periods)
    principal = money(principal)
    fee = money(principal * terms.fee_rate)
    part = (principal / periods).quantize(CENT, rounding=ROUND_DOWN)
    last_part = principal - part * (periods - 1)
    return InstallmentQuote(
        principal=principal,
        periods=periods,
        fee_rate=terms.fee_rate,
        fee_per_period=fee,
        principal_per_period=part,
        payment_per_period=part + fee,
        last_payment=last_part + fee,
        total_fee=fee * periods,
        total_payment=principal + fee * periods,
        apr=terms.apr,
    )


def irr_apr(principal: Decimal, payments: list[Decimal]) -> Decimal:
    """Annualised rate (monthly IRR × 12) of receiving ``principal`` and paying ``payments``.

    Solved by bisection on the monthly rate in exact-enough float, returned to 4 decimals
    (e.g. 0.1431 for 14.31%).
    """
    p = float(principal)
    flows = [float(x) for x in payments]

    def npv(rate: float) -> float:
        return -p + sum(cf / (1 + rate) ** (i + 1) for i, cf in enumerate(flows))

    lo, hi = 0.0, 1.0
    if npv(lo) < 0:
        return Decimal(0)
    for _ in range(200):
        mid = (lo + hi) / 2
        if npv(mid) > 0:
            lo = mid
        else:
            hi = mid
    return Decimal(str(round((lo + hi) / 2 * 12, 4)))


def early_payoff(remaining_principal: Decimal, schedule: FeeSchedule) -> tuple[Decimal, Decimal]:
    """``(fee, total due now)`` to pay off a plan early: remaining principal plus 1% of it."""
    fee = money(remaining_principal * schedule.dec("installments.early_payoff_fee_rate"))
    return fee, money(remaining_principal) + fee


def cash_advance_fee(amount: Decimal, schedule: FeeSchedule) -> Decimal:
    """1% of the amount, at least the schedule's minimum."""
    return max(money(amount * schedule.dec("cash_advance.fee_rate")), money(schedule.dec("cash_advance.fee_min")))


def late_fee(unpaid_minimum: Decimal, schedule: FeeSchedule) -> Decimal:
    """5% of the unpaid part of the minimum payment, clamped to [¥10, ¥300]; zero when nothing is unpaid."""
    if unpaid_minimum <= 0:
        return Decimal("0.00")
    raw = money(unpaid_minimum * schedule.dec("billing.late_fee.rate"))
    return min(max(raw, money(schedule.dec("billing.late_fee.min"))), money(schedule.dec("billing.late_fee.max")))


def purchase_interest(balance: Decimal, days: int, schedule: FeeSchedule) -> Decimal:
    """Simple daily interest on ``balance`` for ``days`` days."""
    return money(balance * schedule.dec("billing.purchase_daily_rate") * days)
