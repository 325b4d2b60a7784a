"""The LLM engine against the fake OpenAI app (in-process ASGI, real adapter, real HTTP parsing)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.cards.simulated import SimulatedCardSystem
from bot.conversations import CustomerInput, Turn
from bot.domain import Conversation, ConversationId, CustomerId
from bot.llm import CircuitBreaker, LLMEngine, OpenAICompatChatModel
from bot.nlu import IntentScore, Slots, Understanding
from bot.state import ConversationState
from bot.testing import FakeOpenAI
from bot.turn import TurnContext
from knowledge.fees import FeeSchedule, load_fee_schedule
from knowledge.models import Passage

NOW = datetime(2026, 11, 29, 4, 0, tzinfo=UTC)


@dataclass
class RecordingOutput:
    """A ``TurnOutput`` that keeps what the engine streamed."""

    deltas: list[tuple[str, str]] = field(default_factory=list)

    async def delta(self, message_id: str, text: str) -> None:
        self.deltas.append((message_id, text))

    @property
    def streamed(self) -> str:
        return "".join(text for _, text in self.deltas)


class Clock:
    """Seconds that only move when a test moves them."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def schedule() -> FeeSchedule:
    return load_fee_schedule()


@pytest.fixture
def fake() -> FakeOpenAI:
    return FakeOpenAI()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
async def model(fake: FakeOpenAI, clock: Clock, sleeps: list[float]) -> AsyncIterator[OpenAICompatChatModel]:
    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app), base_url="http://fake")
    chat = OpenAICompatChatModel(
        model="gpt-4o-mini",
        base_url="http://fake/v1",
        api_key="test-key",
        timeout_s=0.5,
        max_retries=1,
        breaker=CircuitBreaker(failures=3, reset_s=30, clock=clock),
        http_client=http,
        sleep=sleep,
    )
    yield chat
    await http.aclose()


@pytest.fixture
def engine(model: OpenAICompatChatModel, schedule: FeeSchedule) -> LLMEngine:
    return LLMEngine(model=model, schedule=schedule, confidence_threshold=0.5)


@pytest.fixture
async def cards(tmp_path: Path, schedule: FeeSchedule) -> AsyncIterator[SimulatedCardSystem]:
    system = await SimulatedCardSystem(tmp_path / "cards.db", schedule, clock=lambda: NOW).open()
    yield system
    await system.close()


MakeCtx = Callable[..., TurnContext]


@pytest.fixture
def make_ctx(cards: SimulatedCardSystem, schedule: FeeSchedule) -> MakeCtx:
    def make(
        text: str,
        *,
        customer: str = "C001",
        seq: int = 1,
        lang: str = "zh",
        intent: str | None = None,
        state: ConversationState | None = None,
    ) -> TurnContext:
        conversation = Conversation(
            id=ConversationId("c_test"), customer_id=CustomerId(customer), locale="zh-CN", created_at=NOW
        )
        turn = Turn(
            conversation=conversation,
            input=CustomerInput(seq=seq, kind="message", text=text),
            state=state or ConversationState(),
            locale="zh-CN",
        )
        ctx = TurnContext(
            turn=turn,
            out=RecordingOutput(),  # type: ignore[arg-type]  # duck-typed: the engine only calls delta()
            cards=cards,
            schedule=schedule,
            clock=lambda: NOW,
            lang=lang,
        )
        if intent is not None:
            ctx.u = understanding(text, intent)
        return ctx

    return make


def understanding(
    text: str, intent: str, *, confidence: float = 0.4, source: Any = "model", slots: Slots | None = None
) -> Understanding:
    """An offline reading, as the classifier would give it."""
    return Understanding(
        text=text,
        language="zh",
        is_mixed=False,
        intent=intent,
        confidence=confidence,
        alternatives=(IntentScore(intent=intent, score=confidence),),
        slots=slots or Slots(),
        sentiment=0.0,
        frustration=0.0,
        urgency="normal",
        signals=frozenset(),
        is_affirmative=None,
        is_confident=confidence >= 0.5,
        intent_source=source,
    )


def passage(
    text: str, *, article_id: str = "cash-advance", title: str = "取现", section: str = "费用"
) -> Passage:
    return Passage(
        id=f"{article_id}#0",
        article_id=article_id,
        locale="zh",
        title=title,
        section=section,
        title_path=f"{title} > {section}",
        text=text,
        tiers=("all",),
        intents=("cash_advance",),
        version="2026-01",
        topic="fees",
        score=1.0,
        source="hybrid",
    )
