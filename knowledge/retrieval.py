"""Hybrid retrieval: what a customer's question is answered from.

One question goes through these steps:

1. clean: empty, emoji-only or punctuation-only text finds nothing; long text is cut;
   variant characters are folded;
2. follow-up rewriting with the customer's earlier messages (:mod:`knowledge.followup`);
3. candidates: every article (exact scoring), or the vector store's nearest chunks plus
   every keyword match when a store is used;
4. ranking (:mod:`knowledge.ranking`): chunk vectors, heading vectors and whole-article
   BM25 fused per article, with locale handling and tier lifting/lowering;
5. per article, the passage in the customer's language when the article has one.

:class:`VectorOnlyRetriever` is the plain vector-store baseline the evaluation compares with.
"""

from __future__ import annotations

import asyncio
import re
from collections import OrderedDict
from collections.abc import Mapping, Sequence

import numpy as np

from knowledge.embedding import build_embedder
from knowledge.errors import REBUILD_HINT, IndexIncompatible
from knowledge.followup import rewrite
from knowledge.index import Manifest, Snapshot, read_snapshot, require_manifest
from knowledge.keyword import TextAnalyzer, has_words
from knowledge.models import Chunk, Passage
from knowledge.ports import Embedder, VectorStore
from knowledge.ranking import ArticleRanker, RetrievalTuning
from knowledge.settings import KnowledgeConfig
from knowledge.stores import open_vector_store
from knowledge.synonyms import SynonymExpander, load_synonyms

MAX_QUERY_CHARS = 500
# Up to this many chunks, exact scoring over the in-memory snapshot beats an approximate index.
EXACT_SEARCH_MAX_CHUNKS = 20_000
_SPACE = re.compile(r"\s+")
# Variant characters customers type for the same word (帐单 for 账单): folded before searching.
_VARIANTS = str.maketrans({"帐": "账", "咔": "卡"})


class QueryVectorCache:
    """LRU of query vectors: repeated and rewritten questions skip the model."""

    def __init__(self, embedder: Embedder, size: int) -> None:
        self._embedder = embedder
        self._size = size
        self._items: OrderedDict[str, np.ndarray] = OrderedDict()

    async def vector(self, text: str) -> np.ndarray:
        """The unit query vector of ``text``."""
        hit = self._items.get(text)
        if hit is not None:
            self._items.move_to_end(text)
            return hit
        vector = np.asarray(await self._embedder.embed_query(text), dtype=np.float32)
        norm = float(np.linalg.norm(vector))
        vector = vector / norm if norm else vector
        self._items[text] = vector
        if len(self._items) > self._size:
            self._items.popitem(last=False)
        return vector


def clean_query(query: str) -> str:
    """Whitespace collapsed, variant characters folded, cut to a sane length; empty if nothing to search."""
    text = _SPACE.sub(" ", query).strip()[:MAX_QUERY_CHARS].translate(_VARIANTS)
    return text if has_words(text) else ""


class HybridRetriever:
    """Vector + keyword retrieval over one index snapshot (see :mod:`knowledge.ranking`).

    With a ``store``, the vector store's nearest chunks (plus every keyword match) are the
    candidates and the snapshot's vectors rescore them exactly; without one, every article
    is scored exactly, which on a knowledge base of a few thousand chunks is both faster and
    better than an approximate index.
    """

    def __init__(
        self,
        *,
        snapshot: Snapshot,
        embedder: Embedder,
        synonyms: SynonymExpander,
        store: VectorStore | None = None,
        tuning: RetrievalTuning | None = None,
        cache_size: int = 2048,
    ) -> None:
        self._tuning = tuning or RetrievalTuning()
        self._ranker = ArticleRanker(snapshot, synonyms, self._tuning)
        self._row = {c.id: i for i, c in enumerate(snapshot.chunks)}
        self._first: dict[tuple[str, str], Chunk] = {}
        for chunk in snapshot.chunks:
            self._first.setdefault((chunk.article_id, chunk.locale), chunk)
        self._store = store
        self._queries = QueryVectorCache(embedder, cache_size)

    async def retrieve(
        self,
        query: str,
        *,
        locale: str,
        tier: str | None = None,
        k: int = 5,
        history: Sequence[str] = (),
        per_article: int = 1,
    ) -> list[Passage]:
        """The ``k`` best articles' passages, best first; ``per_article`` passages from each."""
        text = clean_query(query)
        if not text or k <= 0 or self._ranker.size == 0:
            return []
        earlier = [h for h in (clean_query(m) for m in history) if h]
        text = rewrite(text, earlier)[:MAX_QUERY_CHARS]
        qvec = await self._queries.vector(text)
        hits = None
        if self._store is not None:
            found = await self._store.query(qvec.tolist(), k=self._tuning.vector_candidates)
            hits = np.zeros(self._ranker.size, dtype=bool)
            for passage in found:
                if passage.id in self._row:  # a chunk ingested after this snapshot was loaded is skipped
                    hits[self._ranker.article_of_chunk(self._row[passage.id])] = True
        return await asyncio.to_thread(
            self._ranker.rank,
            text,
            qvec,
            locale=locale,
            tier=tier,
            k=k,
            per_article=per_article,
            vector_hits=hits,
        )

    def lead_passage(self, article_id: str, locale: str) -> Passage | None:
        """An article's first passage (in ``locale`` when it has one): what a reply cites when it
        states the article's rule without having searched for it (a flow quoting a fee)."""
        chunk = self._first.get((article_id, locale)) or next(
            (c for (aid, _), c in self._first.items() if aid == article_id), None
        )
        return None if chunk is None else Passage.of(chunk, score=0.0, source="keyword")

    async def close(self) -> None:
        """Release the vector store."""
        if self._store is not None:
            await self._store.close()

    async def __aenter__(self) -> HybridRetriever:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class VectorOnlyRetriever:
    """Baseline for evaluation: the store's nearest chunks in the customer's locale, one per article."""

    def __init__(self, *, embedder: Embedder, store: VectorStore, cache_size: int = 2048) -> None:
        self._store = store
        self._queries = QueryVectorCache(embedder, cache_size)

    async def retrieve(
        self,
        query: str,
        *,
        locale: str,
        tier: str | None = None,
        k: int = 5,
        history: Sequence[str] = (),
    ) -> list[Passage]:
        """Plain nearest-neighbour search; ``tier`` and ``history`` are ignored on purpose."""
        text = clean_query(query)
        if not text or k <= 0:
            return []
        qvec = await self._queries.vector(text)
        hits = await self._store.query(qvec.tolist(), k=k * 8, locale=locale)
        out: dict[str, Passage] = {}
        for hit in hits:
            out.setdefault(hit.article_id, hit)
        return list(out.values())[:k]

    async def close(self) -> None:
        """Release the vector store."""
        await self._store.close()


