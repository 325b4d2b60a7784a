"""The understanding schema: parsing, validation errors worth sending back, and the merge."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from bot.errors import LLMOutputInvalid
from bot.llm.prompting import load_prompt
from bot.llm.structured import UNDERSTANDING_SCHEMA, merge_understanding, parse_understanding
from bot.nlu import INTENT_IDS, Slots
from tests.unit.llm.conftest import understanding

NO_SLOTS: dict[str, Any] = {
    k: None
    for k in (
        "amount",
        "periods",
        "tier",
        "merchant",
        "card_last4",
        "limit_kind",
        "installment_kind",
        "delivery",
        "autopay_mode",
    )
}


def out(intent: str = "cash_advance", confidence: float = 0.9, **slots: Any) -> str:
    return json.dumps({"intent": intent, "confidence": confidence, "slots": {**NO_SLOTS, **slots}})


def test_schema_offers_exactly_the_intents_of_the_taxonomy_and_the_prompt_describes_each() -> None:
    assert tuple(UNDERSTANDING_SCHEMA["properties"]["intent"]["enum"]) == INTENT_IDS
    prompt = load_prompt("understand").text
    assert all(f"- {intent}:" in prompt for intent in INTENT_IDS)
    assert UNDERSTANDING_SCHEMA["additionalProperties"] is False


def test_parse_understanding_accepts_json_in_a_code_fence() -> None:
    parsed = parse_understanding(f"```json\n{out()}\n```")
    assert parsed.intent == "cash_advance" and parsed.confidence == 0.9


@pytest.mark.parametrize(
    ("text", "names"),
    [
        (out(intent="weather.today"), "intent"),
        (out(confidence=1.5), "confidence"),
        ('{"intent": "cash_advance"}', "confidence"),
        ("I think it's about cash advances", "body"),
    ],
)
def test_parse_understanding_says_which_field_is_wrong(text: str, names: str) -> None:
    with pytest.raises(LLMOutputInvalid, match=names):
        parse_understanding(text)


def test_merge_takes_the_llm_intent_over_a_classifier_guess() -> None:
    offline = understanding("能取现吗", "card.declined", confidence=0.3)
    merged = merge_understanding(offline, parse_understanding(out("cash_advance", 0.82)), threshold=0.5)
    assert (merged.intent, merged.confidence, merged.is_confident) == ("cash_advance", 0.82, True)
    assert merged.alternatives[0].intent == "cash_advance"
    assert merged.signals == offline.signals and merged.sentiment == offline.sentiment


def test_merge_keeps_a_rule_based_intent() -> None:
    offline = understanding("我的卡丢了", "card.lost_stolen", confidence=1.0, source="rule")
    merged = merge_understanding(offline, parse_understanding(out("chitchat", 0.99)), threshold=0.5)
    assert merged.intent == "card.lost_stolen"


def test_merge_marks_a_low_confidence_llm_intent_as_not_confident() -> None:
    merged = merge_understanding(
        understanding("嗯", "chitchat", confidence=0.9),
        parse_understanding(out("installment", 0.3)),
        threshold=0.5,
    )
    assert merged.intent == "installment" and not merged.is_confident


def test_merge_fills_only_slots_the_customer_actually_wrote() -> None:
    text = "星巴克那笔3,000元的消费能分12期吗，白金卡"
    merged = merge_understanding(
        understanding(text, "installment"),
        parse_understanding(
            out(
                "installment",
                amount="3000",
                periods=12,
                merchant="星巴克",
                tier="platinum",
                card_last4="1234",
            )
        ),
        threshold=0.5,
    )
    assert merged.slots.amount == Decimal("3000") and merged.slots.periods == 12
    assert merged.slots.merchant == "星巴克" and merged.slots.tier == "platinum"
    assert merged.slots.card_last4 is None, "1234 is not in the text"

    invented = merge_understanding(
        understanding("能分期吗", "installment"),
        parse_understanding(out("installment", amount="5000", periods=24, merchant="Apple", tier="diamond")),
        threshold=0.5,
    )
    assert invented.slots == Slots()


def test_merge_never_overwrites_a_slot_the_offline_parser_found() -> None:
    offline = understanding("分6期", "installment", slots=Slots(periods=6))
    merged = merge_understanding(offline, parse_understanding(out("installment", periods=12)), threshold=0.5)
    assert merged.slots.periods == 6
