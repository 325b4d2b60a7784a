"""Streaming a reply sentence by sentence, only as far as it is safe to show.

The model's text arrives in small pieces. A sentence goes to the customer as a ``delta``
only once it is complete and the reply so far (everything streamed plus this sentence)
passes the same checks the output guard runs on the final reply: compliance rules, numeric
grounding against this turn's sources, and no trace of the system prompt. The first
sentence that fails stops the stream for good; the rest is only collected, and the final
``message`` (after the guard rewrote, regenerated or replaced it) takes the place of the
deltas in the widget.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

_BOUNDARY = re.compile(r"[。！？；!?;]+[”’」』）)]*|\.(?=\s)|\n+")

Emit = Callable[[str], Awaitable[None]]
Accept = Callable[[str], bool]


class SentenceGate:
    """Collects streamed text; emits each completed sentence while ``accept(prefix)`` holds."""

    def __init__(self, *, emit: Emit, accept: Accept) -> None:
        self._emit = emit
        self.accept = accept
        self._text = ""
        self._cut = 0  # how much of ``_text`` was judged (emitted, or the point the stream stopped)
        self._sent = ""
        self.stopped = False

    @property
    def text(self) -> str:
        """Everything the model said so far."""
        return self._text

    @property
    def sent(self) -> str:
        """What went out as deltas."""
        return self._sent

    @property
    def has_sent(self) -> bool:
        return bool(self._sent)

    async def feed(self, piece: str) -> None:
        """Take one streamed piece; emit the sentences it completes, if they pass."""
        self._text += piece
        if self.stopped:
            return
        end = self._last_boundary()
        if end <= self._cut:
            return
        chunk = self._text[self._cut : end]
        if not chunk.strip():
            self._cut = end
            return
        if not self.accept(self._text[:end]):
            self.stopped = True
            return
        self._cut = end
        self._sent += chunk
        await self._emit(chunk)

    def stop(self) -> None:
        """Emit nothing more (the reply is being abandoned)."""
        self.stopped = True

    def _last_boundary(self) -> int:
        end = 0
        for found in _BOUNDARY.finditer(self._text, self._cut):
            end = found.end()
        return end
