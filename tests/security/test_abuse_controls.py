"""Abuse controls on a live server: per-customer message rate across sockets, per-IP HTTP rate,
connections per customer, the hello timeout, and a client that stops reading (closed with 1013,
nothing lost after a reconnect with ``last_seq``).

The server here has small limits so that each control trips in a few frames, and its listening
socket has a small send buffer (accepted sockets inherit it), so that a client that stops reading
fills the server's send queue after a few frames instead of after megabytes of kernel buffers.
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
import string
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets

from bot.server.app import create_app
from bot.server.runtime import SlidingWindowLimiter
from tests.harness import ChatClient, LiveServer, ShiftedClock, make_settings
from tests.security.serverlog import LogWatch, watch_server_log

CUSTOMER_RATE_PER_MIN = 12
SEND_QUEUE_MAX = 16
HELLO_TIMEOUT_S = 1.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = make_settings(tmp_path_factory.mktemp("var"), customer_rate_per_min=CUSTOMER_RATE_PER_MIN,
                             send_queue_max=SEND_QUEUE_MAX, hello_timeout_s=HELLO_TIMEOUT_S)
    live = LiveServer(settings, create_app(settings, clock=ShiftedClock(10)))
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8192)
    listener.bind(("127.0.0.1", live.port))
    live.thread = threading.Thread(target=live.server.run, kwargs={"sockets": [listener]}, daemon=True)
    live.start()
    try:
        yield live
    finally:
        live.stop()
        listener.close()


@pytest.fixture
def server_log() -> Iterator[LogWatch]:
    with watch_server_log() as watch:
        yield watch
    assert not watch.problems(), "the server logged errors:\n" + "\n".join(watch.problems())


def token(server: LiveServer, customer_id: str) -> str:
    return str(server.rt.tokens.mint(customer_id, "customer")[0])


async def stored_events(server: LiveServer, conversation_id: str) -> list[Any]:
    await server.call(server.rt.conversations.idle)
    return list(await server.call(lambda: server.rt.store.events_after(conversation_id, 0)))


async def test_the_per_customer_message_limit_spans_the_customers_sockets(
    server: LiveServer, server_log: LogWatch
) -> None:
    phone, laptop = ChatClient(server.ws, token(server, "C003")), ChatClient(server.ws, token(server, "C003"))
    await phone.connect()
    await laptop.connect()
    half = CUSTOMER_RATE_PER_MIN // 2
    for client in (phone, laptop):  # each socket stays well inside its own flood control
        for i in range(half):
            await client.say(f"第{i}个问题")
            assert (await client.until(lambda f: f["type"] in ("ack", "error")))["type"] == "ack"
    for client in (laptop, phone):
        await client.say("再问一个")
        refused = await client.until(lambda f: f["type"] in ("ack", "error"))
        assert refused["type"] == "error" and refused["code"] == "rate_limited"
        await client.click("flow.cancel")  # card clicks count too
        refused = await client.until(lambda f: f["type"] in ("ack", "error"))
        assert refused["code"] == "rate_limited"
    # Nothing refused was stored: half the limit of customer messages in each conversation.
    for client in (phone, laptop):
        events = await stored_events(server, client.welcome["conversation_id"])
        assert sum(1 for e in events if e.data.get("role") == "customer") == half
    other = ChatClient(server.ws, token(server, "C004"))
    await other.connect()
    assert (await other.ask("你好"))["role"] == "bot"  # another customer is not affected
    for client in (phone, laptop, other):
        await client.close()


async def test_the_per_ip_http_limit(server: LiveServer, server_log: LogWatch) -> None:
    old = server.rt.ip_limits
    limit = old.limit
    server.rt.ip_limits = SlidingWindowLimiter(limit, old.window_s)  # a clean window for this test
    try:
        async with httpx.AsyncClient(base_url=server.http, timeout=10) as http:
            sem = asyncio.Semaphore(20)

            async def one() -> int:
                async with sem:
                    return (await http.get("/api/v1/conversations")).status_code

            statuses = await asyncio.gather(*(one() for _ in range(limit)))
            assert set(statuses) == {401}  # counted although refused for want of a token
            valid = {"Authorization": f"Bearer {token(server, 'C001')}"}
            over = await http.get("/api/v1/conversations", headers=valid)
            assert over.status_code == 429 and over.json()["error"] == "rate_limited"
            assert over.headers["retry-after"] == "60"
            assert (await http.post("/api/v1/demo/token", json={"customer_id": "C001"})).status_code == 429
            # The agent API and the demo agent token share the address's budget.
            agent = {"Authorization": f"Bearer {server.rt.tokens.mint('zhangmin', 'agent')[0]}"}
            refused = await http.get("/api/v1/agent/queue", headers=agent)
            assert refused.status_code == 429 and refused.headers["retry-after"] == "60"
            assert (await http.post("/api/v1/demo/agent-token", json={"agent_id": "zhangmin"})).status_code == 429
            assert (await http.get("/healthz")).status_code == 200  # probes stay reachable
    finally:
        server.rt.ip_limits = old


async def test_connections_per_customer_are_capped_and_freed_on_close(
    server: LiveServer, server_log: LogWatch
) -> None:
    limit = server.settings.max_connections_per_customer
    tok = token(server, "C006")
    sockets = [ChatClient(server.ws, tok) for _ in range(limit)]
    for client in sockets:
        assert (await client.connect())["type"] == "welcome"
    extra = ChatClient(server.ws, tok)
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await extra.connect()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
    other = ChatClient(server.ws, token(server, "C005"))
    assert (await other.connect())["type"] == "welcome"
    await other.close()
    await sockets.pop().close()
    deadline = time.monotonic() + 5
    while True:  # the server frees the slot when it sees the close
        try:
            again = ChatClient(server.ws, tok)
            assert (await again.connect())["type"] == "welcome"
            break
        except websockets.ConnectionClosed:
            assert time.monotonic() < deadline, "the closed socket's slot was never freed"
            await asyncio.sleep(0.05)
    for client in [*sockets, again]:
        await client.close()


async def test_a_socket_without_hello_is_closed_with_4408(server: LiveServer, server_log: LogWatch) -> None:
    started = time.monotonic()
    async with websockets.connect(server.ws + "/ws/chat", close_timeout=1) as ws:
        await ws.send('{"type": "ping"}')  # anything but a hello does not count
        assert json.loads(await ws.recv())["code"] == "hello_required"
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), HELLO_TIMEOUT_S + 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4408
    assert time.monotonic() - started < HELLO_TIMEOUT_S + 3


async def test_a_client_that_stops_reading_is_closed_with_1013_and_loses_nothing(
    server: LiveServer, server_log: LogWatch
) -> None:
    tok = token(server, "C007")
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.connect(("127.0.0.1", server.port))
    # max_queue: the client library stops reading the socket once two frames wait unread.
    slow = await websockets.connect(server.ws + "/ws/chat", sock=raw, compression=None, max_queue=2,
                                    max_size=1 << 22, close_timeout=1)
    await slow.send(json.dumps({"type": "hello", "token": tok}))
    received: list[dict[str, Any]] = [json.loads(await slow.recv())]
    conversation_id = received[0]["conversation_id"]
    await slow.send(json.dumps({"type": "message", "client_msg_id": "s-1", "text": "你好"}))
    while not (received[-1].get("type") == "message" and received[-1].get("role") == "bot"):
        received.append(json.loads(await asyncio.wait_for(slow.recv(), 15)))

    # Stop reading; make the server answer with big frames (an unknown type is echoed in the error).
    rnd = random.Random(7)
    for _ in range(3 * SEND_QUEUE_MAX):
        await slow.send(json.dumps({"type": "".join(rnd.choices(string.ascii_letters, k=60_000))}))
    # Meanwhile the conversation goes on from the customer's other device.
    other = ChatClient(server.ws, tok)
    await other.connect(conversation_id=conversation_id, last_seq=received[-1]["seq"])
    for question in ("我的积分有多少", "账单日是哪天"):
        assert (await other.ask(question))["role"] == "bot"
    await other.close()

    # Read again: what was already on its way, then the close.
    code = None
    try:
        while True:
            received.append(json.loads(await asyncio.wait_for(slow.recv(), 15)))
    except websockets.ConnectionClosed as closed:
        code = closed.rcvd.code if closed.rcvd else None
    assert code == 1013, f"closed with {code}, not 1013 (the slow-consumer close)"
    seen = [f["seq"] for f in received if f.get("type") in ("message", "handoff", "action") and "seq" in f]
    assert seen == list(range(1, len(seen) + 1)), f"a gap or a repeat before the close: {seen}"

    # Reconnect with last_seq: exactly what was missed, in order.
    back = ChatClient(server.ws, tok)
    await back.connect(conversation_id=conversation_id, last_seq=seen[-1])
    stored = [e.seq for e in await stored_events(server, conversation_id)]
    missed = [(await back.until(lambda f: "seq" in f and f.get("type") != "welcome"))["seq"]
              for _ in range(len(stored) - len(seen))]
    assert seen + missed == stored == list(range(1, len(stored) + 1))
    with pytest.raises(asyncio.TimeoutError):
        await back.until(lambda f: "seq" in f, timeout=0.5)
    await back.close()


async def test_a_replay_longer_than_the_send_queue_arrives_in_pieces_and_complete(
    server: LiveServer, server_log: LogWatch
) -> None:
    """A new device replaying a long conversation: the replay overflows the send queue (1013) however
    fast the client reads; reconnecting with last_seq each time still gets everything, once."""
    tok = token(server, "C008")
    first = ChatClient(server.ws, tok)
    await first.connect()
    conversation_id = first.welcome["conversation_id"]
    await first.close()
    for i in range(SEND_QUEUE_MAX * 2 + 3):  # a long conversation, written by the service itself
        data = {"role": "bot", "message_id": f"m_long_{i}", "text": f"第{i}条", "citations": [], "cards": []}
        await server.call(lambda d=data: server.rt.conversations.append(conversation_id, "message", d))
    stored = [e.seq for e in await stored_events(server, conversation_id)]
    assert len(stored) > SEND_QUEUE_MAX
    seen: list[int] = []
    for _ in range(len(stored)):
        device = ChatClient(server.ws, tok)
        await device.connect(conversation_id=conversation_id, last_seq=seen[-1] if seen else 0)
        try:
            while len(seen) < len(stored):
                frame = await device.recv(timeout=5)
                if "seq" in frame and frame["type"] != "welcome":
                    seen.append(frame["seq"])
        except websockets.ConnectionClosed as closed:
            assert closed.rcvd is not None and closed.rcvd.code == 1013
        await device.close()
        if len(seen) == len(stored):
            break
    assert seen == stored
