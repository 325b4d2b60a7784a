"""Checking a condition against a customer's facts.

Each condition kind reads its thresholds from the fee schedule (by the paths the graph
names) and the customer's facts, and returns an :class:`Outcome`: met, unmet or — when a
fact is not known — unverified, plus the values its texts may state.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from knowledge.fees import TIER_IDS, FeeSchedule
from knowledge.graph.errors import GraphError
from knowledge.graph.model import (
    DEFAULT_CASE,
    Condition,
    ConditionKind,
    ConditionStatus,
    CustomerFacts,
    TierMatch,
)
from knowledge.graph.template import tier_names


@dataclass(frozen=True, slots=True, kw_only=True)
class KindSpec:
    """What a condition kind takes and gives.

    ``params``: its threshold parameters (fee-schedule paths). ``values``: what its unmet and
    remedy texts may state. ``stated``: the part of ``values`` known even when the customer's
    facts are not, so what the requirement text may state. ``cases``: its text cases.
    """

    params: tuple[str, ...] = ()
    values: tuple[str, ...] = ()
    stated: tuple[str, ...] = ()
    cases: tuple[str, ...] = (DEFAULT_CASE,)


KIND_SPECS: Mapping[ConditionKind, KindSpec] = {
    "tier": KindSpec(values=("tiers",), stated=("tiers",)),
    "tenure": KindSpec(params=("min",), values=("required", "actual"), stated=("required",)),
    "no_late_payments": KindSpec(params=("months",), values=("months", "actual"), stated=("months",)),
    "months_since_last_increase": KindSpec(
        params=("min",), values=("required", "actual"), stated=("required",)
    ),
    "spend_ratio": KindSpec(
        params=("min", "months"), values=("ratio", "months", "required", "actual"), stated=("ratio", "months")
    ),
    "recent_purchase": KindSpec(
        params=("min", "window"), values=("required", "window", "actual"), stated=("required", "window")
    ),
    "statement_balance": KindSpec(params=("min",), values=("required", "actual"), stated=("required",)),
    "before_due_date": KindSpec(values=("actual",)),
    "has_installment_plan": KindSpec(values=("actual",)),
    "transaction_age": KindSpec(params=("max",), values=("window", "actual"), stated=("window",)),
    "card_inactive": KindSpec(),
    "card_age": KindSpec(params=("max",), values=("window", "actual"), stated=("window",)),
    "points_balance": KindSpec(params=("min",), values=("required", "actual"), stated=("required",)),
    "annual_fee_waiver": KindSpec(
        values=("required", "actual", "points", "shortfall"),
        cases=("no_fee", "none", "purchase_count", "spend_or_points"),
    ),
}

# Late-payment look-back (months) → the fact that counts late payments over it.
LATE_PAYMENT_FACTS: Mapping[int, str] = {6: "late_payments_6m", 12: "late_payments_12m"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """A condition checked: status, the text case, and the values its texts may state."""

    status: ConditionStatus
    case: str = DEFAULT_CASE
    required: Decimal | None = None
    actual: Decimal | None = None
    values: Mapping[str, object] = field(default_factory=dict)


def evaluate(condition: Condition, facts: CustomerFacts, schedule: FeeSchedule) -> Outcome:
    """Check ``condition`` for a customer with ``facts``."""
    return _EVALUATORS[condition.kind](condition, facts, schedule)


def threshold(condition: Condition, name: str, schedule: FeeSchedule) -> Decimal:
    """A threshold parameter's value, from the schedule path the condition names."""
    path = condition.figure(name).path
    try:
        return schedule.dec(path)
    except ValueError as exc:
        raise GraphError(f"condition {condition.id!r}: {name} path {path!r}: {exc}") from exc


def condition_tiers(condition: Condition) -> tuple[str, ...]:
    """The tiers a tier condition admits, in schedule order."""
    return tuple(t for t in TIER_IDS if t in condition.tiers)


