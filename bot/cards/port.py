"""The card-system port: what a core-banking adapter implements.

Narrow and typed. Every call names the authenticated customer, and every side effect
carries an idempotency key: the same key twice returns the first result and changes
nothing (a retried confirmation never freezes twice or creates two plans).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from bot.cards.models import (
    AnnualFeeStatus,
    AutopayMode,
    Card,
    Case,
    CaseKind,
    Customer,
    Delivery,
    InstallmentPlan,
    LimitDecision,
    LimitKind,
    LimitProfile,
    PlanKind,
    Points,
    Replacement,
    Statement,
    Transaction,
)


class CardSystem(Protocol):
    """Reads and side effects of the bank's card system, scoped to one customer per call."""

    def today(self) -> date: ...

    async def customer(self, customer_id: str) -> Customer: ...

    async def customers(self) -> list[Customer]: ...

    async def cards(self, customer_id: str) -> list[Card]: ...

    async def statements(self, customer_id: str, card_id: str, limit: int = 6) -> list[Statement]: ...

    async def transactions(
        self, customer_id: str, card_id: str | None = None, *, since: date | None = None, limit: int = 50
    ) -> list[Transaction]: ...

    async def installment_plans(self, customer_id: str) -> list[InstallmentPlan]: ...

    async def cases(self, customer_id: str) -> list[Case]: ...

    async def replacements(self, customer_id: str) -> list[Replacement]: ...

    async def points(self, customer_id: str) -> Points: ...

    async def annual_fee(self, customer_id: str, card_id: str) -> AnnualFeeStatus: ...

    async def limit_profile(self, customer_id: str, card_id: str) -> LimitProfile: ...

    async def freeze_card(self, customer_id: str, card_id: str, *, reason: str, key: str) -> Card: ...

    async def order_replacement(
        self, customer_id: str, card_id: str, *, delivery: Delivery, key: str
    ) -> Replacement: ...

    async def create_installment_plan(
        self, customer_id: str, card_id: str, *, kind: PlanKind, source_id: str, periods: int, key: str
    ) -> InstallmentPlan: ...

    async def pay_off_plan(self, customer_id: str, plan_id: str, *, key: str) -> InstallmentPlan: ...

    async def apply_limit_increase(
        self, customer_id: str, card_id: str, *, kind: LimitKind, amount: Decimal, days: int | None, key: str
    ) -> LimitDecision: ...

    async def open_case(
        self,
        customer_id: str,
        *,
        kind: CaseKind,
        card_id: str | None,
        priority: int,
        details: dict[str, Any],
        key: str,
    ) -> Case: ...

    async def activate_card(self, customer_id: str, card_id: str, *, key: str) -> Card: ...

    async def set_autopay(self, customer_id: str, card_id: str, *, mode: AutopayMode | None, key: str) -> Card: ...

    async def snapshot(self, customer_id: str) -> dict[str, Any]: ...

    async def close(self) -> None: ...
