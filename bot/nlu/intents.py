"""The intent ids of INTENTS.md: a public contract shared with flows, evals and handoff packets."""

from __future__ import annotations

from typing import Final

OUT_OF_SCOPE: Final = "out_of_scope"
HUMAN_AGENT: Final = "human.agent"
COMPLAINT: Final = "complaint"
CHITCHAT: Final = "chitchat"

INTENT_IDS: Final[tuple[str, ...]] = (
    "billing.statement",
    "billing.min_payment",
    "billing.interest_fees",
    "billing.annual_fee",
    "payment.how_to_pay",
    "account.transactions",
    "card.activate",
    "card.lost_stolen",
    "card.replace",
    "card.declined",
    "card.pin",
    "fraud.dispute",
    "limit.query",
    "limit.increase",
    "installment",
    "cash_advance",
    "rewards.points",
    "benefits.rights",
    "fx.international",
    "application.status",
    "card.cancel",
    "profile.update",
    COMPLAINT,
    HUMAN_AGENT,
    CHITCHAT,
    OUT_OF_SCOPE,
)
"""Every intent id, in the order of INTENTS.md."""


def is_intent(value: str) -> bool:
    """Whether ``value`` is one of the intent ids."""
    return value in INTENT_IDS
