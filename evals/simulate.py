"""Realistic traffic through the real service, day by day: ``cardcare simulate``.

An in-process server (uvicorn on a free port, ``create_app`` with an injected clock) gets
many customers of every segment. Each simulated day, customers open chats over the real
customer WebSocket with intent mixes that depend on their segment; flows are completed or
abandoned; handoffs are answered by simulated agents over the real agent WebSocket (claim,
reply, close with a disposition; sometimes slowly enough to miss the first-response target);
customers rate the chat; some come back within days; and on one day a fraud surge is
injected (many unrecognised-transaction reports). The clock jumps through the simulated
days, so every stored timestamp is simulated time.

The output directory is an ordinary var dir: ``cardcare eval service --var-dir DIR`` reads it.
``evals/suites/dialogues.py`` uses the same live-service harness.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import random
import shutil
import socket
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import uvicorn
import websockets

logger = logging.getLogger(__name__)

CHINA = ZoneInfo("Asia/Shanghai")
# A weekday inside agent hours (10:00 China time): evals do not depend on the wall clock.
DEFAULT_START = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
TOKEN_SECRET = "eval-" + "s" * 59

Progress = Callable[[int, int, str], None]


# -- time -------------------------------------------------------------------------------------


class SimClock:
    """Simulated time: a set instant that moves on with real time, and jumps on ``advance``/``set``.

    The server calls it from its own thread, so reads and jumps are locked. It never goes back:
    ``set`` to an earlier instant is ignored, so stored timestamps keep their order.
    """

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("SimClock needs an aware datetime")
        self._base = start
        self._mark = time.monotonic()
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._base + timedelta(seconds=time.monotonic() - self._mark)

    def set(self, at: datetime) -> None:
        """Jump to ``at`` (if it is later than now)."""
        with self._lock:
            now = self._base + timedelta(seconds=time.monotonic() - self._mark)
            self._base = max(at, now)
            self._mark = time.monotonic()

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of simulated time pass at once."""
        self.set(self() + timedelta(seconds=seconds))


# -- the live service ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def prepare_template(template: Path) -> Path:
    """A var dir holding the knowledge index (hash embedder) and the intent model, built once."""
    done = template / ".ready"
    if done.exists():
        return template
    from bot.nlu.classifier import load_or_train
    from knowledge import KnowledgeConfig, ingest

    template.mkdir(parents=True, exist_ok=True)
    await ingest(KnowledgeConfig(index_dir=template / "index", embedder="hash"))
    await asyncio.to_thread(load_or_train, template / "models" / "intents.npz")
    done.write_text("ok", encoding="utf-8")
    return template


def seed_var_dir(var_dir: Path, template: Path | None) -> None:
    """Copy the prebuilt index and model into a fresh var dir (each server has its own copy)."""
    var_dir.mkdir(parents=True, exist_ok=True)
    if template is None:
        return
    for name in ("index", "models"):
        if (template / name).exists() and not (var_dir / name).exists():
            shutil.copytree(template / name, var_dir / name)


class LiveService:
    """The real app (``create_app``) served by uvicorn in a thread, with a simulated clock."""

    def __init__(self, var_dir: Path, *, clock: SimClock, template: Path | None = None,
                 llm_base_url: str | None = None, llm_api_key: str | None = None,
                 sla_check_interval_s: float = 1.0) -> None:
        from bot.server.app import create_app
        from bot.server.settings import BotSettings

        seed_var_dir(var_dir, template)
        values: dict[str, Any] = {
            "var_dir": var_dir, "redis_url": None, "embedder": "hash", "demo": True,
            "token_secret": TOKEN_SECRET, "sqlite_synchronous": "NORMAL",
            "openai_api_key": llm_api_key, "openai_base_url": llm_base_url,
            "sla_check_interval_s": sla_check_interval_s, "customer_rate_per_min": 100_000,
            "rate_burst": 1000, "rate_per_s": 1000.0,
        }
        self.settings = BotSettings(_env_file=None, **values)  # type: ignore[call-arg]
        self.clock = clock
        self.port = free_port()
        self.app = create_app(self.settings, clock=clock)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="error",
                                ws_max_size=1 << 22, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True, name="cardcare-eval-server")

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def rt(self) -> Any:
        return self.app.state.rt

    def start(self, timeout: float = 120) -> LiveService:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the cardcare server did not start (see its log above)")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)

    def __enter__(self) -> LiveService:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def call(self, fn: Callable[[], Awaitable[Any]]) -> Any:
        """Run ``fn()`` on the server's event loop (its stores are bound to that loop)."""
        loop = self.rt.extras["loop"]
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(fn(), loop))

    async def customer_token(self, customer_id: str) -> str:
        async with httpx.AsyncClient(timeout=10) as client:
            r = await client.post(self.http + "/api/v1/demo/token", json={"customer_id": customer_id})
            r.raise_for_status()
            return str(r.json()["token"])

    async def agent_token(self, agent_id: str) -> str:
        async with httpx.AsyncClient(timeout=10) as client:
            r = await client.post(self.http + "/api/v1/demo/agent-token", json={"agent_id": agent_id})
            r.raise_for_status()
            return str(r.json()["token"])

    async def customer_state(self, customer_id: str) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=10) as client:
            r = await client.get(self.http + f"/api/v1/demo/customers/{customer_id}/state")
            r.raise_for_status()
            data: dict[str, Any] = r.json()
            return data

    async def put_customer(self, doc: dict[str, Any]) -> None:
        """Insert or replace a customer's document in the simulated card system."""
        await self.call(lambda: self.rt.cards.add_customer_doc(doc))

    async def raw_customer(self, customer_id: str) -> dict[str, Any]:
        doc: dict[str, Any] = await self.call(lambda: self.rt.cards.snapshot(customer_id))
        return doc

    async def idle(self) -> None:
        """Wait until every scheduled turn has finished."""
        await self.call(self.rt.conversations.idle)


