"""The card-system port, its domain values, the bank's card rules, and the simulated core."""

from bot.cards.models import (
    AnnualFeeStatus,
    Card,
    Case,
    Customer,
    InstallmentPlan,
    LimitDecision,
    LimitProfile,
    Points,
    Replacement,
    Statement,
    Transaction,
    jsonable,
)
from bot.cards.port import CardSystem

__all__ = [
    "AnnualFeeStatus",
    "Card",
    "CardSystem",
    "Case",
    "Customer",
    "InstallmentPlan",
    "LimitDecision",
    "LimitProfile",
    "Points",
    "Replacement",
    "Statement",
    "Transaction",
    "jsonable",
]
