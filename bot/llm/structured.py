"""What the LLM may say about a turn, as typed data: the understanding schema and its merge.

The model answers with JSON matching :data:`UNDERSTANDING_SCHEMA` (sent as a strict
``json_schema`` response format). :func:`parse_understanding` validates it (raising
:class:`LLMOutputInvalid` with a message fit to send back for the one retry), and
:func:`merge_understanding` folds it into the offline engine's reading: the LLM may choose
the intent and fill slots the offline parsers missed, never more.
"""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from bot.answers.knowledge import TIER_WORDS
from bot.errors import LLMOutputInvalid
from bot.nlu import INTENT_IDS, IntentScore, Slots, Understanding

IntentId = Literal[INTENT_IDS]  # type: ignore[valid-type]  # the closed set of INTENTS.md, built from the tuple


class SlotsOut(BaseModel):
    """Slots as the model reports them (every field present, ``null`` when absent)."""

    model_config = ConfigDict(extra="forbid")

    amount: str | None
    periods: int | None
    tier: Literal["classic", "gold", "platinum", "diamond"] | None
    merchant: str | None
    card_last4: str | None
    limit_kind: Literal["temporary", "permanent"] | None
    installment_kind: Literal["bill", "purchase"] | None
    delivery: Literal["standard", "express"] | None
    autopay_mode: Literal["full", "minimum"] | None


class UnderstandingOut(BaseModel):
    """The model's reading of one customer message."""

    model_config = ConfigDict(extra="forbid")

    intent: IntentId
    confidence: float
    slots: SlotsOut

    @field_validator("confidence")
    @classmethod
    def _unit_interval(cls, value: float) -> float:
        if not 0.0 <= value <= 1.0:
            raise ValueError("confidence must be between 0 and 1")
        return value


def _strict_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema in the form strict structured output accepts (no titles)."""

    def clean(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: clean(v) for k, v in node.items() if k != "title"}
        if isinstance(node, list):
            return [clean(v) for v in node]
        return node

    schema: dict[str, Any] = clean(model.model_json_schema())
    return schema


UNDERSTANDING_SCHEMA: dict[str, Any] = _strict_schema(UnderstandingOut)
SCHEMA_NAME = "understanding"


def parse_understanding(text: str) -> UnderstandingOut:
    """The model's JSON, validated; :class:`LLMOutputInvalid` says what was wrong."""
    body = text.strip()
    fenced = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", body, re.S)
    if fenced:
        body = fenced.group(1)
    try:
        return UnderstandingOut.model_validate_json(body)
    except ValidationError as exc:
        errors = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()[:5]
        )
        raise LLMOutputInvalid(f"the JSON does not match the schema ({errors})") from exc


def merge_understanding(offline: Understanding, out: UnderstandingOut, *, threshold: float) -> Understanding:
    """The offline reading with the LLM's intent and the slots it found that the text supports.

    A rule-based offline intent (a lost card, a regulator complaint) is kept: rules are
    product decisions. Signals, sentiment, language and the yes/no reading stay offline.
    """
    slots = _merge_slots(offline.slots, out.slots, offline.text)
    if offline.intent_source == "rule" or out.intent not in INTENT_IDS:
        return replace(offline, slots=slots)
    confidence = float(out.confidence)
    alternatives = (
        IntentScore(intent=out.intent, score=confidence),
        *[a for a in offline.alternatives if a.intent != out.intent],
    )[:3]
    return replace(
        offline,
        intent=out.intent,
        confidence=confidence,
        is_confident=confidence >= threshold,
        alternatives=alternatives,
        slots=slots,
    )


def _merge_slots(offline: Slots, out: SlotsOut, text: str) -> Slots:
    """Empty offline slots filled from the model, only with values the customer's text shows."""
    digits = re.sub(r"[,\s，]", "", text)
    found: dict[str, Any] = {}
    if offline.amount is None and out.amount:
        try:
            amount = Decimal(out.amount.replace(",", ""))
        except InvalidOperation:
            amount = None
        if amount is not None and amount > 0 and _number_in(amount, digits):
            found["amount"] = amount
    if offline.periods is None and out.periods and 0 < out.periods <= 60 and str(out.periods) in digits:
        found["periods"] = out.periods
    if offline.merchant is None and out.merchant and out.merchant.strip().lower() in text.lower():
        found["merchant"] = out.merchant.strip()
    if (
        offline.card_last4 is None
        and out.card_last4
        and re.fullmatch(r"\d{4}", out.card_last4)
        and out.card_last4 in digits
    ):
        found["card_last4"] = out.card_last4
    if offline.tier is None and out.tier is not None and any(w in text.lower() for w in TIER_WORDS[out.tier]):
        found["tier"] = out.tier
    # These only pre-fill a flow's question; the flow confirms them before anything happens.
    for name in ("limit_kind", "installment_kind", "delivery", "autopay_mode"):
        if getattr(offline, name) is None and getattr(out, name) is not None:
            found[name] = getattr(out, name)
    return replace(offline, **found) if found else offline


def _number_in(amount: Decimal, digits: str) -> bool:
    plain = format(amount.normalize(), "f")
    whole = format(amount.to_integral_value(), "f") if amount == amount.to_integral_value() else None
    return plain in digits or (whole is not None and whole in digits)
