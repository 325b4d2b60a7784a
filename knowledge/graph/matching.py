"""Recognising needs in a customer's words by their trigger phrases.

Both languages' triggers are matched whatever the reply locale, because customers mix
them ("我下周去 Japan"). Chinese triggers match as substrings, English ones on word
boundaries. Where two triggers overlap, the longer one wins ("被盗刷" is a suspicious
charge, not a stolen card). A need's score is the weight of its matched triggers, a CJK
character weighing three letters, so a more specific phrase outranks a vaguer one. The
matcher does not understand negation; the bot's NLU may pass a need id directly instead.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from knowledge.graph.model import Need

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_SPACE = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Width-folded, lower-cased text with straight apostrophes and single spaces."""
    folded = unicodedata.normalize("NFKC", text).lower().replace("\u2019", "'").replace("\u2018", "'")
    return _SPACE.sub(" ", folded).strip()


def weight(phrase: str) -> int:
    """How much a matched phrase says: letters count one, CJK characters three."""
    return sum(3 if _CJK.match(ch) else 1 for ch in phrase if not ch.isspace())


@dataclass(frozen=True, slots=True, kw_only=True)
class _Trigger:
    need_id: str
    phrase: str
    pattern: re.Pattern[str]
    weight: int


@dataclass(frozen=True, slots=True, kw_only=True)
class TriggerHit:
    """Triggers of one need found in a text, with their total weight."""

    need_id: str
    score: int
    phrases: tuple[str, ...]


class TriggerIndex:
    """Every need's trigger phrases, compiled once."""

    def __init__(self, needs: Sequence[Need]) -> None:
        self._order = {need.id: i for i, need in enumerate(needs)}
        triggers: list[_Trigger] = []
        for need in needs:
            for phrase in need.all_triggers:
                norm = normalize(phrase)
                body = re.escape(norm)
                pattern = body if _CJK.search(norm) else rf"(?<![a-z0-9]){body}(?![a-z0-9])"
                triggers.append(
                    _Trigger(need_id=need.id, phrase=phrase, pattern=re.compile(pattern), weight=weight(norm))
                )
        # Longest first, so that an overlap goes to the more specific phrase.
        self._triggers = sorted(triggers, key=lambda t: -t.weight)

    def match(self, text: str) -> list[TriggerHit]:
        """Needs whose triggers occur in ``text``, best first."""
        norm = normalize(text)
        taken: list[tuple[int, int]] = []
        scores: dict[str, int] = {}
        phrases: dict[str, list[str]] = {}
        for trigger in self._triggers:
            for m in trigger.pattern.finditer(norm):
                if any(m.start() < end and start < m.end() for start, end in taken):
                    continue
                taken.append((m.start(), m.end()))
                scores[trigger.need_id] = scores.get(trigger.need_id, 0) + trigger.weight
                if trigger.phrase not in phrases.setdefault(trigger.need_id, []):
                    phrases[trigger.need_id].append(trigger.phrase)
        hits = [TriggerHit(need_id=n, score=s, phrases=tuple(phrases[n])) for n, s in scores.items()]
        return sorted(hits, key=lambda h: (-h.score, self._order[h.need_id]))
