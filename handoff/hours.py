"""Agent hours: when people answer chats.

Lost or stolen cards and fraud are staffed around the clock; everything else from 08:00 to
22:00 China time (the bank's figures, passed in as config). Outside hours a non-urgent
handoff becomes an offline ticket: the customer leaves a message and agents see it when
they come on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentHours:
    """Daily staffed window in the service's time zone (``start`` <= t < ``end``)."""

    timezone: str = "Asia/Shanghai"
    start: time = time(8, 0)
    end: time = time(22, 0)

    def __post_init__(self) -> None:
        ZoneInfo(self.timezone)  # fail at startup on an unknown zone
        if not self.start < self.end:
            raise ValueError(f"agent hours start {self.start} must be before end {self.end}")

    @property
    def zone(self) -> ZoneInfo:
        """The service time zone."""
        return ZoneInfo(self.timezone)

    def is_staffed(self, at: datetime, *, always_open: bool) -> bool:
        """Whether agents answer at ``at`` (aware) for a topic that is or is not staffed 24/7."""
        if always_open:
            return True
        local = at.astimezone(self.zone).time()
        return self.start <= local < self.end

    def next_opening(self, at: datetime) -> datetime:
        """``at`` itself when staffed, else the start of the next staffed window (same tz as ``at``)."""
        if self.is_staffed(at, always_open=False):
            return at
        local = at.astimezone(self.zone)
        day = local.date() if local.time() < self.start else local.date() + timedelta(days=1)
        opening = datetime.combine(day, self.start, tzinfo=self.zone)
        return opening.astimezone(at.tzinfo)
