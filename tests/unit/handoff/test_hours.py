"""Agent hours: 24/7 for lost/stolen and fraud, 08:00–22:00 China time for the rest."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfoNotFoundError

import pytest

from handoff.hours import AgentHours

HOURS = AgentHours()


def shanghai(hour: int, minute: int = 0, day: int = 2) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=HOURS.zone)


@pytest.mark.parametrize(
    ("at", "staffed"),
    [
        (shanghai(7, 59), False),
        (shanghai(8, 0), True),
        (shanghai(21, 59), True),
        (shanghai(22, 0), False),
        (shanghai(3, 0), False),
    ],
)
def test_hours_staffed_window_in_china_time(at: datetime, staffed: bool) -> None:
    assert HOURS.is_staffed(at, always_open=False) is staffed
    assert HOURS.is_staffed(at.astimezone(UTC), always_open=False) is staffed


def test_hours_always_open_topics_are_staffed_at_night() -> None:
    assert HOURS.is_staffed(shanghai(3, 0), always_open=True)


def test_hours_next_opening() -> None:
    assert HOURS.next_opening(shanghai(23, 0)) == shanghai(8, 0, day=3)
    assert HOURS.next_opening(shanghai(6, 30)) == shanghai(8, 0)
    assert HOURS.next_opening(shanghai(12, 0)) == shanghai(12, 0)
    utc_night = shanghai(23, 0).astimezone(UTC)
    assert HOURS.next_opening(utc_night).tzinfo is UTC


def test_hours_reject_bad_config() -> None:
    with pytest.raises(ValueError):
        AgentHours(start=time(22), end=time(8))
    with pytest.raises(ZoneInfoNotFoundError):
        AgentHours(timezone="Mars/Olympus")
