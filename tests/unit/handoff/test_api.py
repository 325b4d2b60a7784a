"""The agent HTTP and WebSocket API, through Starlette's TestClient on a small app with fakes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from handoff.api import create_agent_router
from handoff.bus.memory import InMemoryEventBus
from handoff.directory import demo_directory
from handoff.hub import AgentHub
from handoff.models import ConversationId, HandoffReason
from handoff.protocol import protocol_schema
from handoff.queue.sqlite import SqliteHandoffQueue
from handoff.settings import HandoffSettings
from handoff.sla import SlaMonitor
from handoff.testing import (
    FakeAgentTokens,
    FakeAuditSink,
    FakeClock,
    FakeDraftChecker,
    FakeGateway,
    make_request,
)

pytestmark = pytest.mark.timeout(60)

C1 = ConversationId("c1")


@dataclass
class Api:
    client: TestClient
    hub: AgentHub
    gateway: FakeGateway
    audit: FakeAuditSink
    clock: FakeClock
    queue: SqliteHandoffQueue
    bus: InMemoryEventBus

    def call(self, fn: Any, *args: Any) -> Any:
        """Run a coroutine function on the app's event loop."""
        assert self.client.portal is not None
        return self.client.portal.call(fn, *args)

    def open(self, conversation: str = "c1", **kw: Any) -> Any:
        return self.call(self.hub.open_handoff, make_request(conversation, **kw))


