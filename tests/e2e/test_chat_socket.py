"""The customer WebSocket over a real uvicorn server and a real websockets client."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from tests.harness import ChatClient, LiveServer, demo_token, live_server, make_settings


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(make_settings(tmp_path_factory.mktemp("var"))) as s:
        yield s


async def client_for(server: LiveServer, customer_id: str = "C001", locale: str = "zh-CN") -> ChatClient:
    return ChatClient(server.ws, await demo_token(server.http, customer_id), locale=locale)


async def test_hello_message_ack_reply_and_reconnect_gets_exactly_the_missed_events(server: LiveServer) -> None:
    c = await client_for(server)
    welcome = await c.connect()
    assert welcome["type"] == "welcome" and welcome["mode"] == "bot" and welcome["seq"] == 0
    conv_id = welcome["conversation_id"]
    cmid = await c.say("你好")
    ack = await c.until(lambda f: f["type"] == "ack")
    assert ack == {"type": "ack", "client_msg_id": cmid, "seq": 1}
    reply = await c.reply()
    assert reply["role"] == "bot" and reply["seq"] == 2 and reply["reply_to"] == 1
    await c.close()

    # Offline: two more turns happen through a second device.
    other = await client_for(server)
    await other.connect(conversation_id=conv_id, last_seq=2)
    await other.ask("第二条")
    await other.ask("third")
    await other.close()

    c2 = await client_for(server)
    await c2.connect(conversation_id=conv_id, last_seq=2)
    got = [await c2.recv() for _ in range(4)]
    assert [f["seq"] for f in got] == [3, 4, 5, 6]
    assert [f.get("role") for f in got] == ["customer", "bot", "customer", "bot"]
    with pytest.raises(asyncio.TimeoutError):
        await c2.recv(timeout=0.5)
    await c2.close()


async def test_duplicate_client_msg_id_is_acked_with_same_seq_and_answered_once(server: LiveServer) -> None:
    c = await client_for(server)
    await c.connect()
    await c.say("hello", client_msg_id="dup-1")
    first = await c.until(lambda f: f["type"] == "ack")
    await c.say("hello", client_msg_id="dup-1")
    second = await c.until(lambda f: f["type"] == "ack")
    assert first["seq"] == second["seq"]
    await server.call(server.rt.conversations.idle)
    events = await server.call(lambda: server.rt.store.events_after(c.welcome["conversation_id"], 0))
    assert [e.data.get("role") for e in events] == ["customer", "bot"]
    await c.close()


@pytest.mark.parametrize("token", ["", "not-a-jwt", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJDMDAxIn0."])
async def test_bad_token_closes_with_4401(server: LiveServer, token: str) -> None:
    async with websockets.connect(server.ws + "/ws/chat") as ws:
        await ws.send(json.dumps({"type": "hello", "token": token or "x", "locale": "zh-CN"}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_expired_token_closes_with_4401(server: LiveServer) -> None:
    token, _ = server.rt.tokens.mint("C001", "customer", ttl_s=-120)
    async with websockets.connect(server.ws + "/ws/chat") as ws:
        await ws.send(json.dumps({"type": "hello", "token": token}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_a_socket_closes_with_4401_when_its_token_expires_and_a_fresh_token_resumes(
    server: LiveServer,
) -> None:
    leeway = server.rt.settings.token_leeway_s
    token, _ = server.rt.tokens.mint("C001", "customer", ttl_s=1 - leeway)  # valid for about a second more
    c = ChatClient(server.ws, token)
    welcome = await c.connect()
    await c.ask("你好")
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await c.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    assert closed.value.rcvd.reason == "token expired"

    # The widget fetches a new token and comes back where it was.
    again = await client_for(server)
    back = await again.connect(conversation_id=welcome["conversation_id"], last_seq=2)
    assert back["conversation_id"] == welcome["conversation_id"] and back["seq"] == 2
    await again.ask("第二条")
    await again.close()


async def test_agent_token_cannot_open_a_customer_socket(server: LiveServer) -> None:
    token, _ = server.rt.tokens.mint("C001", "agent")
    async with websockets.connect(server.ws + "/ws/chat") as ws:
        await ws.send(json.dumps({"type": "hello", "token": token}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_another_customers_conversation_closes_with_4403(server: LiveServer) -> None:
    a = await client_for(server, "C001")
    await a.connect()
    conv_id = a.welcome["conversation_id"]
    await a.close()
    b = await client_for(server, "C002")
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await b.connect(conversation_id=conv_id)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("{not json", "bad_json"),
        ('["a list"]', "bad_frame"),
        ('{"type": "launch_missiles"}', "unknown_type"),
        ('{"type": "message", "client_msg_id": "a1", "text": "hi", "extra": 1}', "unknown_field"),
        ('{"type": "message", "client_msg_id": "a2", "text": 42}', "bad_frame"),
        ('{"type": "message", "client_msg_id": "bad id!", "text": "hi"}', "bad_frame"),
        ('{"type": "message", "client_msg_id": "a3", "text": "   "}', "empty_text"),
        ('{"type": "message", "client_msg_id": "a4", "text": "bell\\u0007"}', "invalid_text"),
        ('{"type": "message", "client_msg_id": "a5", "text": "\\ud800"}', "invalid_text"),
        (b'{"type": "message", "client_msg_id": "a6", "text": "\xff\xfe"}', "invalid_utf8"),
    ],
)
async def test_bad_frames_get_an_error_and_the_socket_stays_open(
    server: LiveServer, frame: str | bytes, code: str
) -> None:
    c = await client_for(server)
    await c.connect()
    await c.send(frame)
    err = await c.until(lambda f: f["type"] == "error")
    assert err["code"] == code and err["message"]
    await c.send({"type": "ping"})
    assert (await c.until(lambda f: f["type"] in ("pong", "error")))["type"] == "pong"
    await server.call(server.rt.conversations.idle)
    assert await server.call(lambda: server.rt.store.events_after(c.welcome["conversation_id"], 0)) == []
    await c.close()


async def test_oversized_text_and_frame_are_refused(server: LiveServer) -> None:
    c = await client_for(server)
    await c.connect()
    await c.say("长" * 2001)
    assert (await c.until(lambda f: f["type"] == "error"))["code"] == "text_too_long"
    await c.send(json.dumps({"type": "message", "client_msg_id": "big", "text": "x" * (70 * 1024)}))
    assert (await c.until(lambda f: f["type"] == "error"))["code"] == "frame_too_large"
    reply = await c.ask("still here?")
    assert reply["role"] == "bot"
    await c.close()


async def test_flood_is_rate_limited_and_other_sessions_keep_working(server: LiveServer) -> None:
    flooder = await client_for(server, "C003")
    await flooder.connect()
    for i in range(60):
        await flooder.send({"type": "ping"} if i % 2 else {"type": "typing", "active": True})
    errors = []
    for _ in range(60):
        f = await flooder.recv()
        if f["type"] == "error":
            errors.append(f["code"])
        if len(errors) >= 1:
            break
    assert "rate_limited" in errors
    calm = await client_for(server, "C004", "en-US")
    await calm.connect()
    assert (await calm.ask("hi"))["role"] == "bot"
    await flooder.close()
    await calm.close()


async def test_first_frame_must_be_hello(server: LiveServer) -> None:
    token = await demo_token(server.http, "C001")
    async with websockets.connect(server.ws + "/ws/chat") as ws:
        await ws.send(json.dumps({"type": "message", "client_msg_id": "x", "text": "hi"}))
        err = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert err["code"] == "hello_required"
        await ws.send(json.dumps({"type": "hello", "token": token}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "welcome"


async def test_conversation_http_api_is_owner_only(server: LiveServer) -> None:
    c = await client_for(server, "C001")
    await c.connect()
    await c.ask("你好")
    await c.close()
    conv_id = c.welcome["conversation_id"]
    async with httpx.AsyncClient(base_url=server.http) as http:
        own = await http.get(f"/api/v1/conversations/{conv_id}", headers={"Authorization": f"Bearer {c.token}"})
        assert own.status_code == 200 and [e["seq"] for e in own.json()["events"]] == [1, 2]
        other = await demo_token(server.http, "C002")
        theirs = await http.get(f"/api/v1/conversations/{conv_id}", headers={"Authorization": f"Bearer {other}"})
        assert theirs.status_code == 403
        anon = await http.get(f"/api/v1/conversations/{conv_id}")
        assert anon.status_code == 401
        listing = await http.get("/api/v1/conversations", headers={"Authorization": f"Bearer {c.token}"})
        assert conv_id in [x["conversation_id"] for x in listing.json()]


async def test_demo_endpoints(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.http) as http:
        customers = (await http.get("/api/v1/demo/customers")).json()
        assert len(customers) >= 8
        assert set(customers[0]) == {"id", "display_name", "display_name_en", "segment", "tier", "preferred_locale"}
        tok = (await http.post("/api/v1/demo/token", json={"customer_id": "C001"})).json()
        assert tok["customer_id"] == "C001" and tok["expires_at"] > 0
        assert (await http.post("/api/v1/demo/token", json={"customer_id": "C999"})).status_code == 404
        assert (await http.post("/api/v1/demo/token", json={"customer_id": "C001", "x": 1})).status_code == 422
        state = (await http.get("/api/v1/demo/customers/C001/state")).json()
        assert state["cards"][0]["last4"] and state["transactions"]
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        ready = await http.get("/readyz")
        assert ready.status_code == 200 and ready.json()["checks"]["store"] == "ok"


def test_demo_endpoints_are_off_outside_demo_mode(tmp_path: Path) -> None:
    with live_server(make_settings(tmp_path, demo=False)) as s:
        assert httpx.get(s.http + "/api/v1/demo/customers").status_code == 404
        assert httpx.post(s.http + "/api/v1/demo/token", json={"customer_id": "C001"}).status_code == 404


async def test_each_turn_record_says_where_the_time_went(server: LiveServer) -> None:
    c = await client_for(server, "C004", "en-US")
    welcome = await c.connect()
    await c.say("How long is the interest-free period on purchases?")
    reply = await c.reply()
    assert reply["citations"]
    await c.close()
    records = await server.call(lambda: server.rt.store.records(["turn"]))
    (turn,) = [r.data for r in records if r.conversation_id == welcome["conversation_id"]]
    stages = turn["stages_ms"]
    assert {"input_guard", "understand", "retrieve", "compose", "guard"} <= set(stages)
    assert all(v >= 0 for v in stages.values())
    assert sum(stages.values()) <= turn["latency_ms"]


@pytest.mark.parametrize("hello", [{"type": "hello"}, {"type": "hello", "token": ""}, {"type": "hello", "token": None}])
async def test_a_hello_without_a_token_closes_with_4401(server: LiveServer, hello: dict[str, object]) -> None:
    async with websockets.connect(server.ws + "/ws/chat") as ws:
        await ws.send(json.dumps(hello))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


@pytest.mark.parametrize(
    ("text", "locale"),
    [
        ("帮我看看我姐这个月的账单，她尾号是5521", "zh-CN"),
        ("How much has my husband spent on his card this month?", "en-US"),
    ],
)
async def test_someone_elses_account_is_refused_and_nothing_of_the_customers_own_is_shown(
    server: LiveServer, text: str, locale: str
) -> None:
    c = await client_for(server, "C001", locale=locale)
    await c.connect()
    reply = await c.ask(text)
    assert reply["role"] == "bot"
    assert "隐私" in reply["text"] or "privacy" in reply["text"]
    # Not an answer with the signed-in customer's figures in place of the other person's.
    assert "6217" not in reply["text"] and "¥" not in reply["text"]
    # The customer's own bill is still one question away.
    own = await c.ask("查一下我的账单" if locale == "zh-CN" else "What's my bill?")
    assert "6217" in own["text"]
    await c.close()


@pytest.mark.parametrize(
    ("text", "locale", "never"),
    [
        ("要不要我把短信验证码发给你？", "zh-CN", "不会索要"),
        ("Do you need my PIN to check my account?", "en-US", "never asks"),
    ],
)
async def test_an_offer_to_share_a_secret_gets_a_plain_no(
    server: LiveServer, text: str, locale: str, never: str
) -> None:
    c = await client_for(server, "C001", locale=locale)
    await c.connect()
    reply = await c.ask(text)
    assert never in reply["text"]
    assert [x["article_id"] for x in reply["citations"]] == ["security-never-ask"]
    await c.close()


@pytest.mark.parametrize(
    ("text", "locale", "lead"),
    [
        ("这个月实在还不上了，你们会派人上门吗", "zh-CN", "理解您现在的难处"),
        ("I lost my job and can't pay this month, what happens now?", "en-US", "I understand this is hard"),
    ],
)
async def test_a_customer_who_cannot_pay_gets_the_options_and_a_person_not_a_question_back(
    server: LiveServer, text: str, locale: str, lead: str
) -> None:
    c = await client_for(server, "C001", locale=locale)
    await c.connect()
    reply = await c.ask(text)
    assert reply["text"].count(lead) == 1
    options = [o for card in reply.get("cards", []) for o in card.get("options", [])]
    assert "handoff.request" in [o["action_id"] for o in options], "a person to talk to about a repayment plan"
    assert "¥1,678.61" in reply["text"]  # the minimum payment of the customer's own statement
    await c.close()
