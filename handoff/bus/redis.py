"""``RedisEventBus``: pub/sub between server processes (customer socket on one, agent on another).

Channels are ``<prefix><topic>``. A subscription reads with a short poll so that health
checks run; when the connection drops (Redis restarted, network cut) it reconnects with
exponential backoff and subscribes again to the same topics and patterns. Pub/sub is at
most once: events published while a subscriber is reconnecting are lost, which is why
consumers reload state (queue snapshot, context) after a reconnect.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff, NoBackoff
from redis.exceptions import RedisError

from handoff.bus.events import check_topic, decode_event, encode_event, is_pattern
from handoff.errors import BusUnavailable
from handoff.models import BusMessage, JsonDict

logger = logging.getLogger(__name__)

_FAILURES = (RedisError, OSError, TimeoutError)


def _escape_glob(text: str) -> str:
    """Escape glob characters in the key prefix so a pattern subscription matches it literally."""
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


class RedisEventBus:
    """``EventBus`` over Redis pub/sub.

    Args:
        url: Redis URL.
        prefix: prepended to every channel, so deployments (and tests) sharing a server stay apart.
        timeout_s: bound on publish and on (re)subscribing.
        backoff_initial_s, backoff_max_s: reconnect backoff of subscriptions.
        poll_s: how often a waiting subscription wakes to run health checks.
        on_reconnect: called after a subscription has subscribed again following a drop.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "cardcare:",
        timeout_s: float = 5.0,
        backoff_initial_s: float = 0.05,
        backoff_max_s: float = 2.0,
        poll_s: float = 1.0,
        on_reconnect: Callable[[], None] | None = None,
    ) -> None:
        self._url = url
        self._prefix = prefix
        self._timeout_s = timeout_s
        self._backoff = (backoff_initial_s, backoff_max_s)
        self._poll_s = poll_s
        self._on_reconnect = on_reconnect
        # A pooled connection that died with the server is replaced on the next publish.
        self._redis = aioredis.Redis.from_url(
            url, decode_responses=True, retry=Retry(ExponentialWithJitterBackoff(base=0.01, cap=0.5), 2)
        )
        # Subscriptions handle their own reconnects: no hidden retries inside redis-py.
        self._sub_redis = aioredis.Redis.from_url(
            url,
            decode_responses=True,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=max(1, int(poll_s * 5)),
        )
        self._subs: set[_RedisSubscription] = set()
        self._closed = False

    async def publish(self, topic: str, event: JsonDict) -> None:
        """Publish ``event`` on ``topic``; ``BusUnavailable`` when Redis cannot be reached in time."""
        payload = encode_event(topic, event)
        try:
            async with asyncio.timeout(self._timeout_s):
                await self._redis.publish(self._prefix + topic, payload)
        except _FAILURES as exc:
            raise BusUnavailable(f"cannot publish on {topic!r}: {exc}") from exc

    @asynccontextmanager
    async def subscribe(self, topic_or_pattern: str, *more: str) -> AsyncIterator[AsyncIterator[BusMessage]]:
        """Subscribed (confirmed by Redis) on entry; iteration ends when the bus closes."""
        entries = (topic_or_pattern, *more)
        for entry in entries:
            check_topic(entry)
        sub = _RedisSubscription(self, entries)
        await sub.connect()
        self._subs.add(sub)
        try:
            yield sub
        finally:
            self._subs.discard(sub)
            await sub.aclose()

    async def close(self) -> None:
        """End every subscription and release the connections."""
        self._closed = True
        for sub in list(self._subs):
            await sub.aclose()
        await self._sub_redis.aclose()
        await self._redis.aclose()

    # Used by subscriptions.
    def _channel(self, topic: str) -> str:
        return self._prefix + topic

    def _pattern(self, pattern: str) -> str:
        return _escape_glob(self._prefix) + pattern

    def _topic(self, channel: str) -> str:
        return channel[len(self._prefix) :]


class _RedisSubscription:
    """Iterator over one subscription; owns one pub/sub connection at a time."""

    def __init__(self, bus: RedisEventBus, entries: Sequence[str]) -> None:
        self._bus = bus
        self._channels = [bus._channel(e) for e in entries if not is_pattern(e)]
        self._patterns = [bus._pattern(e) for e in entries if is_pattern(e)]
        self._pubsub: Any = None
        self._buffer: deque[BusMessage] = deque()
        self._closed = False

    async def connect(self) -> None:
        """Subscribe and wait until Redis confirmed every channel and pattern."""
        pubsub: Any = self._bus._sub_redis.pubsub()
        try:
            async with asyncio.timeout(self._bus._timeout_s):
                if self._channels:
                    await pubsub.subscribe(*self._channels)
                if self._patterns:
                    await pubsub.psubscribe(*self._patterns)
                pending = len(self._channels) + len(self._patterns)
                while pending:
                    msg = await pubsub.get_message(timeout=self._bus._timeout_s)
                    if msg is None:
                        continue
                    if msg["type"] in ("subscribe", "psubscribe"):
                        pending -= 1
                    else:
                        self._keep(msg)
        except BaseException as exc:
            await pubsub.aclose()
            if isinstance(exc, _FAILURES):
                raise BusUnavailable(f"cannot subscribe: {exc}") from exc
            raise
        self._pubsub = pubsub

    def _keep(self, msg: dict[str, Any]) -> None:
        if msg["type"] not in ("message", "pmessage"):
            return
        try:
            event = decode_event(msg["data"])
        except ValueError:
            logger.warning("handoff.bus.bad_payload", extra={"channel": msg.get("channel")})
            return
        self._buffer.append(BusMessage(topic=self._bus._topic(msg["channel"]), event=event))

    async def _reconnect(self) -> None:
        delay, ceiling = self._bus._backoff
        attempt = 0
        while not self._closed:
            attempt += 1
            try:
                await self.connect()
            except BusUnavailable:
                logger.warning("handoff.bus.reconnect_failed", extra={"attempt": attempt, "delay_s": delay})
                await asyncio.sleep(delay)
                delay = min(delay * 2, ceiling)
                continue
            logger.info("handoff.bus.reconnected", extra={"attempt": attempt})
            if self._bus._on_reconnect is not None:
                self._bus._on_reconnect()
            return

    def __aiter__(self) -> _RedisSubscription:
        return self

    async def __anext__(self) -> BusMessage:
        while not self._buffer:
            if self._closed or self._bus._closed:
                raise StopAsyncIteration
            if self._pubsub is None:
                await self._reconnect()
                continue
            try:
                msg = await self._pubsub.get_message(timeout=self._bus._poll_s)
            except _FAILURES as exc:
                logger.warning("handoff.bus.connection_lost", extra={"error": type(exc).__name__})
                await self._drop_connection()
                continue
            if msg is not None:
                self._keep(msg)
        return self._buffer.popleft()

    async def _drop_connection(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            try:
                await pubsub.aclose()
            except _FAILURES:
                logger.debug("handoff.bus.close_failed")

    async def aclose(self) -> None:
        self._closed = True
        await self._drop_connection()
