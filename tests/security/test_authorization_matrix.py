"""Who may read or change a conversation: every principal against every operation on it.

Setup: customer C001 asks for a person at 10:00 China time ("转人工"); agent zhangmin claims
the chat. The matrix below is the rule book: one row per HTTP endpoint or WebSocket frame that
reads or writes a conversation, one entry per principal (``principals.py``), ``"*"`` for every
principal not named. Outcomes: an HTTP status (``"200 sees"``/``"200 hidden"``: a listing that
does / does not show the conversation), ``"close <code>"`` (the socket is closed), ``"error <code>"``
(an error frame), or the reply frame's type.

Rows that depend on demo mode run against a second server with ``demo=False``.
"""

from __future__ import annotations

import re
import ssl
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.harness import LiveServer, ShiftedClock, live_server, make_settings
from tests.security import principals as p
from tests.security.principals import Needs, token_for
from tests.security.scenario import agent_frame, chat_hello, hand_off

A, B = p.CUST_A, p.CUST_B
ZM, TOM, EMILY, SUP = p.AGENT_ASSIGNED, p.AGENT_OTHER_QUEUE, p.AGENT_NOT_ASSIGNED, p.SUPERVISOR
C_AS_AGENT, A_AS_C = p.CUSTOMER_AS_AGENT, p.AGENT_AS_CUSTOMER

NOT_YOURS = {ZM: "error not_assigned", TOM: "error not_assigned", EMILY: "error not_assigned",
             SUP: "error not_assigned"}

# operation: {principal: outcome, "*": outcome of everyone else}
MATRIX: dict[str, dict[str, str]] = {
    # -- customer HTTP API (demo server) ---------------------------------------------------
    "GET /api/v1/conversations/{id}": {A: "200", B: "403", C_AS_AGENT: "403", "*": "401"},
    "GET /api/v1/conversations": {A: "200 sees", B: "200 hidden", C_AS_AGENT: "200 hidden", "*": "401"},
    "POST /api/v1/understand [demo]": {A: "200", B: "200", p.SERVICE: "200", p.ANONYMOUS: "200",
                                       C_AS_AGENT: "200", "*": "401"},
    # -- agent HTTP API (demo server) ------------------------------------------------------
    "GET /api/v1/agent/conversations/{id}/context": {ZM: "200", SUP: "200", TOM: "403", EMILY: "403",
                                                     "*": "401"},
    "GET /api/v1/agent/queue": {ZM: "200 sees", TOM: "200 hidden", EMILY: "200 hidden", SUP: "200 hidden",
                                "*": "401"},
    # -- outside demo mode -----------------------------------------------------------------
    "POST /api/v1/understand": {p.SERVICE: "200", "*": "401"},
    "GET /api/v1/demo/customers [off]": {"*": "404"},
    "POST /api/v1/demo/token [off]": {"*": "404"},
    "GET /api/v1/demo/customers/C001/state [off]": {"*": "404"},
    "GET /api/v1/demo/agents [off]": {"*": "404"},
    "POST /api/v1/demo/agent-token [off]": {"*": "404"},
    # -- customer socket -------------------------------------------------------------------
    # A hello without a token is refused like one with a bad token (docs/protocol.md).
    "/ws/chat hello": {A: "welcome", B: "welcome", C_AS_AGENT: "welcome", "*": "close 4401"},
    "/ws/chat hello conversation_id": {A: "welcome", B: "close 4403", C_AS_AGENT: "close 4403", "*": "close 4401"},
    # -- agent socket ----------------------------------------------------------------------
    "/ws/agent hello": {ZM: "welcome", TOM: "welcome", EMILY: "welcome", SUP: "welcome", "*": "close 4401"},
    "/ws/agent claim": {ZM: "assigned", TOM: "error forbidden", EMILY: "error already_claimed",
                        SUP: "error already_claimed", "*": "close 4401"},
    "/ws/agent message": {**NOT_YOURS, ZM: "ack", "*": "close 4401"},
    "/ws/agent note": {**NOT_YOURS, ZM: "noted", SUP: "noted", "*": "close 4401"},
    "/ws/agent handback": {**NOT_YOURS, ZM: "returned", "*": "close 4401"},
    "/ws/agent close": {**NOT_YOURS, ZM: "closed", "*": "close 4401"},
    "/ws/agent context": {ZM: "context", SUP: "context", TOM: "error forbidden", EMILY: "error forbidden",
                          "*": "close 4401"},
}

