"""Chroma as the vector store: embedded (``PersistentClient``) by default, a server (``HttpClient``) at scale.

Vectors are always passed in explicitly. The collection is bound to an embedding function
that refuses to embed, so Chroma can never fall back to its default model (which would try
to download weights). chromadb is synchronous: every call runs in a worker thread under a
timeout, and vendor exceptions become :mod:`knowledge.errors`.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import chromadb
import httpx
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.config import Settings
from chromadb.errors import ChromaError, InvalidArgumentError, NotFoundError
from chromadb.utils.embedding_functions import register_embedding_function

from knowledge.errors import REBUILD_HINT, IndexIncompatible, IndexUnavailable
from knowledge.models import ALL_TIERS, Chunk, Passage
from knowledge.ports import Vector

logger = logging.getLogger(__name__)

T = TypeVar("T")
SCHEMA = 1
# Files of the pre-1.0 (DuckDB + Parquet) layout; chromadb 1.x would silently start afresh beside them.
_LEGACY_FILES = ("chroma-collections.parquet", "chroma-embeddings.parquet")
_VENDOR_ERRORS = (ChromaError, httpx.HTTPError, OSError, ValueError, RuntimeError)


@register_embedding_function
class ExplicitVectorsOnly(EmbeddingFunction[Documents]):
    """Bound to our collections so that Chroma never embeds text itself (its default model downloads)."""

    def __init__(self) -> None:
        """No state."""

    def __call__(self, input: Documents) -> Embeddings:
        raise IndexIncompatible("cardcare passes vectors explicitly; Chroma was asked to embed text")

    @staticmethod
    def name() -> str:
        """Registry name, persisted in the collection's configuration."""
        return "cardcare-explicit-vectors"

    def get_config(self) -> dict[str, Any]:
        """Nothing to persist."""
        return {}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> ExplicitVectorsOnly:
        """Rebuilt when a persisted collection is opened."""
        return ExplicitVectorsOnly()

    def default_space(self) -> str:  # type: ignore[override]  # Chroma types this as a Literal
        """Cosine, like every embedder we use."""
        return "cosine"


