"""The index on disk: a manifest plus an immutable snapshot (chunk table, vectors, BM25 indexes).

Layout under ``index_dir``::

    manifest.json            what the index holds; written last, atomically
    snapshots/<build>/       chunks.jsonl + vectors.npy, headings.jsonl + headings.npy,
                             keyword/ (documents.json, <locale>/ bm25s)
    chroma/                  the embedded Chroma database (absent with a Chroma server)

A reader follows the manifest to one snapshot, so an ingest that fails half-way never
changes what readers see. The vector store holds the same chunk vectors for search.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from knowledge.errors import REBUILD_HINT, IndexIncompatible, IndexMissing
from knowledge.keyword import KeywordIndex, TextAnalyzer
from knowledge.models import Chunk
from knowledge.settings import KnowledgeConfig

SCHEMA_VERSION = 1
SNAPSHOTS = "snapshots"


@dataclass(frozen=True, slots=True, kw_only=True)
class ArticleEntry:
    """What the index holds of one article version."""

    content_hash: str
    version: str
    chunk_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Manifest:
    """Embedder, recipe versions and per-article hashes of a built index."""

    schema_version: int = SCHEMA_VERSION
    build_key: Mapping[str, Any]
    snapshot: str
    articles: Mapping[str, ArticleEntry]
    chunk_count: int
    built_at: str
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        """Stable, readable JSON."""
        return json.dumps(
            {
                "schema_version": self.schema_version,
                "build_key": dict(self.build_key),
                "snapshot": self.snapshot,
                "chunk_count": self.chunk_count,
                "built_at": self.built_at,
                "extra": dict(self.extra),
                "articles": {
                    key: {
                        "content_hash": e.content_hash,
                        "version": e.version,
                        "chunk_ids": list(e.chunk_ids),
                    }
                    for key, e in sorted(self.articles.items())
                },
            },
            ensure_ascii=False,
            indent=1,
        )

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        """Parse; raises ``KeyError``/``ValueError``/``TypeError`` on a malformed file."""
        raw = json.loads(text)
        return cls(
            schema_version=int(raw["schema_version"]),
            build_key=dict(raw["build_key"]),
            snapshot=str(raw["snapshot"]),
            chunk_count=int(raw["chunk_count"]),
            built_at=str(raw["built_at"]),
            extra=dict(raw.get("extra", {})),
            articles={
                key: ArticleEntry(
                    content_hash=str(e["content_hash"]),
                    version=str(e["version"]),
                    chunk_ids=tuple(e["chunk_ids"]),
                )
                for key, e in raw["articles"].items()
            },
        )


def article_key(article_id: str, locale: str) -> str:
    """Manifest key of one article version."""
    return f"{locale}/{article_id}"


def read_manifest(config: KnowledgeConfig) -> Manifest | None:
    """The manifest, or None when it is missing or unreadable (the index must then be rebuilt)."""
    try:
        return Manifest.from_json(config.manifest_path.read_text(encoding="utf-8"))
    except (OSError, KeyError, ValueError, TypeError):
        return None


def write_manifest(config: KnowledgeConfig, manifest: Manifest) -> None:
    """Replace the manifest atomically (write a temporary file, then rename it)."""
    _atomic_write(config.manifest_path, manifest.to_json())


def require_manifest(config: KnowledgeConfig) -> Manifest:
    """The manifest of a usable index, or a clear error saying how to build one."""
    if not config.manifest_path.exists():
        raise IndexMissing(f"no knowledge index in {config.index_dir}; run `cardcare ingest` to build it")
    manifest = read_manifest(config)
    if manifest is None:
        raise IndexIncompatible(f"{config.manifest_path} is unreadable; {REBUILD_HINT}")
    if manifest.schema_version != SCHEMA_VERSION:
        raise IndexIncompatible(
            f"the index in {config.index_dir} has schema {manifest.schema_version}, "
            f"this version reads {SCHEMA_VERSION}; {REBUILD_HINT}"
        )
    return manifest


@dataclass(frozen=True, slots=True, kw_only=True)
class Heading:
    """An article title or a chunk's title path: short, question-like text that is embedded on its own."""

    article_id: str
    locale: str
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Snapshot:
    """Everything retrieval keeps in memory.

    ``vectors`` rows match ``chunks``; ``heading_vectors`` rows match ``headings``; the
    keyword index scores ``documents`` (one per article version: title plus whole body).
    """

    chunks: tuple[Chunk, ...]
    vectors: np.ndarray
    headings: tuple[Heading, ...]
    heading_vectors: np.ndarray
    documents: tuple[tuple[str, str], ...]  # (article_id, locale)
    keyword: KeywordIndex


