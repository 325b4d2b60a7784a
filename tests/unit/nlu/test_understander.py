"""The whole turn: ``OfflineUnderstander.understand`` end to end."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

import pytest

from bot.nlu import OfflineUnderstander, Understanding
from evals.intents import DEFAULT_DATASETS, load_examples


def test_understand_a_chinese_turn(understander: OfflineUnderstander, today: dt.date) -> None:
    u = understander.understand("我想把昨天在京东买的12000分12期", today=today)
    assert (u.language, u.is_mixed, u.intent, u.intent_source) == ("zh", False, "installment", "model")
    assert u.is_confident and u.confidence >= understander.confidence_threshold
    assert u.slots.amount == Decimal(12000)
    assert (u.slots.periods, u.slots.merchant, u.slots.date) == (12, "京东", dt.date(2026, 5, 12))
    assert u.alternatives[0].intent == "installment"
    assert len(u.alternatives) == 3
    assert u.alternatives[0].score >= u.alternatives[1].score >= u.alternatives[2].score


def test_understand_an_english_turn_with_signals(understander: OfflineUnderstander, today: dt.date) -> None:
    u = understander.understand(
        "My wallet was stolen, freeze my card RIGHT NOW!!!", locale_hint="zh", today=today
    )
    assert (u.language, u.intent, u.urgency) == ("en", "card.lost_stolen", "high")
    assert "urgent_loss" in u.signals
    assert u.sentiment < 0


def test_understand_mixed_text_takes_the_dominant_language(understander: OfflineUnderstander) -> None:
    u = understander.understand("我的credit card丢了", locale_hint="en")
    assert (u.language, u.is_mixed, u.intent) == ("zh", True, "card.lost_stolen")


@pytest.mark.parametrize(
    "text", ["转人工", "0", "000", "人工", "agent please", "我要找真人，别让机器人回答了"]
)
def test_human_request_overrides_the_model(understander: OfflineUnderstander, text: str) -> None:
    u = understander.understand(text)
    assert (u.intent, u.intent_source, u.confidence) == ("human.agent", "rule", 1.0)
    assert "human_request" in u.signals


@pytest.mark.parametrize(
    "text", ["我的额度怎么这么低，再不给我提我就去银保监会投诉", "I'll report you to the CFPB over this fee"]
)
def test_regulator_complaint_overrides_the_model(understander: OfflineUnderstander, text: str) -> None:
    u = understander.understand(text)
    assert (u.intent, u.intent_source) == ("complaint", "rule")
    assert {"regulator_complaint", "complaint"} <= u.signals
    assert u.frustration > 0.3


@pytest.mark.parametrize("text", ["今天天气怎么样", "write me a poem about the sea", "推荐一只股票"])
def test_out_of_scope_wins_as_a_trained_class(understander: OfflineUnderstander, text: str) -> None:
    assert understander.understand(text).intent == "out_of_scope"


def test_low_confidence_marks_the_turn_for_clarification(artifact: object) -> None:
    from pathlib import Path

    assert isinstance(artifact, Path)
    picky = OfflineUnderstander.load(artifact, confidence_threshold=0.999)
    u = picky.understand("card")
    assert not u.is_confident
    assert u.intent == u.alternatives[0].intent  # the best guess, with choices for the question
    assert len(u.alternatives) == 3


def test_understand_confirmations(understander: OfflineUnderstander) -> None:
    assert understander.understand("好的，帮我冻结").is_affirmative is True
    assert understander.understand("不用了").is_affirmative is False
    assert understander.understand("how do I pay my bill").is_affirmative is None


def test_understand_uses_china_time_when_today_is_not_given(artifact: object) -> None:
    from pathlib import Path

    assert isinstance(artifact, Path)
    late_utc = dt.datetime(2026, 3, 1, 17, 30, tzinfo=dt.UTC)  # 01:30 on 2 March in China
    u = OfflineUnderstander.load(artifact, clock=lambda: late_utc).understand("昨天那笔消费")
    assert u.slots.date == dt.date(2026, 3, 1)


def test_understanding_as_dict_is_json_ready(understander: OfflineUnderstander, today: dt.date) -> None:
    data = understander.understand("尾号1234的卡被盗刷了5000元", today=today).as_dict()
    assert data["intent"] == "fraud.dispute"
    assert data["slots"] == {"amount": "5000", "amounts": ["5000"], "card_last4": "1234"}
    assert data["signals"] == ["fraud_risk"]
    assert set(data) == {f for f in Understanding.__dataclass_fields__}


def test_understand_empty_and_symbol_only_turns(understander: OfflineUnderstander) -> None:
    for text in ("", "   ", "???", "👍"):
        u = understander.understand(text, locale_hint="en")
        assert u.language == "en"
        assert 0.0 <= u.confidence <= 1.0


def test_understand_is_fast(understander: OfflineUnderstander) -> None:
    texts = [example.text for path in DEFAULT_DATASETS for example in load_examples(path)]
    understander.understand("warm up")
    cpu_ms = []
    for text in texts:
        started = time.thread_time()
        understander.understand(text)
        cpu_ms.append((time.thread_time() - started) * 1000)
    cpu_ms.sort()
    assert cpu_ms[int(len(cpu_ms) * 0.95)] < 5.0


@pytest.mark.parametrize(
    "unit", ["1", "1 ", "1/2/", "12期", "一", "11月20日", "not ", "!?", "在", "at ", "1,000,"]
)
def test_understand_stays_linear_on_long_messages(understander: OfflineUnderstander, unit: str) -> None:
    text = (unit * (10_000 // len(unit) + 1))[:10_000]
    started = time.thread_time()
    understander.understand(text)
    assert time.thread_time() - started < 1.0  # linear: ~0.1 s; a quadratic pattern takes tens of seconds
