"""Per-turn context the engine, the answers and the flows share."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from bot.cards.models import Card, Customer
from bot.cards.port import CardSystem
from bot.conversations import Turn, TurnOutput
from bot.errors import CardSystemError
from knowledge.fees import FeeSchedule

if TYPE_CHECKING:
    from bot.nlu.models import Understanding


@dataclass(slots=True, kw_only=True)
class TurnContext:
    """One turn: the input, its understanding, the customer, and the parts to act with."""

    turn: Turn
    out: TurnOutput
    cards: CardSystem
    schedule: FeeSchedule
    clock: Callable[[], datetime]
    lang: str
    u: Understanding | None = None
    _customer: Customer | None = None
    _card: Card | None = None
    records: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def customer_id(self) -> str:
        return str(self.turn.conversation.customer_id)

    @property
    def conversation_id(self) -> str:
        return str(self.turn.conversation.id)

    @property
    def state(self) -> Any:
        return self.turn.state

    @property
    def seq(self) -> int:
        return self.turn.input.seq

    def today(self) -> date:
        return self.cards.today()

    def key(self, what: str) -> str:
        """An idempotency key for a side effect of this turn (stable across retries)."""
        return f"{self.conversation_id}:{self.seq}:{what}"

    async def customer(self) -> Customer:
        if self._customer is None:
            self._customer = await self.cards.customer(self.customer_id)
        return self._customer

    async def card(self) -> Card:
        """The customer's current card: the newest one that is not closed."""
        if self._card is None:
            cards = await self.cards.cards(self.customer_id)
            live = [c for c in cards if c.status != "closed"] or cards
            if not live:
                raise CardSystemError("no_card", "no card on file")
            self._card = live[-1]
        return self._card

    def forget_card(self) -> None:
        self._card = None

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        """Adds the block's wall time to ``stage`` (ms) in the turn record: where a slow turn spent it."""
        started = time.perf_counter()
        try:
            yield
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            self.timings[stage] = round(self.timings.get(stage, 0.0) + elapsed, 2)

    def record(self, kind: str, **data: Any) -> None:
        """An analytics record, written with the turn."""
        self.records.append((kind, data))

    def pick(self, zh: str, en: str) -> str:
        return zh if self.lang == "zh" else en
