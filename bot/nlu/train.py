"""Train the intent model: ``python -m bot.nlu.train [out_path]`` or ``train(out_path)``.

Deterministic: the same data gives the same arrays. Takes a few seconds on one CPU.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy import sparse  # type: ignore[import-untyped]  # no stubs in the environment
from sklearn.model_selection import StratifiedKFold  # type: ignore[import-untyped]  # sklearn ships no types
from sklearn.svm import LinearSVC  # type: ignore[import-untyped]

from bot.nlu.classifier import IntentClassifier
from bot.nlu.features import FEATURE_CONFIG, count_features
from bot.nlu.intents import INTENT_IDS, OUT_OF_SCOPE
from bot.nlu.normalization import normalize
from bot.nlu.training_data import (
    DEFAULT_DATA_PATHS,
    TRAINER_CONFIG,
    TrainingExample,
    load_training_data,
    training_data_hash,
)

logger = logging.getLogger(__name__)

DEFAULT_ARTIFACT = Path("var/models/intents.npz")


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainReport:
    """What a training run produced."""

    path: Path
    examples: int
    features: int
    cv_accuracy: float
    cv_oos_recall: float
    temperature: float
    seconds: float


def _matrix(
    examples: Sequence[TrainingExample],
) -> tuple[sparse.csr_matrix, list[str], npt.NDArray[np.float32]]:
    counted = [count_features(normalize(e.text)) for e in examples]
    vocabulary = sorted({feature for counts in counted for feature in counts})
    index = {feature: i for i, feature in enumerate(vocabulary)}
    df = np.zeros(len(vocabulary), dtype=np.float64)
    rows, cols, vals = [], [], []
    for row, counts in enumerate(counted):
        for feature, count in counts.items():
            rows.append(row)
            cols.append(index[feature])
            vals.append(1.0 + np.log(count))
            df[index[feature]] += 1
    n = len(examples)
    idf = (np.log((1 + n) / (1 + df)) + 1.0).astype(np.float32)
    matrix = sparse.csr_matrix((vals, (rows, cols)), shape=(n, len(vocabulary)), dtype=np.float64)
    matrix = sparse.csr_matrix(matrix.multiply(idf.reshape(1, -1)))
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    matrix = sparse.csr_matrix(sparse.diags(1.0 / norms) @ matrix)
    return matrix, vocabulary, idf


def _model() -> LinearSVC:
    # A linear SVM trains in well under a second here (logistic regression took a minute for the
    # same accuracy); temperature scaling of its margins gives the probabilities.
    return LinearSVC(C=float(TRAINER_CONFIG["C"]), class_weight="balanced", random_state=0)  # type: ignore[arg-type]


def _fit_temperature(logits: npt.NDArray[np.float64], y: npt.NDArray[np.int64]) -> float:
    """The temperature that minimises the negative log-likelihood of out-of-fold logits."""
    best_t, best_nll = 1.0, float("inf")
    for t in np.exp(np.linspace(np.log(0.01), np.log(5.0), 125)):
        scaled = logits / t
        scaled -= scaled.max(axis=1, keepdims=True)
        log_probs = scaled - np.log(np.exp(scaled).sum(axis=1, keepdims=True))
        nll = -float(log_probs[np.arange(len(y)), y].mean())
        if nll < best_nll:
            best_t, best_nll = float(t), nll
    return best_t


@dataclass(frozen=True, slots=True)
class _Calibration:
    accuracy: float
    oos_recall: float
    oos_shift: float
    temperature: float


def _oos_shift(logits: npt.NDArray[np.float64], y: npt.NDArray[np.int64], oos: int) -> float:
    """The smallest lift of the out-of-scope margin that reaches the recall target on held-out folds.

    A lift that costs more than ``max_in_scope_loss`` in-scope accuracy is not taken: then the
    lift with the best overall accuracy wins.
    """
    in_scope = y != oos
    target = float(TRAINER_CONFIG["oos_recall_target"])  # type: ignore[arg-type]
    max_loss = float(TRAINER_CONFIG["max_in_scope_loss"])  # type: ignore[arg-type]
    base = float((logits[in_scope].argmax(axis=1) == y[in_scope]).mean())
    best_shift, best_accuracy = 0.0, -1.0
    for shift in np.round(np.arange(0.0, 0.51, 0.025), 3):
        predicted = (logits + np.eye(logits.shape[1])[oos] * shift).argmax(axis=1)
        recall = float((predicted[~in_scope] == oos).mean())
        in_scope_accuracy = float((predicted[in_scope] == y[in_scope]).mean())
        if recall >= target and base - in_scope_accuracy <= max_loss:
            return float(shift)
        accuracy = float((predicted == y).mean())
        if accuracy > best_accuracy:
            best_shift, best_accuracy = float(shift), accuracy
    return best_shift


def _cross_validate(matrix: sparse.csr_matrix, y: npt.NDArray[np.int64], oos: int) -> _Calibration:
    folds = StratifiedKFold(n_splits=int(TRAINER_CONFIG["folds"]), shuffle=True, random_state=0)  # type: ignore[call-overload]
    logits = np.zeros((len(y), int(y.max()) + 1))
    for train_idx, test_idx in folds.split(matrix, y):
        model = _model().fit(matrix[train_idx], y[train_idx])
        logits[np.ix_(test_idx, model.classes_)] = model.decision_function(matrix[test_idx])
    shift = _oos_shift(logits, y, oos)
    logits[:, oos] += shift
    predicted = logits.argmax(axis=1)
    return _Calibration(
        accuracy=float((predicted == y).mean()),
        oos_recall=float((predicted[y == oos] == oos).mean()),
        oos_shift=shift,
        temperature=_fit_temperature(logits, y),
    )


def fit(examples: Sequence[TrainingExample], *, data_hash: str) -> tuple[IntentClassifier, _Calibration]:
    """A classifier fitted on ``examples``, calibrated on their cross-validation folds."""
    labels = [intent for intent in INTENT_IDS if any(e.intent == intent for e in examples)]
    y = np.array([labels.index(e.intent) for e in examples], dtype=np.int64)
    matrix, vocabulary, idf = _matrix(examples)
    calibration = _cross_validate(matrix, y, labels.index(OUT_OF_SCOPE))
    model = _model().fit(matrix, y)
    bias = model.intercept_.astype(np.float32)
    bias[labels.index(OUT_OF_SCOPE)] += calibration.oos_shift
    classifier = IntentClassifier(
        vocabulary=vocabulary,
        idf=idf,
        weights=model.coef_.T.astype(np.float32),
        bias=bias,
        labels=labels,
        temperature=calibration.temperature,
        data_hash=data_hash,
        metadata={
            "features": FEATURE_CONFIG,
            "trainer": TRAINER_CONFIG,
            "examples": {lang: sum(e.language == lang for e in examples) for lang in ("zh", "en")},
            "cv_accuracy": round(calibration.accuracy, 4),
            "cv_oos_recall": round(calibration.oos_recall, 4),
            "oos_shift": calibration.oos_shift,
        },
    )
    return classifier, calibration


def train(
    out_path: Path = DEFAULT_ARTIFACT, *, data_paths: Sequence[Path] = DEFAULT_DATA_PATHS
) -> TrainReport:
    """Train on the YAML examples and write the artifact (``.npz`` + ``.json``) to ``out_path``."""
    started = time.perf_counter()
    examples = load_training_data(data_paths)
    classifier, calibration = fit(examples, data_hash=training_data_hash(data_paths))
    classifier.save(out_path)
    report = TrainReport(
        path=out_path,
        examples=len(examples),
        features=classifier.n_features,
        cv_accuracy=calibration.accuracy,
        cv_oos_recall=calibration.oos_recall,
        temperature=calibration.temperature,
        seconds=time.perf_counter() - started,
    )
    logger.info(
        "nlu.model.trained",
        extra={
            "path": str(out_path),
            "examples": report.examples,
            "cv_accuracy": round(report.cv_accuracy, 4),
        },
    )
    return report


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: train and print one line of figures."""
    parser = argparse.ArgumentParser(description="Train the offline intent classifier.")
    parser.add_argument("out", nargs="?", type=Path, default=DEFAULT_ARTIFACT, help="artifact path (.npz)")
    args = parser.parse_args(argv)
    report = train(args.out)
    print(  # noqa: T201 - a command-line report
        f"{report.path}: {report.examples} examples, {report.features} features, "
        f"cv accuracy {report.cv_accuracy:.3f}, cv out-of-scope recall {report.cv_oos_recall:.3f}, "
        f"temperature {report.temperature:.2f}, {report.seconds:.1f} s"
    )


if __name__ == "__main__":
    main()
