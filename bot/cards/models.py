"""Card-system domain values: what a core-banking adapter returns through the port."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

Segment = Literal["new", "active", "vip", "dormant"]
Tier = Literal["classic", "gold", "platinum", "diamond"]
CardStatus = Literal["inactive", "active", "frozen", "closed"]
TxnKind = Literal["purchase", "cash_advance", "payment", "fee", "interest", "refund"]
PlanKind = Literal["bill", "purchase"]
CaseKind = Literal["fraud", "merchant_dispute", "limit_increase", "complaint", "replacement", "message"]
LimitKind = Literal["temporary", "permanent"]
Delivery = Literal["standard", "express"]
AutopayMode = Literal["full", "minimum"]

SEGMENTS: tuple[Segment, ...] = ("new", "active", "vip", "dormant")
TIERS: tuple[Tier, ...] = ("classic", "gold", "platinum", "diamond")


def jsonable(value: Any) -> Any:
    """Dataclasses, Decimals and dates as plain JSON values (Decimal → str, date → ISO)."""
    if hasattr(value, "__dataclass_fields__"):
        return {k: jsonable(v) for k, v in asdict(value).items()}
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class Customer:
    id: str
    name: str
    name_en: str
    segment: Segment
    tier: Tier
    locale: str
    phone: str
    email: str
    address: str
    customer_since: date

    @property
    def masked_phone(self) -> str:
        return self.phone[:3] + "****" + self.phone[-4:]

    @property
    def masked_email(self) -> str:
        user, _, domain = self.email.partition("@")
        return f"{user[:1]}***@{domain}"

    @property
    def masked_address(self) -> str:
        """City and district only; the street and number stay hidden."""
        parts = self.address.split(",") if "," in self.address else [self.address[:6]]
        return parts[0].strip() + (" ***" if "," in self.address else "***")

    def display_name(self, locale: str) -> str:
        return self.name if locale.startswith("zh") else self.name_en


@dataclass(frozen=True, slots=True, kw_only=True)
class Card:
    id: str
    customer_id: str
    last4: str
    tier: Tier
    status: CardStatus
    credit_limit: Decimal
    temp_limit: Decimal | None
    temp_limit_until: date | None
    opened_on: date
    issued_on: date
    statement_day: int
    autopay: AutopayMode | None
    frozen_reason: str | None = None
    replaced_by: str | None = None
    balance: Decimal = Decimal("0.00")

    def effective_limit(self, today: date) -> Decimal:
        if self.temp_limit is not None and self.temp_limit_until is not None and today <= self.temp_limit_until:
            return self.temp_limit
        return self.credit_limit

    def available(self, today: date) -> Decimal:
        return max(self.effective_limit(today) - self.balance, Decimal("0.00"))

    @property
    def masked(self) -> str:
        return f"**** {self.last4}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Statement:
    id: str
    card_id: str
    statement_date: date
    due_date: date
    balance: Decimal
    min_payment: Decimal
    paid: Decimal
    installment_billed: Decimal = Decimal("0.00")
    late: bool = False

    @property
    def outstanding(self) -> Decimal:
        return max(self.balance - self.paid, Decimal("0.00"))


@dataclass(frozen=True, slots=True, kw_only=True)
class Transaction:
    id: str
    card_id: str
    posted_on: date
    occurred_at: datetime
    merchant: str
    amount: Decimal
    kind: TxnKind
    category: str
    country: str = "CN"
    currency: str = "CNY"
    installment_plan_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class InstallmentPlan:
    id: str
    card_id: str
    kind: PlanKind
    principal: Decimal
    periods: int
    fee_rate: Decimal
    apr: Decimal
    payment_per_period: Decimal
    fee_per_period: Decimal
    paid_periods: int
    status: Literal["active", "paid_off"]
    created_on: date
    source_id: str
    remaining_principal: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class Case:
    id: str
    customer_id: str
    card_id: str | None
    kind: CaseKind
    priority: int
    status: Literal["open", "pending", "resolved", "closed"]
    created_at: datetime
    due_by: date | None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Replacement:
    id: str
    old_card_id: str
    new_card_id: str
    delivery: Delivery
    fee: Decimal
    delivery_fee: Decimal
    status: Literal["ordered", "shipped", "delivered"]
    ordered_on: date
    eta_from: date
    eta_to: date
    tracking_no: str
    address_masked: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LimitProfile:
    """What the limit-increase rules look at."""

    card_id: str
    credit_limit: Decimal
    temp_limit: Decimal | None
    temp_limit_until: date | None
    tenure_months: int
    late_payments_6m: int
    late_payments_12m: int
    last_permanent_increase_on: date | None
    months_since_last_increase: int | None
    avg_monthly_spend_3m: Decimal
    monthly_spend_3m: tuple[Decimal, Decimal, Decimal]


@dataclass(frozen=True, slots=True, kw_only=True)
class LimitDecision:
    kind: LimitKind
    status: Literal["approved", "pending", "declined"]
    current_limit: Decimal
    new_limit: Decimal | None
    until: date | None
    case_id: str | None
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Points:
    balance: int
    expiring: int
    expiring_on: date | None


@dataclass(frozen=True, slots=True, kw_only=True)
class AnnualFeeStatus:
    tier: Tier
    fee: Decimal
    waived: bool
    rule: str
    progress: dict[str, Any]
    card_year_ends: date