class FrameStream:
    """A WebSocket whose frames a reader task collects; callers wait on predicates over them."""

    def __init__(self) -> None:
        self.conn: Any = None
        self.frames: list[dict[str, Any]] = []
        self._changed = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None
        self.closed_code: int | None = None

    async def open(self, url: str) -> None:
        self.conn = await websockets.connect(url, max_size=1 << 22, close_timeout=1, open_timeout=10)
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for raw in self.conn:
                self.frames.append(json.loads(raw))
                self._changed.set()
        except websockets.ConnectionClosed as exc:
            self.closed_code = exc.rcvd.code if exc.rcvd else None
        finally:
            if self.closed_code is None and self.conn is not None and self.conn.close_code is not None:
                self.closed_code = self.conn.close_code
            self._changed.set()

    async def send(self, frame: dict[str, Any]) -> None:
        await self.conn.send(json.dumps(frame, ensure_ascii=False))

    async def wait_for(self, pred: Callable[[dict[str, Any]], bool], *, start: int = 0,
                       timeout: float = 20) -> dict[str, Any]:
        """The first frame from index ``start`` on that satisfies ``pred``."""
        deadline = time.monotonic() + timeout
        i = start
        while True:
            while i < len(self.frames):
                if pred(self.frames[i]):
                    return self.frames[i]
                i += 1
            if self._reader is not None and self._reader.done():
                raise ConnectionError(f"socket closed (code {self.closed_code})")
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no matching frame")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left):
                    await self._changed.wait()

    async def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(Exception):
                await self.conn.close()
        if self._reader is not None:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(self._reader, 5)


class CustomerClient(FrameStream):
    """A customer on ``/ws/chat``: says things, clicks cards, waits for the answer to each input."""

    def __init__(self, service: LiveService, token: str, *, locale: str = "zh-CN") -> None:
        super().__init__()
        self.service = service
        self.token = token
        self.locale = locale
        self.welcome: dict[str, Any] = {}
        self._n = 0

    @property
    def conversation_id(self) -> str:
        return str(self.welcome.get("conversation_id", ""))

    async def connect(self, conversation_id: str | None = None) -> dict[str, Any]:
        await self.open(self.service.ws + "/ws/chat")
        hello: dict[str, Any] = {"type": "hello", "token": self.token, "locale": self.locale}
        if conversation_id:
            hello["conversation_id"] = conversation_id
        await self.send(hello)
        self.welcome = await self.wait_for(lambda f: f.get("type") in ("welcome", "error"), timeout=15)
        if self.welcome.get("type") != "welcome":
            raise ConnectionError(f"no welcome: {self.welcome}")
        return self.welcome

    def _cmid(self, kind: str) -> str:
        self._n += 1
        return f"{kind}-{self._n}"

    async def _input(self, frame: dict[str, Any]) -> int:
        start = len(self.frames)
        await self.send(frame)
        cmid = frame["client_msg_id"]
        got = await self.wait_for(lambda f: (f.get("type") == "ack" and f.get("client_msg_id") == cmid)
                                  or f.get("type") == "error", start=start, timeout=15)
        if got.get("type") == "error":
            raise ValueError(f"input refused: {got.get('code')}: {got.get('message')}")
        return int(got["seq"])

    async def say(self, text: str) -> int:
        """Send a message; returns its ``seq`` once acknowledged."""
        return await self._input({"type": "message", "client_msg_id": self._cmid("m"), "text": text})

    async def click(self, action_id: str, values: dict[str, Any] | None = None) -> int:
        return await self._input({"type": "action", "client_msg_id": self._cmid("a"), "action_id": action_id,
                                  "values": values or {}})

    async def answer_to(self, seq: int, timeout: float = 20) -> dict[str, Any]:
        """The assistant's message answering the input stored at ``seq``."""
        return await self.wait_for(lambda f: f.get("type") == "message" and f.get("reply_to") == seq
                                   and f.get("role") != "customer", timeout=timeout)

    def last_bot_message(self) -> dict[str, Any] | None:
        return next((f for f in reversed(self.frames) if f.get("type") == "message"
                     and f.get("role") in ("bot", "agent")), None)


