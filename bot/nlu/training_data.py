"""Intent training examples: the YAML files in ``data/``, validated, and the hash a model is stamped with."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import yaml

from bot.nlu.errors import TrainingDataInvalid
from bot.nlu.features import CONCEPTS_PATH, FEATURE_CONFIG
from bot.nlu.intents import INTENT_IDS
from bot.nlu.normalization import normalize

DATA_DIR: Final = Path(__file__).parent / "data"
DEFAULT_DATA_PATHS: Final[tuple[Path, ...]] = (DATA_DIR / "train_zh.yaml", DATA_DIR / "train_en.yaml")

TRAINER_CONFIG: Final[dict[str, object]] = {
    "model": "linear svm (one-vs-rest, squared hinge) + softmax over margins",
    "C": 1.0,
    "class_weight": "balanced",
    "calibration": "out-of-scope margin lift, then temperature, on 5-fold out-of-fold margins",
    "folds": 5,
    "seed": 0,
    "oos_recall_target": 0.85,
    "max_in_scope_loss": 0.01,
}
"""Training settings; part of the data hash, so changing one retrains stored models."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainingExample:
    """One labelled customer utterance."""

    text: str
    intent: str
    language: str


def training_data_hash(paths: Sequence[Path] = DEFAULT_DATA_PATHS) -> str:
    """sha256 over the training files, the feature config and the trainer config."""
    digest = hashlib.sha256()
    digest.update(json.dumps([FEATURE_CONFIG, TRAINER_CONFIG], sort_keys=True).encode())
    for path in (CONCEPTS_PATH, *paths):
        try:
            digest.update(path.read_bytes())
        except OSError as exc:
            raise TrainingDataInvalid(f"cannot read training file {str(path)!r}: {exc}") from exc
    return digest.hexdigest()


def _read(path: Path) -> list[TrainingExample]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise TrainingDataInvalid(f"cannot read training file {str(path)!r}: {exc}") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("intents"), dict):
        raise TrainingDataInvalid(f"training file {str(path)!r} needs a mapping 'intents: {{id: [texts]}}'")
    language = str(raw.get("language", ""))
    examples: list[TrainingExample] = []
    for intent, texts in raw["intents"].items():
        if intent not in INTENT_IDS:
            raise TrainingDataInvalid(f"training file {str(path)!r} names unknown intent {intent!r}")
        if not isinstance(texts, list) or not all(isinstance(t, str | int) for t in texts):
            raise TrainingDataInvalid(f"intent {intent!r} in {str(path)!r} must list texts")
        examples.extend(TrainingExample(text=str(t), intent=intent, language=language) for t in texts)
    return examples


def load_training_data(paths: Sequence[Path] = DEFAULT_DATA_PATHS) -> list[TrainingExample]:
    """Every example of every file; fails on unknown intents, missing intents or conflicting labels."""
    examples = [example for path in paths for example in _read(path)]
    missing = sorted(set(INTENT_IDS) - {e.intent for e in examples})
    if missing:
        raise TrainingDataInvalid(f"no training examples for {missing!r}")
    seen: dict[str, str] = {}
    for example in examples:
        key = normalize(example.text)
        if seen.setdefault(key, example.intent) != example.intent:
            raise TrainingDataInvalid(
                f"{example.text!r} is labelled both {seen[key]!r} and {example.intent!r}"
            )
    return examples
