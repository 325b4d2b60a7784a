"""Handoff and risk signals: lexicons (``data/signals.yaml``) plus rules, negation- and hypothesis-aware.

The set is closed (``models.Signal``) and documented in ``bot/nlu/README.md``. Signals never
decide anything on their own: routing, guards and flows read them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Final

import yaml

from bot.nlu.errors import DataFileInvalid
from bot.nlu.identifiers import contains_card_number
from bot.nlu.models import Signal
from bot.nlu.patterns import terms

SIGNALS_PATH: Final = Path(__file__).parent / "data" / "signals.yaml"

_NEG_ZH: Final = re.compile(
    r"(?:不|没|没有|别|无需|无须|不用|不要|不需要|并非|不是|不会)\s*(?:想|用|再|去|帮我|给我|需要)?\s*$"
)
_NEG_EN: Final = re.compile(
    r"(?<![a-z])(?:not|no|never|don't|dont|do not|doesn't|didn't|isn't|wasn't|won't|no need to|without)"
    r"(?:\s+\w+){0,2}\s*$"
)
_ZEROS: Final = re.compile(r"^\s*0{1,4}\s*[.!?]?\s*$")
_REGULATOR_WINDOW: Final = 32  # characters around a regulator's name searched for a complaint verb
_COMPLAINT_HOTLINES: Final = re.compile(r"(?<!\d)(?:12378|12363)(?!\d)")
_REGULATOR_ACTION: Final = terms(
    anywhere=("投诉", "举报", "反映", "告", "找", "曝光", "打电话给", "上报"),
    words=(
        "report", "reporting", "complain", "complaint", "file", "escalate", "contact", "go to", "write to",
        "call", "take this to",
    ),
)  # fmt: skip


def _compile(name: str, entry: Mapping[str, Sequence[str]]) -> re.Pattern[str]:
    anywhere = [str(fragment) for fragment in entry.get("anywhere", ())]
    words = [str(fragment) for fragment in entry.get("words", ())]
    if not anywhere and not words:
        raise DataFileInvalid(f"signal pattern {name!r} has no fragments")
    return terms(anywhere, words)


@cache
def _patterns() -> dict[str, re.Pattern[str]]:
    """The lexicons of ``data/signals.yaml``, compiled once on first use."""
    try:
        raw = yaml.safe_load(SIGNALS_PATH.read_text(encoding="utf-8"))["patterns"]
        patterns = {str(name): _compile(str(name), entry) for name, entry in raw.items()}
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError, re.error) as exc:
        raise DataFileInvalid(f"cannot read signal lexicons {str(SIGNALS_PATH)!r}: {exc}") from exc
    missing = sorted(_REQUIRED - patterns.keys())
    if missing:
        raise DataFileInvalid(f"signal lexicons lack {missing!r}")
    return patterns


_REQUIRED: Final = frozenset(
    {
        "hypothetical", "human_request", "bot_identity_question", "regulator", "legal_threat", "complaint",
        "refusal", "abuse", "fraud_risk", "urgent_loss", "sensitive_data", "prompt_injection", "hardship",
        "third_party", "other_customers", "account_data", "own_account", "secret_offer",
    }
)  # fmt: skip


def _negated(text: str, start: int) -> bool:
    window = text[max(0, start - 24) : start]
    return bool(_NEG_ZH.search(window) or _NEG_EN.search(window))


def _mentioned(name: str, text: str, *, negatable: bool = True) -> bool:
    """Whether the lexicon ``name`` matches somewhere it is not negated ("不要转人工", "not fraud")."""
    return any(not (negatable and _negated(text, m.start())) for m in _patterns()[name].finditer(text))


def _human(text: str) -> bool:
    if _ZEROS.match(text):
        return True
    return _mentioned("human_request", _patterns()["bot_identity_question"].sub(" ", text))


def _regulator(text: str) -> bool:
    """A legal threat or a complaint hotline, or a regulator named next to a complaint verb."""
    if _mentioned("legal_threat", text) or _COMPLAINT_HOTLINES.search(text):
        return True
    for regulator in _patterns()["regulator"].finditer(text):
        if _negated(text, regulator.start()):
            continue
        offset = max(0, regulator.start() - _REGULATOR_WINDOW)
        window = text[offset : regulator.end() + _REGULATOR_WINDOW // 2]
        if any(not _negated(text, offset + a.start()) for a in _REGULATOR_ACTION.finditer(window)):
            return True
    return False


def _real(name: str) -> Callable[[str], bool]:
    """A detector that ignores negated and hypothetical mentions ("如果卡丢了怎么办")."""

    def detect(text: str) -> bool:
        return not _patterns()["hypothetical"].search(text) and _mentioned(name, text)

    return detect


def _sensitive(text: str) -> bool:
    return contains_card_number(text) or bool(_patterns()["sensitive_data"].search(text))


def _third_party(text: str) -> bool:
    """Someone else's account or personal data is asked for (not the customer's own card used by family)."""
    p = _patterns()
    if p["other_customers"].search(text):
        return True
    return bool(p["third_party"].search(text) and p["account_data"].search(text) and not p["own_account"].search(text))


_DETECTORS: Final[tuple[tuple[Signal, Callable[[str], bool]], ...]] = (
    ("human_request", _human),
    ("regulator_complaint", _regulator),
    ("complaint", lambda text: _mentioned("complaint", text)),
    ("refusal", lambda text: _mentioned("refusal", text, negatable=False)),
    ("abuse", lambda text: _mentioned("abuse", text, negatable=False)),
    ("fraud_risk", _real("fraud_risk")),
    ("urgent_loss", _real("urgent_loss")),
    ("sensitive_data", _sensitive),
    ("prompt_injection", lambda text: bool(_patterns()["prompt_injection"].search(text))),
    ("hardship", lambda text: _mentioned("hardship", text)),
    ("third_party", _third_party),
    ("secret_offer", lambda text: bool(_patterns()["secret_offer"].search(text))),
)


def detect_signals(normalized: str) -> frozenset[Signal]:
    """The signals a normalised customer turn carries (see ``normalization.normalize``)."""
    found: set[Signal] = {signal for signal, detect in _DETECTORS if detect(normalized)}
    if "regulator_complaint" in found:
        found.add("complaint")
    return frozenset(found)