def build(tmp_path: Path, *, demo: bool = True) -> tuple[FastAPI, Api]:
    clock = FakeClock()
    bus = InMemoryEventBus()
    queue = SqliteHandoffQueue(tmp_path / "handoff.db")
    gateway, audit, directory = FakeGateway(clock), FakeAuditSink(), demo_directory()
    settings = HandoffSettings(max_frame_bytes=2048, hello_timeout_s=5)
    hub = AgentHub(
        queue=queue,
        bus=bus,
        gateway=gateway,
        drafts=FakeDraftChecker(),
        audit=audit,
        directory=directory,
        settings=settings,
        clock=clock,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await queue.open()
        async with hub:
            yield
        await bus.close()
        await queue.aclose()

    app = FastAPI(lifespan=lifespan)
    app.include_router(create_agent_router(hub, FakeAgentTokens(), directory, demo=demo, settings=settings))
    return app, Api(client=None, hub=hub, gateway=gateway, audit=audit, clock=clock, queue=queue, bus=bus)  # type: ignore[arg-type]


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    app, env = build(tmp_path)
    with TestClient(app) as client:
        env.client = client
        yield env


def recv(ws: Any, type_: str) -> dict[str, Any]:
    """The next frame of ``type_``, skipping others (queue snapshots arrive whenever the queue changes)."""
    while True:
        frame = ws.receive_json()
        if frame["type"] == type_:
            return frame


def login(ws: Any, agent: str) -> dict[str, Any]:
    ws.send_json({"type": "hello", "token": f"agent:{agent}"})
    welcome = ws.receive_json()
    assert welcome["type"] == "welcome"
    assert ws.receive_json()["type"] == "queue"
    return welcome


# -- HTTP ---------------------------------------------------------------------------------


def test_api_demo_lists_agents_and_mints_tokens(api: Api) -> None:
    agents = api.client.get("/api/v1/demo/agents").json()["agents"]
    by_id = {a["agent_id"]: a for a in agents}
    assert by_id["liwei"]["skills"] == ["risk"] and by_id["liwei"]["display_name"] == "李伟"
    assert by_id["chenjing"]["is_supervisor"] is True
    minted = api.client.post("/api/v1/demo/agent-token", json={"agent_id": "emily"})
    assert minted.status_code == 200 and minted.json()["token"] == "agent:emily"
    assert api.client.post("/api/v1/demo/agent-token", json={"agent_id": "ghost"}).status_code == 400
    assert api.client.post("/api/v1/demo/agent-token", json={}).status_code == 422


def test_api_demo_endpoints_do_not_exist_outside_demo(tmp_path: Path) -> None:
    app, _ = build(tmp_path, demo=False)
    with TestClient(app) as client:
        assert client.get("/api/v1/demo/agents").status_code == 404
        assert client.post("/api/v1/demo/agent-token", json={"agent_id": "emily"}).status_code == 404


def test_api_context_needs_a_token_and_the_right_queue(api: Api) -> None:
    api.open("c1")
    url = "/api/v1/agent/conversations/c1/context"
    assert api.client.get(url).status_code == 401
    assert api.client.get(url, headers={"Authorization": "Bearer nonsense"}).status_code == 401
    assert api.client.get(url, headers={"Authorization": "Bearer agent:ghost"}).status_code == 401
    assert api.client.get(url, headers={"Authorization": "Bearer agent:tom"}).status_code == 403
    got = api.client.get(url, headers={"Authorization": "Bearer agent:zhangmin"})
    assert got.status_code == 200
    body = got.json()
    assert (
        body["conversation_id"] == "c1"
        and body["schema_version"] == 1
        and body["reason"] == "customer_request"
    )
    missing = api.client.get(
        "/api/v1/agent/conversations/zz/context", headers={"Authorization": "Bearer agent:zhangmin"}
    )
    assert missing.status_code == 404
    assert [(r.actor, r.target) for r in api.audit.actions("context.read")] == [("zhangmin", "c1")]


def test_api_queue_lists_what_the_agent_may_take(api: Api) -> None:
    api.open("c1")
    api.open("c2", reason=HandoffReason.UNRECOGNISED_TRANSACTION)
    zhang = api.client.get("/api/v1/agent/queue", headers={"Authorization": "Bearer agent:zhangmin"}).json()
    li = api.client.get("/api/v1/agent/queue", headers={"Authorization": "Bearer agent:liwei"}).json()
    assert [i["conversation_id"] for i in zhang["items"]] == ["c1"]
    assert [i["conversation_id"] for i in li["items"]] == ["c2"]
    assert zhang["assigned"] == []
    assert api.client.get("/api/v1/agent/queue").status_code == 401


# -- WebSocket ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "first",
    [
        {"type": "hello", "token": "wrong"},
        {"type": "hello"},
        {"type": "ping"},
        "not json",
        {"type": "hello", "token": "agent:ghost"},
    ],
)
def test_ws_bad_or_missing_token_closes_4401(api: Api, first: Any) -> None:
    with api.client.websocket_connect("/ws/agent") as ws:
        ws.send_text(first if isinstance(first, str) else json.dumps(first))
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 4401


def test_ws_welcome_then_queue_snapshots_on_change(api: Api) -> None:
    with api.client.websocket_connect("/ws/agent") as ws:
        welcome = login(ws, "emily")
        assert welcome == {
            "type": "welcome",
            "protocol": "cardcare-agent/1",
            "agent_id": "emily",
            "display_name": "Emily Chen",
            "skills": ["general", "senior"],
            "languages": ["en", "zh"],
            "capacity": 3,
            "is_supervisor": False,
        }
        api.open("c1", tier="platinum")
        frame = recv(ws, "queue")
        (item,) = frame["items"]
        assert {
            k: item[k]
            for k in ("conversation_id", "priority", "reason", "skills", "language", "tier", "position")
        } == {
            "conversation_id": "c1",
            "priority": 2,
            "reason": "customer_request",
            "skills": ["senior"],
            "language": "zh",
            "tier": "platinum",
            "position": 1,
        }
        assert item["waiting_s"] == 0 and item["sla_deadline"].startswith("2026-11-02T02:02:00")


