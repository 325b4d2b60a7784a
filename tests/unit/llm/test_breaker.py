"""The circuit breaker's state machine, on a clock the tests move."""

from __future__ import annotations

import pytest

from bot.llm import CircuitBreaker
from tests.unit.llm.conftest import Clock


def state(b: CircuitBreaker) -> str:
    return b.state


def breaker(clock: Clock, failures: int = 3, reset_s: float = 30) -> CircuitBreaker:
    return CircuitBreaker(failures=failures, reset_s=reset_s, clock=clock)


def test_breaker_opens_after_consecutive_failures_and_refuses_calls(clock: Clock) -> None:
    b = breaker(clock)
    for _ in range(2):
        assert b.allow()
        b.failure()
    assert state(b) == "closed"
    assert b.allow()
    b.failure()
    assert state(b) == "open"
    assert not b.allow()


def test_breaker_success_resets_the_count_of_consecutive_failures(clock: Clock) -> None:
    b = breaker(clock)
    b.failure()
    b.failure()
    b.success()
    b.failure()
    b.failure()
    assert state(b) == "closed" and b.consecutive_failures == 2


def test_breaker_lets_exactly_one_probe_through_after_the_reset_time(clock: Clock) -> None:
    b = breaker(clock, failures=1, reset_s=30)
    b.failure()
    clock.advance(29.9)
    assert state(b) == "open" and not b.allow()
    clock.advance(0.1)
    assert state(b) == "half_open"
    assert b.allow()
    assert not b.allow(), "a second caller must wait for the probe"


def test_breaker_closes_when_the_probe_succeeds(clock: Clock) -> None:
    b = breaker(clock, failures=1)
    b.failure()
    clock.advance(30)
    assert b.allow()
    b.success()
    assert state(b) == "closed" and b.allow() and b.allow()


def test_breaker_reopens_for_a_full_reset_time_when_the_probe_fails(clock: Clock) -> None:
    b = breaker(clock, failures=1)
    b.failure()
    clock.advance(45)
    assert b.allow()
    b.failure()
    assert state(b) == "open"
    clock.advance(29)
    assert not b.allow()
    clock.advance(1)
    assert b.allow()


def test_breaker_release_lets_another_probe_go_when_the_first_was_cancelled(clock: Clock) -> None:
    b = breaker(clock, failures=1)
    b.failure()
    clock.advance(30)
    assert b.allow()
    b.release()
    assert b.allow()


@pytest.mark.parametrize(("failures", "reset_s"), [(0, 1.0), (1, -1.0)])
def test_breaker_rejects_nonsense_settings(failures: int, reset_s: float) -> None:
    with pytest.raises(ValueError):
        CircuitBreaker(failures=failures, reset_s=reset_s)
