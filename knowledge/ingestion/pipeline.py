"""Ingestion: articles → chunks → vectors → vector store + BM25 snapshot + manifest.

Incremental by default: the manifest's per-article content hashes decide what is added,
updated, removed or left alone. A change of embedder, chunking recipe, vector store or
schema rebuilds everything. Every article is parsed and chunked, and every new vector
computed, before anything is written, so a broken article or a failing embedder leaves
the previous index exactly as it was.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import time
import uuid
from collections.abc import AsyncIterator, Hashable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np

from knowledge.embedding import build_embedder, embedder_identity
from knowledge.errors import EmbeddingUnavailable, IndexIncompatible, IngestInProgress
from knowledge.index import (
    SCHEMA_VERSION,
    SNAPSHOTS,
    ArticleEntry,
    Heading,
    Manifest,
    Snapshot,
    article_documents,
    prune_snapshots,
    read_embeddings,
    read_manifest,
    write_manifest,
    write_snapshot,
)
from knowledge.ingestion.chunking import CHUNKER_VERSION, MAX_WEIGHT
from knowledge.ingestion.loader import Source, load_sources
from knowledge.keyword import ANALYZER_VERSION, KeywordIndex, TextAnalyzer
from knowledge.ports import Embedder, VectorStore
from knowledge.settings import KnowledgeConfig
from knowledge.stores import open_vector_store

logger = logging.getLogger(__name__)

LOCK_WAIT_S = 120.0


@dataclass(frozen=True, slots=True, kw_only=True)
class IngestReport:
    """What one ingest did: article versions added, updated, removed, unchanged; chunks embedded."""

    added: int
    updated: int
    removed: int
    unchanged: int
    chunks_embedded: int
    chunks_total: int
    rebuilt: bool
    embedder: str
    seconds: float


@dataclass(frozen=True, slots=True)
class _Plan:
    added: tuple[str, ...]
    updated: tuple[str, ...]
    removed: tuple[str, ...]
    unchanged: tuple[str, ...]


def build_key(config: KnowledgeConfig, embedder_name: str, dim: int | None) -> dict[str, Any]:
    """Everything whose change invalidates every stored vector."""
    return {
        "embedder": embedder_name,
        "dim": dim,
        "chunker": CHUNKER_VERSION,
        "max_weight": MAX_WEIGHT,
        "vector_store": config.chroma_url or "embedded",
        "collection": config.collection,
    }


async def ingest(
    config: KnowledgeConfig,
    *,
    rebuild: bool = False,
    embedder: Embedder | None = None,
    store: VectorStore | None = None,
) -> IngestReport:
    """Bring the index in ``config.index_dir`` up to date with the articles.

    Raises ``ArticleError`` (naming the file) for a broken article, ``EmbeddingUnavailable``
    when the embedder fails, ``IndexUnavailable`` when the vector store cannot be reached.
    Articles are validated and vectors computed before anything is written, and readers
    follow the manifest, which is replaced last; so a failure leaves them the previous
    index. (A vector store that fails part-way through its writes is repaired by the next
    ingest: the article hashes still differ, or its chunk count no longer matches.)
    """
    started = time.perf_counter()
    sources = await asyncio.to_thread(load_sources, config.articles_dir)
    embedder = embedder or build_embedder(config)
    owned = store is None
    vector_store = store or open_vector_store(config)
    try:
        async with _index_lock(config):
            report = await _ingest_locked(config, sources, embedder, vector_store, rebuild=rebuild)
    finally:
        if owned:
            await vector_store.close()
    seconds = round(time.perf_counter() - started, 3)
    logger.info(
        "knowledge.ingest.done",
        extra={
            "added": report.added,
            "updated": report.updated,
            "removed": report.removed,
            "seconds": seconds,
        },
    )
    return replace(report, seconds=seconds)


def index_is_stale(config: KnowledgeConfig) -> bool:
    """Whether ``ingest`` has work to do: no usable index, another embedder or recipe, a changed article."""
    manifest = read_manifest(config)
    if manifest is None or manifest.schema_version != SCHEMA_VERSION:
        return True
    name, dim = embedder_identity(config)
    expected = build_key(config, name, dim)
    if dim is None:  # an endpoint's dimension is only known after a call
        expected["dim"] = manifest.build_key.get("dim")
    if dict(manifest.build_key) != expected or manifest.extra.get("analyzer") != ANALYZER_VERSION:
        return True
    if not (config.index_dir / SNAPSHOTS / manifest.snapshot / "vectors.npy").exists():
        return True
    if not config.chroma_url and not (config.chroma_dir / "chroma.sqlite3").exists():
        return True
    sources = load_sources(config.articles_dir)
    current = {key: s.article.content_hash for key, s in sources.items()}
    return current != {key: e.content_hash for key, e in manifest.articles.items()}


async def _ingest_locked(
    config: KnowledgeConfig,
    sources: Mapping[str, Source],
    embedder: Embedder,
    store: VectorStore,
    *,
    rebuild: bool,
) -> IngestReport:
    previous = None if rebuild else await _reusable(config, embedder, store)
    old_manifest, old_vectors = previous if previous else (None, {})
    plan = _plan(sources, old_manifest)
    changed = [sources[key] for key in (*plan.added, *plan.updated)]
    fresh = [c for s in changed for c in s.chunks]
    fresh_headings = [h for s in changed for h in s.headings]
    new_vectors = await _embed(embedder, [c.search_text for c in fresh] + [h.text for h in fresh_headings])
    dim = int(new_vectors.shape[1]) if len(new_vectors) else _dim_of(old_vectors, embedder)
    key = build_key(config, embedder.name, dim)
    if old_manifest is not None and dict(old_manifest.build_key) != key:
        # Only possible when an endpoint reports a new dimension: everything must be re-embedded.
        return await _ingest_locked(config, sources, embedder, store, rebuild=True)

    keys: list[Hashable] = [c.id for c in fresh] + [_heading_key(h) for h in fresh_headings]
    vectors = {**old_vectors, **dict(zip(keys, new_vectors, strict=True))}
    if old_manifest is None:
        await store.reset()
    await store.upsert(fresh, [vectors[c.id] for c in fresh])
    for akey in plan.updated:
        src = sources[akey]
        await store.delete_article(src.article.id, locale=src.article.locale, keep={c.id for c in src.chunks})
    for akey in plan.removed:
        locale, _, article_id = akey.partition("/")
        await store.delete_article(article_id, locale=locale)

    name = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
    snapshot = await asyncio.to_thread(_snapshot, config, sources, vectors, dim)
    await asyncio.to_thread(write_snapshot, config, name, snapshot)
    manifest = Manifest(
        build_key=key,
        extra={"analyzer": ANALYZER_VERSION},
        snapshot=name,
        chunk_count=len(snapshot.chunks),
        built_at=datetime.now(UTC).isoformat(timespec="seconds"),
        articles={
            akey: ArticleEntry(
                content_hash=s.article.content_hash,
                version=str(s.article.version),
                chunk_ids=tuple(c.id for c in s.chunks),
            )
            for akey, s in sources.items()
        },
    )
    await asyncio.to_thread(write_manifest, config, manifest)
    keep = [name] + ([old_manifest.snapshot] if old_manifest else [])
    await asyncio.to_thread(prune_snapshots, config, keep)
    return IngestReport(
        added=len(plan.added),
        updated=len(plan.updated),
        removed=len(plan.removed),
        unchanged=len(plan.unchanged),
        chunks_embedded=len(fresh),
        chunks_total=len(snapshot.chunks),
        rebuilt=old_manifest is None,
        embedder=embedder.name,
        seconds=0.0,
    )


def _snapshot(
    config: KnowledgeConfig,
    sources: Mapping[str, Source],
    vectors: Mapping[Hashable, np.ndarray],
    dim: int | None,
) -> Snapshot:
    """The full in-memory index: every chunk and heading with its vector, and BM25 over whole articles."""
    ordered = [sources[key] for key in sorted(sources)]
    chunks = tuple(c for s in ordered for c in s.chunks)
    headings = tuple(h for s in ordered for h in s.headings)
    documents = article_documents(chunks)
    keyword = KeywordIndex.build(
        [(locale, text) for (_, locale), text in documents], TextAnalyzer(cache_dir=config.cache_dir)
    )
    return Snapshot(
        chunks=chunks,
        vectors=_stack([vectors[c.id] for c in chunks], dim),
        headings=headings,
        heading_vectors=_stack([vectors[_heading_key(h)] for h in headings], dim),
        documents=tuple(key for key, _ in documents),
        keyword=keyword,
    )


def _stack(rows: list[np.ndarray], dim: int | None) -> np.ndarray:
    return np.vstack(rows) if rows else np.zeros((0, dim or 1), dtype=np.float32)


def _heading_key(heading: Heading) -> tuple[str, str, str]:
    return (heading.article_id, heading.locale, heading.text)


async def _reusable(
    config: KnowledgeConfig, embedder: Embedder, store: VectorStore
) -> tuple[Manifest, dict[Hashable, np.ndarray]] | None:
    """The previous manifest and vectors when an incremental update is safe, else None (rebuild)."""
    manifest = read_manifest(config)
    if manifest is None or manifest.schema_version != SCHEMA_VERSION:
        return None
    old_key = dict(manifest.build_key)
    expected = build_key(config, embedder.name, old_key.get("dim"))
    if old_key != expected:
        logger.info("knowledge.ingest.rebuild", extra={"reason": "build key changed"})
        return None
    try:
        chunks, vectors, headings, heading_vectors = await asyncio.to_thread(
            read_embeddings, config, manifest
        )
        stored = await store.count()
    except IndexIncompatible:
        return None
    if stored != manifest.chunk_count:
        logger.info("knowledge.ingest.rebuild", extra={"reason": "vector store out of step with manifest"})
        return None
    reusable: dict[Hashable, np.ndarray] = {c.id: vectors[i] for i, c in enumerate(chunks)}
    reusable.update({_heading_key(h): heading_vectors[i] for i, h in enumerate(headings)})
    return manifest, reusable


def _plan(sources: Mapping[str, Source], manifest: Manifest | None) -> _Plan:
    old = manifest.articles if manifest else {}
    added = tuple(k for k in sorted(sources) if k not in old)
    updated = tuple(
        k for k in sorted(sources) if k in old and old[k].content_hash != sources[k].article.content_hash
    )
    unchanged = tuple(
        k for k in sorted(sources) if k in old and old[k].content_hash == sources[k].article.content_hash
    )
    removed = tuple(k for k in sorted(old) if k not in sources)
    return _Plan(added, updated, removed, unchanged)


async def _embed(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """Unit vectors of ``texts``, checked for shape."""
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    rows = await embedder.embed_documents(texts)
    matrix = np.asarray(rows, dtype=np.float32)
    if matrix.ndim != 2 or matrix.shape[0] != len(texts):
        raise EmbeddingUnavailable(
            f"embedder {embedder.name!r} returned {matrix.shape} for {len(texts)} texts"
        )
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    unit: np.ndarray = matrix / norms
    return unit


def _dim_of(vectors: Mapping[Hashable, np.ndarray], embedder: Embedder) -> int | None:
    first = next(iter(vectors.values()), None)
    if first is not None:
        return int(first.shape[0])
    try:
        return embedder.dim
    except EmbeddingUnavailable:
        return None


@asynccontextmanager
async def _index_lock(config: KnowledgeConfig) -> AsyncIterator[None]:
    """One ingest per index directory at a time, across processes (an advisory file lock)."""
    config.index_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(config.index_dir / ".ingest.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + LOCK_WAIT_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise IngestInProgress(f"another ingest holds {config.index_dir}") from None
                await asyncio.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
