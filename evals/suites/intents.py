"""Intent routing on the held-apart sets (or an external labelled set), per language.

Offline engine: ``bot.nlu.OfflineUnderstander`` loaded from its artifact (trained first when
missing or stale) scores every example in process. LLM engine: every example is the first
message of a fresh conversation on an in-process server with the LLM configured, and the
intent is the one the engine recorded for that turn (the LLM's, or the offline engine's when
the LLM failed and the turn fell back).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.harness import (
    EngineUnavailable,
    EvalServer,
    ServerConfig,
    default_concurrency,
    gather_limited,
    sample,
)
from evals.intents import (
    DEFAULT_ARTIFACT,
    DEFAULT_DATASETS,
    IntentExample,
    evaluate_intents,
    load_examples,
    load_external,
)
from evals.report import Plot, Section, SuiteContext, SuiteResult

NAME = "intents"
DESCRIPTION = "Intent routing on held-apart zh/en sets: accuracy, macro-F1, confusion, out-of-scope P/R"
FIGURES = (
    "accuracy",
    "macro_f1",
    "accuracy_zh",
    "accuracy_en",
    "macro_f1_zh",
    "macro_f1_en",
    "oos_precision",
    "oos_recall",
    "in_scope_accuracy",
)
TODAY = dt.date(2026, 1, 15)  # slot parsing of relative dates; fixed so runs compare
SMALL_PER_FILE = 120


def load_selected(ctx: SuiteContext) -> list[IntentExample]:
    """The examples of this run: the held-apart sets, or ``--dataset`` files (+ ``--label-map``)."""
    paths = [Path(p) for p in ctx.option("dataset", [])] or list(DEFAULT_DATASETS)
    label_map = ctx.option("label_map")
    per_file = ctx.option("limit", SMALL_PER_FILE if ctx.small else None)
    examples: list[IntentExample] = []
    for path in paths:
        if path.suffix in (".yaml", ".yml"):
            loaded = load_examples(path)
        else:
            loaded = load_external(
                path,
                Path(label_map) if label_map else None,
                drop_unmapped=bool(ctx.option("drop_unmapped", False)),
            )
        examples.extend(sample(loaded, per_file))
    return examples


class _Counting:
    """An understander that reports progress on every call."""

    def __init__(self, inner: Any, total: int, ctx: SuiteContext) -> None:
        self.inner, self.total, self.ctx, self.done = inner, total, ctx, 0

    def understand(self, text: str, *, locale_hint: str = "zh", today: dt.date | None = None) -> Any:
        result = self.inner.understand(text, locale_hint=locale_hint, today=today)
        self.done += 1
        self.ctx.progress(self.done, self.total, "intents")
        return result


@dataclass(frozen=True, slots=True)
class _Recorded:
    """The intent an engine recorded for a turn, in the shape ``evaluate_intents`` reads."""

    intent: str
    confidence: float
    is_confident: bool = True
    latency_ms: float = 0.0
    engine: str = "llm"


class _Lookup:
    def __init__(self, results: Mapping[str, _Recorded]) -> None:
        self.results = results

    def understand(self, text: str, *, locale_hint: str = "zh", today: dt.date | None = None) -> _Recorded:
        return self.results[text]


async def _llm_results(ctx: SuiteContext, examples: Sequence[IntentExample]) -> dict[str, _Recorded]:
    async with EvalServer(ServerConfig.for_suite(ctx)) as server:

        async def one(example: IntentExample) -> tuple[str, _Recorded]:
            locale = "en-US" if example.language == "en" else "zh-CN"
            chat = await server.session("C001", locale)
            try:
                await chat.say(example.text)
            finally:
                await chat.close()
            turns = await server.turn_records(chat.conversation_id)
            first = turns[0] if turns else {}
            return example.text, _Recorded(
                intent=str(first.get("intent") or "none"),
                confidence=float(first.get("confidence") or 0.0),
                latency_ms=float(first.get("latency_ms") or 0.0),
                engine=str(first.get("engine") or "none"),
            )

        unique = list({e.text: e for e in examples}.values())
        pairs = await gather_limited(
            unique,
            one,
            concurrency=int(ctx.option("concurrency", default_concurrency())),
            progress=ctx.progress,
            label="intents (llm)",
        )
    return dict(pairs)


def _language_rows(report: Mapping[str, Any]) -> list[list[Any]]:
    rows = []
    for lang, sub in [*report["by_language"].items(), ("all", report)]:
        oos = sub["out_of_scope"]
        rows.append(
            [
                lang,
                sub["n"],
                sub["accuracy"],
                sub["macro_f1"],
                sub["in_scope_accuracy"],
                oos["precision"],
                oos["recall"],
                oos["support"],
            ]
        )
    return rows


def summarize(report: Mapping[str, Any]) -> dict[str, Any]:
    """Flat headline figures of an ``evaluate_intents`` report."""
    oos = report["out_of_scope"]
    summary: dict[str, Any] = {
        "examples": report["n"],
        "accuracy": report["accuracy"],
        "macro_f1": report["macro_f1"],
        "in_scope_accuracy": report["in_scope_accuracy"],
        "oos_precision": oos["precision"],
        "oos_recall": oos["recall"],
    }
    for lang, sub in report["by_language"].items():
        summary[f"examples_{lang}"] = sub["n"]
        summary[f"accuracy_{lang}"] = sub["accuracy"]
        summary[f"macro_f1_{lang}"] = sub["macro_f1"]
        summary[f"oos_precision_{lang}"] = sub["out_of_scope"]["precision"]
        summary[f"oos_recall_{lang}"] = sub["out_of_scope"]["recall"]
    summary["clarify_rate"] = report["clarify_rate"]
    summary["latency_p50_ms"] = report["latency_ms"]["p50"]
    summary["latency_p95_ms"] = report["latency_ms"]["p95"]
    return summary


def confusion_plot(confusion: Mapping[str, Mapping[str, int]], title: str) -> Plot:
    """A row-normalised confusion heatmap (gold down, predicted across)."""
    import matplotlib

    matplotlib.use("Agg")
    import numpy as np
    from matplotlib.figure import Figure

    from bot.nlu import INTENT_IDS

    present = set(confusion) | {p for row in confusion.values() for p in row}
    labels = [i for i in INTENT_IDS if i in present] + sorted(present - set(INTENT_IDS))
    index = {label: n for n, label in enumerate(labels)}
    grid = np.zeros((len(labels), len(labels)))
    for gold, row in confusion.items():
        for predicted, count in row.items():
            grid[index[gold], index[predicted]] = count
    totals = grid.sum(axis=1, keepdims=True)
    shares = np.divide(grid, totals, out=np.zeros_like(grid), where=totals > 0)
    size = max(6.0, 0.36 * len(labels) + 2)
    fig = Figure(figsize=(size + 1.5, size))
    ax = fig.subplots()
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    for (i, j), cell in np.ndenumerate(grid):
        if cell and i != j:
            ax.text(j, i, str(int(cell)), ha="center", va="center", fontsize=6, color="crimson")
    fig.colorbar(image, ax=ax, fraction=0.04, label="share of the gold intent")
    ax.set_title(title)
    return Plot(title=title, figure=fig)


def build_result(report: Mapping[str, Any], *, engine: str, source: str) -> SuiteResult:
    """Summary, tables, plots and misses of an ``evaluate_intents`` report."""
    per_intent = [
        [intent, m["support"], m["precision"], m["recall"], m["f1"]]
        for intent, m in report["per_intent"].items()
    ]
    pairs: Counter[tuple[str, str]] = Counter()
    for gold, row in report["confusion"].items():
        for predicted, count in row.items():
            if gold != predicted:
                pairs[(gold, predicted)] += count
    sections = [
        Section(
            title="By language",
            text=f"Engine: {engine}. Examples: {source}.",
            columns=[
                "language",
                "n",
                "accuracy",
                "macro-F1",
                "in-scope accuracy",
                "OOS precision",
                "OOS recall",
                "OOS support",
            ],
            rows=_language_rows(report),
        ),
        Section(
            title="Per intent", columns=["intent", "support", "precision", "recall", "F1"], rows=per_intent
        ),
        Section(
            title="Most frequent confusions",
            columns=["gold", "predicted", "count"],
            rows=[[g, p, c] for (g, p), c in pairs.most_common(15)],
        ),
    ]
    plots = [confusion_plot(report["confusion"], "Intent confusion (all languages)")]
    for lang, sub in report["by_language"].items():
        plots.append(confusion_plot(sub["confusion"], f"Intent confusion ({lang})"))
    return SuiteResult(
        summary=summarize(report), sections=sections, plots=plots, failures=list(report["errors"])
    )


async def run(ctx: SuiteContext) -> SuiteResult:
    """Score the chosen engine on the chosen examples."""
    examples = load_selected(ctx)
    source = ", ".join(ctx.option("dataset", [])) or "held-apart intents_zh.yaml, intents_en.yaml"
    if ctx.engine == "llm":
        try:
            understander: Any = _Lookup(await _llm_results(ctx, examples))
        except EngineUnavailable as exc:
            return SuiteResult(summary={"examples": len(examples)}, skipped=str(exc))
    else:
        from bot.nlu import OfflineUnderstander

        artifact = Path(ctx.option("artifact", DEFAULT_ARTIFACT))
        loaded = await asyncio.to_thread(OfflineUnderstander.load, artifact)
        understander = _Counting(loaded, len(examples), ctx)
    report = await asyncio.to_thread(evaluate_intents, understander, examples, today=TODAY)
    result = build_result(report, engine=ctx.engine, source=source)
    if isinstance(understander, _Lookup):
        # The engine's own turn latency, and how many turns the LLM understood (not the fallback).
        recorded = list(understander.results.values())
        latencies = sorted(r.latency_ms for r in recorded)
        result.summary["latency_p50_ms"] = latencies[len(latencies) // 2] if latencies else 0.0
        result.summary["latency_p95_ms"] = (
            latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))] if latencies else 0.0
        )
        result.summary["llm_turn_share"] = (
            round(sum(r.engine == "llm" for r in recorded) / len(recorded), 4) if recorded else 0.0
        )
    return result
