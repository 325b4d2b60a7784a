"""Fuzzing both sockets with random and mutated frames while another customer keeps chatting.

For every frame the server's answer is predicted from the protocol (``parse_client_frame`` decides
the error code of a bad frame; a valid one gets its normal reply), and checked: an ``error``
frame with a documented code for each bad frame, no stack trace or exception text in any error,
no close other than the documented ones, no error logged by the server, and the other customer
gets every answer in time throughout. 10 frames per socket; ``fuzzing.py`` says how to run more.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
import websockets
from hypothesis import strategies as st

from bot.errors import BadInput
from bot.server import protocol as chat
from handoff import protocol as agent
from tests.harness import ChatClient, LiveServer, ShiftedClock, live_server, make_settings
from tests.security.fuzzing import (
    CONVERSATION,
    TOKEN,
    Frame,
    draw,
    dump,
    fill,
    frames,
    leaks,
    scaled,
    specials,
)
from tests.security.scenario import hand_off
from tests.security.serverlog import LogWatch, watch_server_log

FRAMES_PER_SOCKET = 10

CHAT_CODES = frozenset({
    "frame_too_large", "invalid_utf8", "bad_json", "bad_frame", "unknown_type", "unknown_field",
    "hello_required", "already_hello", "text_too_long", "empty_text", "invalid_text", "rate_limited",
    "unavailable",
})
TEXT_CODES = frozenset({"text_too_long", "empty_text", "invalid_text"})
ACTION_CODES = TEXT_CODES | {"bad_frame"}
# docs/agent-protocol.md, without ``internal`` (an unexpected server error is a finding).
AGENT_CODES = frozenset({
    "bad_json", "bad_frame", "unknown_type", "frame_too_large", "already_authenticated", "already_claimed",
    "at_capacity", "forbidden", "not_assigned", "not_found", "invalid_state", "unknown_agent", "unavailable",
    "delivery_failed",
})

CHAT_TEMPLATES: list[dict[str, Any]] = [
    {"type": "ping"},
    {"type": "typing", "active": True},
    {"type": "message", "client_msg_id": "fz-1", "text": "我的账单什么时候还"},
    {"type": "message", "client_msg_id": "fz-2", "text": "what is my credit limit?"},
    {"type": "action", "client_msg_id": "fz-3", "action_id": "installment.periods",
     "values": {"periods": 12}},
    {"type": "action", "client_msg_id": "fz-4", "action_id": "flow.cancel", "values": {}},
    {"type": "hello", "token": TOKEN, "locale": "zh-CN"},
    {"type": "hello", "token": TOKEN, "locale": "en-US", "conversation_id": CONVERSATION, "last_seq": 0},
]
AGENT_TEMPLATES: list[dict[str, Any]] = [
    {"type": "ping"},
    {"type": "queue"},
    {"type": "claim", "conversation_id": CONVERSATION},
    {"type": "context", "conversation_id": CONVERSATION},
    {"type": "message", "conversation_id": CONVERSATION, "text": "您好，我来帮您。", "client_msg_id": "fz-a"},
    {"type": "note", "conversation_id": CONVERSATION, "text": "客户来电核实"},
    {"type": "handback", "conversation_id": CONVERSATION, "note": "已处理"},
    {"type": "close", "conversation_id": CONVERSATION, "disposition": "resolved"},
    {"type": "hello", "token": TOKEN},
]

CHAT_SPECIALS = [
    *specials(CHAT_TEMPLATES),
    dump({"type": "hello", "token": TOKEN, "last_seq": 2**63}),  # past SQLite's integers
    dump({"type": "action", "client_msg_id": "fz-5", "action_id": "x", "values": {"\ud800": 1}}),
]
chat_examples = st.tuples(
    st.booleans(),  # fuzz before the hello, too
    st.lists(frames(CHAT_TEMPLATES, CHAT_SPECIALS), min_size=FRAMES_PER_SOCKET, max_size=FRAMES_PER_SOCKET),
)
agent_examples = st.lists(frames(AGENT_TEMPLATES, specials(AGENT_TEMPLATES)), min_size=FRAMES_PER_SOCKET,
                          max_size=FRAMES_PER_SOCKET)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    # Flood control would answer most fuzz frames with rate_limited; the abuse tests cover it.
    settings = make_settings(tmp_path_factory.mktemp("var"), rate_per_s=10_000, rate_burst=10_000,
                             customer_rate_per_min=100_000)
    with live_server(settings, clock=ShiftedClock(10)) as s:
        yield s


@pytest.fixture
def server_log() -> Iterator[LogWatch]:
    with watch_server_log() as watch:
        yield watch
    assert not watch.problems(), "the server logged errors:\n" + "\n".join(watch.problems())


class OtherSession:
    """Another customer chatting normally the whole time; every answer must come, and quickly."""

    def __init__(self, server: LiveServer, customer_id: str) -> None:
        self.client = ChatClient(server.ws, server.rt.tokens.mint(customer_id, "customer")[0])
        self.latencies: list[float] = []
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> OtherSession:
        await self.client.connect()
        self._task = asyncio.create_task(self._chat())
        return self

    async def _chat(self) -> None:
        questions = ["我的积分有多少", "what is my credit limit?", "账单日是哪天"]
        n = 0
        while not self._stop.is_set():
            started = time.monotonic()
            reply = await self.client.ask(questions[n % len(questions)], timeout=10)
            assert reply["role"] == "bot" and reply["text"], reply
            self.latencies.append(time.monotonic() - started)
            n += 1
            await asyncio.sleep(0.05)

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        assert self._task is not None
        await self._task  # re-raises a missed or wrong answer
        await self.client.close()

    @property
    def conversation_id(self) -> str:
        return str(self.client.welcome["conversation_id"])


# -- customer socket ----------------------------------------------------------------------------


def predict_chat(raw: Frame, max_bytes: int, ready: bool) -> tuple[str, frozenset[str]]:
    """``(kind, error codes allowed)``: kind is ``error``, ``pong``, ``silent``, ``ack`` or ``hello``."""
    try:
        frame = chat.parse_client_frame(raw, max_bytes=max_bytes)
    except BadInput as exc:
        return "error", frozenset({exc.code})
    match frame:
        case chat.HelloFrame():
            return ("error", frozenset({"already_hello"})) if ready else ("hello", frozenset())
        case _ if not ready:
            return "error", frozenset({"hello_required"})
        case chat.PingFrame():
            return "pong", frozenset()
        case chat.TypingFrame():
            return "silent", frozenset()
        case chat.MessageFrame():
            return "ack", TEXT_CODES
        case chat.ActionFrame():
            return "ack", ACTION_CODES
    raise AssertionError(frame)


def check_error(frame: dict[str, Any], codes: frozenset[str], sent: Frame) -> None:
    assert frame["code"] in codes, f"error code {frame['code']!r}, expected one of {sorted(codes)}: {frame}"
    assert isinstance(frame["message"], str) and frame["message"]
    assert not leaks(frame["message"], sent), f"internals in an error message: {frame['message'][:300]!r}"


async def _recv(ws: Any) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 10))
    return frame


async def before_hello(ws: Any, raw: Frame, kind: str, codes: frozenset[str], where: str) -> str:
    """One frame before the hello: ``"ready"``, ``"waiting"`` or ``"closed"``."""
    try:
        answer = await _recv(ws)
    except websockets.ConnectionClosed as closed:
        code = closed.rcvd.code if closed.rcvd else None
        # Only a hello may end the socket: someone else's conversation, or a bad token.
        assert kind == "hello" and code in (4401, 4403), f"{where}: closed with {code}"
        return "closed"
    if kind == "hello":
        assert answer["type"] == "welcome", f"{where}: {answer}"
        return "ready"
    assert answer["type"] == "error", f"{where}: {answer}"
    check_error(answer, codes, raw)
    return "waiting"


async def fuzz_chat_socket(
    server: LiveServer, token: str, victim: str, pre_hello: bool, batch: list[Frame]
) -> None:
    max_bytes = server.settings.max_frame_bytes
    async with websockets.connect(server.ws + "/ws/chat", max_size=1 << 22, close_timeout=1,
                                  compression=None) as ws:
        ready = False
        if not pre_hello:
            await ws.send(json.dumps({"type": "hello", "token": token}))
            assert (await _recv(ws))["type"] == "welcome"
            ready = True
        for i, template in enumerate(batch):
            raw = fill(template, token, victim)
            kind, codes = predict_chat(raw, max_bytes, ready)
            where = f"frame {i} {raw[:200]!r}"
            await ws.send(raw)
            if not ready:
                outcome = await before_hello(ws, raw, kind, codes, where)
                if outcome == "closed":
                    return
                ready = outcome == "ready"
                continue
            await ws.send('{"type": "ping"}')  # a barrier: its pong comes after the answer to ``raw``
            pongs = 2 if kind == "pong" else 1
            answers = []
            while pongs:
                try:
                    frame = await _recv(ws)
                except websockets.ConnectionClosed as closed:
                    raise AssertionError(f"{where}: socket closed with {closed.rcvd}") from None
                if frame["type"] == "pong":
                    pongs -= 1
                elif frame["type"] in ("error", "ack"):
                    answers.append(frame)
            if kind == "error":
                assert [a["type"] for a in answers] == ["error"], f"{where}: {answers}"
                check_error(answers[0], codes, raw)
            elif kind == "ack":
                assert len(answers) == 1, f"{where}: {answers}"
                if answers[0]["type"] == "error":
                    check_error(answers[0], codes, raw)
            else:
                assert answers == [], f"{where}: {answers}"


def test_chat_socket_survives_random_and_mutated_frames(server: LiveServer, server_log: LogWatch) -> None:
    examples = draw(chat_examples, scaled(30))

    async def main() -> None:
        async with OtherSession(server, "C001") as other:
            for n, (pre_hello, batch) in enumerate(examples):
                customer = f"C00{2 + n % 8}"
                token = server.rt.tokens.mint(customer, "customer")[0]
                try:
                    await fuzz_chat_socket(server, token, other.conversation_id, pre_hello, batch)
                except AssertionError as exc:
                    raise AssertionError(f"example {n} ({customer}, pre_hello={pre_hello}): {exc}") from None
            await server.call(server.rt.conversations.idle)
        assert len(other.latencies) >= 3 and max(other.latencies) < 10, other.latencies

    asyncio.run(main())


def test_invalid_utf8_in_a_text_frame_closes_with_1007_and_the_server_carries_on(
    server: LiveServer, server_log: LogWatch
) -> None:
    async def main() -> None:
        token = server.rt.tokens.mint("C002", "customer")[0]
        async with websockets.connect(server.ws + "/ws/chat", close_timeout=1) as ws:
            await ws.send(json.dumps({"type": "hello", "token": token}))
            assert (await _recv(ws))["type"] == "welcome"
            await ws.send(b'{"type": "ping", "s": "\xff"}', text=True)
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await _recv(ws)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1007
        c = ChatClient(server.ws, token)
        await c.connect()
        assert (await c.ask("你好"))["role"] == "bot"
        await c.close()

    server_log.known.add("Invalid UTF-8")  # uvicorn reports the protocol error itself; nothing of ours failed
    asyncio.run(main())


def test_a_frame_over_the_transport_limit_closes_with_1009(server: LiveServer, server_log: LogWatch) -> None:
    async def main() -> int | None:
        token = server.rt.tokens.mint("C002", "customer")[0]
        ws = await websockets.connect(server.ws + "/ws/chat", close_timeout=1, max_size=1 << 22,
                                      compression=None)
        try:
            await ws.send(json.dumps({"type": "hello", "token": token}))
            await _recv(ws)
            await ws.send(json.dumps({"type": "message", "client_msg_id": "big", "text": "x" * (2 << 20)}))
            await _recv(ws)
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None
        finally:
            with contextlib.suppress(websockets.ConnectionClosed):
                await ws.close()
        return None

    assert asyncio.run(main()) == 1009


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ('{"type": "ping", "n": ' + "9" * 5_000 + "}", "bad_json"),  # was: ValueError, closed with 1011
        ('{"type": ["message"]}', "unknown_type"),  # was: TypeError (unhashable), 1011
        ('{"type": {"a": 1}}', "unknown_type"),
        ('{"type": "action", "client_msg_id": "n1", "action_id": "x", "values": {"a": NaN}}', "bad_json"),
        ('{"type": "action", "client_msg_id": "n2", "action_id": "x", "values": {"a": -Infinity}}',
         "bad_json"),
        ('{"type": "action", "client_msg_id": "n3", "action_id": "x", "values": {"a": 1e400}}', "bad_json"),
    ],
)
def test_frames_that_used_to_break_the_chat_socket_get_an_error(
    server: LiveServer, server_log: LogWatch, frame: str, code: str
) -> None:
    """NaN/Infinity were stored and then broke every live delivery of the conversation (not JSON)."""

    async def main() -> None:
        c = ChatClient(server.ws, server.rt.tokens.mint("C003", "customer")[0])
        await c.connect()
        await c.send(frame)
        error = await c.until(lambda f: f["type"] == "error")
        assert error["code"] == code
        assert (await c.ask("你好"))["role"] == "bot"
        await c.close()

    asyncio.run(main())


def test_hello_with_a_last_seq_past_the_end_gets_new_events(server: LiveServer, server_log: LogWatch) -> None:
    """Was: OverflowError in the store (closed with 1011); and a huge last_seq hid every new event."""

    async def main() -> None:
        token = server.rt.tokens.mint("C004", "customer")[0]
        first = ChatClient(server.ws, token)
        await first.connect()
        await first.ask("你好")
        await first.close()
        again = ChatClient(server.ws, token)
        await again.connect(conversation_id=first.welcome["conversation_id"], last_seq=2**63)
        reply = await again.ask("我的额度是多少")
        assert reply["role"] == "bot" and reply["seq"] == 4
        await again.close()

    asyncio.run(main())


# -- agent socket -----------------------------------------------------------------------------


def predict_agent(raw: Frame, max_bytes: int) -> tuple[str, frozenset[str]]:
    """What ``handoff.api`` answers: ``error`` with a code, ``pong``, ``queue``, ``reply`` (a result or
    an error)."""
    if isinstance(raw, bytes):
        return "error", frozenset({"bad_frame"})
    if len(raw) > max_bytes or len(raw.encode("utf-8", "surrogatepass")) > max_bytes:
        return "error", frozenset({"frame_too_large"})
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return "error", frozenset({"bad_json"})
    try:
        frame = agent.parse_client_frame(data)
    except ValueError:  # FrameError is one
        return "error", frozenset({getattr(sys.exc_info()[1], "code", "bad_json")})
    if isinstance(frame, agent.PingFrame):
        return "pong", frozenset()
    if isinstance(frame, agent.QueueRequestFrame):
        return "queue", frozenset()  # its answer looks like the pushed snapshots
    return "reply", AGENT_CODES


async def fuzz_agent_socket(server: LiveServer, token: str, conversation_id: str, batch: list[Frame]) -> None:
    max_bytes = 16 * 1024
    async with websockets.connect(server.ws + "/ws/agent", max_size=1 << 22, close_timeout=1,
                                  compression=None) as ws:
        await ws.send(json.dumps({"type": "hello", "token": token}))
        assert (await _recv(ws))["type"] == "welcome"
        for i, template in enumerate(batch):
            raw = fill(template, token, conversation_id)
            kind, codes = predict_agent(raw, max_bytes)
            where = f"frame {i} {raw[:200]!r}"
            await ws.send(raw)
            await ws.send('{"type": "ping"}')
            pongs = 2 if kind == "pong" else 1
            answers = []
            while pongs:
                try:
                    frame = await _recv(ws)
                except websockets.ConnectionClosed as closed:
                    raise AssertionError(f"{where}: socket closed with {closed.rcvd}") from None
                if frame["type"] == "pong":
                    pongs -= 1
                elif frame["type"] not in ("queue", "message", "escalation"):  # pushed frames
                    answers.append(frame)
            if kind in ("pong", "queue"):
                assert answers == [], f"{where}: {answers}"
                continue
            assert len(answers) == 1, f"{where}: {answers}"
            if kind == "error" or answers[0]["type"] == "error":
                assert answers[0]["type"] == "error", f"{where}: {answers}"
                check_error(answers[0], codes, raw)


def test_agent_socket_survives_random_and_mutated_frames(server: LiveServer, server_log: LogWatch) -> None:
    examples = draw(agent_examples, scaled(20))

    async def main() -> None:
        conversation_id = await hand_off(server, "C009", "zhangmin", text="转人工")
        token = server.rt.tokens.mint("zhangmin", "agent")[0]
        async with OtherSession(server, "C001"):
            for n, batch in enumerate(examples):
                try:
                    await fuzz_agent_socket(server, token, conversation_id, batch)
                except AssertionError as exc:
                    raise AssertionError(f"example {n}: {exc}") from None

    asyncio.run(main())
