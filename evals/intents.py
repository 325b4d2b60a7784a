"""Intent routing evaluation: accuracy, macro-F1, per-intent P/R/F1, confusion, out-of-scope P/R.

``python -m evals.intents [dataset ...] [--json]`` evaluates the offline engine on the held-apart
sets (``evals/datasets/intents_{zh,en}.yaml``) or on any dataset given.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import re
import time
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol, TypedDict

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from bot.nlu import INTENT_IDS, OUT_OF_SCOPE, OfflineUnderstander, Understanding, detect_language

DATASETS_DIR = Path(__file__).parent / "datasets"
DEFAULT_DATASETS = (DATASETS_DIR / "intents_zh.yaml", DATASETS_DIR / "intents_en.yaml")
DEFAULT_ARTIFACT = Path("var/models/intents.npz")
_MAX_ERRORS_LISTED = 200


class DatasetInvalid(ValueError):
    """An evaluation dataset or label map cannot be read or names unknown intents."""


class UnmappedLabels(DatasetInvalid):
    """External labels with no mapping to an intent id; ``labels`` maps each to its count."""

    def __init__(self, labels: Mapping[str, int]) -> None:
        self.labels = dict(sorted(labels.items()))
        listed = ", ".join(f"{label!r} ({count})" for label, count in self.labels.items())
        super().__init__(f"{len(self.labels)} labels have no intent mapping: {listed}")


class Metrics(TypedDict):
    """Precision, recall and F1 of one label, and its number of gold examples."""

    precision: float
    recall: float
    f1: float
    support: int


class Scores(TypedDict):
    """Metrics of a set of (gold, predicted) pairs; ``confusion[gold][predicted]`` counts."""

    n: int
    accuracy: float
    macro_f1: float
    in_scope_accuracy: float
    out_of_scope: Metrics
    per_intent: dict[str, Metrics]
    confusion: dict[str, dict[str, int]]


class Miss(TypedDict):
    """One misrouted example."""

    text: str
    language: str
    gold: str
    predicted: str
    confidence: float


class IntentReport(Scores):
    """``Scores`` overall, per language, plus the clarification rate, latency and the misses."""

    by_language: dict[str, Scores]
    clarify_rate: float
    latency_ms: dict[str, float]
    cpu_ms: dict[str, float]
    errors: list[Miss]


class Understands(Protocol):
    """Anything that understands a turn the way ``OfflineUnderstander`` does (an LLM engine, too)."""

    def understand(
        self, text: str, *, locale_hint: str = "zh", today: dt.date | None = None
    ) -> Understanding:
        """Understand one customer turn."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class IntentExample:
    """One labelled utterance; ``language`` None means detect it from the text."""

    text: str
    intent: str
    language: Literal["zh", "en"] | None = None


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    text: str
    intent: str
    language: Literal["zh", "en"] | None = None


def _language_of(path: Path) -> Literal["zh", "en"] | None:
    match = re.search(r"(?:^|[_.-])(zh|en)$", path.stem)
    if match is None:
        return None
    return "zh" if match.group(1) == "zh" else "en"


def _check_intents(examples: Sequence[IntentExample], source: Path) -> None:
    unknown = sorted({e.intent for e in examples} - set(INTENT_IDS))
    if unknown:
        raise DatasetInvalid(f"{str(source)!r} names unknown intents {unknown!r}")


