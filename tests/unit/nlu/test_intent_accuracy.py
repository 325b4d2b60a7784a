"""Intent routing quality on the held-apart test sets, and the independence of those sets."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from bot.nlu import INTENT_IDS, OfflineUnderstander
from bot.nlu.training_data import load_training_data
from evals.intents import DEFAULT_DATASETS, IntentReport, evaluate_intents, load_examples

DATASETS = {"zh": DEFAULT_DATASETS[0], "en": DEFAULT_DATASETS[1]}


def _key(text: str) -> str:
    """Lower case without punctuation or spaces: how overlap between train and test is judged."""
    return re.sub(r"[\W_]+", "", text.lower())


@pytest.fixture(scope="module")
def report(understander: OfflineUnderstander) -> IntentReport:
    examples = [example for path in DATASETS.values() for example in load_examples(path)]
    return evaluate_intents(understander, examples)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_intent_accuracy_on_held_apart_set(report: IntentReport, language: str) -> None:
    assert report["by_language"][language]["accuracy"] >= 0.92, report["errors"]


def test_out_of_scope_recall_with_in_scope_accuracy_kept(report: IntentReport) -> None:
    assert report["out_of_scope"]["recall"] >= 0.85
    assert report["out_of_scope"]["precision"] >= 0.85
    assert report["in_scope_accuracy"] >= 0.92


@pytest.mark.parametrize(("language", "path"), DATASETS.items())
def test_test_set_shares_no_text_with_training(language: str, path: Path) -> None:
    train_keys = {_key(example.text) for example in load_training_data()}
    overlap = [example.text for example in load_examples(path) if _key(example.text) in train_keys]
    assert overlap == []


@pytest.mark.parametrize(("language", "path"), DATASETS.items())
def test_test_set_covers_every_intent(language: str, path: Path) -> None:
    examples = load_examples(path)
    counts = Counter(example.intent for example in examples)
    assert len(examples) >= 250
    assert {intent: counts[intent] for intent in INTENT_IDS if counts[intent] < 8} == {}
    assert all(example.language == language for example in examples)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_training_set_covers_every_intent(language: str) -> None:
    counts = Counter(example.intent for example in load_training_data() if example.language == language)
    assert {intent: counts[intent] for intent in INTENT_IDS if counts[intent] < 15} == {}
    assert counts["out_of_scope"] >= 60