class AgentClient(FrameStream):
    """A human agent on ``/ws/agent``: claims chats, writes, notes, hands back, closes."""

    def __init__(self, service: LiveService, agent_id: str) -> None:
        super().__init__()
        self.service = service
        self.agent_id = agent_id
        self.welcome: dict[str, Any] = {}
        self._n = 0

    async def connect(self) -> dict[str, Any]:
        token = await self.service.agent_token(self.agent_id)
        await self.open(self.service.ws + "/ws/agent")
        await self.send({"type": "hello", "token": token})
        self.welcome = await self.wait_for(lambda f: f.get("type") in ("welcome", "error"), timeout=15)
        if self.welcome.get("type") != "welcome":
            raise ConnectionError(f"agent {self.agent_id!r} not welcomed: {self.welcome}")
        return self.welcome

    async def request(self, frame: dict[str, Any], replies: Sequence[str], timeout: float = 15) -> dict[str, Any]:
        """Send ``frame`` and return the first later frame of one of the ``replies`` types (or ``error``)."""
        start = len(self.frames)
        conv = frame.get("conversation_id")
        await self.send(frame)
        return await self.wait_for(
            lambda f: (f.get("type") in replies and (conv is None or f.get("conversation_id") in (conv, None)))
            or (f.get("type") == "error" and f.get("conversation_id") in (conv, None)),
            start=start, timeout=timeout)

    async def claim(self, conversation_id: str) -> dict[str, Any]:
        return await self.request({"type": "claim", "conversation_id": conversation_id}, ("assigned",))

    async def say(self, conversation_id: str, text: str) -> dict[str, Any]:
        self._n += 1
        return await self.request({"type": "message", "conversation_id": conversation_id, "text": text,
                                   "client_msg_id": f"{self.agent_id}-{self._n}"}, ("ack", "blocked"))

    async def note(self, conversation_id: str, text: str) -> dict[str, Any]:
        return await self.request({"type": "note", "conversation_id": conversation_id, "text": text}, ("noted",))

    async def handback(self, conversation_id: str, note: str | None = None) -> dict[str, Any]:
        frame: dict[str, Any] = {"type": "handback", "conversation_id": conversation_id}
        if note:
            frame["note"] = note
        return await self.request(frame, ("returned",))

    async def close_chat(self, conversation_id: str, disposition: str = "resolved") -> dict[str, Any]:
        return await self.request({"type": "close", "conversation_id": conversation_id,
                                   "disposition": disposition}, ("closed",))

    def waiting(self) -> list[dict[str, Any]]:
        """The items of the latest queue snapshot."""
        snap = next((f for f in reversed(self.frames) if f.get("type") == "queue"), None)
        return list(snap.get("items", [])) if snap else []

    async def wait_queued(self, conversation_id: str, timeout: float = 5) -> dict[str, Any] | None:
        """The queue item of ``conversation_id`` once a snapshot shows it (``None`` if it never does)."""
        try:
            snap = await self.wait_for(lambda f: f.get("type") == "queue" and any(
                i.get("conversation_id") == conversation_id for i in f.get("items", [])), timeout=timeout)
        except TimeoutError:
            return None
        return next(i for i in snap["items"] if i.get("conversation_id") == conversation_id)


# -- the suite contract, until ``evals.report`` provides it ----------------------------------------

try:
    from evals.report import Plot, Section, SuiteContext, SuiteResult
except ImportError:  # pragma: no cover - the shared report module lands separately

    @dataclass
    class Section:  # type: ignore[no-redef]
        title: str
        text: str = ""
        rows: list[dict[str, Any]] | None = None

    @dataclass
    class Plot:  # type: ignore[no-redef]
        title: str
        figure: Any = None

    @dataclass
    class SuiteResult:  # type: ignore[no-redef]
        summary: dict[str, Any]
        sections: list[Any] = field(default_factory=list)
        plots: list[Any] = field(default_factory=list)
        failures: list[dict[str, Any]] = field(default_factory=list)
        ok: bool = True

    @dataclass
    class SuiteContext:  # type: ignore[no-redef]
        small: bool = False
        engine: str = "offline"
        var_dir: Path = Path("var/evals")
        progress: Callable[[int, int, str], None] = lambda done, total, label: None
        options: dict[str, Any] = field(default_factory=dict)
        machine: dict[str, Any] = field(default_factory=dict)
