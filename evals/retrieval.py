"""Retrieval evaluation: recall@1/3/5, MRR, nDCG@5 and latency of a ``knowledge.Retriever``."""

from __future__ import annotations

import math
import statistics
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from knowledge import Retriever

DATASETS = Path(__file__).parent / "datasets"
QUESTION_FILES = {"zh": DATASETS / "retrieval_zh.yaml", "en": DATASETS / "retrieval_en.yaml"}
QuestionKind = Literal["formal", "colloquial", "typo", "no_overlap", "cross_language"]


class _QuestionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    q: str = Field(min_length=1)
    article: str = Field(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
    kind: QuestionKind
    tier: Literal["classic", "gold", "platinum", "diamond"] | None = None
    history: list[str] = Field(default_factory=list)
    split: Literal["tune", "holdout"] = "tune"


class _QuestionFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    locale: Literal["zh", "en"]
    questions: list[_QuestionIn] = Field(min_length=1)


@dataclass(frozen=True, slots=True, kw_only=True)
class RetrievalQuestion:
    """One labelled question: asked in ``locale`` (the customer's UI language), answered by ``article``."""

    q: str
    article: str
    kind: QuestionKind
    locale: Literal["zh", "en"]
    tier: str | None = None
    history: tuple[str, ...] = ()
    split: Literal["tune", "holdout"] = "tune"  # holdout: written after the weights were fixed


def load_questions(path: Path) -> list[RetrievalQuestion]:
    """Read and validate a question set file (``retrieval_zh.yaml`` / ``retrieval_en.yaml``)."""
    data = _QuestionFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    return [
        RetrievalQuestion(
            q=item.q,
            article=item.article,
            kind=item.kind,
            locale=data.locale,
            tier=item.tier,
            history=tuple(item.history),
            split=item.split,
        )
        for item in data.questions
    ]


def load_all_questions() -> list[RetrievalQuestion]:
    """Both shipped question sets."""
    return [q for path in QUESTION_FILES.values() for q in load_questions(path)]


@dataclass(slots=True)
class _Tally:
    n: int = 0
    r1: int = 0
    r3: int = 0
    r5: int = 0
    rr: float = 0.0
    ndcg: float = 0.0

    def add(self, rank: int | None) -> None:
        self.n += 1
        if rank is None:
            return
        self.r1 += rank <= 1
        self.r3 += rank <= 3
        self.r5 += rank <= 5
        self.rr += 1.0 / rank
        self.ndcg += 1.0 / math.log2(rank + 1) if rank <= 5 else 0.0

    def summary(self) -> dict[str, float | int]:
        n = self.n or 1
        return {
            "n": self.n,
            "recall@1": round(self.r1 / n, 4),
            "recall@3": round(self.r3 / n, 4),
            "recall@5": round(self.r5 / n, 4),
            "mrr": round(self.rr / n, 4),
            "ndcg@5": round(self.ndcg / n, 4),
        }


async def evaluate_retrieval(
    retriever: Retriever, questions: Sequence[RetrievalQuestion], *, k: int = 5, max_failures: int = 50
) -> dict[str, Any]:
    """Ask every question in turn and score the ranked article ids against the labelled article.

    Returns overall figures plus breakdowns by locale, kind, split ("tune" questions were
    used to choose the ranking weights, "holdout" ones were not) and topic (article id),
    the latency percentiles of ``retrieve`` in milliseconds, and the first misses at rank 1.
    """
    overall = _Tally()
    groups: dict[str, dict[str, _Tally]] = {
        "locale": defaultdict(_Tally),
        "kind": defaultdict(_Tally),
        "split": defaultdict(_Tally),
    }
    topics: dict[str, _Tally] = defaultdict(_Tally)
    latencies: list[float] = []
    failures: list[dict[str, Any]] = []
    for question in questions:
        started = time.perf_counter()
        passages = await retriever.retrieve(
            question.q, locale=question.locale, tier=question.tier, k=k, history=question.history
        )
        latencies.append((time.perf_counter() - started) * 1000)
        ranked = list(dict.fromkeys(p.article_id for p in passages))[:k]
        rank = ranked.index(question.article) + 1 if question.article in ranked else None
        for tally in (
            overall,
            groups["locale"][question.locale],
            groups["kind"][question.kind],
            groups["split"][f"{question.split}/{question.locale}"],
            topics[question.article],
        ):
            tally.add(rank)
        if rank != 1 and len(failures) < max_failures:
            failures.append(
                {
                    "q": question.q,
                    "locale": question.locale,
                    "expected": question.article,
                    "rank": rank,
                    "got": ranked[:3],
                }
            )
    return {
        "k": k,
        "overall": overall.summary(),
        "by_locale": {key: t.summary() for key, t in sorted(groups["locale"].items())},
        "by_kind": {key: t.summary() for key, t in sorted(groups["kind"].items())},
        "by_split": {key: t.summary() for key, t in sorted(groups["split"].items())},
        "by_topic": {key: t.summary() for key, t in sorted(topics.items())},
        "latency_ms": latency_summary(latencies),
        "failures": failures,
    }


def latency_summary(samples_ms: Iterable[float]) -> dict[str, float]:
    """p50, p95, max and mean of latency samples in milliseconds."""
    values = sorted(samples_ms)
    if not values:
        return {"p50": 0.0, "p95": 0.0, "max": 0.0, "mean": 0.0}
    p95_index = max(0, math.ceil(0.95 * len(values)) - 1)
    return {
        "p50": round(statistics.median(values), 2),
        "p95": round(values[p95_index], 2),
        "max": round(values[-1], 2),
        "mean": round(statistics.fmean(values), 2),
    }
