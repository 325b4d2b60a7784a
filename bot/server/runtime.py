"""The running service's parts, built once in the lifespan and shared by the handlers."""

from __future__ import annotations

import time
import unicodedata
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from bot.auth import TokenService
from bot.cards.port import CardSystem
from bot.conversations import ConversationService
from bot.domain import JsonDict
from bot.errors import BadInput
from bot.ports import ConversationStore
from bot.server.settings import BotSettings


class ConnectionLimiter:
    """At most ``limit`` concurrent sockets per customer on this process."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: dict[str, int] = {}

    def acquire(self, key: str) -> bool:
        if self._open.get(key, 0) >= self.limit:
            return False
        self._open[key] = self._open.get(key, 0) + 1
        return True

    def release(self, key: str) -> None:
        left = self._open.get(key, 0) - 1
        if left <= 0:
            self._open.pop(key, None)
        else:
            self._open[key] = left


class SlidingWindowLimiter:
    """At most ``limit`` events per ``window_s`` per key (per customer, per IP)."""

    def __init__(self, limit: int, window_s: float = 60.0, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window_s = window_s
        self.max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        hits = self._hits.get(key)
        if hits is None:
            if len(self._hits) >= self.max_keys:
                self._hits.clear()  # bounded memory under a key flood
            hits = self._hits[key] = deque()
        while hits and now - hits[0] > self.window_s:
            hits.popleft()
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        return True


_ALLOWED_CONTROLS = {"\n", "\t", "\r"}


@dataclass(kw_only=True)
class Runtime:
    """Everything a request handler may need."""

    settings: BotSettings
    tokens: TokenService
    store: ConversationStore
    bus: Any
    cards: CardSystem
    conversations: ConversationService
    connections: ConnectionLimiter
    customer_limits: SlidingWindowLimiter
    ip_limits: SlidingWindowLimiter
    extras: dict[str, Any] = field(default_factory=dict)

    def check_text(self, text: str) -> str:
        """Validate a customer message: not empty, not too long, no invalid characters."""
        if len(text) > self.settings.max_text_chars:
            raise BadInput(
                "text_too_long", f"messages are limited to {self.settings.max_text_chars} characters ({len(text)} sent)"
            )
        for ch in text:
            if "\ud800" <= ch <= "\udfff":
                raise BadInput("invalid_text", "the message contains invalid characters")
            if unicodedata.category(ch) == "Cc" and ch not in _ALLOWED_CONTROLS:
                raise BadInput("invalid_text", "the message contains control characters")
        if not text.strip():
            raise BadInput("empty_text", "the message is empty")
        return text

    def check_action_values(self, values: JsonDict) -> JsonDict:
        if len(values) > 20:
            raise BadInput("bad_frame", "an action carries at most 20 values")
        for key, value in values.items():
            if isinstance(value, str):
                self.check_text(value) if value.strip() else None
                if len(value) > 500:
                    raise BadInput("bad_frame", f"action value {key!r} is too long")
        return values
