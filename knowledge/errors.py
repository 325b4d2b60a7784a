"""Errors of the knowledge package: one root, specific subclasses.

Adapters translate vendor exceptions (chromadb, openai) into these, so callers never
catch a vendor type.
"""

from __future__ import annotations

REBUILD_HINT = "run `cardcare ingest --rebuild` to build it again"


class KnowledgeError(Exception):
    """Root of every error the knowledge package raises on purpose."""


class IndexUnavailable(KnowledgeError):
    """The vector store or keyword index cannot be reached or read right now."""


class IndexMissing(IndexUnavailable):
    """No index has been built in the configured directory yet."""


class IndexIncompatible(KnowledgeError):
    """The index on disk was built by another version, embedder or schema; it must be rebuilt."""


class EmbeddingUnavailable(KnowledgeError):
    """The embedding model or endpoint failed or timed out."""


class IngestInProgress(KnowledgeError):
    """Another ingest holds the index directory's lock."""
