"""``cardcare simulate`` produces data the service report reads, surge alert included."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from datetime import datetime
from pathlib import Path

import pytest

from evals.simulate import SimClock, main
from evals.suites import service


def test_sim_clock_moves_on_jumps_and_never_goes_back() -> None:
    start = datetime.fromisoformat("2026-03-02T10:00:00+08:00")
    clock = SimClock(start)
    assert clock() >= start
    clock.advance(3600)
    assert (clock() - start).total_seconds() >= 3600
    clock.set(start)
    assert (clock() - start).total_seconds() >= 3600


@pytest.fixture
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.getbasetemp() / "evals-cache"
    template = os.environ.get("CARDCARE_TEST_INDEX_TEMPLATE")
    if template and not (path / "index-hash").exists():
        shutil.copytree(template, path / "index-hash")
    return path


def test_simulate_small_output_is_read_by_the_service_report(tmp_path: Path, cache: Path) -> None:
    out = tmp_path / "sim"
    code = main(["--customers", "20", "--days", "6", "--seed", "3", "--out", str(out), "--cache", str(cache)])
    assert code == 0
    summary = json.loads((out / "simulation.json").read_text(encoding="utf-8"))
    assert summary["sessions"] >= 10 and summary["errors"] == 0
    assert summary["surge_reports"] >= 8 and summary["handoffs"] >= 8
    assert any(a["day"] == summary["surge_day"] for a in summary["alerts"])
    assert summary["alert_reached_console"] is True

    async def report() -> object:
        store, queue, bus = await service.open_sources(out, None)
        try:
            return await service.report(store, queue, bus, where=str(out))
        finally:
            await queue.aclose()
            await store.close()

    result = asyncio.run(report())
    s = result.summary
    assert s["conversations"] >= 10 and 0 < s["containment_rate"] < 1
    assert s["sla_p1"] is not None and s["aht_mean_s"] > 0
    assert s["alerts"] >= 1 and s["alerts_published"] == 0  # the simulation already published them
    assert any(r["alert_id"].endswith(summary["surge_day"]) for r in summary["alerts"])
    assert {p.title for p in result.plots} >= {
        "Daily volume by intent",
        "Surge alerts",
        "SLA attainment per priority",
    }
    assert main(["--out", str(out), "--days", "1", "--customers", "1"]) == 2  # never overwrites a simulation
