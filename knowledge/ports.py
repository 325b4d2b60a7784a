"""Ports of the knowledge package: what retrieval needs from embedders and vector stores."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol, runtime_checkable

from knowledge.models import Chunk, Passage

Vector = Sequence[float]


@runtime_checkable
class Embedder(Protocol):
    """Turns text into vectors; documents and queries may be embedded differently (e5 prefixes)."""

    @property
    def name(self) -> str:
        """Stable identity of the model and recipe; a change of name forces a re-index."""
        ...

    @property
    def dim(self) -> int:
        """Vector length."""
        ...

    async def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per document text, in order."""
        ...

    async def embed_query(self, text: str) -> list[float]:
        """The vector of one search query."""
        ...


@runtime_checkable
class VectorStore(Protocol):
    """Stores chunk vectors and finds the nearest ones (cosine)."""

    async def upsert(self, chunks: Sequence[Chunk], vectors: Sequence[Vector]) -> None:
        """Insert or replace ``chunks`` (matched by id) with their vectors."""
        ...

    async def delete_article(self, article_id: str, *, locale: str, keep: Collection[str] = ()) -> int:
        """Delete the chunks of one article version, except the ids in ``keep``; return how many went."""
        ...

    async def query(
        self, vector: Vector, *, k: int, locale: str | None = None, tier: str | None = None
    ) -> list[Passage]:
        """The ``k`` nearest chunks (score = cosine similarity, best first).

        ``locale`` keeps one language; ``tier`` keeps chunks whose article covers that tier.
        """
        ...

    async def count(self, *, locale: str | None = None) -> int:
        """Number of stored chunks (of one locale, if given)."""
        ...

    async def reset(self) -> None:
        """Remove every chunk (used by a full rebuild)."""
        ...

    async def close(self) -> None:
        """Release connections and files."""
        ...


@runtime_checkable
class Retriever(Protocol):
    """Finds the passages that answer a customer's question."""

    async def retrieve(
        self,
        query: str,
        *,
        locale: str,
        tier: str | None = None,
        k: int = 5,
        history: Sequence[str] = (),
    ) -> list[Passage]:
        """Best passages first; ``history`` holds the customer's earlier messages, oldest first."""
        ...
