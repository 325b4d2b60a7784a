"""``RedisEventBus``: pub/sub between server processes (customer socket on one, agent on another).

Channels are ``<prefix><topic>``. A subscription reads with a short poll so that health
checks run; when the connection drops (Redis restarted, network cut) it reconnects with
exponential backoff and subscribes again to the same topics and patterns. Pub/sub is at
most once: events published while a subscriber is reconnecting are lost, which is why
consumers reload state (queue snapshot, context) after a reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from fnmatch import fnmatchcase
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
_MAX_BUFFER = 10_000


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
        self._closed = False
        self._mux = _Multiplexer(self)

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
        """Subscribed (confirmed by Redis) on entry; iteration ends when the bus closes.

        Every subscription of this process shares ONE pub/sub connection: a server holding
        thousands of customer sockets (one topic each) needs one Redis connection for them,
        not thousands.
        """
        entries = (topic_or_pattern, *more)
        for entry in entries:
            check_topic(entry)
        if self._closed:
            raise BusUnavailable("the bus is closed")
        sub = _Subscription(
            exact=frozenset(self._channel(e) for e in entries if not is_pattern(e)),
            patterns=tuple(self._pattern(e) for e in entries if is_pattern(e)),
            bus=self,
        )
        await self._mux.add(sub)
        try:
            yield sub
        finally:
            await self._mux.remove(sub)

    async def close(self) -> None:
        """End every subscription and release the connections."""
        self._closed = True
        await self._mux.close()
        await self._sub_redis.aclose()
        await self._redis.aclose()

    # Used by subscriptions.
    def _channel(self, topic: str) -> str:
        return self._prefix + topic

    def _pattern(self, pattern: str) -> str:
        return _escape_glob(self._prefix) + pattern

    def _topic(self, channel: str) -> str:
        return channel[len(self._prefix) :]


_END = object()


class _Subscription:
    """One ``subscribe`` block's queue of events (fed by the shared connection's reader)."""

    def __init__(self, *, exact: frozenset[str], patterns: tuple[str, ...], bus: RedisEventBus) -> None:
        self.exact = exact
        self.patterns = patterns
        self._bus = bus
        self._queue: asyncio.Queue[BusMessage | object] = asyncio.Queue(maxsize=_MAX_BUFFER)
        self._ended = False

    def wants(self, kind: str, channel: str, pattern: str | None) -> bool:
        if kind == "message":
            return channel in self.exact
        if channel in self.exact or pattern not in self.patterns:
            return False  # the exact subscription delivers it already
        # Of this subscription's patterns, only the first that matches delivers (no duplicates).
        first = next((p for p in self.patterns if fnmatchcase(channel, p.replace("\\", ""))), pattern)
        return first == pattern

    def offer(self, message: BusMessage) -> None:
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            self._queue.get_nowait()  # a stuck consumer must not stall everyone: drop the oldest
            self._queue.put_nowait(message)
            logger.warning("handoff.bus.dropped", extra={"topic": message.topic})

    def end(self) -> None:
        if not self._ended:
            self._ended = True
            try:
                self._queue.put_nowait(_END)
            except asyncio.QueueFull:
                self._queue.get_nowait()
                self._queue.put_nowait(_END)

    def __aiter__(self) -> _Subscription:
        return self

    async def __anext__(self) -> BusMessage:
        item = await self._queue.get()
        if item is _END:
            self._queue.put_nowait(_END)
            raise StopAsyncIteration
        assert isinstance(item, BusMessage)
        return item


class _Multiplexer:
    """The one pub/sub connection of a bus: reference-counted channels and patterns, a reader
    task that dispatches to local subscriptions, and reconnects that subscribe everything again."""

    def __init__(self, bus: RedisEventBus) -> None:
        self._bus = bus
        self._subs: set[_Subscription] = set()
        self._counts: dict[tuple[str, str], int] = {}  # ("channel"|"pattern", name) -> subscriptions
        self._confirmed: dict[tuple[str, str], asyncio.Event] = {}
        self._pubsub: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._write = asyncio.Lock()
        self._connected = asyncio.Event()

    async def add(self, sub: _Subscription) -> None:
        new = []
        for key in [("channel", c) for c in sub.exact] + [("pattern", p) for p in sub.patterns]:
            self._counts[key] = self._counts.get(key, 0) + 1
            if self._counts[key] == 1:
                new.append(key)
                self._confirmed[key] = asyncio.Event()
        self._subs.add(sub)
        try:
            self._start()
            if new:
                async with asyncio.timeout(self._bus._timeout_s):
                    await self._connected.wait()
                    await self._send("subscribe", new)
                    for key in new:
                        await self._confirmed[key].wait()
            else:
                async with asyncio.timeout(self._bus._timeout_s):
                    for key in [("channel", c) for c in sub.exact] + [("pattern", p) for p in sub.patterns]:
                        await self._confirmed[key].wait()
        except (TimeoutError, *_FAILURES) as exc:
            await self.remove(sub)
            raise BusUnavailable(f"cannot subscribe: {exc or 'timed out'}") from exc

    async def remove(self, sub: _Subscription) -> None:
        if sub not in self._subs:
            return
        self._subs.discard(sub)
        gone = []
        for key in [("channel", c) for c in sub.exact] + [("pattern", p) for p in sub.patterns]:
            self._counts[key] -= 1
            if self._counts[key] == 0:
                del self._counts[key]
                self._confirmed.pop(key, None)
                gone.append(key)
        if gone and self._pubsub is not None:
            try:
                await self._send("unsubscribe", gone)
            except _FAILURES:
                logger.debug("handoff.bus.unsubscribe_failed")

    async def _send(self, verb: str, keys: list[tuple[str, str]]) -> None:
        pubsub = self._pubsub
        if pubsub is None:
            return  # the reconnect subscribes everything counted
        channels = [name for kind, name in keys if kind == "channel"]
        patterns = [name for kind, name in keys if kind == "pattern"]
        # Bounded like every other Redis call: a wedged connection must not hold up a socket's
        # teardown (unsubscribe) forever; the reader's reconnect repairs the subscriptions.
        async with asyncio.timeout(self._bus._timeout_s), self._write:
            if verb == "subscribe":
                if channels:
                    await pubsub.subscribe(*channels)
                if patterns:
                    await pubsub.psubscribe(*patterns)
            else:
                if channels:
                    await pubsub.unsubscribe(*channels)
                if patterns:
                    await pubsub.punsubscribe(*patterns)

    def _start(self) -> None:
        if self._reader is None or self._reader.done():
            self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _connect(self) -> None:
        pubsub = self._bus._sub_redis.pubsub()
        try:
            async with asyncio.timeout(self._bus._timeout_s):
                await pubsub.ping()  # opens the connection
        except BaseException:
            await pubsub.aclose()
            raise
        self._pubsub = pubsub
        for event in self._confirmed.values():
            event.clear()
        await self._send("subscribe", list(self._counts))
        self._connected.set()

    async def _read(self) -> None:
        delay, ceiling = self._bus._backoff
        first = True
        while not self._bus._closed:
            if self._pubsub is None:
                try:
                    await self._connect()
                except (TimeoutError, *_FAILURES):
                    logger.warning("handoff.bus.reconnect_failed", extra={"delay_s": delay})
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, ceiling)
                    continue
                delay = self._bus._backoff[0]
                if not first:
                    logger.info("handoff.bus.reconnected")
                    if self._bus._on_reconnect is not None:
                        self._bus._on_reconnect()
                first = False
            try:
                msg = await self._pubsub.get_message(timeout=self._bus._poll_s)
            except _FAILURES as exc:
                logger.warning("handoff.bus.connection_lost", extra={"error": type(exc).__name__})
                await self._drop()
                continue
            if msg is not None:
                self._dispatch(msg)

    def _dispatch(self, msg: dict[str, Any]) -> None:
        kind = msg["type"]
        if kind in ("subscribe", "psubscribe"):
            key = ("channel" if kind == "subscribe" else "pattern", msg["channel"])
            event = self._confirmed.get(key)
            if event is not None:
                event.set()
            return
        if kind not in ("message", "pmessage"):
            return
        try:
            event_doc = decode_event(msg["data"])
        except ValueError:
            logger.warning("handoff.bus.bad_payload", extra={"channel": msg.get("channel")})
            return
        channel = msg["channel"]
        topic = self._bus._topic(channel)
        first = True
        for sub in list(self._subs):
            if sub.wants(kind, channel, msg.get("pattern")):
                # Each subscriber gets its own copy (decoded again), as on the in-process bus.
                sub.offer(BusMessage(topic=topic, event=event_doc if first else decode_event(msg["data"])))
                first = False

    async def _drop(self) -> None:
        self._connected.clear()
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            try:
                await pubsub.aclose()
            except _FAILURES:
                logger.debug("handoff.bus.close_failed")

    async def close(self) -> None:
        for sub in list(self._subs):
            sub.end()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self._drop()
