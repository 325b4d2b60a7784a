"""Colloquial-to-formal synonym groups (``content/synonyms.yaml``) and query expansion with them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from knowledge.errors import KnowledgeError
from knowledge.keyword import EN_STOP_WORDS, normalize, stem

SYNONYMS_PATH = Path(__file__).parent / "content" / "synonyms.yaml"

_CJK_TERM = re.compile(r"[\u3400-\u9fff]")
_EN_WORD = re.compile(r"[a-z0-9]+")


class SynonymsError(KnowledgeError, ValueError):
    """The synonyms file is malformed; the message names the file."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SynonymGroup:
    """Terms that name one thing, in both languages."""

    id: str
    terms: tuple[str, ...]


def load_synonyms(path: Path = SYNONYMS_PATH) -> tuple[SynonymGroup, ...]:
    """Read and check the synonym groups (each term in one group only)."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SynonymsError(f"{path}: cannot read synonyms: {exc}") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("groups"), list):
        raise SynonymsError(f"{path}: expected a mapping with a 'groups' list")
    groups: list[SynonymGroup] = []
    owner: dict[str, str] = {}
    for item in raw["groups"]:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise SynonymsError(f"{path}: every group needs an id, got {item!r}")
        terms = [*(item.get("zh") or []), *(item.get("en") or [])]
        if not terms or not all(isinstance(t, str) and t.strip() for t in terms):
            raise SynonymsError(f"{path}: group {item['id']!r} needs non-empty zh/en term lists")
        for term in terms:
            key = _match_key(term)
            if key in owner and owner[key] != item["id"]:
                raise SynonymsError(f"{path}: term {term!r} is in groups {owner[key]!r} and {item['id']!r}")
            owner[key] = item["id"]
        groups.append(SynonymGroup(id=item["id"], terms=tuple(normalize(t).strip() for t in terms)))
    return tuple(groups)


def _en_key(text: str) -> tuple[str, ...]:
    return tuple(stem(w) for w in _EN_WORD.findall(normalize(text)) if w not in EN_STOP_WORDS)


def _match_key(term: str) -> str:
    """What a term is matched by: the text for Chinese, the stemmed content words for English."""
    norm = normalize(term).strip()
    return norm if _CJK_TERM.search(norm) else " ".join(_en_key(norm))


def _find_in_order(words: Sequence[str | None], key: tuple[str, ...], slack: int = 2) -> list[int]:
    """Positions of ``key``'s words in order, at most ``slack`` other words apart in all.

    "close my card" then also matches "close my credit card", and "how much can I spend"
    matches "how much more can I spend".
    """
    for start, word in enumerate(words):
        if word != key[0]:
            continue
        positions = [start]
        for i in range(start + 1, min(len(words), start + len(key) + slack)):
            if len(positions) < len(key) and words[i] == key[len(positions)]:
                positions.append(i)
        if len(positions) == len(key):
            return positions
    return []


class SynonymExpander:
    """Finds the groups a question mentions and the other terms to search for.

    Longest terms match first and consume their text, so 白金卡 (platinum) does not also
    count as 金卡 (gold), and "travel insurance" does not also count as "travel". Chinese
    terms match as substrings; English terms match their stemmed content words in order,
    with up to two other words in between.
    """

    def __init__(self, groups: Sequence[SynonymGroup]) -> None:
        self._groups = {g.id: g for g in groups}
        zh: list[tuple[str, str]] = []
        en: list[tuple[tuple[str, ...], str]] = []
        for group in groups:
            for term in group.terms:
                if _CJK_TERM.search(term):
                    zh.append((term, group.id))
                elif key := _en_key(term):
                    en.append((key, group.id))
        self._zh = sorted(zh, key=lambda pair: -len(pair[0]))
        self._en = sorted(en, key=lambda pair: -len(pair[0]))

    def groups_in(self, text: str) -> list[str]:
        """Ids of the groups whose terms ``text`` contains, in order of first match."""
        found: dict[str, None] = {}
        masked = normalize(text)
        for term, gid in self._zh:
            if term in masked:
                found[gid] = None
                masked = masked.replace(term, "\x00")
        words: list[str | None] = list(_en_key(masked))
        for key, gid in self._en:
            positions = _find_in_order(words, key)
            if positions:
                found[gid] = None
                for i in positions:
                    words[i] = None
        return list(found)

    def expansion(self, text: str) -> str:
        """The terms of every group ``text`` mentions, as one string to analyse."""
        return " ".join(" ".join(self._groups[gid].terms) for gid in self.groups_in(text))