def load_examples(path: Path) -> list[IntentExample]:
    """A YAML dataset: a list of ``{text, intent}`` (optional ``language``; else from ``*_zh.yaml``)."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DatasetInvalid(f"cannot read {str(path)!r}: {exc}") from exc
    if not isinstance(raw, list):
        raise DatasetInvalid(f"{str(path)!r} must hold a list of {{text, intent}}")
    default_language = _language_of(path)
    examples: list[IntentExample] = []
    for index, item in enumerate(raw):
        try:
            row = _Row.model_validate(item)
        except ValidationError as exc:
            raise DatasetInvalid(f"{str(path)!r} item {index}: {exc}") from exc
        examples.append(
            IntentExample(text=row.text, intent=row.intent, language=row.language or default_language)
        )
    _check_intents(examples, path)
    return examples


def _read_label_map(path: Path) -> dict[str, str]:
    try:
        text = path.read_text(encoding="utf-8")
        raw = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise DatasetInvalid(f"cannot read label map {str(path)!r}: {exc}") from exc
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise DatasetInvalid(f"label map {str(path)!r} must map external labels to intent ids")
    bad = sorted({v for v in raw.values() if v not in INTENT_IDS})
    if bad:
        raise DatasetInvalid(f"label map {str(path)!r} maps to unknown intents {bad!r}")
    return {str(k): v for k, v in raw.items()}


def _read_rows(path: Path) -> list[tuple[str, str]]:
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            if path.suffix in (".jsonl", ".ndjson"):
                records = [json.loads(line) for line in handle if line.strip()]
            elif path.suffix in (".csv", ".tsv"):
                records = list(csv.DictReader(handle, delimiter="\t" if path.suffix == ".tsv" else ","))
            else:
                raise DatasetInvalid(f"{str(path)!r}: expected .csv, .tsv or .jsonl")
    except (OSError, ValueError) as exc:
        raise DatasetInvalid(f"cannot read {str(path)!r}: {exc}") from exc
    rows: list[tuple[str, str]] = []
    for index, record in enumerate(records):
        if not isinstance(record, dict) or not record.get("text") or record.get("label") in (None, ""):
            raise DatasetInvalid(f"{str(path)!r} row {index + 1} needs non-empty 'text' and 'label'")
        rows.append((str(record["text"]), str(record["label"])))
    return rows


def load_external(
    path: Path, label_map_path: Path | None = None, *, drop_unmapped: bool = False
) -> list[IntentExample]:
    """A CSV/TSV (header ``text,label``) or JSONL (``{"text", "label"}``) dataset from elsewhere.

    Labels go through the YAML/JSON label map (external label -> intent id); without one they must
    already be intent ids. Unmapped labels raise ``UnmappedLabels`` listing them all, unless
    ``drop_unmapped`` is set, which skips their rows. Languages are detected from the text.
    """
    rows = _read_rows(path)
    mapping = _read_label_map(label_map_path) if label_map_path else {i: i for i in INTENT_IDS}
    unmapped = Counter(label for _, label in rows if label not in mapping)
    if unmapped and not drop_unmapped:
        raise UnmappedLabels(unmapped)
    return [IntentExample(text=text, intent=mapping[label]) for text, label in rows if label in mapping]


def _metrics(tp: int, fp: int, fn: int) -> Metrics:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "support": tp + fn,
    }


def _percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def _distribution(values: Sequence[float]) -> dict[str, float]:
    return {
        "p50": round(_percentile(values, 0.5), 3),
        "p95": round(_percentile(values, 0.95), 3),
        "max": round(max(values, default=0.0), 3),
    }


def score(pairs: Sequence[tuple[str, str]]) -> Scores:
    """Metrics of (gold, predicted) pairs: accuracy, macro-F1, per-intent P/R/F1, confusion, out-of-scope."""
    confusion: dict[str, Counter[str]] = defaultdict(Counter)
    for gold, predicted in pairs:
        confusion[gold][predicted] += 1
    labels = sorted({g for g, _ in pairs} | {p for _, p in pairs}, key=INTENT_IDS.index)
    per_intent: dict[str, Metrics] = {}
    for label in labels:
        tp = confusion[label][label]
        fp = sum(row[label] for gold, row in confusion.items() if gold != label)
        per_intent[label] = _metrics(tp, fp, sum(confusion[label].values()) - tp)
    in_scope = [(g, p) for g, p in pairs if g != OUT_OF_SCOPE]
    oos_tp = sum(1 for g, p in pairs if g == p == OUT_OF_SCOPE)
    oos_fp = sum(1 for g, p in pairs if p == OUT_OF_SCOPE and g != OUT_OF_SCOPE)
    oos_fn = sum(1 for g, p in pairs if g == OUT_OF_SCOPE and p != OUT_OF_SCOPE)
    n = len(pairs)
    return {
        "n": n,
        "accuracy": round(sum(g == p for g, p in pairs) / n, 4) if n else 0.0,
        "macro_f1": round(sum(m["f1"] for m in per_intent.values()) / len(per_intent), 4)
        if per_intent
        else 0.0,
        "in_scope_accuracy": round(sum(g == p for g, p in in_scope) / len(in_scope), 4) if in_scope else 0.0,
        "out_of_scope": _metrics(oos_tp, oos_fp, oos_fn),
        "per_intent": per_intent,
        "confusion": {gold: dict(confusion[gold]) for gold in labels if confusion[gold]},
    }


def evaluate_intents(
    understander: Understands, examples: Sequence[IntentExample], *, today: dt.date | None = None
) -> IntentReport:
    """Run every example through ``understander`` and score it, overall and per language."""
    pairs: list[tuple[str, str]] = []
    by_language: dict[str, list[tuple[str, str]]] = defaultdict(list)
    errors: list[Miss] = []
    latencies: list[float] = []
    cpu: list[float] = []
    unsure = 0
    for example in examples:
        language = example.language or detect_language(example.text)[0]
        started, started_cpu = time.perf_counter(), time.thread_time()
        result = understander.understand(example.text, locale_hint=language, today=today)
        latencies.append((time.perf_counter() - started) * 1000)
        cpu.append((time.thread_time() - started_cpu) * 1000)
        pairs.append((example.intent, result.intent))
        by_language[language].append((example.intent, result.intent))
        unsure += not result.is_confident
        if result.intent != example.intent and len(errors) < _MAX_ERRORS_LISTED:
            errors.append(
                {
                    "text": example.text,
                    "language": language,
                    "gold": example.intent,
                    "predicted": result.intent,
                    "confidence": round(result.confidence, 3),
                }
            )
    return {
        **score(pairs),
        "by_language": {lang: score(lang_pairs) for lang, lang_pairs in sorted(by_language.items())},
        "clarify_rate": round(unsure / len(pairs), 4) if pairs else 0.0,
        "latency_ms": _distribution(latencies),
        "cpu_ms": _distribution(cpu),
        "errors": errors,
    }


def _summary(report: IntentReport) -> str:
    lines = [
        f"n={report['n']} accuracy={report['accuracy']} macro_f1={report['macro_f1']} "
        f"in_scope_accuracy={report['in_scope_accuracy']} out_of_scope={report['out_of_scope']} "
        f"latency_ms={report['latency_ms']} cpu_ms={report['cpu_ms']}"
    ]
    for lang, sub in report["by_language"].items():
        lines.append(
            f"  {lang}: n={sub['n']} accuracy={sub['accuracy']} macro_f1={sub['macro_f1']} "
            f"out_of_scope={sub['out_of_scope']}"
        )
    lines.extend(
        f"  miss [{e['language']}] {e['text']!r}: {e['gold']} -> {e['predicted']} ({e['confidence']})"
        for e in report["errors"]
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: evaluate the offline engine and print a summary or one JSON object."""
    parser = argparse.ArgumentParser(description="Evaluate intent routing of the offline engine.")
    parser.add_argument("datasets", nargs="*", type=Path, default=list(DEFAULT_DATASETS))
    parser.add_argument("--artifact", type=Path, default=DEFAULT_ARTIFACT, help="intent model (.npz)")
    parser.add_argument("--label-map", type=Path, help="label map for external CSV/JSONL datasets")
    parser.add_argument("--drop-unmapped", action="store_true", help="skip rows whose label has no mapping")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    examples: list[IntentExample] = []
    for path in args.datasets:
        if path.suffix in (".yaml", ".yml"):
            examples.extend(load_examples(path))
        else:
            examples.extend(load_external(path, args.label_map, drop_unmapped=args.drop_unmapped))
    understander = OfflineUnderstander.load(args.artifact)
    report = evaluate_intents(understander, examples, today=dt.date(2026, 1, 15))
    print(json.dumps(report, ensure_ascii=False) if args.json else _summary(report))


if __name__ == "__main__":
    main()
