"""Test harness: a real uvicorn server (thread or process) and a small WebSocket chat client."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
import websockets

from bot.server.app import create_app
from bot.server.settings import BotSettings
from tests.redis_server import free_port

ROOT = Path(__file__).resolve().parents[1]


class LiveServer:
    """uvicorn serving ``create_app(settings)`` in a background thread on a free port."""

    def __init__(self, settings: BotSettings, app: Any = None) -> None:
        self.settings = settings
        self.port = free_port()
        self.app = app or create_app(settings)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning",
                                ws_max_size=1 << 20, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)

    @property
    def rt(self) -> Any:
        return self.app.state.rt

    async def call(self, fn: Any) -> Any:
        """Run ``fn()`` (a coroutine function) on the server's event loop and await its result."""
        loop = self.rt.extras["loop"]
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(fn(), loop))


@contextlib.contextmanager
def live_server(settings: BotSettings, clock: Any = None) -> Iterator[LiveServer]:
    app = create_app(settings, clock=clock) if clock is not None else None
    server = LiveServer(settings, app).start()
    try:
        yield server
    finally:
        server.stop()


def make_settings(var_dir: Path, **overrides: Any) -> BotSettings:
    """Settings for a test server: its own var dir, the hashing embedder, no LLM, demo on."""
    values: dict[str, Any] = {
        "var_dir": var_dir,
        "redis_url": None,
        "openai_api_key": None,
        "openai_base_url": None,
        "embedder": "hash",
        "demo": True,
        "token_secret": "t" * 48,
        "sqlite_synchronous": "NORMAL",
    }
    values.update(overrides)
    copy_index(Path(values["var_dir"]))
    return BotSettings(_env_file=None, **values)  # type: ignore[call-arg]


class ShiftedClock:
    """Real time moved to a chosen China-time hour (agents on duty 08:00–22:00), plus ``advance``."""

    def __init__(self, china_hour: int = 10) -> None:
        now = datetime.now(UTC)
        china_now = now + timedelta(hours=8)
        target = china_now.replace(hour=china_hour, minute=0, second=0, microsecond=0)
        self.offset = target - china_now

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


def copy_index(var_dir: Path) -> None:
    """Give a test server its own copy of the session's prebuilt index and intent model."""
    template = os.environ.get("CARDCARE_TEST_VAR_TEMPLATE")
    if not template:
        return
    for name in ("index", "models"):
        target = var_dir / name
        if not target.exists():
            shutil.copytree(Path(template) / name, target)
    cache = Path(template) / "jieba.cache"
    if cache.exists() and not (var_dir / "jieba.cache").exists():
        shutil.copy(cache, var_dir / "jieba.cache")