class ChromaVectorStore:
    """A Chroma collection of chunk vectors (cosine space, raised HNSW parameters)."""

    def __init__(
        self,
        *,
        path: Path | None = None,
        url: str | None = None,
        collection: str,
        ef_search: int = 200,
        ef_construction: int = 200,
        max_neighbors: int = 32,
        timeout_s: float = 15.0,
    ) -> None:
        if (path is None) == (url is None):
            raise TypeError("ChromaVectorStore needs exactly one of path= or url=")
        self._path = path
        self._url = url
        self._name = collection
        self._hnsw = {
            "space": "cosine",
            "ef_search": ef_search,
            "ef_construction": ef_construction,
            "max_neighbors": max_neighbors,
        }
        self._timeout_s = timeout_s
        self._client: Any = None
        self._collection: Any = None
        self._open_lock = asyncio.Lock()

    @property
    def target(self) -> str:
        """Where the vectors live: the server URL, or ``embedded``."""
        return self._url or "embedded"

    # -- lifecycle -------------------------------------------------------------------------

    async def open(self) -> None:
        """Connect and get or create the collection; idempotent."""
        async with self._open_lock:
            if self._collection is None:
                await self._run("open", self._open_sync)

    async def close(self) -> None:
        """Release the client (for an embedded store: its SQLite connections)."""
        async with self._open_lock:
            client, self._client, self._collection = self._client, None, None
            if client is not None:
                await self._run("close", client.close)

    async def reset(self) -> None:
        """Drop and recreate the collection. An unreadable embedded directory is wiped first."""
        async with self._open_lock:
            try:
                await self._run("connect", self._connect_once_sync)
            except IndexIncompatible:
                if self._path is None:
                    raise
                logger.warning("knowledge.chroma.wiped_incompatible_dir", extra={"path": str(self._path)})
                await asyncio.to_thread(self._wipe_sync)
                await self._run("connect", self._connect_once_sync)
            await self._run("reset", self._reset_sync)

    def hnsw_configuration(self) -> dict[str, Any]:
        """The HNSW settings of the open collection, as Chroma reports them."""
        assert self._collection is not None, "open() first"
        return dict(self._collection.configuration.get("hnsw") or {})

    # -- port ------------------------------------------------------------------------------

    async def upsert(self, chunks: Sequence[Chunk], vectors: Sequence[Vector]) -> None:
        """Insert or replace chunks by id."""
        if len(chunks) != len(vectors):
            raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
        if not chunks:
            return
        collection = await self._ready()
        await self._run(
            "upsert",
            collection.upsert,
            ids=[c.id for c in chunks],
            embeddings=[list(map(float, v)) for v in vectors],
            documents=[c.text for c in chunks],
            metadatas=[_metadata(c) for c in chunks],
        )

    async def delete_article(self, article_id: str, *, locale: str, keep: Collection[str] = ()) -> int:
        """Delete one article version's chunks, except the ids in ``keep``."""
        collection = await self._ready()
        where = {"$and": [{"article_id": article_id}, {"locale": locale}]}
        found = await self._run("get", collection.get, where=where, include=[])
        doomed = [cid for cid in found["ids"] if cid not in keep]
        if doomed:
            await self._run("delete", collection.delete, ids=doomed)
        return len(doomed)

    async def query(
        self, vector: Vector, *, k: int, locale: str | None = None, tier: str | None = None
    ) -> list[Passage]:
        """The ``k`` nearest chunks; score is cosine similarity (1 - Chroma's cosine distance)."""
        if k <= 0:
            return []
        collection = await self._ready()
        result = await self._run(
            "query",
            collection.query,
            query_embeddings=[list(map(float, vector))],
            n_results=k,
            where=_where(locale, tier),
            include=["documents", "metadatas", "distances"],
        )
        columns = (result[key][0] for key in ("ids", "documents", "metadatas", "distances"))
        rows = zip(*columns, strict=True)
        return [
            Passage.of(_chunk(cid, doc, meta), score=1.0 - float(dist), source="vector")
            for cid, doc, meta, dist in rows
        ]

    async def count(self, *, locale: str | None = None) -> int:
        """Number of chunks (of one locale, if given)."""
        collection = await self._ready()
        if locale is None:
            return int(await self._run("count", collection.count))
        found = await self._run("get", collection.get, where={"locale": locale}, include=[])
        return len(found["ids"])

    # -- internals -------------------------------------------------------------------------

    async def _ready(self) -> Any:
        if self._collection is None:
            await self.open()
        return self._collection

    async def _run(self, what: str, fn: Callable[..., T], /, **kwargs: Any) -> T:
        try:
            async with asyncio.timeout(self._timeout_s):
                return await asyncio.to_thread(fn, **kwargs)
        except TimeoutError as exc:
            raise IndexUnavailable(f"chroma {what} at {self.target!r} took over {self._timeout_s}s") from exc
        except InvalidArgumentError as exc:
            if "dimension" in str(exc):
                raise IndexIncompatible(f"chroma collection {self._name!r}: {exc}; {REBUILD_HINT}") from exc
            raise IndexUnavailable(f"chroma {what} at {self.target!r} failed: {exc}") from exc
        except (IndexIncompatible, IndexUnavailable):
            raise
        except _VENDOR_ERRORS as exc:
            raise IndexUnavailable(f"chroma {what} at {self.target!r} failed: {exc}") from exc

    def _connect_once_sync(self) -> None:
        if self._client is None:
            self._client = self._connect_sync()

    def _open_sync(self) -> None:
        if self._collection is not None:
            return
        self._connect_once_sync()
        try:
            # No embedding function passed: Chroma rebuilds the persisted one, which tells us who built it.
            collection = self._client.get_collection(self._name)
        except NotFoundError:
            collection = self._client.create_collection(
                self._name,
                embedding_function=ExplicitVectorsOnly(),
                configuration={"hnsw": self._hnsw},
                metadata={"cardcare_schema": SCHEMA},
            )
        config = collection.configuration
        hnsw = config.get("hnsw") or {}
        schema = (collection.metadata or {}).get("cardcare_schema")
        function = config.get("embedding_function")
        built_by = function.name() if function is not None else None
        if hnsw.get("space") != "cosine" or schema != SCHEMA or built_by != ExplicitVectorsOnly.name():
            raise IndexIncompatible(
                f"chroma collection {self._name!r} at {self.target!r} was not built by this version "
                f"(space {hnsw.get('space')!r}, schema {schema!r}, embedding function {built_by!r}); "
                f"{REBUILD_HINT}"
            )
        if hnsw.get("ef_search") != self._hnsw["ef_search"]:
            # ef_search is the one HNSW knob Chroma lets an existing collection change.
            collection.modify(configuration={"hnsw": {"ef_search": self._hnsw["ef_search"]}})
        self._collection = collection

    def _connect_sync(self) -> Any:
        settings = Settings(anonymized_telemetry=False)
        if self._url is not None:
            parts = urlsplit(self._url)
            if not parts.hostname:
                raise ValueError(f"chroma url {self._url!r} has no host")
            ssl = parts.scheme == "https"
            return chromadb.HttpClient(
                host=parts.hostname, port=parts.port or (443 if ssl else 8000), ssl=ssl, settings=settings
            )
        assert self._path is not None
        legacy = [name for name in _LEGACY_FILES if (self._path / name).exists()]
        if legacy:
            raise IndexIncompatible(
                f"{self._path} holds an index from an old Chroma version ({legacy[0]}); {REBUILD_HINT}"
            )
        existed = (self._path / "chroma.sqlite3").exists()
        self._path.mkdir(parents=True, exist_ok=True)
        try:
            return chromadb.PersistentClient(path=str(self._path), settings=settings)
        except _VENDOR_ERRORS as exc:
            _forget_system(self._path)
            if existed:
                raise IndexIncompatible(
                    f"the Chroma database in {self._path} cannot be opened by chromadb "
                    f"{chromadb.__version__} ({exc}); {REBUILD_HINT}"
                ) from exc
            raise

    def _reset_sync(self) -> None:
        self._collection = None
        try:
            self._client.delete_collection(self._name)
        except NotFoundError:
            pass
        self._open_sync()

    def _wipe_sync(self) -> None:
        assert self._path is not None
        _forget_system(self._path)
        self._client = self._collection = None
        shutil.rmtree(self._path, ignore_errors=True)


