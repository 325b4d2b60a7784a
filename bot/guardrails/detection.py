"""The common currency of the PII detectors: a candidate span in normalised text."""

from __future__ import annotations

from typing import NamedTuple


class Candidate(NamedTuple):
    """A detector's proposal; overlapping proposals are settled by ``priority``."""

    kind: str
    start: int
    end: int
    masked: str
    is_validated: bool
    priority: int
