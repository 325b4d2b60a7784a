"""Typed nodes, edges and query results of the needs → products graph.

The graph holds five kinds of node: a *need* (what the customer says: "I'm going abroad"),
a *product* (a product or service of ours), a *condition* (what a product requires of the
customer), an *article* (a knowledge-base article id) and a *flow* (an in-chat flow id the
bot implements). Edges: need ``fits`` product, product ``requires`` condition, product
``explained_by`` article, product ``performed_by`` flow, product ``next`` product, and
need/product ``qualified_by`` condition (a note shown only when a condition holds).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from knowledge.fees import TIER_IDS
from knowledge.models import Locale

NodeKind = Literal["need", "product", "condition", "article", "flow", "missing"]
EdgeKind = Literal["fits", "requires", "explained_by", "performed_by", "next", "qualified_by"]
ProductKind = Literal["credit", "service", "benefit"]
ConditionKind = Literal[
    "tier",
    "tenure",
    "no_late_payments",
    "months_since_last_increase",
    "spend_ratio",
    "recent_purchase",
    "statement_balance",
    "before_due_date",
    "has_installment_plan",
    "transaction_age",
    "card_inactive",
    "card_age",
    "points_balance",
    "annual_fee_waiver",
]
ConditionStatus = Literal["met", "unmet", "unverified"]
RecommendationStatus = Literal["eligible", "unverified", "ineligible"]
TierOp = Literal["eq", "ne", "offers"]

PRODUCT_KINDS: tuple[ProductKind, ...] = ("credit", "service", "benefit")
TIER_OPS: tuple[TierOp, ...] = ("eq", "ne", "offers")

# The in-chat flows the bot implements, with the variants each accepts (empty: no variant).
KNOWN_FLOWS: Mapping[str, frozenset[str]] = {
    "limit_increase": frozenset({"temporary", "permanent"}),
    "installment": frozenset({"bill", "purchase"}),
    "installment_early_payoff": frozenset(),
    "lost_card": frozenset(),
    "card_replacement": frozenset(),
    "dispute": frozenset({"unrecognised", "merchant"}),
    "activation": frozenset(),
    "autopay": frozenset(),
    "pin_reset": frozenset(),
}

DEFAULT_CASE = "default"


def node_key(kind: NodeKind, node_id: str) -> str:
    """The networkx node key of a node: ``"product:bill_installment"``."""
    return f"{kind}:{node_id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Bilingual:
    """One text in Simplified Chinese and English."""

    zh: str
    en: str

    def get(self, locale: str) -> str:
        """The text in ``locale`` (``zh…`` → Chinese, anything else → English)."""
        return self.zh if locale.startswith("zh") else self.en

    def items(self) -> tuple[tuple[Locale, str], ...]:
        """``(("zh", …), ("en", …))``."""
        return (("zh", self.zh), ("en", self.en))


@dataclass(frozen=True, slots=True, kw_only=True)
class Note:
    """A remark on a product, shown always, or only ``when`` a condition is met / ``unless`` it is."""

    text: Bilingual
    when: str | None = None
    unless: str | None = None

    @property
    def guard(self) -> str | None:
        """The condition id the note depends on, if any."""
        return self.when or self.unless


@dataclass(frozen=True, slots=True, kw_only=True)
class Fit:
    """Edge need → product: the product answers the need, at ``rank`` (1 = best), because ``reason``.

    ``fallback_for`` lists products that fit the same need better: while any of them is
    eligible (or may be), this product is not offered at all.
    """

    need: str
    product: str
    rank: int
    reason: Bilingual
    notes: tuple[Note, ...] = ()
    fallback_for: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class NextStep:
    """Edge product → product: what comes after ``source`` in the service chain.

    ``when_need`` limits the step to conversations about those needs (empty: always).
    """

    source: str
    product: str
    rank: int
    reason: Bilingual
    when_need: tuple[str, ...] = ()

    def applies_to(self, need_id: str | None) -> bool:
        """Whether the step belongs to a conversation about ``need_id`` (None: any need)."""
        return need_id is None or not self.when_need or need_id in self.when_need


@dataclass(frozen=True, slots=True, kw_only=True)
class FlowRef:
    """Edge product → flow: the in-chat flow (and variant) that performs the product."""

    flow: str
    variant: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Need:
    """A customer need or scenario, in their words."""

    id: str
    label: Bilingual
    intents: tuple[str, ...]
    triggers_zh: tuple[str, ...] = ()
    triggers_en: tuple[str, ...] = ()
    explained_by: tuple[str, ...] = ()
    fits: tuple[Fit, ...] = ()

    @property
    def all_triggers(self) -> tuple[str, ...]:
        """Trigger phrases of both languages."""
        return self.triggers_zh + self.triggers_en


@dataclass(frozen=True, slots=True, kw_only=True)
class Product:
    """A product or service of ours.

    ``kind`` ``credit`` marks borrowing (installments, minimum payment, cash advance); such
    a product always carries a ``cost`` text. ``is_promotional`` marks a cross-sell that is
    left out for customers who opted out of marketing.
    """

    id: str
    kind: ProductKind
    label: Bilingual
    summary: Bilingual
    cost: Bilingual | None = None
    requires: tuple[str, ...] = ()
    explained_by: tuple[str, ...] = ()
    performed_by: FlowRef | None = None
    next: tuple[NextStep, ...] = ()
    notes: tuple[Note, ...] = ()
    is_promotional: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class FigureRef:
    """A condition's threshold: a fee-schedule path, and optionally the figure it is stated as."""

    path: str
    stated: Decimal | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TierMatch:
    """The schedule feature that defines a tier condition's tiers (verified by the consistency check)."""

    feature: str
    op: TierOp
    value: object = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Condition:
    """What a product requires of a customer, with texts for the rule, a miss and the way out.

    ``unmet`` and ``remedy`` are keyed by case; most conditions have the one case
    ``"default"``, the annual fee waiver has one per waiver rule.
    """

    id: str
    kind: ConditionKind
    requirement: Bilingual
    unmet: tuple[tuple[str, Bilingual], ...]
    remedy: tuple[tuple[str, Bilingual], ...] = ()
    figures: tuple[tuple[str, FigureRef], ...] = ()
    tiers: tuple[str, ...] = ()
    matches: TierMatch | None = None

    def figure(self, name: str) -> FigureRef:
        """The threshold parameter ``name`` (``min``, ``max``, ``months``, ``window``)."""
        for key, ref in self.figures:
            if key == name:
                return ref
        raise KeyError(f"condition {self.id!r} has no {name!r}")

    def unmet_text(self, case: str) -> Bilingual:
        """Why the customer misses the condition, for ``case``."""
        return dict(self.unmet).get(case) or dict(self.unmet)[DEFAULT_CASE]

    def remedy_text(self, case: str) -> Bilingual | None:
        """What would make the customer meet the condition, for ``case`` (None: nothing to say)."""
        remedies = dict(self.remedy)
        return remedies.get(case) or remedies.get(DEFAULT_CASE)