def test_ws_claim_race_one_gets_the_chat_the_other_already_claimed(api: Api) -> None:
    api.open("c1")
    with (
        api.client.websocket_connect("/ws/agent") as zhang,
        api.client.websocket_connect("/ws/agent") as emily,
    ):
        login(zhang, "zhangmin")
        login(emily, "emily")
        zhang.send_json({"type": "claim", "conversation_id": "c1"})
        assigned = recv(zhang, "assigned")
        assert assigned["conversation_id"] == "c1" and assigned["context"]["conversation_id"] == "c1"
        assert assigned["context"]["summary"]["zh"]
        emily.send_json({"type": "claim", "conversation_id": "c1"})
        error = recv(emily, "error")
        assert error["code"] == "already_claimed" and error["conversation_id"] == "c1"
    assert api.gateway.statuses[-1].status == "assigned"


def test_ws_messages_acked_blocked_and_relayed(api: Api) -> None:
    api.open("c1")
    with api.client.websocket_connect("/ws/agent") as ws:
        login(ws, "zhangmin")
        ws.send_json({"type": "claim", "conversation_id": "c1"})
        recv(ws, "assigned")
        ws.send_json(
            {"type": "message", "conversation_id": "c1", "text": "您好，我是张敏", "client_msg_id": "m1"}
        )
        ack = recv(ws, "ack")
        assert (
            ack["seq"] == api.gateway.messages[-1].seq
            and ack["client_msg_id"] == "m1"
            and ack["warnings"] == []
        )
        ws.send_json(
            {"type": "message", "conversation_id": "c1", "text": "您好，我是张敏", "client_msg_id": "m1"}
        )
        assert recv(ws, "ack") == ack  # a resend is not delivered twice
        assert len(api.gateway.messages) == 1
        ws.send_json(
            {"type": "message", "conversation_id": "c1", "text": "我保证全额退款", "client_msg_id": "m2"}
        )
        blocked = recv(ws, "blocked")
        assert blocked["rules"][0]["rule_id"] == "no_guarantees" and blocked["client_msg_id"] == "m2"
        assert len(api.gateway.messages) == 1
        api.call(api.hub.customer_message, C1, 9, "好的，谢谢")
        relayed = recv(ws, "message")
        assert relayed == {
            "type": "message",
            "conversation_id": "c1",
            "role": "customer",
            "text": "好的，谢谢",
            "seq": 9,
        }


def test_ws_note_handback_and_close(api: Api) -> None:
    api.open("c1")
    api.open("c2")
    with api.client.websocket_connect("/ws/agent") as ws:
        login(ws, "zhangmin")
        for conv in ("c1", "c2"):
            ws.send_json({"type": "claim", "conversation_id": conv})
            recv(ws, "assigned")
        ws.send_json({"type": "note", "conversation_id": "c1", "text": "客户已核实身份"})
        assert recv(ws, "noted")["conversation_id"] == "c1"
        ws.send_json({"type": "handback", "conversation_id": "c1", "note": "已解答，交回助手"})
        assert recv(ws, "returned")["conversation_id"] == "c1"
        ws.send_json({"type": "close", "conversation_id": "c2", "disposition": "resolved"})
        closed = recv(ws, "closed")
        assert (closed["conversation_id"], closed["disposition"], closed["by"]) == ("c2", "resolved", "agent")
        ws.send_json({"type": "close", "conversation_id": "c2", "disposition": "resolved"})
        assert recv(ws, "error")["code"] == "not_assigned"
    (summary,) = api.gateway.handbacks
    assert summary.note == "已解答，交回助手" and summary.notes == ("客户已核实身份",)
    assert all("客户已核实身份" not in m.text for m in api.gateway.messages)
    assert [s.status for s in api.gateway.statuses if s.conversation_id == "c2"][-1] == "closed"


def test_ws_acting_on_someone_elses_chat_is_not_assigned(api: Api) -> None:
    api.open("c1")
    with api.client.websocket_connect("/ws/agent") as ws:
        login(ws, "emily")
        ws.send_json({"type": "message", "conversation_id": "c1", "text": "hello"})
        error = recv(ws, "error")
        assert error["code"] == "not_assigned" and error["conversation_id"] == "c1"
        ws.send_json({"type": "claim", "conversation_id": "nope"})
        assert recv(ws, "error")["code"] == "not_found"


