"""``InMemoryEventBus``: the event bus for the embedded, single-process deployment."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from fnmatch import fnmatchcase

from handoff.bus.events import check_topic, decode_event, encode_event, is_pattern
from handoff.models import BusMessage, JsonDict

logger = logging.getLogger(__name__)

_CLOSED = object()


class _Subscription:
    """An async iterator over the events of one ``subscribe`` block."""

    def __init__(self, patterns: Sequence[str], max_buffer: int) -> None:
        self.patterns = tuple(patterns)
        self._queue: asyncio.Queue[BusMessage | object] = asyncio.Queue(max_buffer)
        self._dropped = 0

    def matches(self, topic: str) -> bool:
        return any(fnmatchcase(topic, p) for p in self.patterns)

    def offer(self, message: BusMessage) -> None:
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            # A stuck consumer must not stall publishers: drop the oldest, as pub/sub would.
            self._queue.get_nowait()
            self._queue.put_nowait(message)
            self._dropped += 1
            logger.warning("handoff.bus.dropped", extra={"topic": message.topic, "dropped": self._dropped})

    def end(self) -> None:
        while True:
            try:
                self._queue.put_nowait(_CLOSED)
                return
            except asyncio.QueueFull:
                self._queue.get_nowait()

    def __aiter__(self) -> _Subscription:
        return self

    async def __anext__(self) -> BusMessage:
        item = await self._queue.get()
        if item is _CLOSED:
            self._queue.put_nowait(_CLOSED)  # every later read ends too
            raise StopAsyncIteration
        assert isinstance(item, BusMessage)
        return item


class InMemoryEventBus:
    """In-process pub/sub with the same contract as ``RedisEventBus``.

    Events are JSON-encoded on publish and decoded per subscriber, so a subscriber never
    shares (or mutates) the publisher's dict and non-JSON values fail here as they would on Redis.
    """

    def __init__(self, *, max_buffer: int = 10_000) -> None:
        self._subs: set[_Subscription] = set()
        # Exact topics are indexed, so a publish costs O(subscribers of that topic), not
        # O(all subscriptions): one server holds thousands of customer sockets, each on its
        # own conversation topic. Only pattern subscriptions are scanned.
        self._by_topic: dict[str, set[_Subscription]] = {}
        self._pattern_subs: set[_Subscription] = set()
        self._max_buffer = max_buffer
        self._closed = False

    async def publish(self, topic: str, event: JsonDict) -> None:
        """Deliver ``event`` to every live subscription whose topics or patterns match ``topic``."""
        payload = encode_event(topic, event)
        if self._closed:
            return
        targets = set(self._by_topic.get(topic, ()))
        targets.update(sub for sub in self._pattern_subs if sub.matches(topic))
        for sub in targets:
            sub.offer(BusMessage(topic=topic, event=decode_event(payload)))

    @asynccontextmanager
    async def subscribe(self, topic_or_pattern: str, *more: str) -> AsyncIterator[AsyncIterator[BusMessage]]:
        """Live from entry until exit; iteration ends when the bus closes."""
        patterns = (topic_or_pattern, *more)
        for p in patterns:
            check_topic(p)
        sub = _Subscription(patterns, self._max_buffer)
        if self._closed:
            sub.end()
        self._subs.add(sub)
        exact = [p for p in patterns if not is_pattern(p)]
        for p in exact:
            self._by_topic.setdefault(p, set()).add(sub)
        if len(exact) < len(patterns):
            self._pattern_subs.add(sub)
        try:
            yield sub
        finally:
            self._subs.discard(sub)
            self._pattern_subs.discard(sub)
            for p in exact:
                subs = self._by_topic.get(p)
                if subs is not None:
                    subs.discard(sub)
                    if not subs:
                        del self._by_topic[p]

    async def close(self) -> None:
        """End every subscription; later publishes are dropped."""
        self._closed = True
        for sub in list(self._subs):
            sub.end()