@dataclass(frozen=True, slots=True, kw_only=True)
class Purchase:
    """One posted purchase: its amount and how many days ago it posted."""

    amount: Decimal
    posted_days_ago: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CustomerFacts:
    """What the assistant knows about the customer; ``None`` means not known (yet).

    A condition whose facts are unknown is *unverified*, never silently met or missed.
    ``months_since_last_increase`` counts from when the limit was last set, so a customer
    who never had an increase passes their tenure. Money is CNY.
    """

    tier: str | None = None
    tenure_months: int | None = None
    late_payments_6m: int | None = None
    late_payments_12m: int | None = None
    months_since_last_increase: int | None = None
    avg_spend_3m: Decimal | None = None
    credit_limit: Decimal | None = None
    recent_purchases: tuple[Purchase, ...] | None = None
    statement_balance: Decimal | None = None
    days_to_due: int | None = None
    points_balance: int | None = None
    points_expiring: int | None = None
    active_installment_plans: int | None = None
    card_activated: bool | None = None
    card_issued_days_ago: int | None = None
    card_year_purchases: int | None = None
    card_year_spend: Decimal | None = None
    disputed_posted_days_ago: int | None = None
    marketing_opt_out: bool = False

    def __post_init__(self) -> None:
        if self.tier is not None and self.tier not in TIER_IDS:
            raise ValueError(f"unknown tier {self.tier!r}; expected one of {', '.join(TIER_IDS)}")


@dataclass(frozen=True, slots=True, kw_only=True)
class ConditionResult:
    """One condition checked against the customer's facts, in plain words in both languages."""

    condition_id: str
    kind: ConditionKind
    status: ConditionStatus
    requirement: Bilingual
    reason: Bilingual | None = None  # why it is not met (status "unmet")
    remedy: Bilingual | None = None  # what would make the customer eligible
    required: Decimal | None = None
    actual: Decimal | None = None

    @property
    def is_met(self) -> bool:
        """Whether the customer meets the condition."""
        return self.status == "met"


@dataclass(frozen=True, slots=True, kw_only=True)
class Recommendation:
    """A product offered for a need (or as a next step), with this customer's eligibility.

    Texts are in the requested ``locale``; the condition results carry both languages.
    """

    product_id: str
    kind: ProductKind
    locale: Locale
    label: str
    summary: str
    reason: str
    rank: int
    status: RecommendationStatus
    unmet: tuple[ConditionResult, ...] = ()
    unverified: tuple[ConditionResult, ...] = ()
    cost: str | None = None
    notes: tuple[str, ...] = ()
    articles: tuple[str, ...] = ()
    flow: FlowRef | None = None
    is_promotional: bool = False

    @property
    def eligible(self) -> bool:
        """Whether the customer meets every condition of the product."""
        return self.status == "eligible"


@dataclass(frozen=True, slots=True, kw_only=True)
class NeedMatch:
    """A need recognised in the customer's text, with the phrases that matched."""

    need_id: str
    label: str
    score: float
    matched: tuple[str, ...]
    intents: tuple[str, ...] = ()
