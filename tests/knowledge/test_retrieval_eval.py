"""The retrieval question sets and their scorer (evals.retrieval)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pydantic
import pytest

from evals.retrieval import QUESTION_FILES, RetrievalQuestion, evaluate_retrieval, load_questions
from knowledge import Passage
from knowledge.articles import load_articles


class ScriptedRetriever:
    """Answers each question with a fixed ranking of article ids."""

    def __init__(self, answers: dict[str, Sequence[str]]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, str, str | None, tuple[str, ...]]] = []

    async def retrieve(
        self, query: str, *, locale: str, tier: str | None = None, k: int = 5, history: Sequence[str] = ()
    ) -> list[Passage]:
        self.calls.append((query, locale, tier, tuple(history)))
        return [
            Passage(
                id=f"{aid}:{locale}:0",
                article_id=aid,
                locale=locale,  # type: ignore[arg-type]
                title=aid,
                section="",
                title_path=aid,
                text="",
                tiers=("all",),
                intents=(),
                version="1",
                topic="billing",
                score=1.0,
                source="hybrid",
            )
            for aid in self.answers[query][:k]
        ]


def question(q: str, article: str, locale: str = "zh", **extra: object) -> RetrievalQuestion:
    return RetrievalQuestion(q=q, article=article, kind="formal", locale=locale, **extra)  # type: ignore[arg-type]


async def test_evaluation_scores_recall_mrr_and_ndcg() -> None:
    retriever = ScriptedRetriever(
        {
            "first": ["a", "b", "c"],
            "second": ["b", "a", "c"],
            "fourth": ["x", "y", "z", "a", "b"],
            "missing": ["x", "y", "z"],
        }
    )
    questions = [question(q, "a") for q in ("first", "second", "fourth")] + [
        question("missing", "a", locale="en")
    ]
    result = await evaluate_retrieval(retriever, questions)
    overall = result["overall"]
    assert overall["n"] == 4
    assert (overall["recall@1"], overall["recall@3"], overall["recall@5"]) == (0.25, 0.5, 0.75)
    assert overall["mrr"] == pytest.approx((1 + 1 / 2 + 1 / 4) / 4, abs=1e-4)
    assert overall["ndcg@5"] == pytest.approx((1 + 1 / math.log2(3) + 1 / math.log2(5)) / 4, abs=1e-4)
    assert result["by_locale"]["en"]["recall@5"] == 0.0
    assert result["by_topic"]["a"]["n"] == 4
    assert result["by_split"]["tune/zh"]["n"] == 3
    assert [f["q"] for f in result["failures"]] == ["second", "fourth", "missing"]
    assert set(result["latency_ms"]) == {"p50", "p95", "max", "mean"}


async def test_evaluation_passes_locale_tier_and_history_to_the_retriever() -> None:
    retriever = ScriptedRetriever({"那白金卡呢": ["tier-platinum-benefits"]})
    await evaluate_retrieval(
        retriever, [question("那白金卡呢", "tier-platinum-benefits", tier="gold", history=("金卡权益",))]
    )
    assert retriever.calls == [("那白金卡呢", "zh", "gold", ("金卡权益",))]


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_question_sets_cover_every_article_with_every_kind_of_question(locale: str) -> None:
    questions = load_questions(QUESTION_FILES[locale])
    assert all(q.locale == locale for q in questions)
    assert len([q for q in questions if q.split == "tune"]) >= 150
    assert len([q for q in questions if q.split == "holdout"]) >= 40
    kinds = Counter(q.kind for q in questions)
    assert set(kinds) == {"formal", "colloquial", "typo", "no_overlap", "cross_language"}
    assert min(kinds.values()) >= 15
    article_ids = {a.id for a in load_articles() if a.locale == locale}
    asked = {q.article for q in questions}
    assert asked <= article_ids, asked - article_ids
    assert len(asked) >= 47
    assert len({q.q for q in questions}) == len(questions), "a question is listed twice"


def test_load_questions_rejects_unknown_fields_and_kinds(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("locale: zh\nquestions:\n  - {q: 年费, article: annual-fee-and-waivers, kind: slang}\n")
    with pytest.raises(pydantic.ValidationError, match="kind"):
        load_questions(path)
