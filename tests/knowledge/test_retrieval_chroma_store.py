"""Chroma adapter specifics: HNSW settings, never embedding, old or foreign databases, unreachable servers."""

from __future__ import annotations

import socket
from pathlib import Path

import chromadb
import pytest
from chromadb.config import Settings

from knowledge import Chunk, IndexIncompatible, IndexUnavailable
from knowledge.stores.chroma import ChromaVectorStore


def chunk(cid: str = "a1:zh:0") -> Chunk:
    return Chunk(
        id=cid,
        article_id="a1",
        locale="zh",
        title="T",
        section="S",
        title_path="T > S",
        text="正文",
        tiers=("all",),
        intents=("complaint",),
        version="1",
        topic="service",
    )


def raw_client(path: Path) -> chromadb.ClientAPI:
    return chromadb.PersistentClient(path=str(path), settings=Settings(anonymized_telemetry=False))


async def test_chroma_store_applies_raised_hnsw_parameters(tmp_path: Path) -> None:
    store = ChromaVectorStore(
        path=tmp_path, collection="kb-test", ef_search=333, ef_construction=444, max_neighbors=48
    )
    await store.open()
    hnsw = store.hnsw_configuration()
    await store.close()
    assert (hnsw["space"], hnsw["ef_search"], hnsw["ef_construction"], hnsw["max_neighbors"]) == (
        "cosine",
        333,
        444,
        48,
    )


async def test_chroma_store_updates_ef_search_of_an_existing_collection(tmp_path: Path) -> None:
    first = ChromaVectorStore(path=tmp_path, collection="kb-test", ef_search=100)
    await first.upsert([chunk()], [[1.0, 0.0]])
    await first.close()
    second = ChromaVectorStore(path=tmp_path, collection="kb-test", ef_search=300)
    await second.open()
    hnsw = second.hnsw_configuration()
    assert hnsw["ef_search"] == 300
    assert await second.count() == 1
    await second.close()


async def test_chroma_collection_never_embeds_text_itself(tmp_path: Path) -> None:
    store = ChromaVectorStore(path=tmp_path, collection="kb-test")
    await store.upsert([chunk()], [[1.0, 0.0]])
    await store.close()
    client = raw_client(tmp_path)
    try:
        collection = client.get_collection("kb-test")
        assert collection.configuration["embedding_function"].name() == "cardcare-explicit-vectors"
        with pytest.raises(IndexIncompatible, match="explicitly"):
            collection.add(ids=["x"], documents=["text without a vector"])
    finally:
        client.close()


async def test_chroma_store_refuses_an_unreadable_database_with_the_rebuild_command(tmp_path: Path) -> None:
    (tmp_path / "chroma.sqlite3").write_bytes(b"not a sqlite database" * 50)
    store = ChromaVectorStore(path=tmp_path, collection="kb-test")
    with pytest.raises(IndexIncompatible, match=r"cardcare ingest --rebuild"):
        await store.count()
    await store.reset()  # what a rebuild does: wipe the directory and start again
    await store.upsert([chunk()], [[1.0, 0.0]])
    assert await store.count() == 1
    await store.close()


async def test_chroma_store_refuses_the_pre_1_0_layout(tmp_path: Path) -> None:
    (tmp_path / "chroma-collections.parquet").write_bytes(b"PAR1")
    store = ChromaVectorStore(path=tmp_path, collection="kb-test")
    with pytest.raises(IndexIncompatible, match=r"old Chroma version.*--rebuild"):
        await store.open()
    await store.close()


async def test_chroma_store_refuses_a_collection_it_did_not_build(tmp_path: Path) -> None:
    client = raw_client(tmp_path)
    client.create_collection("kb-test", configuration={"hnsw": {"space": "l2"}})
    client.close()
    store = ChromaVectorStore(path=tmp_path, collection="kb-test")
    with pytest.raises(IndexIncompatible, match=r"not built by this version.*'l2'"):
        await store.open()
    await store.reset()
    await store.open()
    assert store.hnsw_configuration()["space"] == "cosine"
    await store.close()


async def test_chroma_store_reports_an_unreachable_server() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket is closed
    store = ChromaVectorStore(url=f"http://127.0.0.1:{port}", collection="kb-test", timeout_s=10)
    with pytest.raises(IndexUnavailable, match=rf"127\.0\.0\.1:{port}"):
        await store.count()
    await store.close()


async def test_chroma_store_times_out_on_a_server_that_never_answers() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)  # accepts connections, never replies
        port = listener.getsockname()[1]
        store = ChromaVectorStore(url=f"http://127.0.0.1:{port}", collection="kb-test", timeout_s=0.3)
        with pytest.raises(IndexUnavailable, match=r"took over 0\.3s"):
            await store.count()
    await store.close()


def test_chroma_store_needs_exactly_one_location(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        ChromaVectorStore(collection="kb-test")
    with pytest.raises(TypeError):
        ChromaVectorStore(path=tmp_path, url="http://x:8000", collection="kb-test")
