"""The common currency of the PII detectors: a candidate span in normalised text."""

from __future__ import annotations

from typing import Literal, NamedTuple

PiiKind = Literal[
    "card_number",
    "bank_account",
    "cn_resident_id",
    "cvv",
    "card_expiry",
    "pin",
    "password",
    "otp",
    "cn_mobile",
    "cn_landline",
    "phone",
    "email",
]


class Candidate(NamedTuple):
    """A detector's proposal; overlapping proposals are settled by ``priority``."""

    kind: PiiKind
    start: int
    end: int
    masked: str
    is_validated: bool
    priority: int