def test_ws_bad_frames_get_error_frames_and_the_socket_stays_open(api: Api) -> None:
    with api.client.websocket_connect("/ws/agent") as ws:
        login(ws, "zhangmin")
        ws.send_text("{not json")
        assert recv(ws, "error")["code"] == "bad_json"
        ws.send_json({"type": "dance"})
        assert recv(ws, "error")["code"] == "unknown_type"
        ws.send_json(["claim"])
        assert recv(ws, "error")["code"] == "bad_frame"
        ws.send_json({"type": "claim"})
        assert recv(ws, "error")["code"] == "bad_frame"
        ws.send_json({"type": "close", "conversation_id": "c1", "disposition": "abandoned"})
        assert recv(ws, "error")["code"] == "bad_frame"
        ws.send_json({"type": "message", "conversation_id": "c1", "text": "   "})
        assert recv(ws, "error")["code"] == "bad_frame"
        ws.send_text(json.dumps({"type": "note", "conversation_id": "c1", "text": "长" * 1000}))
        assert recv(ws, "error")["code"] == "frame_too_large"
        ws.send_bytes(b"\x00\x01")
        assert recv(ws, "error")["code"] == "bad_frame"
        ws.send_json({"type": "hello", "token": "agent:zhangmin"})
        assert recv(ws, "error")["code"] == "already_authenticated"
        ws.send_json({"type": "ping"})
        assert recv(ws, "pong") == {"type": "pong"}


def test_ws_context_and_queue_requests(api: Api) -> None:
    api.open("c1")
    with api.client.websocket_connect("/ws/agent") as ws:
        login(ws, "zhangmin")
        ws.send_json({"type": "context", "conversation_id": "c1"})
        frame = recv(ws, "context")
        assert frame["context"]["conversation_id"] == "c1" and frame["ticket_id"].startswith("t_")
        ws.send_json({"type": "queue"})
        assert [i["conversation_id"] for i in recv(ws, "queue")["items"]] == ["c1"]
    assert [r.details["via"] for r in api.audit.actions("context.read")] == ["read"]


def test_ws_escalation_reaches_supervisor_and_assigned_agent(api: Api) -> None:
    api.open("c1", reason=HandoffReason.UNRECOGNISED_TRANSACTION)
    monitor = SlaMonitor(queue=api.queue, bus=api.bus, audit=api.audit, clock=api.clock)
    with api.client.websocket_connect("/ws/agent") as li, api.client.websocket_connect("/ws/agent") as chen:
        login(li, "liwei")
        login(chen, "chenjing")
        li.send_json({"type": "claim", "conversation_id": "c1"})
        recv(li, "assigned")
        api.clock.advance(61)
        api.call(monitor.tick)
        to_agent, to_supervisor = recv(li, "escalation"), recv(chen, "escalation")
    assert to_agent == to_supervisor
    assert (to_agent["conversation_id"], to_agent["priority"], to_agent["assigned_to"]) == ("c1", 1, "liwei")


def test_protocol_schema_covers_every_frame() -> None:
    schema = protocol_schema()
    assert schema["protocol"] == "cardcare-agent/1"
    client_types = set(schema["client"]["discriminator"]["mapping"])
    assert client_types == {
        "hello",
        "claim",
        "message",
        "note",
        "handback",
        "close",
        "context",
        "queue",
        "ping",
    }
    assert {
        "WelcomeFrame",
        "QueueFrame",
        "AssignedFrame",
        "AckFrame",
        "BlockedFrame",
        "EscalationFrame",
        "ErrorFrame",
        "ClosedFrame",
        "ReturnedFrame",
        "CustomerMessageFrame",
    } <= set(schema["server"])