# Operations that end the handoff: an allowed call runs on a fresh handed-off conversation.
ENDS_HANDOFF = frozenset({"/ws/agent handback", "/ws/agent close"})
WRITES = frozenset({"/ws/agent claim", "/ws/agent message", "/ws/agent note"}) | ENDS_HANDOFF


DENIED = re.compile(r"(close \d+|error \w+|4\d\d)")


def is_allowed(outcome: str) -> bool:
    return DENIED.fullmatch(outcome) is None


def expected(operation: str, principal: str) -> str:
    row = MATRIX[operation]
    return row.get(principal, row["*"])


CELLS = [(op, who) for op in MATRIX for who in p.PRINCIPALS]


@dataclass
class World:
    demo: LiveServer
    plain: LiveServer
    conversation_id: str
    secret: str


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    import asyncio

    clock = ShiftedClock(10)
    with (
        live_server(make_settings(tmp_path_factory.mktemp("var-demo")), clock=clock) as demo,
        live_server(make_settings(tmp_path_factory.mktemp("var-plain"), demo=False), clock=clock) as plain,
    ):
        assert demo.settings.resolved_token_secret() == plain.settings.resolved_token_secret()
        conversation_id = asyncio.run(hand_off(demo, "C001", "zhangmin"))
        yield World(demo, plain, conversation_id, demo.settings.resolved_token_secret())


NO_TLS = ssl.create_default_context()  # plain http; one context instead of one per client (slow)


def _check_http(r: httpx.Response) -> None:
    assert "Traceback" not in r.text and 'File "' not in r.text, r.text[:500]
    if r.status_code == 401:
        assert r.headers.get("www-authenticate") == "Bearer"


