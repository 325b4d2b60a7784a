"""The intent model artifact: round trip, numpy-only loading, staleness, corruption, determinism."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from bot.nlu import INTENT_IDS, ArtifactInvalid, IntentClassifier, TrainingDataInvalid, load_or_train
from bot.nlu.classifier import metadata_path
from bot.nlu.normalization import normalize
from bot.nlu.train import TrainReport, train
from bot.nlu.training_data import load_training_data, training_data_hash

SAMPLES = ["这个月账单多少", "I lost my card", "分12期手续费多少", "what's the weather", "0", "👍", "", "???"]


def _tiny_data(tmp_path: Path, *, extra: str = "") -> Path:
    """Five made-up examples per intent: enough for the trainer's five folds, fast to fit."""
    intents = {intent: [f"{intent} sample {i} {extra}".strip() for i in range(5)] for intent in INTENT_IDS}
    path = tmp_path / f"tiny{extra}.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "language": "en", "intents": intents}), encoding="utf-8")
    return path


def test_classifier_round_trip_gives_the_same_probabilities(artifact: Path) -> None:
    first, second = IntentClassifier.load(artifact), IntentClassifier.load(artifact)
    for text in SAMPLES:
        np.testing.assert_array_equal(
            first.probabilities(normalize(text)), second.probabilities(normalize(text))
        )
        assert first.probabilities(normalize(text)).sum() == pytest.approx(1.0, abs=1e-5)
    assert first.labels == INTENT_IDS


def test_classifier_artifact_is_plain_arrays_and_json(artifact: Path, trained: TrainReport) -> None:
    with np.load(artifact, allow_pickle=False) as arrays:
        assert set(arrays.files) == {"vocabulary", "idf", "weights", "bias", "data_hash"}
        assert arrays["weights"].shape == (trained.features, len(INTENT_IDS))
    meta = json.loads(metadata_path(artifact).read_text(encoding="utf-8"))
    assert meta["labels"] == list(INTENT_IDS)
    assert meta["data_hash"] == training_data_hash()
    assert meta["examples"]["zh"] >= 15 * len(INTENT_IDS)
    assert meta["examples"]["en"] >= 15 * len(INTENT_IDS)
    assert 0.0 < meta["temperature"] < 5.0


def test_classifier_loads_in_milliseconds(artifact: Path) -> None:
    IntentClassifier.load(artifact)  # warm the file cache
    started = time.perf_counter()
    IntentClassifier.load(artifact)
    assert time.perf_counter() - started < 0.25


def test_classifier_runtime_needs_numpy_only(artifact: Path) -> None:
    script = (
        "import sys; from pathlib import Path\n"
        "import bot.nlu\n"
        "from bot.nlu import signals, sentiment, features\n"
        "assert signals._patterns.cache_info().currsize == 0, 'lexicons read at import time'\n"
        "assert features.concepts.cache_info().currsize == 0, 'concepts read at import time'\n"
        f"u = bot.nlu.OfflineUnderstander.load(Path({str(artifact)!r}))\n"
        "assert u.understand('我的卡丢了').intent == 'card.lost_stolen'\n"
        "loaded = [m for m in ('sklearn', 'scipy', 'jieba') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    root = Path(__file__).resolve().parents[3]
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False, cwd=root
    )
    assert result.returncode == 0, result.stderr


def test_training_is_deterministic(artifact: Path, tmp_path: Path) -> None:
    again = train(tmp_path / "again.npz")
    first, second = IntentClassifier.load(artifact), IntentClassifier.load(again.path)
    for example in load_training_data()[::7]:
        text = normalize(example.text)
        np.testing.assert_array_equal(first.probabilities(text), second.probabilities(text))


def test_load_or_train_trains_when_missing(tmp_path: Path) -> None:
    data = _tiny_data(tmp_path)
    path = tmp_path / "models" / "intents.npz"
    classifier = load_or_train(path, data_paths=[data])
    assert path.exists() and metadata_path(path).exists()
    assert classifier.data_hash == training_data_hash([data])


def test_load_or_train_retrains_when_the_data_changed(tmp_path: Path) -> None:
    path = tmp_path / "intents.npz"
    old = load_or_train(path, data_paths=[_tiny_data(tmp_path)])
    stamp = path.stat().st_mtime_ns
    assert load_or_train(path, data_paths=[_tiny_data(tmp_path)]).data_hash == old.data_hash
    assert path.stat().st_mtime_ns == stamp  # fresh: loaded, not retrained
    new_data = _tiny_data(tmp_path, extra="changed")
    assert (
        load_or_train(path, data_paths=[new_data]).data_hash
        == training_data_hash([new_data])
        != old.data_hash
    )


def test_load_or_train_replaces_a_corrupt_artifact(tmp_path: Path) -> None:
    data = _tiny_data(tmp_path)
    path = tmp_path / "intents.npz"
    load_or_train(path, data_paths=[data])
    path.write_bytes(b"not a zip file")
    with pytest.raises(ArtifactInvalid):
        IntentClassifier.load(path)
    assert load_or_train(path, data_paths=[data]).labels == INTENT_IDS


def test_load_rejects_arrays_from_another_training(tmp_path: Path) -> None:
    data = _tiny_data(tmp_path)
    path = tmp_path / "intents.npz"
    load_or_train(path, data_paths=[data])
    sidecar = metadata_path(path)
    meta = json.loads(sidecar.read_text(encoding="utf-8"))
    sidecar.write_text(json.dumps({**meta, "data_hash": "0" * 64}), encoding="utf-8")
    with pytest.raises(ArtifactInvalid, match="different trainings"):
        IntentClassifier.load(path)


def test_load_raises_file_not_found_for_a_missing_artifact(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        IntentClassifier.load(tmp_path / "absent.npz")


def test_training_data_rejects_unknown_intents_and_conflicting_labels(tmp_path: Path) -> None:
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text(yaml.safe_dump({"intents": {"billing.whatever": ["hi"]}}), encoding="utf-8")
    with pytest.raises(TrainingDataInvalid, match=r"billing\.whatever"):
        load_training_data([unknown])
    conflict = tmp_path / "conflict.yaml"
    intents = {
        intent: ["same text"] if intent in ("chitchat", "complaint") else [intent] for intent in INTENT_IDS
    }
    conflict.write_text(yaml.safe_dump({"intents": intents}), encoding="utf-8")
    with pytest.raises(TrainingDataInvalid, match="labelled both"):
        load_training_data([conflict])
