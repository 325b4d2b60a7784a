"""Fixtures for the evaluation suites: a shared cache (index + intent model), a fake suite."""

from __future__ import annotations

import shutil
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from evals.report import Plot, Section, SuiteContext, SuiteResult
from evals.suites import SUITES


@pytest.fixture(autouse=True)
def _matplotlib_config(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path_factory.getbasetemp() / "mplconfig"))


@pytest.fixture(scope="session")
def eval_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A suite cache holding the session's prebuilt hash index; the intent model is trained into it once."""
    import os

    cache = tmp_path_factory.mktemp("eval-cache")
    template = os.environ.get("CARDCARE_TEST_INDEX_TEMPLATE")
    if template:
        shutil.copytree(template, cache / "index-hash")
    return cache


@pytest.fixture
def suite_ctx(tmp_path: Path, eval_cache: Path) -> SuiteContext:
    """A small offline run on the hash embedder, writing under ``tmp_path``."""
    return SuiteContext(
        small=True,
        engine="offline",
        var_dir=tmp_path / "evals" / "suite",
        options={"embedder": "hash", "cache_dir": str(eval_cache), "concurrency": 3},
    )


def _figure() -> object:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2, 1.5))
    fig.subplots().plot([0, 1, 2], [1, 0, 1])
    return fig


async def _fake_run(ctx: SuiteContext) -> SuiteResult:
    ctx.progress(1, 2, "fake")
    ctx.progress(2, 2, "fake")
    return SuiteResult(
        summary={"accuracy_zh": 0.9, "violations": 1, "per_topic": {"fees": 0.5}},
        sections=[
            Section(title="Table", text="see https://example.com/x", columns=["a", "b"], rows=[[1, 2.5]]),
            Section(title="Dict rows", rows=[{"group": "g", "rate": 0.5}]),
        ],
        plots=[Plot(title="A plot", figure=_figure())],
        failures=[{"q": "问题", "reply": "visit http://phish.example now"}],
    )


async def _crash(ctx: SuiteContext) -> SuiteResult:
    raise RuntimeError("the suite broke")


@pytest.fixture
def fake_suite() -> Iterator[types.ModuleType]:
    """A registered suite ``fake`` reporting accuracy_zh 0.9 and violations 1."""
    module = types.ModuleType("fake_suite")
    module.NAME = "fake"  # type: ignore[attr-defined]
    module.DESCRIPTION = "a suite for testing the command line"  # type: ignore[attr-defined]
    module.run = _fake_run  # type: ignore[attr-defined]
    SUITES.register(module)
    yield module
    SUITES.unregister("fake")


@pytest.fixture
def crashing_suite() -> Iterator[types.ModuleType]:
    module = types.ModuleType("crashing_suite")
    module.NAME = "crashing"  # type: ignore[attr-defined]
    module.DESCRIPTION = "raises"  # type: ignore[attr-defined]
    module.run = _crash  # type: ignore[attr-defined]
    SUITES.register(module)
    yield module
    SUITES.unregister("crashing")