async def http(server: LiveServer, method: str, path: str, token: str | None, **kw: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    async with httpx.AsyncClient(base_url=server.http, timeout=10, verify=NO_TLS) as client:
        r = await client.request(method, path, headers=headers, **kw)
    _check_http(r)
    return r


def listing(r: httpx.Response, conversation_id: str, ids: Callable[[Any], list[str]]) -> str:
    if r.status_code != 200:
        return str(r.status_code)
    return "200 sees" if conversation_id in ids(r.json()) else "200 hidden"


Op = Callable[[World, str | None, str], Awaitable[str]]


def _queue_ids(doc: Any) -> list[str]:
    return [i["conversation_id"] for i in doc["items"] + doc["assigned"]]


OPERATIONS: dict[str, tuple[Needs, Op]] = {
    "GET /api/v1/conversations/{id}": ("customer", lambda w, t, c: _status(
        http(w.demo, "GET", f"/api/v1/conversations/{c}", t))),
    "GET /api/v1/conversations": ("customer", lambda w, t, c: _listing(
        http(w.demo, "GET", "/api/v1/conversations", t), c, lambda d: [x["conversation_id"] for x in d])),
    "POST /api/v1/understand [demo]": ("service", lambda w, t, c: _status(
        http(w.demo, "POST", "/api/v1/understand", t, json={"text": "我的账单什么时候还"}))),
    "GET /api/v1/agent/conversations/{id}/context": ("agent", lambda w, t, c: _status(
        http(w.demo, "GET", f"/api/v1/agent/conversations/{c}/context", t))),
    "GET /api/v1/agent/queue": ("agent", lambda w, t, c: _listing(
        http(w.demo, "GET", "/api/v1/agent/queue", t), c, _queue_ids)),
    "POST /api/v1/understand": ("service", lambda w, t, c: _status(
        http(w.plain, "POST", "/api/v1/understand", t, json={"text": "我的账单什么时候还"}))),
    "GET /api/v1/demo/customers [off]": (None, lambda w, t, c: _status(
        http(w.plain, "GET", "/api/v1/demo/customers", t))),
    "POST /api/v1/demo/token [off]": (None, lambda w, t, c: _status(
        http(w.plain, "POST", "/api/v1/demo/token", t, json={"customer_id": "C001"}))),
    "GET /api/v1/demo/customers/C001/state [off]": (None, lambda w, t, c: _status(
        http(w.plain, "GET", "/api/v1/demo/customers/C001/state", t))),
    "GET /api/v1/demo/agents [off]": (None, lambda w, t, c: _status(
        http(w.plain, "GET", "/api/v1/demo/agents", t))),
    "POST /api/v1/demo/agent-token [off]": (None, lambda w, t, c: _status(
        http(w.plain, "POST", "/api/v1/demo/agent-token", t, json={"agent_id": "zhangmin"}))),
    "/ws/chat hello": ("customer", lambda w, t, c: chat_hello(w.demo, t)),
    "/ws/chat hello conversation_id": ("customer", lambda w, t, c: chat_hello(w.demo, t, c)),
    "/ws/agent hello": ("agent", lambda w, t, c: agent_frame(w.demo, t, {"type": "hello"})),
    "/ws/agent claim": ("agent", lambda w, t, c: agent_frame(
        w.demo, t, {"type": "claim", "conversation_id": c})),
    "/ws/agent message": ("agent", lambda w, t, c: agent_frame(
        w.demo, t, {"type": "message", "conversation_id": c, "text": "您好，我是客服，我来帮您。"})),
    "/ws/agent note": ("agent", lambda w, t, c: agent_frame(
        w.demo, t, {"type": "note", "conversation_id": c, "text": "已核实身份"})),
    "/ws/agent handback": ("agent", lambda w, t, c: agent_frame(
        w.demo, t, {"type": "handback", "conversation_id": c, "note": "已处理"})),
    "/ws/agent close": ("agent", lambda w, t, c: agent_frame(
        w.demo, t, {"type": "close", "conversation_id": c, "disposition": "resolved"})),
    "/ws/agent context": ("agent", lambda w, t, c: agent_frame(
        w.demo, t, {"type": "context", "conversation_id": c})),
}


async def _status(call: Awaitable[httpx.Response]) -> str:
    return str((await call).status_code)


async def _listing(call: Awaitable[httpx.Response], conversation_id: str,
                   ids: Callable[[Any], list[str]]) -> str:
    return listing(await call, conversation_id, ids)


def test_every_row_has_an_operation() -> None:
    assert set(MATRIX) == set(OPERATIONS)
    assert len(CELLS) == len(MATRIX) * len(p.PRINCIPALS)


@pytest.mark.parametrize(("operation", "principal"), CELLS, ids=[f"{o} | {w}" for o, w in CELLS])
async def test_authorization(world: World, operation: str, principal: str) -> None:
    needs, run = OPERATIONS[operation]
    want = expected(operation, principal)
    conversation_id = world.conversation_id
    allowed = is_allowed(want)
    if operation in ENDS_HANDOFF and allowed:
        conversation_id = await hand_off(world.demo, "C001", "zhangmin")  # keep the shared chat assigned
    before = await _snapshot(world, conversation_id) if operation in WRITES and not allowed else None
    got = await run(world, token_for(principal, needs, world.secret), conversation_id)
    assert got == want, f"{operation} as {principal}: got {got!r}, the matrix says {want!r}"
    if before is not None:
        # A refused write changed nothing: still assigned to zhangmin, no new events.
        assert await _snapshot(world, conversation_id) == before


async def _snapshot(world: World, conversation_id: str) -> tuple[Any, ...]:
    server = world.demo
    events = await server.call(lambda: server.rt.store.events_after(conversation_id, 0))
    r = await http(server, "GET", "/api/v1/agent/queue", token_for(ZM, "agent", world.secret))
    held = conversation_id in [i["conversation_id"] for i in r.json()["assigned"]]
    return held, [(e.seq, e.type, e.data.get("status"), e.data.get("agent_id")) for e in events]


# -- tokens: expiry, clock skew, algorithms (the TokenService rules behind the matrix) -------------


def _verify(world: World, token: str) -> int:
    r = httpx.get(
        world.demo.http + "/api/v1/conversations", headers={"Authorization": f"Bearer {token}"}, verify=NO_TLS
    )
    _check_http(r)
    return r.status_code


def test_token_expired_within_the_clock_skew_leeway_is_accepted_and_beyond_it_refused(world: World) -> None:
    leeway = world.demo.settings.token_leeway_s
    now = int(time.time())
    hs256 = {"alg": "HS256", "typ": "JWT"}
    within = p.sign(hs256, {**p.claims_for("C001", "customer"), "exp": now - leeway // 2}, world.secret)
    beyond = p.sign(hs256, {**p.claims_for("C001", "customer"), "exp": now - leeway - 5}, world.secret)
    assert _verify(world, within) == 200
    assert _verify(world, beyond) == 401


def test_token_issued_in_the_future_beyond_the_leeway_is_refused(world: World) -> None:
    leeway = world.demo.settings.token_leeway_s
    claims = {**p.claims_for("C001", "customer"), "iat": int(time.time()) + leeway + 60}
    assert _verify(world, p.sign({"alg": "HS256", "typ": "JWT"}, claims, world.secret)) == 401


@pytest.mark.parametrize("missing", ["sub", "exp"])
def test_token_without_subject_or_expiry_is_refused(world: World, missing: str) -> None:
    claims = {k: v for k, v in p.claims_for("C001", "customer").items() if k != missing}
    assert _verify(world, p.sign({"alg": "HS256", "typ": "JWT"}, claims, world.secret)) == 401


def test_bank_backend_token_without_scope_is_a_customer_token_only(world: World) -> None:
    claims = {k: v for k, v in p.claims_for("C001", "customer").items() if k not in ("scope", "iss")}
    token = p.sign({"alg": "HS256", "typ": "JWT"}, claims, world.secret)
    assert _verify(world, token) == 200
    agent = {k: v for k, v in p.claims_for("zhangmin", "customer").items() if k != "scope"}
    token = p.sign({"alg": "HS256"}, agent, world.secret)
    r = httpx.get(world.demo.http + "/api/v1/agent/queue", headers={"Authorization": f"Bearer {token}"},
                  verify=NO_TLS)
    assert r.status_code == 401


@pytest.mark.parametrize("header", ["Bearer", "Bearer x.y.z", "Basic QzAwMTp4", "bearer", "Token abc"])
def test_malformed_authorization_headers_are_401(world: World, header: str) -> None:
    for path in ("/api/v1/conversations", "/api/v1/agent/queue"):
        r = httpx.get(world.demo.http + path, headers={"Authorization": header}, verify=NO_TLS)
        _check_http(r)
        assert r.status_code == 401, (path, header)


def test_the_agent_api_is_not_reachable_with_a_token_in_the_query_string(world: World) -> None:
    token = token_for(ZM, "agent", world.secret)
    r = httpx.get(f"{world.demo.http}/api/v1/agent/queue?token={token}&access_token={token}", verify=NO_TLS)
    assert r.status_code == 401


def test_ws_tokens_are_not_taken_from_the_url(world: World) -> None:
    import asyncio

    import websockets

    async def main() -> int | None:
        token = token_for(A, "customer", world.secret)
        async with websockets.connect(f"{world.demo.ws}/ws/chat?token={token}", close_timeout=1) as ws:
            await ws.send('{"type": "hello", "token": "x"}')
            try:
                await asyncio.wait_for(ws.recv(), 5)
            except websockets.ConnectionClosed as closed:
                return closed.rcvd.code if closed.rcvd else None
        return None

    assert asyncio.run(main()) == 4401


def test_denied_context_reads_leave_no_context_in_the_reply(world: World) -> None:
    """A 403 on the context endpoint says only that; no transcript, no customer profile."""
    r = httpx.get(f"{world.demo.http}/api/v1/agent/conversations/{world.conversation_id}/context",
                  headers={"Authorization": f"Bearer {token_for(TOM, 'agent', world.secret)}"}, verify=NO_TLS)
    assert r.status_code == 403
    assert set(r.json()) == {"detail"} and "转人工" not in r.text and "C001" not in r.text
