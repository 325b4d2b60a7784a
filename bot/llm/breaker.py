"""A circuit breaker for the LLM endpoint.

closed → (``failures`` consecutive failed calls) → open → (``reset_s`` later) → half-open:
one probe call goes through; its success closes the breaker, its failure opens it again
for another ``reset_s``. While open (and while the probe is out) calls are refused at
once, so a turn falls back to the offline engine instead of waiting for a dead endpoint.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Literal

logger = logging.getLogger(__name__)

BreakerState = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    """Counts consecutive failures; ``clock`` returns seconds (monotonic in production)."""

    def __init__(
        self, *, failures: int, reset_s: float, clock: Callable[[], float] = time.monotonic, name: str = "llm"
    ) -> None:
        if failures < 1:
            raise ValueError(f"failures must be at least 1, got {failures!r}")
        if reset_s < 0:
            raise ValueError(f"reset_s must not be negative, got {reset_s!r}")
        self._threshold = failures
        self._reset_s = reset_s
        self._clock = clock
        self._name = name
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> BreakerState:
        """The state now (an open breaker past its reset time reads as half-open)."""
        if self._opened_at is None:
            return "closed"
        if self._probing or self._clock() - self._opened_at >= self._reset_s:
            return "half_open"
        return "open"

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    def allow(self) -> bool:
        """Whether a call may go out now; in half-open state only the first caller (the probe) may."""
        match self.state:
            case "closed":
                return True
            case "open":
                return False
            case "half_open":
                if self._probing:
                    return False
                self._probing = True
                logger.info("llm.breaker.probe", extra={"breaker": self._name})
                return True

    def success(self) -> None:
        """The call went through: close."""
        if self._opened_at is not None:
            logger.info("llm.breaker.closed", extra={"breaker": self._name})
        self._failures = 0
        self._opened_at = None
        self._probing = False

    def failure(self) -> None:
        """The call failed: count it; open at the threshold, or again after a failed probe."""
        self._failures += 1
        if self._probing or (self._opened_at is None and self._failures >= self._threshold):
            self._opened_at = self._clock()
            self._probing = False
            logger.warning(
                "llm.breaker.opened",
                extra={"breaker": self._name, "failures": self._failures, "reset_s": self._reset_s},
            )

    def release(self) -> None:
        """A call that was allowed ended without a verdict (cancelled): let another probe go."""
        self._probing = False
