"""cardcare knowledge package: articles, ingestion, vector + keyword stores, hybrid retrieval.

Public names only. Retrieval and ingestion load heavy libraries (numpy, jieba, bm25s and,
through the Chroma adapter, chromadb), so they are imported on first use: ``import
knowledge`` stays cheap for code that only needs the models, ports and errors.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from knowledge.errors import (
    EmbeddingUnavailable,
    IndexIncompatible,
    IndexMissing,
    IndexUnavailable,
    IngestInProgress,
    KnowledgeError,
)
from knowledge.models import LOCALES, Chunk, Citation, Locale, Passage, PassageSource
from knowledge.ports import Embedder, Retriever, VectorStore
from knowledge.settings import KnowledgeConfig, KnowledgeSettings

if TYPE_CHECKING:
    from knowledge.ingestion.pipeline import IngestReport, index_is_stale, ingest
    from knowledge.ranking import RetrievalTuning
    from knowledge.retrieval import (
        HybridRetriever,
        VectorOnlyRetriever,
        open_retriever,
        open_vector_only_retriever,
    )

_LAZY = {
    "HybridRetriever": "knowledge.retrieval",
    "VectorOnlyRetriever": "knowledge.retrieval",
    "RetrievalTuning": "knowledge.ranking",
    "open_retriever": "knowledge.retrieval",
    "open_vector_only_retriever": "knowledge.retrieval",
    "ingest": "knowledge.ingestion.pipeline",
    "index_is_stale": "knowledge.ingestion.pipeline",
    "IngestReport": "knowledge.ingestion.pipeline",
}

__all__ = [
    "LOCALES",
    "Chunk",
    "Citation",
    "Embedder",
    "EmbeddingUnavailable",
    "HybridRetriever",
    "IndexIncompatible",
    "IndexMissing",
    "IndexUnavailable",
    "IngestInProgress",
    "IngestReport",
    "KnowledgeConfig",
    "KnowledgeError",
    "KnowledgeSettings",
    "Locale",
    "Passage",
    "PassageSource",
    "RetrievalTuning",
    "Retriever",
    "VectorOnlyRetriever",
    "VectorStore",
    "index_is_stale",
    "ingest",
    "open_retriever",
    "open_vector_only_retriever",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'knowledge' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
