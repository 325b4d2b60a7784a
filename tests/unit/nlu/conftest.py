"""Fixtures of the understanding-engine tests: one intent model trained per session into tmp."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.nlu import OfflineUnderstander
from bot.nlu.train import TrainReport, train


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> TrainReport:
    """The intent model trained once on the bundled examples."""
    return train(tmp_path_factory.mktemp("nlu-model") / "intents.npz")


@pytest.fixture(scope="session")
def artifact(trained: TrainReport) -> Path:
    """Path of the session's intent model (``.npz``; its ``.json`` sidecar is next to it)."""
    return trained.path


@pytest.fixture(scope="session")
def understander(artifact: Path) -> OfflineUnderstander:
    """The offline engine on the session's model."""
    return OfflineUnderstander.load(artifact)


@pytest.fixture
def today() -> dt.date:
    """A fixed Wednesday, so relative dates are checkable."""
    return dt.date(2026, 5, 13)
