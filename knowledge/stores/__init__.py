"""Vector store adapters. Import them directly; chromadb is heavy and loads only with ``stores.chroma``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from knowledge.ports import VectorStore
    from knowledge.settings import KnowledgeConfig


def open_vector_store(config: KnowledgeConfig) -> VectorStore:
    """The Chroma store ``config`` names: a server if ``chroma_url`` is set, else embedded in index_dir."""
    from knowledge.stores.chroma import ChromaVectorStore  # deferred: chromadb takes half a second to import

    return ChromaVectorStore(
        path=None if config.chroma_url else config.chroma_dir,
        url=config.chroma_url,
        collection=config.collection,
        ef_search=config.hnsw_ef_search,
        ef_construction=config.hnsw_ef_construction,
        max_neighbors=config.hnsw_max_neighbors,
        timeout_s=config.store_timeout_s,
    )