def _forget_system(path: Path) -> None:
    """Drop chromadb's cached client system for ``path``.

    chromadb caches one "system" per directory for the whole process and keeps it even when
    starting it failed; every later client for that path would then reuse the broken one.
    """
    from chromadb.api.shared_system_client import SharedSystemClient

    system = SharedSystemClient._identifier_to_system.pop(str(path), None)
    SharedSystemClient._identifier_to_refcount.pop(str(path), None)
    if system is not None:
        try:
            system.stop()
        except (*_VENDOR_ERRORS, AttributeError):  # a system whose start failed has half its parts
            logger.debug("knowledge.chroma.stop_failed", exc_info=True)


def _metadata(chunk: Chunk) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "article_id": chunk.article_id,
        "locale": chunk.locale,
        "title": chunk.title,
        "section": chunk.section,
        "title_path": chunk.title_path,
        "tiers": "|".join(chunk.tiers),
        "intents": "|".join(chunk.intents),
        "version": chunk.version,
        "topic": chunk.topic,
    }
    # Chroma filters cannot look inside strings or lists, so each tier is its own flag.
    meta.update({f"tier_{tier}": True for tier in chunk.tiers})
    return meta


def _chunk(cid: str, document: str | None, meta: dict[str, Any]) -> Chunk:
    return Chunk(
        id=cid,
        article_id=str(meta["article_id"]),
        locale=meta["locale"],
        title=str(meta["title"]),
        section=str(meta["section"]),
        title_path=str(meta["title_path"]),
        text=document or "",
        tiers=tuple(t for t in str(meta["tiers"]).split("|") if t),
        intents=tuple(i for i in str(meta["intents"]).split("|") if i),
        version=str(meta["version"]),
        topic=str(meta["topic"]),
    )


def _where(locale: str | None, tier: str | None) -> dict[str, Any] | None:
    clauses: list[dict[str, Any]] = []
    if locale is not None:
        clauses.append({"locale": locale})
    if tier is not None:
        clauses.append({"$or": [{f"tier_{ALL_TIERS}": True}, {f"tier_{tier}": True}]})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}
