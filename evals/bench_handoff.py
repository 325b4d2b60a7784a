"""Handoff latency benchmark: from a customer's "转人工" to the chat showing in an agent's queue.

Starts real ``cardcare serve`` processes (embedded SQLite, or two processes sharing one
Redis with ``--redis-url``: customers on process A, the agent on process B), fills the queue
with ``--waiting`` chats, then measures ``--samples`` more handoffs: the time from sending
the message to the agent's socket receiving a queue snapshot that contains the chat.

    python -m evals.bench_handoff --waiting 200 --samples 50
    python -m evals.bench_handoff --waiting 200 --samples 50 --redis-url redis://127.0.0.1:6379/0
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import websockets

from bot.auth import TokenService
from evals.bench_ws import free_port, machine, pct, rss_mib, wait_ready

SECRET = "bench-handoff-" + "h" * 40


def start(var_dir: Path, port: int, redis_url: str | None, prefix: str, cards_db: Path,
          index_from: str | None = None) -> subprocess.Popen[bytes]:
    if index_from:
        for name in ("index", "models"):
            if (Path(index_from) / name).exists() and not (var_dir / name).exists():
                shutil.copytree(Path(index_from) / name, var_dir / name)
    env = {
        **os.environ,
        "CARDCARE_VAR_DIR": str(var_dir),
        "CARDCARE_TOKEN_SECRET": SECRET,
        "CARDCARE_REDIS_URL": redis_url or "",
        "CARDCARE_REDIS_PREFIX": prefix,
        "CARDCARE_CARDS_DB": str(cards_db),
        "CARDCARE_AGENT_HOURS": "00:00-23:59",
        "CARDCARE_MAX_CONNECTIONS_PER_CUSTOMER": "10000",
        "CARDCARE_CUSTOMER_RATE_PER_MIN": "1000000",
        "OPENAI_API_KEY": "",
        "OPENAI_BASE_URL": "",
    }
    return subprocess.Popen([sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def customer_handoff(ws_url: str, token: str) -> tuple[Any, str]:
    ws = await websockets.connect(ws_url + "/ws/chat", max_size=1 << 22, close_timeout=1)
    await ws.send(json.dumps({"type": "hello", "token": token, "locale": "zh-CN"}))
    welcome = json.loads(await ws.recv())
    return ws, str(welcome["conversation_id"])


async def drain(ws: Any) -> None:
    with contextlib.suppress(Exception):
        async for _ in ws:
            pass


async def drive(customer_url: str, agent_url: str, args: argparse.Namespace) -> dict[str, Any]:
    tokens = TokenService(SECRET)
    customer_tokens = [tokens.mint(f"C00{i}", "customer")[0] for i in (1, 5, 6, 7, 8)]  # zh, non-VIP
    async with httpx.AsyncClient() as http:
        agent_tok = (await http.post(agent_url.replace("ws://", "http://") + "/api/v1/demo/agent-token",
                                     json={"agent_id": "chenjing"})).json()["token"]
    agent = await websockets.connect(agent_url + "/ws/agent", max_size=1 << 24, close_timeout=1)
    await agent.send(json.dumps({"type": "hello", "token": agent_tok}))
    await agent.recv()
    seen: dict[str, float] = {}
    waiters: dict[str, asyncio.Future[float]] = {}

    async def read_agent() -> None:
        async for raw in agent:
            frame = json.loads(raw)
            if frame.get("type") != "queue":
                continue
            now = time.perf_counter()
            for item in frame["items"]:
                cid = item["conversation_id"]
                if cid not in seen:
                    seen[cid] = now
                    fut = waiters.get(cid)
                    if fut is not None and not fut.done():
                        fut.set_result(now)

    reader = asyncio.create_task(read_agent())
    sockets = []
    t0 = time.perf_counter()
    for i in range(args.waiting):
        ws, conv = await customer_handoff(customer_url, customer_tokens[i % len(customer_tokens)])
        sockets.append(ws)
        await ws.send(json.dumps({"type": "message", "client_msg_id": f"w{i}", "text": "转人工"}))
        asyncio.get_running_loop().create_task(drain(ws))
    fill_s = time.perf_counter() - t0
    deadline = time.perf_counter() + 120
    while len(seen) < args.waiting and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    latencies = []
    for i in range(args.samples):
        ws, conv = await customer_handoff(customer_url, customer_tokens[i % len(customer_tokens)])
        sockets.append(ws)
        fut: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        waiters[conv] = fut
        sent = time.perf_counter()
        await ws.send(json.dumps({"type": "message", "client_msg_id": f"s{i}", "text": "转人工"}))
        asyncio.get_running_loop().create_task(drain(ws))
        try:
            visible = await asyncio.wait_for(fut, 30)
            latencies.append((visible - sent) * 1000)
        except TimeoutError:
            pass
    reader.cancel()
    for ws in sockets:
        await ws.close()
    await agent.close()
    return {
        "waiting_before_samples": len([c for c in seen if c not in waiters]),
        "fill_s": round(fill_s, 2),
        "samples": args.samples,
        "visible": len(latencies),
        "trigger_to_agent_visible_ms": {
            "p50": pct(latencies, 50),
            "p95": pct(latencies, 95),
            "p99": pct(latencies, 99),
            "max": round(max(latencies), 2) if latencies else None,
        },
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="cardcare-bench-handoff-") as tmp:
        root = Path(tmp)
        cards_db = root / "cardsystem.db"
        prefix = f"benchhandoff{os.getpid()}:"
        procs = []
        a_port = free_port()
        a = start(root / "a", a_port, args.redis_url, prefix, cards_db, args.index_from)
        procs.append(a)
        b_port = a_port
        try:
            wait_ready(f"http://127.0.0.1:{a_port}", a)
            if args.redis_url:
                b_port = free_port()
                b = start(root / "b", b_port, args.redis_url, prefix, cards_db, args.index_from)
                procs.append(b)
                wait_ready(f"http://127.0.0.1:{b_port}", b)
            result = asyncio.run(drive(f"ws://127.0.0.1:{a_port}", f"ws://127.0.0.1:{b_port}", args))
            result["server_rss_mib"] = [rss_mib(p.pid) for p in procs]
        finally:
            for p in procs:
                p.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    p.wait(15)
    result["deployment"] = "two processes, one Redis" if args.redis_url else "embedded (one process, SQLite)"
    result["machine"] = machine()
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--waiting", type=int, default=200, help="chats already waiting before measuring")
    p.add_argument("--samples", type=int, default=50)
    p.add_argument("--redis-url", default=None)
    p.add_argument("--index-from", default=None, help="a var dir whose built index and model to reuse")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    result = run(args)
    sys.stdout.write(json.dumps(result, ensure_ascii=False, indent=None if args.json else 2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
