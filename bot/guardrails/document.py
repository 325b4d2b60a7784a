"""A message prepared for rule checking: normalised text, clauses, sentences, locale."""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

from bot.guardrails.normalize import NormalizedText, normalize, normalize_pattern
from bot.guardrails.pii import PiiFinding, find_pii

# After NFKC the Chinese ！？；，： are ASCII; 。 and 、 stay.
_SENTENCE_BREAK: Final = re.compile(r"[。!?;\n]|\.(?=\s|$)")
_CLAUSE_BREAK: Final = re.compile(r"[。!?;\n]|\.(?=\s|$)|,(?!\d)|但是|但|不过|然而|\bbut\b|\bhowever\b", re.I)


class RuleDataError(ValueError):
    """A rule file is malformed: unknown checker, bad parameter, bad pattern, missing example."""


class Document:
    """One outbound message as the checkers see it.

    Checkers match on :attr:`text` (normalised) and report spans in it; :meth:`span` maps
    them back to the caller's offsets.
    """

    def __init__(self, original: str, locale: str) -> None:
        self.original = original
        self.locale = locale
        self.norm: NormalizedText = normalize(original)
        self.text = self.norm.text
        self._clauses = self._starts(_CLAUSE_BREAK)
        self._sentences = self._starts(_SENTENCE_BREAK)

    def _starts(self, pattern: re.Pattern[str]) -> list[int]:
        return [0, *(m.end() for m in pattern.finditer(self.text))]

    @staticmethod
    def _bounds(starts: Sequence[int], pos: int, length: int) -> tuple[int, int]:
        i = bisect.bisect_right(starts, pos) - 1
        return starts[i], (starts[i + 1] if i + 1 < len(starts) else length)

    def clause(self, pos: int) -> tuple[int, int]:
        """Start and end of the clause holding ``pos`` (split at punctuation and 但/but)."""
        return self._bounds(self._clauses, pos, len(self.text))

    def sentence(self, pos: int) -> tuple[int, int]:
        """Start and end of the sentence holding ``pos``."""
        return self._bounds(self._sentences, pos, len(self.text))

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original offsets of a normalised span."""
        return self.norm.span(start, end)

    @functools.cached_property
    def pii(self) -> tuple[PiiFinding, ...]:
        """Personal data in the message (original offsets), found once for all rules."""
        return tuple(find_pii(self.original))


class Lexicons:
    """Named pattern lists (``_lexicons.yaml``); rule parameters refer to them as ``@NAME``."""

    def __init__(self, entries: Mapping[str, Sequence[str]]) -> None:
        self._entries = {name: tuple(items) for name, items in entries.items()}

    def expand(self, items: Iterable[object], *, where: str) -> list[str]:
        out: list[str] = []
        for item in items:
            if not isinstance(item, str):
                raise RuleDataError(f"{where}: pattern {item!r} is not a string")
            if item.startswith("@"):
                if item[1:] not in self._entries:
                    raise RuleDataError(f"{where}: unknown lexicon {item!r}")
                out.extend(self._entries[item[1:]])
            else:
                out.append(item)
        return out

    def compile(self, items: object, *, where: str) -> re.Pattern[str]:
        """One case-insensitive alternation over the (expanded) patterns."""
        if not isinstance(items, list) or not items:
            raise RuleDataError(f"{where}: expected a non-empty list of patterns, got {items!r}")
        patterns = self.expand(items, where=where)
        try:
            return re.compile("|".join(f"(?:{normalize_pattern(p)})" for p in patterns), re.I)
        except re.error as exc:
            raise RuleDataError(f"{where}: bad pattern: {exc}") from exc
