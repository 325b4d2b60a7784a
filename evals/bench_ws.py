"""Load benchmark: N concurrent customer WebSockets against a real ``cardcare serve`` process.

Starts the server in a child process (embedded SQLite store, or Redis with ``--redis-url``),
opens ``--sessions`` sockets, then sends ``--rate`` messages per second spread over them for
``--duration`` seconds, and reports ack and reply latency (p50/p95/p99), turns per second,
server RSS, errors and the machine. ``--json`` prints one JSON object on stdout.

    python -m evals.bench_ws --sessions 1000 --rate 200 --duration 20
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import websockets

from bot.auth import TokenService

SECRET = "bench-" + "s" * 42


def machine() -> dict[str, Any]:
    """What this benchmark ran on."""
    mem_kb = 0
    with contextlib.suppress(OSError), open("/proc/meminfo") as fh:
        mem_kb = int(fh.readline().split()[1])
    cpu = platform.processor() or ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"cpus": os.cpu_count(), "cpu": cpu, "mem_gib": round(mem_kb / 1024 / 1024, 1),
            "python": platform.python_version(), "os": platform.platform()}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mib(pid: int) -> float:
    with contextlib.suppress(OSError), open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return round(ordered[k], 2)


@dataclass
class Session:
    ws: Any
    sent: dict[str, float] = field(default_factory=dict)
    seq_of: dict[int, float] = field(default_factory=dict)


@dataclass
class Results:
    ack_ms: list[float] = field(default_factory=list)
    reply_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)

    def error(self, code: str) -> None:
        self.errors[code] = self.errors.get(code, 0) + 1


async def reader(s: Session, res: Results) -> None:
    try:
        async for raw in s.ws:
            now = time.perf_counter()
            f = json.loads(raw)
            t = f.get("type")
            if t == "ack":
                sent = s.sent.pop(f["client_msg_id"], None)
                if sent is not None:
                    res.ack_ms.append((now - sent) * 1000)
                    s.seq_of[f["seq"]] = sent
            elif t == "message" and f.get("role") == "bot":
                sent = s.seq_of.pop(f.get("reply_to", -1), None)
                if sent is not None:
                    res.reply_ms.append((now - sent) * 1000)
            elif t == "error":
                res.error(f.get("code", "error"))
    except websockets.ConnectionClosed as exc:
        res.error(f"closed_{exc.rcvd.code if exc.rcvd else 'abnormal'}")


async def open_sessions(ws_url: str, tokens: list[str], n: int, res: Results) -> list[Session]:
    sessions: list[Session] = []
    sem = asyncio.Semaphore(50)

    async def one(i: int) -> None:
        async with sem:
            try:
                ws = await websockets.connect(ws_url, max_size=1 << 20, open_timeout=30, ping_interval=None)
                await ws.send(json.dumps({"type": "hello", "token": tokens[i % len(tokens)], "locale": "zh-CN"}))
                welcome = json.loads(await asyncio.wait_for(ws.recv(), 30))
                if welcome.get("type") != "welcome":
                    res.error("no_welcome")
                    return
                sessions.append(Session(ws=ws))
            except (OSError, TimeoutError, websockets.WebSocketException):
                res.error("connect_failed")

    await asyncio.gather(*(one(i) for i in range(n)))
    return sessions


TEXTS = ["我的账单多少钱", "年费多少", "How do I pay my bill?", "分期手续费是多少", "积分怎么兑换", "what is my limit"]


async def drive(ws_url: str, tokens: list[str], args: argparse.Namespace) -> dict[str, Any]:
    res = Results()
    t0 = time.perf_counter()
    sessions = await open_sessions(ws_url, tokens, args.sessions, res)
    connect_s = time.perf_counter() - t0
    readers = [asyncio.create_task(reader(s, res)) for s in sessions]
    interval = 1.0 / args.rate
    total = int(args.rate * args.duration)
    start = time.perf_counter()
    for i in range(total):
        target = start + i * interval
        delay = target - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        s = sessions[i % len(sessions)]
        cmid = f"b{i}"
        s.sent[cmid] = time.perf_counter()
        try:
            await s.ws.send(json.dumps({"type": "message", "client_msg_id": cmid, "text": TEXTS[i % len(TEXTS)]}))
        except websockets.ConnectionClosed:
            res.error("send_closed")
    send_s = time.perf_counter() - start
    deadline = time.perf_counter() + 30
    while len(res.reply_ms) < total - sum(res.errors.values()) and time.perf_counter() < deadline:
        await asyncio.sleep(0.1)
    elapsed = time.perf_counter() - start
    still_open = sum(1 for s in sessions if s.ws.state.name == "OPEN")
    for s in sessions:
        await s.ws.close()
    for r in readers:
        r.cancel()
    return {
        "sessions_requested": args.sessions,
        "sessions_open": len(sessions),
        "sessions_open_at_end": still_open,
        "connect_s": round(connect_s, 2),
        "messages": total,
        "offered_rate_per_s": args.rate,
        "achieved_send_rate_per_s": round(total / send_s, 1),
        "acks": len(res.ack_ms),
        "replies": len(res.reply_ms),
        "turns_per_s": round(len(res.reply_ms) / elapsed, 1),
        "ack_ms": {"p50": pct(res.ack_ms, 50), "p95": pct(res.ack_ms, 95), "p99": pct(res.ack_ms, 99),
                   "mean": round(statistics.fmean(res.ack_ms), 2) if res.ack_ms else None},
        "reply_ms": {"p50": pct(res.reply_ms, 50), "p95": pct(res.reply_ms, 95), "p99": pct(res.reply_ms, 99)},
        "errors": res.errors,
    }


def start_server(port: int, var_dir: Path, redis_url: str | None, sessions: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CARDCARE_VAR_DIR": str(var_dir),
        "CARDCARE_TOKEN_SECRET": SECRET,
        "CARDCARE_REDIS_URL": redis_url or "",
        "CARDCARE_MAX_CONNECTIONS_PER_CUSTOMER": str(sessions + 10),
        "CARDCARE_CUSTOMER_RATE_PER_MIN": "1000000",
        "OPENAI_API_KEY": "",
        "OPENAI_BASE_URL": "",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def wait_ready(base: str, proc: subprocess.Popen[bytes], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited during start-up")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError("server not ready in time")


def run(args: argparse.Namespace) -> dict[str, Any]:
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="cardcare-bench-") as tmp:
        var = Path(tmp)
        if args.index_from:
            # Serving is measured, not the first start: reuse a built index and intent model.
            for name in ("index", "models"):
                src = Path(args.index_from) / name
                if src.exists():
                    shutil.copytree(src, var / name)
        proc = start_server(port, var, args.redis_url, args.sessions)
        try:
            wait_ready(f"http://127.0.0.1:{port}", proc)
            tokens = TokenService(SECRET).mint
            customer_tokens = [tokens(f"C00{i}", "customer", ttl_s=3600)[0] for i in range(1, 10)]
            result = asyncio.run(drive(f"ws://127.0.0.1:{port}/ws/chat", customer_tokens, args))
            result["server_rss_mib"] = rss_mib(proc.pid)
        finally:
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(15)
    result["store"] = "redis" if args.redis_url else "sqlite"
    result["machine"] = machine()
    return result


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sessions", type=int, default=1000)
    p.add_argument("--rate", type=float, default=200.0, help="messages per second, over all sessions")
    p.add_argument("--duration", type=float, default=20.0, help="seconds of sending")
    p.add_argument("--redis-url", default=None, help="run the server on this Redis instead of SQLite")
    p.add_argument("--index-from", default=None, help="a var dir whose built index and model to reuse")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result = run(args)
    if args.json:
        sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