def article_documents(chunks: Sequence[Chunk]) -> list[tuple[tuple[str, str], str]]:
    """One keyword document per article version, in order of first chunk: its title and every section."""
    texts: dict[tuple[str, str], list[str]] = {}
    for chunk in chunks:
        parts = texts.setdefault((chunk.article_id, chunk.locale), [chunk.title])
        if chunk.section:
            parts.append(chunk.section)
        parts.append(chunk.text)
    return [(key, "\n".join(parts)) for key, parts in texts.items()]


def write_snapshot(config: KnowledgeConfig, name: str, snapshot: Snapshot) -> Path:
    """Write a complete snapshot directory (a temporary directory renamed into place)."""
    root = config.index_dir / SNAPSHOTS
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root))
    try:
        _write_lines(tmp / "chunks.jsonl", (c.to_record() for c in snapshot.chunks))
        _write_lines(
            tmp / "headings.jsonl",
            ({"article_id": h.article_id, "locale": h.locale, "text": h.text} for h in snapshot.headings),
        )
        np.save(tmp / "vectors.npy", np.asarray(snapshot.vectors, dtype=np.float32))
        np.save(tmp / "headings.npy", np.asarray(snapshot.heading_vectors, dtype=np.float32))
        (tmp / "keyword").mkdir()
        (tmp / "keyword" / "documents.json").write_text(json.dumps(snapshot.documents), encoding="utf-8")
        snapshot.keyword.save(tmp / "keyword")
        os.replace(tmp, root / name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return root / name


def read_embeddings(
    config: KnowledgeConfig, manifest: Manifest
) -> tuple[tuple[Chunk, ...], np.ndarray, tuple[Heading, ...], np.ndarray]:
    """Chunks, chunk vectors, headings and heading vectors of the manifest's snapshot (blocking)."""
    directory = config.index_dir / SNAPSHOTS / manifest.snapshot
    try:
        chunks = tuple(Chunk.from_record(r) for r in _read_lines(directory / "chunks.jsonl"))
        headings = tuple(Heading(**r) for r in _read_lines(directory / "headings.jsonl"))
        vectors = np.load(directory / "vectors.npy")
        heading_vectors = np.load(directory / "headings.npy")
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise IndexIncompatible(f"index snapshot {directory} is unreadable ({exc}); {REBUILD_HINT}") from exc
    if (
        vectors.ndim != 2
        or vectors.shape[0] != len(chunks)
        or len(chunks) != manifest.chunk_count
        or heading_vectors.shape[0] != len(headings)
    ):
        raise IndexIncompatible(f"index snapshot {directory} does not match its manifest; {REBUILD_HINT}")
    return chunks, vectors, headings, heading_vectors


def read_snapshot(config: KnowledgeConfig, manifest: Manifest, analyzer: TextAnalyzer) -> Snapshot:
    """Load the snapshot the manifest names (blocking: run it in a thread)."""
    chunks, vectors, headings, heading_vectors = read_embeddings(config, manifest)
    directory = config.index_dir / SNAPSHOTS / manifest.snapshot / "keyword"
    try:
        documents = tuple(
            (str(a), str(b)) for a, b in json.loads((directory / "documents.json").read_text("utf-8"))
        )
        keyword = KeywordIndex.load(directory, analyzer)
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise IndexIncompatible(
            f"keyword index {directory} is unreadable ({exc}); run `cardcare ingest` to rebuild it"
        ) from exc
    return Snapshot(
        chunks=chunks,
        vectors=vectors,
        headings=headings,
        heading_vectors=heading_vectors,
        documents=documents,
        keyword=keyword,
    )


def prune_snapshots(config: KnowledgeConfig, keep: Sequence[str]) -> None:
    """Delete snapshots but ``keep`` (the current one, and the previous one a reader may still be loading)."""
    root = config.index_dir / SNAPSHOTS
    if not root.is_dir():
        return
    for entry in root.iterdir():
        if entry.name not in keep:
            shutil.rmtree(entry, ignore_errors=True)


def _write_lines(path: Path, records: Iterable[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


def _read_lines(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
