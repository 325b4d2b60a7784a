"""Sentiment, frustration and urgency: lexicon plus rules, negation-aware, both languages."""

from __future__ import annotations

import pytest

from bot.nlu.normalization import normalize
from bot.nlu.sentiment import score_frustration, score_sentiment, score_urgency
from bot.nlu.signals import detect_signals


def sentiment(text: str) -> float:
    return score_sentiment(normalize(text), text)


def frustration(text: str) -> float:
    normalized = normalize(text)
    return score_frustration(normalized, text, score_sentiment(normalized, text), detect_signals(normalized))


@pytest.mark.parametrize(
    "text", ["谢谢，太好了", "非常满意，服务很专业", "thanks, that's really helpful", "great, perfect"]
)
def test_sentiment_positive(text: str) -> None:
    assert sentiment(text) > 0.3


@pytest.mark.parametrize(
    "text", ["我很不满意", "太差了，气死我了", "this is terrible", "I'm not happy at all"]
)
def test_sentiment_negative(text: str) -> None:
    assert sentiment(text) < -0.3


@pytest.mark.parametrize(
    "text", ["我想查一下账单", "麻烦帮我查一下额度", "what is my credit limit", "不好意思问一下年费"]
)
def test_sentiment_neutral_for_plain_requests(text: str) -> None:
    assert -0.2 <= sentiment(text) <= 0.2


def test_sentiment_negation_flips() -> None:
    assert sentiment("满意") > 0 > sentiment("不满意")
    assert sentiment("happy") > 0 > sentiment("not happy")
    assert sentiment("not bad") > 0


def test_sentiment_intensifier_and_shouting_strengthen() -> None:
    assert sentiment("非常失望") < sentiment("失望") < 0
    assert sentiment("THIS IS TERRIBLE!!!") < sentiment("this is terrible") < 0


def test_sentiment_stays_in_range() -> None:
    text = "垃圾 垃圾 垃圾 气死 愤怒 无耻 terrible awful worst!!! ???"
    assert -1.0 <= sentiment(text) <= -0.9


def test_frustration_rises_with_anger_repetition_and_punctuation() -> None:
    calm = frustration("我想查账单")
    annoyed = frustration("怎么又扣我钱")
    angry = frustration("我已经说了三遍了！！！你们到底管不管？？？气死我了")
    assert calm == 0.0
    assert calm < annoyed < angry
    assert angry >= 0.7
    assert frustration("WHY IS THIS STILL NOT FIXED??? I already told you") >= 0.6


@pytest.mark.parametrize(
    ("text", "urgency"),
    [
        ("我的卡丢了", "high"),
        ("有一笔盗刷", "high"),
        ("马上帮我处理", "high"),
        ("I need this fixed right now", "high"),
        ("please freeze my card, it was stolen", "high"),
        ("不急，有空帮我看看积分", "low"),
        ("no rush, just curious about points", "low"),
        ("我想查账单", "normal"),
        ("what is my limit", "normal"),
    ],
)
def test_urgency(text: str, urgency: str) -> None:
    normalized = normalize(text)
    assert score_urgency(normalized, detect_signals(normalized)) == urgency