async def open_retriever(
    config: KnowledgeConfig,
    *,
    embedder: Embedder | None = None,
    store: VectorStore | None = None,
    tuning: RetrievalTuning | None = None,
) -> HybridRetriever:
    """Load the index in ``config.index_dir`` and return a ready retriever.

    The vector store is used for candidates when ``config.vector_search`` says "store" (or
    "auto" and the index is large), or when ``store`` is passed in; otherwise scoring is
    exact over the snapshot. Raises ``IndexMissing`` when nothing was ingested yet and
    ``IndexIncompatible`` when the index was built by another embedder or version, or the
    vector store is out of step with it (the message says which command fixes it).
    """
    manifest = require_manifest(config)
    embedder = embedder or build_embedder(config)
    _check_embedder(config, manifest.build_key, embedder)
    analyzer = TextAnalyzer(cache_dir=config.cache_dir)
    snapshot = await asyncio.to_thread(_load_snapshot, config, manifest, analyzer)
    groups = await asyncio.to_thread(load_synonyms)
    use_store = (
        store is not None
        or config.vector_search == "store"
        or (config.vector_search == "auto" and manifest.chunk_count > EXACT_SEARCH_MAX_CHUNKS)
    )
    if use_store:
        store = store or open_vector_store(config)
    try:
        if store is not None:
            await _check_store(store, manifest)
        await _warm_up(embedder)
    except BaseException:
        if store is not None:
            await store.close()
        raise
    return HybridRetriever(
        snapshot=snapshot,
        embedder=embedder,
        store=store,
        synonyms=SynonymExpander(groups),
        tuning=tuning,
        cache_size=config.query_cache_size,
    )


async def _check_store(store: VectorStore, manifest: Manifest) -> None:
    stored = await store.count()
    if stored != manifest.chunk_count:
        raise IndexIncompatible(
            f"the vector store holds {stored} chunks, the index manifest {manifest.chunk_count}; "
            "run `cardcare ingest` to bring it up to date"
        )


async def open_vector_only_retriever(
    config: KnowledgeConfig, *, embedder: Embedder | None = None, store: VectorStore | None = None
) -> VectorOnlyRetriever:
    """The baseline retriever over the same index (for side-by-side evaluation)."""
    manifest = require_manifest(config)
    embedder = embedder or build_embedder(config)
    _check_embedder(config, manifest.build_key, embedder)
    store = store or open_vector_store(config)
    try:
        await _check_store(store, manifest)
        await _warm_up(embedder)
    except BaseException:
        await store.close()
        raise
    return VectorOnlyRetriever(embedder=embedder, store=store, cache_size=config.query_cache_size)


def _check_embedder(config: KnowledgeConfig, build_key: Mapping[str, object], embedder: Embedder) -> None:
    built_with = build_key.get("embedder")
    if built_with != embedder.name:
        raise IndexIncompatible(
            f"the index in {config.index_dir} was built with embedder {built_with!r}, "
            f"but {embedder.name!r} is configured; {REBUILD_HINT}"
        )


def _load_snapshot(config: KnowledgeConfig, manifest: Manifest, analyzer: TextAnalyzer) -> Snapshot:
    analyzer.ensure_ready()  # jieba's dictionary: half a second, paid here rather than by the first customer
    return read_snapshot(config, manifest, analyzer)


async def _warm_up(embedder: Embedder) -> None:
    warm_up = getattr(embedder, "warm_up", None)
    if warm_up is not None:
        await warm_up()
