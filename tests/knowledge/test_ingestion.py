"""Ingestion: heading-aware chunking, the manifest, incremental re-ingest, failures that keep the index."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import shutil
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pytest

from knowledge import (
    EmbeddingUnavailable,
    IndexIncompatible,
    IndexUnavailable,
    KnowledgeConfig,
    index_is_stale,
    ingest,
    open_retriever,
)
from knowledge.articles import Article, ArticleError, load_articles
from knowledge.embedding import HashEmbedder
from knowledge.index import SNAPSHOTS, read_manifest
from knowledge.ingestion.chunking import MAX_WEIGHT, chunk_article, weight
from knowledge.ingestion.pipeline import build_key
from knowledge.stores import open_vector_store
from knowledge.stores.memory import InMemoryVectorStore
from tests.knowledge.conftest import SMALL_KB, article_text


def make_article(body: str, *, title: str = "年费与年费减免", locale: str = "zh") -> Article:
    return Article(
        id="annual-fee-and-waivers",
        locale=locale,  # type: ignore[arg-type]
        title=title,
        topic="annual_fee",
        intents=("billing.annual_fee",),
        tiers=("all",),
        effective_date=date(2026, 1, 1),
        version=3,
        body=body,
        path=Path("annual-fee-and-waivers.md"),
        content_hash="h",
    )


class CountingEmbedder(HashEmbedder):
    """The hashing embedder, remembering every document text it embedded."""

    def __init__(self, dim: int = 512) -> None:
        super().__init__(dim)
        self.documents: list[str] = []

    async def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        self.documents.extend(texts)
        return await super().embed_documents(texts)


class BrokenEmbedder(HashEmbedder):
    async def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        raise EmbeddingUnavailable("embedding endpoint is down")


def rewrite_article(kb_dir: Path, locale: str, article_id: str, **changes: object) -> None:
    spec = next(s for s in SMALL_KB if s["id"] == article_id and s["locale"] == locale)
    (kb_dir / locale / f"{article_id}.md").write_text(article_text(**{**spec, **changes}), encoding="utf-8")  # type: ignore[arg-type]


def snapshot_state(config: KnowledgeConfig) -> dict[str, bytes]:
    files = [config.manifest_path, *sorted((config.index_dir / SNAPSHOTS).rglob("*"))]
    return {str(p): p.read_bytes() for p in files if p.is_file()}


async def stored_count(config: KnowledgeConfig) -> int:
    store = open_vector_store(config)
    try:
        return await store.count()
    finally:
        await store.close()


# -- chunking ------------------------------------------------------------------------------------


def test_chunks_follow_sections_and_carry_their_title_path() -> None:
    body = "# 年费与年费减免\n\n## 各卡种年费\n\n金卡年费200元。\n\n## 怎么免年费\n\n金卡消费满6笔免年费。\n"
    chunks = chunk_article(make_article(body))
    assert [c.id for c in chunks] == ["annual-fee-and-waivers:zh:0", "annual-fee-and-waivers:zh:1"]
    assert [c.section for c in chunks] == ["各卡种年费", "怎么免年费"]
    assert chunks[1].title_path == "年费与年费减免 > 怎么免年费"
    assert chunks[1].text == "金卡消费满6笔免年费。"
    assert chunks[1].search_text == "年费与年费减免 > 怎么免年费\n金卡消费满6笔免年费。"
    assert (
        chunks[0].version == "3"
        and chunks[0].tiers == ("all",)
        and chunks[0].intents == ("billing.annual_fee",)
    )


def test_short_introduction_is_folded_into_first_section() -> None:
    body = "# Fees\n\nIn short:\n\n## Gold\n\nGold costs 200 yuan a year.\n"
    [chunk] = chunk_article(make_article(body, title="Fees", locale="en"))
    assert chunk.title_path == "Fees > Gold"
    assert chunk.text == "In short:\n\nGold costs 200 yuan a year."


def test_long_introduction_stands_as_its_own_chunk() -> None:
    intro = "Every Lumen Bank card has an annual fee that depends on its tier, and most can be waived. " * 2
    body = f"# Fees\n\n{intro}\n\n## Gold\n\nGold costs 200 yuan a year.\n"
    chunks = chunk_article(make_article(body, title="Fees", locale="en"))
    assert [(c.title_path, c.section) for c in chunks] == [("Fees", ""), ("Fees > Gold", "Gold")]


def test_long_section_is_split_at_subheadings_then_paragraphs_within_the_cap() -> None:
    paragraph = "金卡年费200元，一个卡年内消费满6笔即可免次年年费，消费笔数以入账为准。" * 4
    body = (
        "# 年费与年费减免\n\n## 各卡种年费\n\n"
        + "\n\n".join([paragraph] * 6)
        + "\n\n### 钻石卡\n\n钻石卡年费3,600元，不能减免。\n"
    )
    chunks = chunk_article(make_article(body))
    assert len(chunks) > 3
    assert all(weight(c.text) <= MAX_WEIGHT for c in chunks)
    assert chunks[-1].title_path == "年费与年费减免 > 各卡种年费 > 钻石卡"
    assert {c.title_path for c in chunks[:-1]} == {"年费与年费减免 > 各卡种年费"}
    assert "".join(c.text for c in chunks[:-1]).count("金卡年费200元") == 24


def test_a_single_overlong_sentence_is_cut_to_the_cap() -> None:
    body = "# T\n\n## S\n\n" + "很长" * 1000 + "\n"
    chunks = chunk_article(make_article(body, title="T"))
    assert all(weight(c.text) <= MAX_WEIGHT for c in chunks)
    assert "".join(c.text for c in chunks) == "很长" * 1000


def test_every_shipped_article_chunks_within_the_cap() -> None:
    for article in load_articles():
        chunks = chunk_article(article)
        assert chunks, article.path
        assert all(weight(c.text) <= MAX_WEIGHT and c.title_path.startswith(article.title) for c in chunks)


# -- pipeline ------------------------------------------------------------------------------------


async def test_first_ingest_indexes_every_article_and_writes_a_manifest(hash_config: KnowledgeConfig) -> None:
    assert index_is_stale(hash_config)
    report = await ingest(hash_config)
    assert (report.added, report.updated, report.removed, report.unchanged, report.rebuilt) == (
        11,
        0,
        0,
        0,
        True,
    )
    assert report.chunks_total == report.chunks_embedded == 17
    manifest = read_manifest(hash_config)
    assert manifest is not None
    assert dict(manifest.build_key) == build_key(hash_config, "hash-v1-512", 512)
    assert manifest.articles["zh/lost-stolen-card"].chunk_ids == (
        "lost-stolen-card:zh:0",
        "lost-stolen-card:zh:1",
    )
    assert len(manifest.articles["en/airport-lounge"].content_hash) == 64
    assert await stored_count(hash_config) == 17
    assert not index_is_stale(hash_config)


async def test_reingest_without_changes_embeds_nothing(hash_config: KnowledgeConfig) -> None:
    await ingest(hash_config)
    embedder = CountingEmbedder()
    report = await ingest(hash_config, embedder=embedder)
    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 0, 0, 11)
    assert embedder.documents == []


async def test_reingest_embeds_only_the_changed_article(hash_config: KnowledgeConfig, kb_dir: Path) -> None:
    await ingest(hash_config)
    rewrite_article(
        kb_dir,
        "en",
        "lost-stolen-card",
        sections=[("What to do", "Freeze the card in the app; call us for a courier.")],
    )
    assert index_is_stale(hash_config)
    embedder = CountingEmbedder()
    report = await ingest(hash_config, embedder=embedder)
    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 1, 0, 10)
    assert report.chunks_embedded == 1 and report.chunks_total == 16
    assert all("Lost or stolen card" in text for text in embedder.documents)
    assert await stored_count(hash_config) == 16  # the section that went is gone from the store too
    retriever = await open_retriever(hash_config)
    try:
        [passage] = await retriever.retrieve("courier freeze card", locale="en", k=1)
    finally:
        await retriever.close()
    assert passage.id == "lost-stolen-card:en:0" and "courier" in passage.text


async def test_reingest_removes_a_deleted_article(hash_config: KnowledgeConfig, kb_dir: Path) -> None:
    await ingest(hash_config)
    (kb_dir / "en" / "airport-lounge.md").unlink()
    report = await ingest(hash_config)
    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 0, 1, 10)
    assert await stored_count(hash_config) == 16
    manifest = read_manifest(hash_config)
    assert manifest is not None and "en/airport-lounge" not in manifest.articles
    retriever = await open_retriever(hash_config)
    try:
        passages = await retriever.retrieve("airport lounge visits", locale="en", k=10)
    finally:
        await retriever.close()
    assert "airport-lounge" not in {p.article_id for p in passages}


async def test_changing_the_embedder_rebuilds_everything(hash_config: KnowledgeConfig) -> None:
    await ingest(hash_config)
    smaller = dataclasses.replace(hash_config, embeddings_dim=256)
    assert index_is_stale(smaller)
    embedder = CountingEmbedder(dim=256)
    report = await ingest(smaller, embedder=embedder)
    assert report.rebuilt and report.added == 11 and report.chunks_embedded == 17
    assert await stored_count(smaller) == 17
    retriever = await open_retriever(smaller)
    await retriever.close()


async def test_a_schema_change_forces_a_rebuild(hash_config: KnowledgeConfig) -> None:
    await ingest(hash_config)
    raw = json.loads(hash_config.manifest_path.read_text())
    hash_config.manifest_path.write_text(json.dumps({**raw, "schema_version": 0}))
    assert index_is_stale(hash_config)
    report = await ingest(hash_config)
    assert report.rebuilt and report.added == 11


async def test_a_vector_store_out_of_step_with_the_manifest_forces_a_rebuild(
    hash_config: KnowledgeConfig,
) -> None:
    await ingest(hash_config)
    store = open_vector_store(hash_config)
    await store.reset()
    await store.close()
    report = await ingest(hash_config)
    assert report.rebuilt and report.chunks_embedded == 17
    assert await stored_count(hash_config) == 17


async def test_rebuild_flag_reembeds_everything(hash_config: KnowledgeConfig) -> None:
    await ingest(hash_config)
    embedder = CountingEmbedder()
    report = await ingest(hash_config, rebuild=True, embedder=embedder)
    assert report.rebuilt and report.chunks_embedded == 17


async def test_broken_front_matter_names_the_file_and_leaves_the_index_intact(
    hash_config: KnowledgeConfig, kb_dir: Path
) -> None:
    await ingest(hash_config)
    before = snapshot_state(hash_config)
    broken = kb_dir / "zh" / "annual-fee-and-waivers.md"
    broken.write_text(
        "---\nid: annual-fee-and-waivers\nlocale: zh\ntitle: [unclosed\n---\n\n# 年费\n\n正文\n"
    )
    rewrite_article(
        kb_dir, "en", "lost-stolen-card", sections=[("Changed", "New text that must not be indexed.")]
    )
    with pytest.raises(ArticleError, match=r"annual-fee-and-waivers\.md"):
        await ingest(hash_config)
    with pytest.raises(ArticleError, match=r"annual-fee-and-waivers\.md"):
        index_is_stale(hash_config)
    assert snapshot_state(hash_config) == before
    assert await stored_count(hash_config) == 17
    retriever = await open_retriever(hash_config)
    try:
        passages = await retriever.retrieve("年费怎么减免", locale="zh", k=1)
    finally:
        await retriever.close()
    assert passages[0].article_id == "annual-fee-and-waivers"


async def test_duplicate_ids_are_refused_before_anything_is_written(
    hash_config: KnowledgeConfig, kb_dir: Path
) -> None:
    shutil.copy(kb_dir / "zh" / "annual-fee-and-waivers.md", kb_dir / "zh" / "copy.md")
    with pytest.raises(ArticleError, match=r"copy\.md"):
        await ingest(hash_config)
    assert not hash_config.manifest_path.exists()


async def test_failing_embedder_leaves_the_previous_index_intact(
    hash_config: KnowledgeConfig, kb_dir: Path
) -> None:
    await ingest(hash_config)
    before = snapshot_state(hash_config)
    rewrite_article(
        kb_dir, "en", "lost-stolen-card", sections=[("Changed", "Text that never gets a vector.")]
    )
    with pytest.raises(EmbeddingUnavailable):
        await ingest(hash_config, embedder=BrokenEmbedder())
    assert snapshot_state(hash_config) == before
    assert await stored_count(hash_config) == 17


async def test_unreachable_vector_store_fails_clearly_and_writes_no_manifest(
    hash_config: KnowledgeConfig,
) -> None:
    config = dataclasses.replace(hash_config, chroma_url="http://127.0.0.1:9", store_timeout_s=5.0)
    with pytest.raises(IndexUnavailable, match=r"127\.0\.0\.1:9"):
        await ingest(config)
    assert not config.manifest_path.exists()


async def test_ingest_replaces_an_unreadable_chroma_directory(hash_config: KnowledgeConfig) -> None:
    await ingest(hash_config)
    (hash_config.chroma_dir / "chroma.sqlite3").write_bytes(b"written by something else" * 100)
    report = await ingest(hash_config)
    assert report.rebuilt
    assert await stored_count(hash_config) == 17


async def test_concurrent_ingests_take_turns(hash_config: KnowledgeConfig) -> None:
    first, second = await asyncio.gather(ingest(hash_config), ingest(hash_config))
    reports = sorted([first, second], key=lambda r: r.added)
    assert (reports[0].added, reports[0].unchanged) == (0, 11)
    assert (reports[1].added, reports[1].rebuilt) == (11, True)


async def test_index_is_stale_when_the_chroma_directory_is_gone(hash_config: KnowledgeConfig) -> None:
    await ingest(hash_config)
    shutil.rmtree(hash_config.chroma_dir)
    assert index_is_stale(hash_config)


async def test_ingest_accepts_any_vector_store(hash_config: KnowledgeConfig) -> None:
    store = InMemoryVectorStore()
    report = await ingest(hash_config, store=store)
    assert report.chunks_total == await store.count() == 17
    assert await store.count(locale="en") == 9


async def test_shipped_articles_ingest_and_each_is_found_by_its_own_title(tmp_path: Path) -> None:
    config = KnowledgeConfig(index_dir=tmp_path / "index", embedder="hash")
    store = InMemoryVectorStore()
    report = await ingest(config, store=store)
    articles = load_articles()
    assert report.added == len(articles) and report.chunks_total == await store.count()
    retriever = await open_retriever(config, store=store)
    try:
        for article in articles:
            passages = await retriever.retrieve(article.title, locale=article.locale, k=3)
            assert article.id in [p.article_id for p in passages], article.path
    finally:
        await retriever.close()


async def test_an_index_from_another_analyzer_is_refreshed_without_reembedding(
    hash_config: KnowledgeConfig,
) -> None:
    await ingest(hash_config)
    manifest = json.loads(hash_config.manifest_path.read_text())
    hash_config.manifest_path.write_text(json.dumps({**manifest, "extra": {"analyzer": 0}}))
    keyword_info = hash_config.index_dir / SNAPSHOTS / manifest["snapshot"] / "keyword" / "keyword.json"
    keyword_info.write_text(json.dumps({**json.loads(keyword_info.read_text()), "analyzer_version": 0}))
    assert index_is_stale(hash_config)
    with pytest.raises(IndexIncompatible, match="cardcare ingest"):
        await open_retriever(hash_config)
    embedder = CountingEmbedder()
    report = await ingest(hash_config, embedder=embedder)
    assert embedder.documents == [] and not report.rebuilt
    assert not index_is_stale(hash_config)
    retriever = await open_retriever(hash_config)
    await retriever.close()