def tiers_matching(match: TierMatch, schedule: FeeSchedule) -> tuple[str, ...]:
    """The tiers whose schedule entry satisfies ``match`` (the truth a tier condition must equal)."""
    found: list[str] = []
    for tier_id in TIER_IDS:
        node: object = schedule.get(f"tiers.{tier_id}")
        for part in match.feature.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if match.op == "offers":
            holds = node not in (None, False, 0, "none")
        elif match.op == "eq":
            holds = _same(node, match.value)
        else:
            holds = not _same(node, match.value)
        if holds:
            found.append(tier_id)
    return tuple(found)


def _same(a: object, b: object) -> bool:
    if (
        isinstance(a, bool)
        or isinstance(b, bool)
        or not isinstance(a, int | float)
        or not isinstance(b, int | float)
    ):
        return a == b
    return Decimal(str(a)) == Decimal(str(b))


def _known(*values: object) -> bool:
    return all(v is not None for v in values)


def _at_least(actual: Decimal | int | None, required: Decimal, **values: object) -> Outcome:
    if actual is None:
        return Outcome(status="unverified", required=required, values={"required": required, **values})
    got = Decimal(actual)
    return Outcome(
        status="met" if got >= required else "unmet",
        required=required,
        actual=got,
        values={"required": required, "actual": got, **values},
    )


def _at_most(actual: int | None, window: Decimal) -> Outcome:
    if actual is None:
        return Outcome(status="unverified", required=window, values={"window": window})
    got = Decimal(actual)
    return Outcome(
        status="met" if 0 <= got <= window else "unmet",
        required=window,
        actual=got,
        values={"window": window, "actual": got},
    )


def _tier(condition: Condition, facts: CustomerFacts, schedule: FeeSchedule) -> Outcome:
    values = {"tiers": tier_names(condition_tiers(condition), schedule)}
    if facts.tier is None:
        return Outcome(status="unverified", values=values)
    return Outcome(status="met" if facts.tier in condition.tiers else "unmet", values=values)


def _tenure(condition: Condition, facts: CustomerFacts, schedule: FeeSchedule) -> Outcome:
    return _at_least(facts.tenure_months, threshold(condition, "min", schedule))


def _no_late_payments(condition: Condition, facts: CustomerFacts, schedule: FeeSchedule) -> Outcome:
    months = threshold(condition, "months", schedule)
    fact = LATE_PAYMENT_FACTS.get(int(months))
    if fact is None:
        raise GraphError(
            f"condition {condition.id!r}: no customer fact counts late payments over {months} months"
        )
    count: int | None = getattr(facts, fact)
    if count is None:
        return Outcome(status="unverified", values={"months": months})
    return Outcome(
        status="met" if count == 0 else "unmet",
        actual=Decimal(count),
        values={"months": months, "actual": Decimal(count)},
    )


def _since_last_increase(condition: Condition, facts: CustomerFacts, schedule: FeeSchedule) -> Outcome:
    return _at_least(facts.months_since_last_increase, threshold(condition, "min", schedule))


def _spend_ratio(condition: Condition, facts: CustomerFacts, schedule: FeeSchedule) -> Outcome:
    ratio = threshold(condition, "min", schedule)
    months = threshold(condition, "months", schedule)
    values: dict[str, object] = {"ratio": ratio, "months": months}
    if not _known(facts.avg_spend_3m, facts.credit_limit):
        return Outcome(status="unverified", values=values)
    assert facts.credit_limit is not None and facts.avg_spend_3m is not None
    required = (Decimal(facts.credit_limit) * ratio).quantize(Decimal("0.01"))
    return _at_least(facts.avg_spend_3m, required, **values)


def _recent_purchase(condition: Condition, facts: CustomerFacts, schedule: FeeSchedule) -> Outcome:
    minimum = threshold(condition, "min", schedule)
    window = threshold(condition, "window", schedule)
    if facts.recent_purchases is None:
        return Outcome(status="unverified", required=minimum, values={"required": minimum, "window": window})
    in_window = [Decimal(p.amount) for p in facts.recent_purchases if 0 <= p.posted_days_ago <= window]
    return _at_least(max(in_window, default=Decimal(0)), minimum, window=window)


