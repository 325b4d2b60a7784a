"""Sentiment (-1..1), frustration (0..1) and urgency from a bilingual lexicon plus rules.

The lexicon lives in ``data/sentiment.yaml``. Scoring is negation-aware ("不满意", "not happy"),
scales words after intensifiers ("非常", "very"), and reads shouting: runs of ``!!``/``??``
and words in capitals.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final

import yaml

from bot.nlu.errors import DataFileInvalid
from bot.nlu.models import Signal, Urgency
from bot.nlu.patterns import terms

LEXICON_PATH: Final = Path(__file__).parent / "data" / "sentiment.yaml"

_NEGATED_WEIGHT: Final = -0.7  # "不满意" is a little softer than "失望"; "not bad" is only mildly good
_SCALE: Final = 3.0  # a sum of 3 maps to tanh(1) = 0.76
_ACRONYMS: Final = frozenset("ATM PIN CVV APR VIP USD CNY RMB OTP SMS APP ID OK UK US EU CFPB".split())

_SIGNAL_FRUSTRATION: Final[dict[Signal, float]] = {
    "abuse": 0.35,
    "refusal": 0.25,
    "regulator_complaint": 0.25,
    "complaint": 0.15,
    "human_request": 0.1,
}
_URGENT: Final = terms(
    anywhere=(
        "马上", "立刻", "立即", "赶紧", "赶快", "紧急", "急急", "很急", "急死", "着急", "急用", "尽快",
        "火速", "十万火急", "快点", "等不了", "现在就",
    ),
    words=(
        "right now", "immediately", "urgent", "urgently", "asap", "emergency", "right away", "hurry",
        "as soon as possible", "straight away",
    ),
)  # fmt: skip
_RELAXED: Final = terms(
    anywhere=("不急", "不着急", "不用急", "不紧急", "不赶时间", "有空", "慢慢来"),
    words=(
        "not urgent",
        "no rush",
        "no hurry",
        "not in a hurry",
        "whenever",
        "when you have time",
        "at your convenience",
    ),
)
_SHOUT_PUNCT: Final = re.compile(r"[!?]{2,}|!\?|\?!")
_CAPS_WORD: Final = re.compile(r"\b[A-Z]{3,}\b")


@dataclass(frozen=True, slots=True)
class _Language:
    terms: re.Pattern[str]
    weights: Mapping[str, float]
    intensifiers: Mapping[str, float]
    negators: re.Pattern[str]
    intensifier_before: re.Pattern[str]
    anger: re.Pattern[str]
    repeat: re.Pattern[str]


def _alternation(words: Iterable[str], *, latin: bool) -> str:
    body = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return f"(?<![a-z])(?:{body})(?![a-z'])" if latin else f"(?:{body})"


def _compile(raw: Mapping[str, object], *, latin: bool) -> _Language:
    positive = dict(raw["positive"])  # type: ignore[call-overload]  # validated YAML mapping
    negative = dict(raw["negative"])  # type: ignore[call-overload]
    neutral = {str(word): 0.0 for word in raw.get("neutral", ())}  # type: ignore[attr-defined]
    weights = {str(k): float(v) for k, v in {**neutral, **positive, **negative}.items()}
    intensifiers = {str(k): float(v) for k, v in dict(raw["intensifiers"]).items()}  # type: ignore[call-overload]
    gap = r"\s*(?:\w+\s+){0,2}" if latin else r"[^,.!?，。！？]{0,2}"
    return _Language(
        terms=re.compile(_alternation(weights, latin=latin)),
        weights=weights,
        intensifiers=intensifiers,
        negators=re.compile(_alternation(raw["negators"], latin=latin) + gap + r"\s*$"),  # type: ignore[arg-type]
        intensifier_before=re.compile("(" + _alternation(intensifiers, latin=latin) + r")\s*$"),
        anger=re.compile(_alternation(raw["anger"], latin=latin)),  # type: ignore[arg-type]
        repeat=re.compile(_alternation(raw["repeat"], latin=latin)),  # type: ignore[arg-type]
    )


@cache
def _lexicon() -> tuple[_Language, _Language]:
    """(zh, en) lexicons, compiled once on first use."""
    try:
        raw = yaml.safe_load(LEXICON_PATH.read_text(encoding="utf-8"))
        return _compile(raw["zh"], latin=False), _compile(raw["en"], latin=True)
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
        raise DataFileInvalid(f"cannot read sentiment lexicon {str(LEXICON_PATH)!r}: {exc}") from exc


def _lexical_score(normalized: str, lang: _Language, *, window: int) -> float:
    total = 0.0
    for match in lang.terms.finditer(normalized):
        weight = lang.weights[match.group(0)]
        before = normalized[max(0, match.start() - window) : match.start()]
        intensifier = lang.intensifier_before.search(before)
        if intensifier:
            weight *= lang.intensifiers[intensifier.group(1)]
            before = before[: intensifier.start()]
        if lang.negators.search(before):
            weight *= _NEGATED_WEIGHT
        total += weight
    return total


def _is_shouting(original: str) -> bool:
    caps = [w for w in _CAPS_WORD.findall(original) if w not in _ACRONYMS]
    return len(caps) >= 2 or (len(caps) == 1 and len(original.split()) <= 3)


def score_sentiment(normalized: str, original: str) -> float:
    """Sentiment in -1..1 of a turn (``normalized`` by ``normalization.normalize``; ``original`` as typed)."""
    zh, en = _lexicon()
    total = _lexical_score(normalized, zh, window=6) + _lexical_score(normalized, en, window=40)
    if _SHOUT_PUNCT.search(normalized):
        total = total * 1.3 - 0.5 if total <= 0 else total
    if _is_shouting(original) and total < 0:
        total *= 1.3
    return max(-1.0, min(1.0, math.tanh(total / _SCALE)))


def score_frustration(normalized: str, original: str, sentiment: float, signals: frozenset[Signal]) -> float:
    """Frustration in 0..1: negative sentiment, anger words, having to repeat, shouting, signals."""
    zh, en = _lexicon()
    value = 0.45 * max(0.0, -sentiment)
    if zh.anger.search(normalized) or en.anger.search(normalized):
        value += 0.25
    if zh.repeat.search(normalized) or en.repeat.search(normalized):
        value += 0.15
    if _SHOUT_PUNCT.search(normalized):
        value += 0.15
    if _is_shouting(original):
        value += 0.15
    value += sum(_SIGNAL_FRUSTRATION.get(signal, 0.0) for signal in signals)
    return round(min(1.0, value), 3)


def score_urgency(normalized: str, signals: frozenset[Signal]) -> Urgency:
    """``high`` for a lost/stolen card, fraud or explicit haste; ``low`` when the customer says no rush."""
    if "urgent_loss" in signals or "fraud_risk" in signals:
        return "high"
    if _RELAXED.search(normalized):
        return "low"
    if _URGENT.search(normalized):
        return "high"
    return "normal"
