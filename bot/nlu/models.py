"""What the understanding step says about one customer turn: language, intent, slots, signals."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, get_args

Language = Literal["zh", "en"]
Urgency = Literal["low", "normal", "high"]
Tier = Literal["classic", "gold", "platinum", "diamond"]
LimitKind = Literal["temporary", "permanent"]
InstallmentKind = Literal["bill", "purchase"]
Delivery = Literal["standard", "express"]
AutopayMode = Literal["full", "minimum"]
IntentSource = Literal["model", "rule"]

Signal = Literal[
    "human_request",
    "regulator_complaint",
    "complaint",
    "refusal",
    "abuse",
    "fraud_risk",
    "urgent_loss",
    "sensitive_data",
    "prompt_injection",
    "hardship",
    "third_party",
    "secret_offer",
]
"""Handoff and risk signals; the closed set is documented in ``bot/nlu/README.md``."""

SIGNALS: frozenset[Signal] = frozenset(get_args(Signal))

SlotValue = str | int | list[str] | None
"""A slot value as ``Slots.as_dict`` renders it (JSON-able)."""


def _money(value: Decimal) -> str:
    """Render an amount without exponent notation: ``Decimal("1.2E+4")`` -> ``"12000"``."""
    return format(value, "f")


@dataclass(frozen=True, slots=True, kw_only=True)
class IntentScore:
    """One intent and the probability the classifier gives it."""

    intent: str
    score: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Slots:
    """Values found in one turn. A flow reads only the slots it asked for; range checks are its job."""

    amount: Decimal | None = None
    amounts: tuple[Decimal, ...] = ()
    periods: int | None = None
    date: dt.date | None = None
    date_range: tuple[dt.date, dt.date] | None = None
    tier: Tier | None = None
    merchant: str | None = None
    card_last4: str | None = None
    limit_kind: LimitKind | None = None
    installment_kind: InstallmentKind | None = None
    delivery: Delivery | None = None
    autopay_mode: AutopayMode | None = None
    statement_day: int | None = None

    def as_dict(self) -> dict[str, SlotValue]:
        """JSON-able values: amounts as decimal strings, dates as ISO strings, empty slots omitted."""
        out: dict[str, SlotValue] = {}
        if self.amount is not None:
            out["amount"] = _money(self.amount)
        if self.amounts:
            out["amounts"] = [_money(a) for a in self.amounts]
        if self.date is not None:
            out["date"] = self.date.isoformat()
        if self.date_range is not None:
            out["date_range"] = [self.date_range[0].isoformat(), self.date_range[1].isoformat()]
        plain: dict[str, str | int | None] = {
            "periods": self.periods,
            "tier": self.tier,
            "merchant": self.merchant,
            "card_last4": self.card_last4,
            "limit_kind": self.limit_kind,
            "installment_kind": self.installment_kind,
            "delivery": self.delivery,
            "autopay_mode": self.autopay_mode,
            "statement_day": self.statement_day,
        }
        out.update({key: value for key, value in plain.items() if value is not None})
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Understanding:
    """The understanding of one customer turn.

    ``intent`` is an id from INTENTS.md. ``alternatives`` are the classifier's three most
    probable intents, best first (a rule override may pick an intent outside them).
    ``is_confident`` is false when the caller should ask a clarifying question with the
    alternatives as choices. ``is_affirmative`` is the turn read as an answer to a yes/no
    question: True, False or None (not an answer).
    """

    text: str
    language: Language
    is_mixed: bool
    intent: str
    confidence: float
    alternatives: tuple[IntentScore, ...]
    slots: Slots
    sentiment: float
    frustration: float
    urgency: Urgency
    signals: frozenset[Signal]
    is_affirmative: bool | None
    is_confident: bool = True
    intent_source: IntentSource = "model"

    def as_dict(self) -> dict[str, object]:
        """A JSON-able rendering (signals sorted, slots via ``Slots.as_dict``)."""
        return {
            "text": self.text,
            "language": self.language,
            "is_mixed": self.is_mixed,
            "intent": self.intent,
            "confidence": round(self.confidence, 4),
            "is_confident": self.is_confident,
            "intent_source": self.intent_source,
            "alternatives": [{"intent": a.intent, "score": round(a.score, 4)} for a in self.alternatives],
            "slots": self.slots.as_dict(),
            "sentiment": round(self.sentiment, 3),
            "frustration": round(self.frustration, 3),
            "urgency": self.urgency,
            "signals": sorted(self.signals),
            "is_affirmative": self.is_affirmative,
        }
