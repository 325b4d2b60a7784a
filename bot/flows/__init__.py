"""In-chat service flows, one per module, registered by id."""

from __future__ import annotations

from bot.flows.activation import ActivationFlow
from bot.flows.autopay import AutopayFlow
from bot.flows.base import Flow
from bot.flows.dispute import DisputeFlow
from bot.flows.installment import EarlyPayoffFlow, InstallmentFlow
from bot.flows.limit_increase import LimitIncreaseFlow
from bot.flows.lost_card import LostCardFlow
from bot.flows.pin_reset import PinResetFlow
from bot.flows.replacement import ReplacementFlow

FLOWS: dict[str, Flow] = {
    f.id: f
    for f in (
        InstallmentFlow(),
        EarlyPayoffFlow(),
        LostCardFlow(),
        LimitIncreaseFlow(),
        DisputeFlow(),
        ActivationFlow(),
        AutopayFlow(),
        PinResetFlow(),
        ReplacementFlow(),
    )
}

# The intents that belong to each flow (typed turns with these intents continue the flow).
FLOW_INTENTS_OF: dict[str, tuple[str, ...]] = {
    "installment": ("installment",),
    "installment_early_payoff": ("installment",),
    "lost_card": ("card.lost_stolen", "card.replace"),
    "dispute": ("fraud.dispute", "account.transactions"),
    "limit_increase": ("limit.increase", "limit.query"),
    "activation": ("card.activate",),
    "autopay": ("payment.how_to_pay",),
    "pin_reset": ("card.pin",),
    "card_replacement": ("card.replace",),
}

__all__ = ["FLOWS", "FLOW_INTENTS_OF", "Flow"]
