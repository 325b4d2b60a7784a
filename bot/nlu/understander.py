"""The offline understanding engine: every customer turn goes through ``understand()``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Final

from bot.nlu.affirmation import read_affirmation
from bot.nlu.classifier import IntentClassifier, load_or_train
from bot.nlu.intents import COMPLAINT, HUMAN_AGENT
from bot.nlu.language import detect_language
from bot.nlu.models import IntentScore, IntentSource, Signal, Understanding
from bot.nlu.normalization import fold
from bot.nlu.sentiment import score_frustration, score_sentiment, score_urgency
from bot.nlu.signals import detect_signals
from bot.nlu.slots import extract_from_normalized

CHINA_TZ: Final = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
"""Relative dates ("昨天") are the customer's: the bank's cardholders live on China time (no DST)."""

DEFAULT_CONFIDENCE_THRESHOLD: Final = 0.5
"""Below this the caller should clarify, offering ``alternatives`` as choices."""

_ALTERNATIVES: Final = 3
_WARM_UP: Final = "你好 hello, 在京东 at Costco ¥1,200 分12期 昨天 not happy"
# Rules beat the model where a missed case is costly: a regulator complaint goes to the complaint
# path (priority 1), an explicit request for a person is always honoured.
_RULE_INTENTS: Final[tuple[tuple[Signal, str], ...]] = (
    ("regulator_complaint", COMPLAINT),
    ("human_request", HUMAN_AGENT),
)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class OfflineUnderstander:
    """Language, intent, slots, sentiment and signals of a customer turn, with no network and no LLM."""

    __slots__ = ("_classifier", "_clock", "confidence_threshold")

    def __init__(
        self,
        classifier: IntentClassifier,
        *,
        confidence_threshold: float = DEFAULT_CONFIDENCE_THRESHOLD,
        clock: Callable[[], dt.datetime] = _utcnow,
    ) -> None:
        assert 0.0 <= confidence_threshold <= 1.0, confidence_threshold
        self._classifier = classifier
        self._clock = clock
        self.confidence_threshold = confidence_threshold

    @classmethod
    def load(
        cls,
        artifact_path: Path,
        *,
        confidence_threshold: float = DEFAULT_CONFIDENCE_THRESHOLD,
        clock: Callable[[], dt.datetime] = _utcnow,
    ) -> OfflineUnderstander:
        """Load the intent model from ``artifact_path``, training it first when missing or stale.

        The lexicons (merchants, signals, sentiment, concepts) are read here too, so the first
        customer turn is as fast as any other.
        """
        understander = cls(
            load_or_train(artifact_path), confidence_threshold=confidence_threshold, clock=clock
        )
        understander.understand(_WARM_UP, today=dt.date(2026, 1, 1))
        return understander

    @property
    def classifier(self) -> IntentClassifier:
        """The intent classifier in use."""
        return self._classifier

    def _intent(
        self, normalized: str, signals: frozenset[Signal]
    ) -> tuple[str, float, tuple[IntentScore, ...], IntentSource]:
        ranked = self._classifier.rank(normalized)
        alternatives = ranked[:_ALTERNATIVES]
        for signal, intent in _RULE_INTENTS:
            if signal in signals:
                return intent, 1.0, alternatives, "rule"
        best = ranked[0]
        return best.intent, best.score, alternatives, "model"

    def understand(
        self, text: str, *, locale_hint: str = "zh", today: dt.date | None = None
    ) -> Understanding:
        """Understand one customer turn; ``today`` anchors relative dates (default: today in China)."""
        day = today or self._clock().astimezone(CHINA_TZ).date()
        folded = fold(text)
        normalized = folded.lower()
        language, is_mixed = detect_language(text, locale_hint)
        signals = detect_signals(normalized)
        intent, confidence, alternatives, source = self._intent(normalized, signals)
        sentiment = score_sentiment(normalized, text)
        return Understanding(
            text=text,
            language=language,
            is_mixed=is_mixed,
            intent=intent,
            confidence=confidence,
            alternatives=alternatives,
            slots=extract_from_normalized(normalized, folded=folded, today=day),
            sentiment=round(sentiment, 3),
            frustration=score_frustration(normalized, text, sentiment, signals),
            urgency=score_urgency(normalized, signals),
            signals=signals,
            is_affirmative=read_affirmation(normalized),
            is_confident=source == "rule" or confidence >= self.confidence_threshold,
            intent_source=source,
        )
