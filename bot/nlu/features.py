"""Classifier features: character n-grams and words, no tokenizer dictionary (no jieba start-up cost).

* Chinese runs: character 1-2-grams (3-grams scored lower in cross-validation).
* Latin words: the word, word bigrams, and character 3-5-grams of ``<word>`` (typo-tolerant:
  "instalmnet" shares most n-grams with "installment").
* Digit runs: their length class only (``#d4``); a lone ``0`` is ``#zero``.
* Emoji and other symbols: the symbol itself.
* Concepts (``data/concepts.yaml``): ``k:lost`` for "丢了", "stolen" or "misplaced" alike, so
  synonyms and the two languages share evidence.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final

import yaml

from bot.nlu.errors import DataFileInvalid
from bot.nlu.normalization import is_cjk

CONCEPTS_PATH: Final = Path(__file__).parent / "data" / "concepts.yaml"

FEATURE_VERSION: Final = 3
"""Bump when ``extract_features`` changes, so a stored model is retrained."""

FEATURE_CONFIG: Final[dict[str, object]] = {
    "version": FEATURE_VERSION,
    "cjk_ngrams": [1, 2],
    "latin_char_ngrams": [3, 5],
    "latin_word_ngrams": [1, 2],
    "concepts": "data/concepts.yaml",
    "weighting": "sublinear tf * idf, l2",
}

_SEGMENT: Final = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[a-z]+(?:'[a-z]+)?|\d+|[^\w\s]")
_CJK_MAX: Final = 2
_CHAR_MIN, _CHAR_MAX = 3, 5


_LATIN_TOKEN: Final = re.compile(r"[a-z0-9]+(?:['.-][a-z0-9]+)*")


@dataclass(frozen=True, slots=True)
class ConceptIndex:
    """Concept terms by how they are matched: Chinese by substring, Latin by words and prefixes."""

    substrings: tuple[tuple[str, str], ...]
    phrases: dict[str, frozenset[str]]
    prefixes: dict[str, frozenset[str]]
    prefix_lengths: tuple[int, ...]
    longest_phrase: int

    def find(self, normalized: str) -> set[str]:
        """The concept features a normalised text mentions."""
        found = {feature for term, feature in self.substrings if term in normalized}
        words = _LATIN_TOKEN.findall(normalized)
        for i, word in enumerate(words):
            for size in range(1, min(self.longest_phrase, len(words) - i) + 1):
                hit = self.phrases.get(word if size == 1 else " ".join(words[i : i + size]))
                if hit:
                    found |= hit
            for length in self.prefix_lengths:
                hit = self.prefixes.get(word[:length]) if len(word) >= length else None
                if hit:
                    found |= hit
        return found


def _index(raw: dict[str, list[object]]) -> ConceptIndex:
    substrings: list[tuple[str, str]] = []
    phrases: dict[str, set[str]] = {}
    prefixes: dict[str, set[str]] = {}
    for name, terms in raw.items():
        feature = f"k:{name}"
        for item in terms:
            term = str(item).lower().strip()
            if any(is_cjk(char) for char in term):
                substrings.append((term, feature))
            elif term.endswith("*"):
                if " " in term:
                    raise DataFileInvalid(f"concept {name!r}: a prefix term must be one word, not {term!r}")
                prefixes.setdefault(term[:-1], set()).add(feature)
            else:
                phrases.setdefault(" ".join(_LATIN_TOKEN.findall(term)), set()).add(feature)
    return ConceptIndex(
        substrings=tuple(substrings),
        phrases={k: frozenset(v) for k, v in phrases.items()},
        prefixes={k: frozenset(v) for k, v in prefixes.items()},
        prefix_lengths=tuple(sorted({len(p) for p in prefixes})),
        longest_phrase=max((len(p.split()) for p in phrases), default=1),
    )


@cache
def concepts() -> ConceptIndex:
    """The concept index of ``data/concepts.yaml``, built once on first use."""
    try:
        raw = yaml.safe_load(CONCEPTS_PATH.read_text(encoding="utf-8"))["concepts"]
        return _index(raw)
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError) as exc:
        raise DataFileInvalid(f"cannot read concepts {str(CONCEPTS_PATH)!r}: {exc}") from exc


def _cjk_grams(run: str, out: list[str]) -> None:
    n = len(run)
    for i in range(n):
        for size in range(1, _CJK_MAX + 1):
            if i + size <= n:
                out.append(run[i : i + size])


def _latin_grams(word: str, out: list[str]) -> None:
    out.append("w:" + word)
    padded = f"<{word}>"
    for size in range(_CHAR_MIN, _CHAR_MAX + 1):
        for i in range(len(padded) - size + 1):
            out.append("c:" + padded[i : i + size])


def extract_features(normalized: str) -> list[str]:
    """Feature strings of a normalised text, with repeats (the caller counts them)."""
    out: list[str] = []
    previous_word: str | None = None
    for segment in _SEGMENT.findall(normalized):
        first = segment[0]
        if first.isascii() and first.isalpha():
            _latin_grams(segment, out)
            if previous_word is not None:
                out.append(f"b:{previous_word} {segment}")
            previous_word = segment
            continue
        previous_word = None
        if is_cjk(first):
            _cjk_grams(segment, out)
        elif first.isdigit():
            out.append("#zero" if segment.strip("0") == "" else f"#d{min(len(segment), 5)}")
        elif unicodedata.category(first).startswith("S"):
            out.append("s:" + first)  # emoji and symbols: 👍 🙏 ¥
    out.extend(sorted(concepts().find(normalized)))
    return out


def count_features(normalized: str) -> Counter[str]:
    """Feature counts of a normalised text."""
    return Counter(extract_features(normalized))