def _statement_balance(condition: Condition, facts: CustomerFacts, schedule: FeeSchedule) -> Outcome:
    return _at_least(facts.statement_balance, threshold(condition, "min", schedule))


def _before_due_date(condition: Condition, facts: CustomerFacts, schedule: FeeSchedule) -> Outcome:
    if facts.days_to_due is None:
        return Outcome(status="unverified")
    days = Decimal(facts.days_to_due)
    return Outcome(status="met" if days > 0 else "unmet", actual=days, values={"actual": days})


def _has_installment_plan(condition: Condition, facts: CustomerFacts, schedule: FeeSchedule) -> Outcome:
    if facts.active_installment_plans is None:
        return Outcome(status="unverified")
    plans = Decimal(facts.active_installment_plans)
    return Outcome(status="met" if plans > 0 else "unmet", actual=plans, values={"actual": plans})


def _transaction_age(condition: Condition, facts: CustomerFacts, schedule: FeeSchedule) -> Outcome:
    return _at_most(facts.disputed_posted_days_ago, threshold(condition, "max", schedule))


def _card_inactive(condition: Condition, facts: CustomerFacts, schedule: FeeSchedule) -> Outcome:
    if facts.card_activated is None:
        return Outcome(status="unverified")
    return Outcome(status="unmet" if facts.card_activated else "met")


def _card_age(condition: Condition, facts: CustomerFacts, schedule: FeeSchedule) -> Outcome:
    window = threshold(condition, "max", schedule)
    if facts.card_activated:
        # The activation window binds a card not yet activated; an active card has met it.
        return Outcome(status="met", required=window, values={"window": window})
    return _at_most(facts.card_issued_days_ago, window)


def _points_balance(condition: Condition, facts: CustomerFacts, schedule: FeeSchedule) -> Outcome:
    return _at_least(facts.points_balance, threshold(condition, "min", schedule))


def _annual_fee_waiver(condition: Condition, facts: CustomerFacts, schedule: FeeSchedule) -> Outcome:
    """The waiver rule of the customer's own tier, as the schedule states it."""
    if facts.tier is None:
        return Outcome(status="unverified")
    terms = schedule.tier(facts.tier)
    rule = terms.waiver
    if terms.annual_fee == 0:
        return Outcome(status="unmet", case="no_fee")
    if rule["kind"] == "none":
        return Outcome(status="unmet", case="none")
    if rule["kind"] == "purchase_count":
        required = Decimal(str(rule["min_purchases"]))
        outcome = _at_least(facts.card_year_purchases, required)
    elif rule["kind"] == "spend_or_points":
        # Spending waives the fee by itself; points are spent on it only if the customer chooses to
        # (the points_annual_fee product), so they are named in the text, not counted here.
        required = Decimal(str(rule["min_spend"]))
        outcome = _at_least(facts.card_year_spend, required, points=Decimal(str(rule["points"])))
    else:
        raise GraphError(
            f"condition {condition.id!r}: no rule for waiver kind {rule['kind']!r} of {facts.tier!r}"
        )
    values = dict(outcome.values)
    if outcome.actual is not None:
        values["shortfall"] = max(required - outcome.actual, Decimal(0))
    return Outcome(
        status=outcome.status,
        case=str(rule["kind"]),
        required=outcome.required,
        actual=outcome.actual,
        values=values,
    )


WAIVER_KINDS: frozenset[str] = frozenset({"none", "purchase_count", "spend_or_points"})

_EVALUATORS: Mapping[ConditionKind, Callable[[Condition, CustomerFacts, FeeSchedule], Outcome]] = {
    "tier": _tier,
    "tenure": _tenure,
    "no_late_payments": _no_late_payments,
    "months_since_last_increase": _since_last_increase,
    "spend_ratio": _spend_ratio,
    "recent_purchase": _recent_purchase,
    "statement_balance": _statement_balance,
    "before_due_date": _before_due_date,
    "has_installment_plan": _has_installment_plan,
    "transaction_age": _transaction_age,
    "card_inactive": _card_inactive,
    "card_age": _card_age,
    "points_balance": _points_balance,
    "annual_fee_waiver": _annual_fee_waiver,
}
