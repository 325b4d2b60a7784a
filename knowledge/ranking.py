"""Article ranking for one question: three signals fused per article, then tiers, then the passage.

Signals, each a score per article (an article's zh and en versions count as one article):

* ``v``: best cosine between the question and one of the article's chunks;
* ``g``: best cosine between the question and one of its headings (the title, or a chunk's
  "Title > Section" path). Headings are short and often phrased as questions, so they
  catch colloquial questions that a long chunk body dilutes;
* ``k``: BM25 of the whole article (title plus every section), for the question plus its
  synonym expansion at a lower weight.

Vector signals are normalised against the 20th-best article (how far above the crowd an
article stands); BM25 is normalised by the best article. A chunk or heading in the other
language than the customer's loses a small cosine margin, so the customer's language wins
ties but a clearly better match in the other language still counts (cross-lingual
fallback). The fused score is then lifted or lowered by tier (see :meth:`ArticleRanker._tier_factors`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from knowledge.index import Snapshot
from knowledge.models import ALL_TIERS, Passage, PassageSource
from knowledge.synonyms import SynonymExpander

_TIER_GROUPS = {
    "tier-classic": "classic",
    "tier-gold": "gold",
    "tier-platinum": "platinum",
    "tier-diamond": "diamond",
}


# A question about which tier has something ("哪种卡有贵宾厅", "which card has a concierge").
_ASKS_WHICH_CARD = re.compile(
    r"(?<!为)(哪|什么|啥)一?(种|个|张|类|级|款|些)?(信用)?卡"
    r"|\bwhich (credit )?(cards?|tiers?)\b"
    r"|\bwhat (credit )?(cards?|tiers?) (has|have|gets?|comes?|includes?|offers?)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class RetrievalTuning:
    """Weights of the hybrid ranking; the defaults were chosen on the retrieval question sets."""

    vector_weight: float = 0.3
    heading_weight: float = 0.4
    keyword_weight: float = 0.4
    expansion_weight: float = 0.4  # synonym terms count this much of a question's own words
    other_locale_margin: float = 0.02  # cosine handicap of text in the other language
    normalise_rank: int = 20  # vector scores are measured from the article at this rank
    tier_boost: float = 1.3  # article for the customer's tier, when the question names none
    named_tier_boost: float = 1.0  # article for the tier the question names (its words already match)
    tier_penalty: float = 0.6  # article only for other tiers
    # Chunks asked from the vector store when one is used; without one, the articles this
    # high by vector score count as vector matches in a passage's ``source``.
    vector_candidates: int = 40


class ArticleRanker:
    """Precomputed tables over one snapshot; :meth:`rank` is pure CPU work (run it off the event loop)."""

    def __init__(self, snapshot: Snapshot, synonyms: SynonymExpander, tuning: RetrievalTuning) -> None:
        self._snapshot = snapshot
        self._synonyms = synonyms
        self._tuning = tuning
        chunks = snapshot.chunks
        self.article_ids: tuple[str, ...] = tuple(dict.fromkeys(c.article_id for c in chunks))
        index = {aid: i for i, aid in enumerate(self.article_ids)}
        self._tiers = {index[c.article_id]: frozenset(c.tiers) for c in chunks}
        self._chunk_article = np.array([index[c.article_id] for c in chunks], dtype=np.int64)
        self._chunk_locale = np.array([c.locale for c in chunks])
        self._heading_article = np.array([index[h.article_id] for h in snapshot.headings], dtype=np.int64)
        self._heading_locale = np.array([h.locale for h in snapshot.headings])
        self._doc_article = np.array([index[aid] for aid, _ in snapshot.documents], dtype=np.int64)
        self._heading_of: dict[tuple[str, str, str], int] = {
            (h.article_id, h.locale, h.text): i for i, h in enumerate(snapshot.headings)
        }
        self._rows: dict[tuple[str, str], list[int]] = {}
        for row, chunk in enumerate(chunks):
            self._rows.setdefault((chunk.article_id, chunk.locale), []).append(row)

    @property
    def size(self) -> int:
        """Number of articles (zh and en versions count once)."""
        return len(self.article_ids)

    def article_of_chunk(self, row: int) -> int:
        """Article index of the chunk at ``row``."""
        return int(self._chunk_article[row])

    def keyword_scores(self, text: str) -> np.ndarray:
        """BM25 per article document for ``text``, plus its synonym expansion at a lower weight."""
        keyword = self._snapshot.keyword
        tokens = keyword.analyzer.tokens(text)
        scores = keyword.scores(tokens)
        expansion = self._synonyms.expansion(text)
        if expansion:
            seen = set(tokens)
            extra = [t for t in dict.fromkeys(keyword.analyzer.tokens(expansion)) if t not in seen]
            if extra:
                scores = scores + self._tuning.expansion_weight * keyword.scores(extra)
        return scores

    def rank(
        self,
        text: str,
        qvec: np.ndarray,
        *,
        locale: str,
        tier: str | None,
        k: int,
        per_article: int = 1,
        vector_hits: np.ndarray | None = None,
    ) -> list[Passage]:
        """The best passages for ``text``; ``vector_hits`` (article mask) limits vector-only candidates."""
        t = self._tuning
        n = self.size
        chunk_cos = self._snapshot.vectors @ qvec
        heading_cos = self._snapshot.heading_vectors @ qvec
        v = _group_max(chunk_cos - self._handicap(self._chunk_locale, locale), self._chunk_article, n)
        g = _group_max(heading_cos - self._handicap(self._heading_locale, locale), self._heading_article, n)
        kw = np.maximum(_group_max(self.keyword_scores(text), self._doc_article, n), 0.0)
        score = t.vector_weight * self._spread(v) + t.heading_weight * self._spread(g)
        if kw.max() > 0:
            score = score + t.keyword_weight * kw / kw.max()
        score = (score - score.min() + 1e-6) * self._tier_factors(text, tier)
        if vector_hits is None:
            vector_hits = np.zeros(n, dtype=bool)
            vector_hits[np.argsort(-np.maximum(v, g), kind="stable")[: t.vector_candidates]] = True
        else:
            score = np.where(vector_hits | (kw > 0), score, -np.inf)
        passages: list[Passage] = []
        for a in np.argsort(-score, kind="stable")[:k]:
            if not np.isfinite(score[a]):
                break
            source: PassageSource = (
                "hybrid" if vector_hits[a] and kw[a] > 0 else "keyword" if kw[a] > 0 else "vector"
            )
            for row in self._best_rows(int(a), locale, chunk_cos, heading_cos, per_article):
                passages.append(
                    Passage.of(self._snapshot.chunks[row], score=round(float(score[a]), 6), source=source)
                )
        return passages

    def _handicap(self, locales: np.ndarray, locale: str) -> np.ndarray:
        return np.where(locales == locale, 0.0, self._tuning.other_locale_margin)

    def _spread(self, x: np.ndarray) -> np.ndarray:
        """How far each article stands above the crowd, with the best article at 1."""
        ordered = np.sort(x)[::-1]
        ref = ordered[min(self._tuning.normalise_rank, len(ordered) - 1)]
        spread: np.ndarray = (x - ref) / (ordered[0] - ref + 1e-9)
        return spread

    def _tier_factors(self, text: str, tier: str | None) -> np.ndarray:
        """Lower other tiers' articles; lift the customer's tier article when the question names no tier.

        General articles (tiers "all") keep their score, so an article that excludes the
        customer's tier does not outrank the general one on the same subject, yet still
        shows up when it is the only one that answers. A tier the question names wins over
        the customer's own ("白金卡有什么权益" from a gold customer is about platinum).
        """
        factors = np.ones(self.size)
        if _ASKS_WHICH_CARD.search(text):
            return factors  # "which card has lounge access?" is about every tier, not the customer's
        named = {_TIER_GROUPS[g] for g in self._synonyms.groups_in(text) if g in _TIER_GROUPS}
        wanted = named or ({tier} if tier else set())
        if not wanted:
            return factors
        lift = self._tuning.named_tier_boost if named else self._tuning.tier_boost
        for a, tiers in self._tiers.items():
            if ALL_TIERS not in tiers:
                factors[a] = lift if wanted & tiers else self._tuning.tier_penalty
        return factors

    def _best_rows(
        self, article: int, locale: str, chunk_cos: np.ndarray, heading_cos: np.ndarray, per_article: int
    ) -> list[int]:
        """The article's chunks that fit best, in the customer's language when the article has it."""
        aid = self.article_ids[article]
        rows = self._rows.get((aid, locale)) or next(rows for (a, _), rows in self._rows.items() if a == aid)
        chunks = self._snapshot.chunks
        fit = [
            float(chunk_cos[r])
            + 0.5 * float(heading_cos[self._heading_of[(aid, chunks[r].locale, chunks[r].title_path)]])
            for r in rows
        ]
        order = np.argsort(-np.array(fit), kind="stable")[:per_article]
        return [rows[i] for i in order]


def _group_max(values: np.ndarray, groups: np.ndarray, size: int) -> np.ndarray:
    out = np.full(size, -np.inf)
    np.maximum.at(out, groups, values)
    return out
