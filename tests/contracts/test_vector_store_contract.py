"""One behaviour suite for the VectorStore port, run unchanged on every adapter.

Backends: the in-memory store, embedded Chroma in tmp_path, and a Chroma server (the
scale-out deployment) started from the chromadb package's own ``chroma run``.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from knowledge import Chunk, IndexIncompatible, VectorStore
from knowledge.stores.chroma import ChromaVectorStore
from knowledge.stores.memory import InMemoryVectorStore

DIM = 4


def chroma_cli() -> str | None:
    beside_python = Path(sys.executable).with_name("chroma")
    return str(beside_python) if beside_python.exists() else shutil.which("chroma")


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a Chroma server private to this test session."""
    cli = chroma_cli()
    if cli is None:
        pytest.skip("the chroma command-line tool is not installed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = tmp_path_factory.mktemp("chroma-server")
    log = (data / "server.log").open("wb")
    process = subprocess.Popen(
        [cli, "run", "--path", str(data / "db"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                tail = (data / "server.log").read_text(errors="replace")[-2000:]
                pytest.fail(f"chroma server did not start: {tail}")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@pytest.fixture(params=["memory", "chroma", "chroma_http"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[VectorStore]:
    s: VectorStore
    if request.param == "memory":
        s = InMemoryVectorStore()
    elif request.param == "chroma":
        s = ChromaVectorStore(path=tmp_path / "chroma", collection="contract-test")
    else:
        url = request.getfixturevalue("chroma_server")
        s = ChromaVectorStore(url=url, collection=f"contract-{uuid.uuid4().hex}")
    await s.reset()
    yield s
    await s.close()


def chunk(
    cid: str,
    *,
    article: str = "a1",
    locale: str = "zh",
    tiers: tuple[str, ...] = ("all",),
    text: str = "正文",
) -> Chunk:
    return Chunk(
        id=cid,
        article_id=article,
        locale=locale,  # type: ignore[arg-type]
        title=f"{article} title",
        section="Section",
        title_path=f"{article} title > Section",
        text=text,
        tiers=tiers,
        intents=("billing.annual_fee", "benefits.rights"),
        version="2",
        topic="annual_fee",
    )


E1, E2, E3, E4 = ([1.0 if i == j else 0.0 for i in range(DIM)] for j in range(DIM))


async def test_store_counts_what_was_upserted(store: VectorStore) -> None:
    await store.upsert(
        [chunk("a1:zh:0"), chunk("a1:en:0", locale="en"), chunk("a2:zh:0", article="a2")], [E1, E2, E3]
    )
    assert await store.count() == 3
    assert await store.count(locale="zh") == 2
    assert await store.count(locale="en") == 1


async def test_store_upsert_replaces_by_id(store: VectorStore) -> None:
    await store.upsert([chunk("a1:zh:0", text="旧")], [E1])
    await store.upsert([chunk("a1:zh:0", text="新")], [E2])
    assert await store.count() == 1
    [hit] = await store.query(E2, k=1)
    assert hit.text == "新"
    assert hit.score == pytest.approx(1.0, abs=1e-4)


async def test_store_returns_nearest_first_with_cosine_scores(store: VectorStore) -> None:
    await store.upsert(
        [chunk("x:zh:0", article="x"), chunk("y:zh:0", article="y"), chunk("z:zh:0", article="z")],
        [[1.0, 0.0, 0.0, 0.0], [0.8, 0.6, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]],
    )
    hits = await store.query([2.0, 0.0, 0.0, 0.0], k=3)
    assert [h.id for h in hits] == ["x:zh:0", "y:zh:0", "z:zh:0"]
    assert [h.score for h in hits] == pytest.approx([1.0, 0.8, 0.0], abs=1e-4)
    assert all(h.source == "vector" for h in hits)


async def test_store_round_trips_every_chunk_field(store: VectorStore) -> None:
    original = chunk(
        "a1:en:3", locale="en", tiers=("gold", "platinum"), text="Gold **fee** ¥200\n\n| a | b |"
    )
    await store.upsert([original], [E1])
    [hit] = await store.query(E1, k=1)
    assert (
        Chunk.from_record({k: v for k, v in hit.to_record().items() if k not in ("score", "source")})
        == original
    )


async def test_store_filters_by_locale(store: VectorStore) -> None:
    await store.upsert([chunk("a1:zh:0"), chunk("a1:en:0", locale="en")], [E1, E1])
    assert [h.id for h in await store.query(E1, k=5, locale="en")] == ["a1:en:0"]
    assert [h.id for h in await store.query(E1, k=5, locale="zh")] == ["a1:zh:0"]


async def test_store_filters_by_tier_keeping_general_chunks(store: VectorStore) -> None:
    await store.upsert(
        [
            chunk("all:zh:0", article="all"),
            chunk("gold:zh:0", article="gold", tiers=("gold",)),
            chunk("top:zh:0", article="top", tiers=("platinum", "diamond")),
            chunk("top:en:0", article="top", locale="en", tiers=("platinum", "diamond")),
        ],
        [E1, E1, E1, E1],
    )
    assert {h.id for h in await store.query(E1, k=10, tier="gold")} == {"all:zh:0", "gold:zh:0"}
    assert {h.id for h in await store.query(E1, k=10, tier="diamond")} == {"all:zh:0", "top:zh:0", "top:en:0"}
    assert {h.id for h in await store.query(E1, k=10, tier="diamond", locale="zh")} == {
        "all:zh:0",
        "top:zh:0",
    }
    assert {h.id for h in await store.query(E1, k=10, tier="classic")} == {"all:zh:0"}


async def test_store_returns_what_it_has_when_k_exceeds_it(store: VectorStore) -> None:
    assert await store.query(E1, k=3) == []
    await store.upsert([chunk("a1:zh:0")], [E1])
    assert len(await store.query(E1, k=50)) == 1
    assert await store.query(E1, k=0) == []
    assert await store.query(E1, k=5, locale="en") == []


async def test_store_deletes_one_article_version_keeping_listed_chunks(store: VectorStore) -> None:
    await store.upsert(
        [
            chunk("a1:zh:0"),
            chunk("a1:zh:1"),
            chunk("a1:zh:2"),
            chunk("a1:en:0", locale="en"),
            chunk("a2:zh:0", article="a2"),
        ],
        [E1, E2, E3, E1, E4],
    )
    assert await store.delete_article("a1", locale="zh", keep={"a1:zh:0"}) == 2
    assert {h.id for h in await store.query(E1, k=10)} == {"a1:zh:0", "a1:en:0", "a2:zh:0"}
    assert await store.delete_article("a1", locale="zh") == 1
    assert await store.delete_article("missing", locale="zh") == 0
    assert await store.count() == 2


async def test_store_reset_empties_it_and_accepts_another_dimension(store: VectorStore) -> None:
    await store.upsert([chunk("a1:zh:0")], [E1])
    await store.reset()
    assert await store.count() == 0
    await store.upsert([chunk("a1:zh:0")], [[0.0, 1.0]])
    assert [h.id for h in await store.query([0.0, 1.0], k=1)] == ["a1:zh:0"]


async def test_store_refuses_vectors_of_another_dimension(store: VectorStore) -> None:
    await store.upsert([chunk("a1:zh:0")], [E1])
    with pytest.raises(IndexIncompatible):
        await store.upsert([chunk("a2:zh:0", article="a2")], [[1.0, 0.0]])


async def test_store_rejects_chunks_and_vectors_of_different_lengths(store: VectorStore) -> None:
    with pytest.raises(ValueError, match="2 chunks but 1 vectors"):
        await store.upsert([chunk("a1:zh:0"), chunk("a1:zh:1")], [E1])


async def test_store_ignores_an_empty_upsert(store: VectorStore) -> None:
    await store.upsert([], [])
    assert await store.count() == 0