class ServerProcess:
    """``cardcare serve`` in a child process (for kill -9 and multi-process tests)."""

    def __init__(self, env: dict[str, str], port: int | None = None) -> None:
        self.port = port or free_port()
        self.env = {**os.environ, **env}
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90) -> ServerProcess:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError(f"server exited: {err[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.http + "/readyz", timeout=1).status_code == 200:
                    return self
            time.sleep(0.1)
        raise RuntimeError("server did not become ready")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


async def demo_token(http: str, customer_id: str) -> str:
    async with httpx.AsyncClient() as client:
        r = await client.post(http + "/api/v1/demo/token", json={"customer_id": customer_id})
        r.raise_for_status()
        return str(r.json()["token"])


class ChatClient:
    """A scripted customer over the real ``/ws/chat`` protocol."""

    def __init__(self, ws_base: str, token: str, *, locale: str = "zh-CN") -> None:
        self.ws_base = ws_base
        self.token = token
        self.locale = locale
        self.conn: Any = None
        self.welcome: dict[str, Any] = {}
        self.frames: list[dict[str, Any]] = []
        self._n = 0

    async def connect(self, conversation_id: str | None = None, last_seq: int | None = None) -> dict[str, Any]:
        self.conn = await websockets.connect(self.ws_base + "/ws/chat", max_size=1 << 22, close_timeout=1)
        hello: dict[str, Any] = {"type": "hello", "token": self.token, "locale": self.locale}
        if conversation_id:
            hello["conversation_id"] = conversation_id
        if last_seq is not None:
            hello["last_seq"] = last_seq
        await self.conn.send(json.dumps(hello))
        self.welcome = await self.recv()
        return self.welcome

    async def recv(self, timeout: float = 15) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.conn.recv(), timeout)
        frame: dict[str, Any] = json.loads(raw)
        self.frames.append(frame)
        return frame

    async def send(self, frame: dict[str, Any] | str | bytes) -> None:
        await self.conn.send(frame if isinstance(frame, str | bytes) else json.dumps(frame))

    def next_id(self) -> str:
        self._n += 1
        return f"cm-{id(self) % 10000}-{self._n}"

    async def say(self, text: str, client_msg_id: str | None = None) -> str:
        cmid = client_msg_id or self.next_id()
        await self.send({"type": "message", "client_msg_id": cmid, "text": text})
        return cmid

    async def click(self, action_id: str, values: dict[str, Any] | None = None) -> str:
        cmid = self.next_id()
        await self.send({"type": "action", "client_msg_id": cmid, "action_id": action_id, "values": values or {}})
        return cmid

    async def until(self, pred: Any, timeout: float = 20) -> dict[str, Any]:
        """Receive frames until one satisfies ``pred``; return it."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no matching frame; got {[f.get('type') for f in self.frames[-10:]]}")
            frame = await self.recv(left)
            if pred(frame):
                return frame

    async def reply(self, timeout: float = 20) -> dict[str, Any]:
        """The next bot/agent/system message frame."""
        return await self.until(lambda f: f.get("type") == "message" and f.get("role") != "customer", timeout)

    async def ask(self, text: str, timeout: float = 20) -> dict[str, Any]:
        """Say ``text`` and return the assistant's reply to it."""
        await self.say(text)
        return await self.reply(timeout)

    async def close(self) -> None:
        if self.conn is not None:
            await self.conn.close()

    @property
    def last_seq(self) -> int:
        seqs = [f["seq"] for f in self.frames if f.get("type") in ("message", "handoff", "action") and "seq" in f]
        return max(seqs, default=0)


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class AgentClient:
    """A scripted agent over the real ``/ws/agent`` protocol."""

    def __init__(self, ws_base: str, token: str) -> None:
        self.ws_base = ws_base
        self.token = token
        self.conn: Any = None
        self.welcome: dict[str, Any] = {}
        self.frames: list[dict[str, Any]] = []

    async def connect(self) -> dict[str, Any]:
        self.conn = await websockets.connect(self.ws_base + "/ws/agent", max_size=1 << 22, close_timeout=1)
        await self.conn.send(json.dumps({"type": "hello", "token": self.token}))
        self.welcome = await self.recv()
        return self.welcome

    async def recv(self, timeout: float = 15) -> dict[str, Any]:
        frame: dict[str, Any] = json.loads(await asyncio.wait_for(self.conn.recv(), timeout))
        self.frames.append(frame)
        return frame

    async def send(self, frame: dict[str, Any]) -> None:
        await self.conn.send(json.dumps(frame))

    async def until(self, pred: Any, timeout: float = 20) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no matching agent frame; got {[f.get('type') for f in self.frames[-10:]]}")
            frame = await self.recv(left)
            if pred(frame):
                return frame

    async def queued(self, conversation_id: str, timeout: float = 20) -> dict[str, Any]:
        """Wait until the conversation shows in this agent's queue; return its item."""
        frame = await self.until(lambda f: f.get("type") == "queue" and any(
            i["conversation_id"] == conversation_id for i in f["items"]), timeout)
        return next(i for i in frame["items"] if i["conversation_id"] == conversation_id)

    async def claim(self, conversation_id: str) -> dict[str, Any]:
        await self.send({"type": "claim", "conversation_id": conversation_id})
        return await self.until(lambda f: f.get("type") in ("assigned", "error")
                                and f.get("conversation_id", conversation_id) == conversation_id)

    async def close(self) -> None:
        if self.conn is not None:
            await self.conn.close()


async def agent_token(http: str, agent_id: str) -> str:
    async with httpx.AsyncClient() as client:
        r = await client.post(http + "/api/v1/demo/agent-token", json={"agent_id": agent_id})
        r.raise_for_status()
        return str(r.json()["token"])
