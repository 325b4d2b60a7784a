"""An unsure intent: answer from the knowledge base when one article clearly stands out, else ask."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.cards.simulated import SimulatedCardSystem
from bot.conversations import CustomerInput, Turn
from bot.domain import Conversation, ConversationId, CustomerId
from bot.engine import ChatEngine, EngineParts
from bot.nlu import IntentScore, Slots, Understanding
from bot.state import ConversationState
from bot.turn import TurnContext
from knowledge.fees import FeeSchedule, load_fee_schedule
from knowledge.models import Passage

NOW = datetime(2026, 11, 29, 4, 0, tzinfo=UTC)
QUESTION = "Do I have to pay the disputed amount on my bill while the case is open?"


class ScriptedRetriever:
    """Returns fixed article scores; ``per_article`` passages from each, as the real retriever does."""

    def __init__(self, articles: list[tuple[str, float, tuple[str, ...]]]) -> None:
        self.articles = articles

    async def retrieve(self, query: str, *, locale: str, per_article: int = 1, **_: Any) -> list[Passage]:
        out = []
        for article_id, score, intents in self.articles:
            for i in range(per_article):
                out.append(Passage(
                    id=f"{article_id}:{locale}:{i}", article_id=article_id, locale="en", title=article_id,
                    section=f"Part {i}", title_path=f"{article_id} > Part {i}",
                    text=f"While a dispute about a charge is open, part {i} of the answer applies.",
                    tiers=("all",), intents=intents, version="2026-01", topic="disputes",
                    score=score, source="hybrid",
                ))
        return out


def unsure(text: str) -> Understanding:
    return Understanding(
        text=text, language="en", is_mixed=False, intent="billing.statement", confidence=0.49,
        alternatives=(IntentScore(intent="billing.statement", score=0.49),
                      IntentScore(intent="fraud.dispute", score=0.42)),
        slots=Slots(), sentiment=0.0, frustration=0.0, urgency="normal", signals=frozenset(),
        is_affirmative=None, is_confident=False, intent_source="model",
    )


@pytest.fixture
def schedule() -> FeeSchedule:
    return load_fee_schedule()


@pytest.fixture
async def cards(tmp_path: Path, schedule: FeeSchedule) -> AsyncIterator[SimulatedCardSystem]:
    system = await SimulatedCardSystem(tmp_path / "cards.db", schedule, clock=lambda: NOW).open()
    yield system
    await system.close()


def engine_and_ctx(
    retriever: ScriptedRetriever, cards: SimulatedCardSystem, schedule: FeeSchedule
) -> tuple[ChatEngine, TurnContext]:
    engine = ChatEngine(EngineParts(understander=None, cards=cards, schedule=schedule,  # type: ignore[arg-type]
                                    store=None, retriever=retriever, clock=lambda: NOW))
    conversation = Conversation(id=ConversationId("c_test"), customer_id=CustomerId("C004"), locale="en-US",
                                created_at=NOW)
    turn = Turn(conversation=conversation, input=CustomerInput(seq=1, kind="message", text=QUESTION),
                state=ConversationState(), locale="en-US")
    ctx = TurnContext(turn=turn, out=None, cards=cards, schedule=schedule,  # type: ignore[arg-type]
                      clock=lambda: NOW, lang="en")
    ctx.u = unsure(QUESTION)
    return engine, ctx


async def test_a_clearly_best_article_with_many_passages_is_answered_not_asked_about(
    cards: SimulatedCardSystem, schedule: FeeSchedule
) -> None:
    # The best article has four passages, all at its score; the next article is well behind.
    retriever = ScriptedRetriever([("merchant-disputes", 1.32, ("fraud.dispute",)),
                                   ("payment-channels", 1.06, ("payment.how_to_pay",))])
    engine, ctx = engine_and_ctx(retriever, cards, schedule)
    draft = await engine._clarify_or_answer(ctx, QUESTION)
    assert draft.handled == "knowledge"
    assert [c["article_id"] for c in draft.citations][:1] == ["merchant-disputes"]


async def test_two_close_articles_still_get_the_question_back(
    cards: SimulatedCardSystem, schedule: FeeSchedule
) -> None:
    retriever = ScriptedRetriever([("merchant-disputes", 1.32, ("fraud.dispute",)),
                                   ("billing-cycle", 1.25, ("billing.statement",))])
    engine, ctx = engine_and_ctx(retriever, cards, schedule)
    draft = await engine._clarify_or_answer(ctx, QUESTION)
    assert draft.handled == "clarify"
    assert draft.cards and draft.cards[0]["type"] == "choices"
