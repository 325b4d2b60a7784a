"""The intent classifier at run time: numpy only, loaded from a ``.npz`` plus a JSON sidecar.

The artifact holds plain arrays (vocabulary, idf, weights, bias) and no pickles; training
(``bot.nlu.train``, which needs scikit-learn) is imported only when an artifact must be built.
"""

from __future__ import annotations

import json
import logging
import math
import os
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from bot.nlu.errors import ArtifactInvalid
from bot.nlu.features import FEATURE_VERSION, count_features
from bot.nlu.intents import INTENT_IDS
from bot.nlu.models import IntentScore

logger = logging.getLogger(__name__)

ARTIFACT_FORMAT: Final = 1
FloatArray = npt.NDArray[np.float32]


def metadata_path(artifact_path: Path) -> Path:
    """Where the JSON sidecar of an artifact lives (``intents.npz`` -> ``intents.json``)."""
    return artifact_path.with_suffix(".json")


class IntentClassifier:
    """A linear model over sparse tf-idf features; softmax of temperature-scaled margins."""

    __slots__ = ("_bias", "_idf", "_vocabulary", "_weights", "data_hash", "labels", "metadata", "temperature")

    def __init__(
        self,
        *,
        vocabulary: Sequence[str],
        idf: FloatArray,
        weights: FloatArray,
        bias: FloatArray,
        labels: Sequence[str],
        temperature: float,
        data_hash: str,
        metadata: dict[str, object] | None = None,
    ) -> None:
        if weights.shape != (len(vocabulary), len(labels)) or idf.shape != (len(vocabulary),):
            raise ArtifactInvalid(
                f"shape mismatch: weights {weights.shape}, idf {idf.shape}, "
                f"{len(vocabulary)} features, {len(labels)} labels"
            )
        if bias.shape != (len(labels),) or temperature <= 0:
            raise ArtifactInvalid(f"bad bias shape {bias.shape} or temperature {temperature!r}")
        unknown = sorted(set(labels) - set(INTENT_IDS))
        if unknown:
            raise ArtifactInvalid(f"artifact names unknown intents {unknown!r}")
        self._vocabulary = {feature: index for index, feature in enumerate(vocabulary)}
        self._idf = idf
        self._weights = weights
        self._bias = bias
        self.labels = tuple(labels)
        self.temperature = temperature
        self.data_hash = data_hash
        self.metadata = dict(metadata or {})

    @property
    def n_features(self) -> int:
        """Size of the feature vocabulary."""
        return len(self._vocabulary)

    @classmethod
    def load(cls, path: Path) -> IntentClassifier:
        """Read an artifact written by ``save``; raises ``ArtifactInvalid`` when it is unreadable."""
        try:
            meta = json.loads(metadata_path(path).read_text(encoding="utf-8"))
            with np.load(path, allow_pickle=False) as arrays:
                vocabulary = arrays["vocabulary"].tolist()
                idf, weights, bias = arrays["idf"], arrays["weights"], arrays["bias"]
                stored_hash = str(arrays["data_hash"])
        except FileNotFoundError:
            raise
        except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as exc:
            raise ArtifactInvalid(f"cannot read intent model {str(path)!r}: {exc}") from exc
        if meta.get("format") != ARTIFACT_FORMAT or meta.get("feature_version") != FEATURE_VERSION:
            raise ArtifactInvalid(f"intent model {str(path)!r} has format {meta.get('format')!r}")
        if meta.get("data_hash") != stored_hash:
            raise ArtifactInvalid(f"intent model {str(path)!r} and its metadata are from different trainings")
        return cls(
            vocabulary=vocabulary,
            idf=idf.astype(np.float32),
            weights=weights.astype(np.float32),
            bias=bias.astype(np.float32),
            labels=meta["labels"],
            temperature=float(meta["temperature"]),
            data_hash=stored_hash,
            metadata=meta,
        )

    def save(self, path: Path) -> None:
        """Write the arrays and the sidecar atomically: a reader, or a second process training at
        the same time, never sees half an artifact."""
        path.parent.mkdir(parents=True, exist_ok=True)
        vocabulary = sorted(self._vocabulary, key=self._vocabulary.__getitem__)
        meta = {
            **self.metadata,
            "format": ARTIFACT_FORMAT,
            "feature_version": FEATURE_VERSION,
            "labels": list(self.labels),
            "temperature": self.temperature,
            "data_hash": self.data_hash,
            "n_features": self.n_features,
        }
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as handle:
            np.savez_compressed(
                handle,
                vocabulary=np.array(vocabulary, dtype=str),
                idf=self._idf,
                weights=self._weights,
                bias=self._bias,
                data_hash=np.array(self.data_hash),
            )
        sidecar = metadata_path(path)
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=path.parent, prefix=f".{sidecar.name}.", delete=False
        ) as meta_handle:
            json.dump(meta, meta_handle, ensure_ascii=False, indent=2, sort_keys=True)
        for written in (handle.name, meta_handle.name):
            os.chmod(written, 0o644)  # temporary files are created owner-only
        os.replace(handle.name, path)
        os.replace(meta_handle.name, sidecar)

    def logits(self, normalized: str) -> FloatArray:
        """Raw class scores of a normalised text (before temperature and softmax)."""
        counts = count_features(normalized)
        indices: list[int] = []
        values: list[float] = []
        for feature, count in counts.items():
            index = self._vocabulary.get(feature)
            if index is not None:
                indices.append(index)
                values.append(1.0 + math.log(count))
        if not indices:
            return self._bias.copy()
        idx = np.fromiter(indices, dtype=np.int64, count=len(indices))
        x = np.fromiter(values, dtype=np.float32, count=len(values)) * self._idf[idx]
        x /= np.float32(np.linalg.norm(x))
        result: FloatArray = (x @ self._weights[idx] + self._bias).astype(np.float32)
        return result

    def probabilities(self, normalized: str) -> FloatArray:
        """Calibrated class probabilities, in the order of ``labels``."""
        scaled = self.logits(normalized) / self.temperature
        scaled -= scaled.max()
        exp = np.exp(scaled)
        result: FloatArray = exp / exp.sum()
        return result

    def rank(self, normalized: str) -> tuple[IntentScore, ...]:
        """Every intent with its probability, most probable first (ties in label order)."""
        probs = self.probabilities(normalized)
        order = sorted(range(len(self.labels)), key=lambda i: (-float(probs[i]), i))
        return tuple(IntentScore(intent=self.labels[i], score=float(probs[i])) for i in order)

    def known_feature_share(self, normalized: str) -> float:
        """Share of the text's features the model has seen in training (0 for gibberish)."""
        counts = count_features(normalized)
        if not counts:
            return 0.0
        return sum(1 for feature in counts if feature in self._vocabulary) / len(counts)


def load_or_train(path: Path, *, data_paths: Sequence[Path] | None = None) -> IntentClassifier:
    """Load the artifact at ``path``; (re)train it when missing, unreadable or trained on other data."""
    from bot.nlu.training_data import DEFAULT_DATA_PATHS, training_data_hash

    paths = tuple(data_paths or DEFAULT_DATA_PATHS)
    current = training_data_hash(paths)
    try:
        classifier = IntentClassifier.load(path)
    except FileNotFoundError:
        logger.info("nlu.model.missing", extra={"path": str(path)})
    except ArtifactInvalid:
        logger.warning("nlu.model.invalid", extra={"path": str(path)}, exc_info=True)
    else:
        if classifier.data_hash == current:
            return classifier
        logger.info("nlu.model.stale", extra={"path": str(path)})
    from bot.nlu.train import train  # scikit-learn is needed only here

    train(path, data_paths=paths)
    return IntentClassifier.load(path)
