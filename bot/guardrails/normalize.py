"""Text normalisation for the detectors, with a map back to the caller's offsets.

Every detector matches on NFKC-normalised text (full-width digits, letters and
punctuation become half-width, dashes are unified, zero-width characters vanish), so a
customer who types ``４１１１－１１１１…`` or hides a ``\u200b`` inside ``CVV`` is still
caught. Findings are reported in the offsets of the original text.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Final

# Dashes and minus signs that people type between digit groups.
_DASHES: Final = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63"), "-")
# Zero-width characters carry no meaning for matching and are a known evasion trick.
ZERO_WIDTH: Final = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad")


@dataclass(frozen=True, slots=True)
class NormalizedText:
    """Normalised text plus, for each of its characters, the index in the original."""

    text: str
    origin: tuple[int, ...]
    original_length: int

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original ``(start, end)`` of the normalised slice ``text[start:end]``."""
        if start >= end:
            at = self.origin[start] if start < len(self.origin) else self.original_length
            return at, at
        return self.origin[start], self.origin[end - 1] + 1


def normalize(text: str) -> NormalizedText:
    """NFKC per character, dashes unified, zero-width characters dropped."""
    chars: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        if char.isascii():
            chars.append(char)
            origin.append(index)
            continue
        if char in ZERO_WIDTH:
            continue
        for piece in unicodedata.normalize("NFKC", char).translate(_DASHES):
            chars.append(piece)
            origin.append(index)
    return NormalizedText("".join(chars), tuple(origin), len(text))


def normalize_pattern(pattern: str) -> str:
    """Bring a regex written with full-width punctuation into the normalised alphabet."""
    return unicodedata.normalize("NFKC", pattern).translate(_DASHES)
