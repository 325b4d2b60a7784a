"""Money math against the product facts: installment quotes to the cent, and APR by an independent IRR.

The IRR here is computed by Newton's method on the monthly rate, written in this file, not
taken from ``bot.finance.irr_apr``: the point is to check the schedule's APRs, not to
compare the code with itself.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.finance import cash_advance_fee, early_payoff, fmt_money, fmt_rate, installment_quote, late_fee
from knowledge.fees import FeeSchedule, load_fee_schedule

# product-facts.md, "Installments": periods → (fee per period, APR, payment per period, total fee)
# for the ¥12,000 example.
FACTS = {
    3: (Decimal("0.0075"), Decimal("0.1345"), Decimal("4090.00"), Decimal("270.00")),
    6: (Decimal("0.0070"), Decimal("0.1426"), Decimal("2084.00"), Decimal("504.00")),
    12: (Decimal("0.0066"), Decimal("0.1431"), Decimal("1079.20"), Decimal("950.40")),
    24: (Decimal("0.0066"), Decimal("0.1454"), Decimal("579.20"), Decimal("1900.80")),
}
CENT = Decimal("0.01")
PP = 0.0001  # one hundredth of a percentage point, as a fraction a year


@pytest.fixture(scope="module")
def schedule() -> FeeSchedule:
    return load_fee_schedule()


def monthly_irr(principal: float, payments: list[float]) -> float:
    """The monthly rate r with principal = Σ payment_t / (1 + r)^t, by Newton's method."""
    r = 0.01
    for _ in range(100):
        value = -principal + sum(p / (1 + r) ** t for t, p in enumerate(payments, 1))
        slope = sum(-t * p / (1 + r) ** (t + 1) for t, p in enumerate(payments, 1))
        step = value / slope
        r -= step
        if abs(step) < 1e-15:
            break
    return r


@pytest.mark.parametrize("periods", sorted(FACTS))
def test_quote_for_12000_matches_the_facts_table_to_the_cent(schedule: FeeSchedule, periods: int) -> None:
    rate, apr, payment, total_fee = FACTS[periods]
    q = installment_quote(Decimal("12000"), periods, schedule)
    assert (q.fee_rate, q.apr) == (rate, apr)
    assert q.payment_per_period == payment and q.last_payment == payment
    assert q.total_fee == total_fee and q.total_payment == Decimal("12000.00") + total_fee
    assert q.fee_per_period == (Decimal("12000") * rate).quantize(CENT)
    assert fmt_money(q.payment_per_period) == f"¥{payment:,}" and fmt_rate(q.apr) == f"{apr * 100:.2f}%"


@pytest.mark.parametrize("periods", sorted(FACTS))
def test_the_stated_apr_is_the_irr_of_the_fee_schedule(periods: int) -> None:
    rate, apr, _, _ = FACTS[periods]
    n, fee = periods, float(rate)
    irr = monthly_irr(1.0, [1 / n + fee] * n) * 12
    assert abs(irr - float(apr)) <= PP


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(
    principal=st.decimals(min_value=600, max_value=200_000, places=2, allow_nan=False, allow_infinity=False),
    periods=st.sampled_from(sorted(FACTS)),
)
def test_any_principal_splits_exactly_and_costs_the_stated_apr(principal: Decimal, periods: int) -> None:
    schedule = load_fee_schedule()
    q = installment_quote(principal, periods, schedule)
    payments = q.payments()
    assert len(payments) == periods
    # Nothing is lost or made up in the rounding.
    assert sum(payments, Decimal(0)) == q.principal + q.total_fee == q.total_payment
    assert q.total_fee == q.fee_per_period * periods
    assert q.fee_per_period == (principal * FACTS[periods][0]).quantize(CENT)
    # Equal payments to within a cent; the last one carries the principal's remainder (under a cent a period).
    regular = payments[:-1]
    assert max(regular) - min(regular) <= CENT
    assert Decimal(0) <= q.last_payment - q.payment_per_period < CENT * periods
    # The APR is fixed per term. The fee is proportional to the principal, so the exact (unrounded)
    # schedule has the same IRR for every principal, and that IRR is the stated APR.
    apr = float(FACTS[periods][1])
    assert q.apr == FACTS[periods][1]
    p = float(principal)
    exact = monthly_irr(p, [p / periods + p * float(FACTS[periods][0])] * periods) * 12
    unit = monthly_irr(1.0, [1 / periods + float(FACTS[periods][0])] * periods) * 12
    assert abs(exact - unit) < 1e-9
    assert abs(exact - apr) <= PP
    # The cash flows actually billed (rounded to cents) differ by at most a cent a period.
    billed = monthly_irr(float(q.principal), [float(x) for x in payments]) * 12
    assert abs(billed - apr) <= PP + 12 * 0.01 / p


@pytest.mark.parametrize(
    ("remaining", "fee"), [("12000.00", "120.00"), ("999.99", "10.00"), ("600.00", "6.00")]
)
def test_early_payoff_is_the_remaining_principal_plus_one_percent(
    schedule: FeeSchedule, remaining: str, fee: str
) -> None:
    got_fee, total = early_payoff(Decimal(remaining), schedule)
    assert (got_fee, total) == (Decimal(fee), Decimal(remaining) + Decimal(fee))


@pytest.mark.parametrize(("amount", "fee"), [("500", "10.00"), ("1000", "10.00"), ("2500", "25.00")])
def test_cash_advance_fee_is_one_percent_at_least_10(schedule: FeeSchedule, amount: str, fee: str) -> None:
    assert cash_advance_fee(Decimal(amount), schedule) == Decimal(fee)


@pytest.mark.parametrize(
    ("unpaid", "fee"), [("0", "0.00"), ("100", "10.00"), ("1000", "50.00"), ("10000", "300.00")]
)
def test_late_fee_is_five_percent_between_10_and_300(schedule: FeeSchedule, unpaid: str, fee: str) -> None:
    assert late_fee(Decimal(unpaid), schedule) == Decimal(fee)
