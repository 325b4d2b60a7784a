"""A vector store in process memory: exact cosine by numpy brute force.

A real implementation (not a mock): the contract suite runs it side by side with Chroma,
and it is the right choice for a knowledge base of a few thousand chunks in tests.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np

from knowledge.errors import IndexIncompatible
from knowledge.models import Chunk, Passage
from knowledge.ports import Vector


class InMemoryVectorStore:
    """Chunks and unit vectors in dicts; a query scores every stored vector."""

    def __init__(self) -> None:
        self._chunks: dict[str, Chunk] = {}
        self._vectors: dict[str, np.ndarray] = {}
        self._dim: int | None = None
        self._matrix: tuple[list[str], np.ndarray] | None = None  # cache, dropped on every write

    async def upsert(self, chunks: Sequence[Chunk], vectors: Sequence[Vector]) -> None:
        """Insert or replace chunks by id."""
        if len(chunks) != len(vectors):
            raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
        for chunk, vector in zip(chunks, vectors, strict=True):
            array = np.asarray(vector, dtype=np.float32)
            if self._dim is None:
                self._dim = array.shape[0]
            if array.shape != (self._dim,):
                raise IndexIncompatible(
                    f"chunk {chunk.id!r}: vector shape {array.shape}, expected ({self._dim},)"
                )
            norm = float(np.linalg.norm(array))
            self._chunks[chunk.id] = chunk
            self._vectors[chunk.id] = array / norm if norm else array
        self._matrix = None

    async def delete_article(self, article_id: str, *, locale: str, keep: Collection[str] = ()) -> int:
        """Delete one article version's chunks except ``keep``."""
        doomed = [
            cid
            for cid, c in self._chunks.items()
            if c.article_id == article_id and c.locale == locale and cid not in keep
        ]
        for cid in doomed:
            del self._chunks[cid]
            del self._vectors[cid]
        if doomed:
            self._matrix = None
        return len(doomed)

    async def query(
        self, vector: Vector, *, k: int, locale: str | None = None, tier: str | None = None
    ) -> list[Passage]:
        """Exact top-``k`` by cosine similarity."""
        if k <= 0 or not self._chunks:
            return []
        ids, matrix = self._stacked()
        q = np.asarray(vector, dtype=np.float32)
        norm = float(np.linalg.norm(q))
        scores = matrix @ (q / norm if norm else q)
        keep = np.array(
            [
                (locale is None or self._chunks[cid].locale == locale) and self._chunks[cid].is_for_tier(tier)
                for cid in ids
            ]
        )
        scores = np.where(keep, scores, -np.inf)
        order = np.argsort(-scores, kind="stable")[:k]
        return [
            Passage.of(self._chunks[ids[i]], score=float(scores[i]), source="vector")
            for i in order
            if np.isfinite(scores[i])
        ]

    async def count(self, *, locale: str | None = None) -> int:
        """Number of chunks."""
        return sum(1 for c in self._chunks.values() if locale is None or c.locale == locale)

    async def reset(self) -> None:
        """Forget everything."""
        self._chunks.clear()
        self._vectors.clear()
        self._dim = None
        self._matrix = None

    async def close(self) -> None:
        """Nothing to release."""

    def _stacked(self) -> tuple[list[str], np.ndarray]:
        if self._matrix is None:
            ids = list(self._chunks)
            self._matrix = (ids, np.vstack([self._vectors[cid] for cid in ids]))
        return self._matrix
