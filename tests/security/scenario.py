"""The conversation the security tests aim at: a customer handed off to a person, claimed by an agent."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import websockets

from tests.harness import AgentClient, ChatClient, LiveServer, agent_token, demo_token

AGENT_REPLIES = frozenset({"assigned", "ack", "blocked", "noted", "returned", "closed", "context", "error"})


async def hand_off(
    server: LiveServer, customer_id: str = "C001", agent_id: str | None = "zhangmin", text: str = "转人工"
) -> str:
    """``customer_id`` asks for a person; ``agent_id`` (if any) claims the chat; the conversation id."""
    customer = ChatClient(server.ws, await demo_token(server.http, customer_id))
    await customer.connect()
    conversation_id = str(customer.welcome["conversation_id"])
    await customer.say(text)
    await customer.until(lambda f: f.get("type") == "handoff" and f.get("status") == "queued")
    if agent_id is not None:
        agent = AgentClient(server.ws, await agent_token(server.http, agent_id))
        await agent.connect()
        await agent.queued(conversation_id)
        assigned = await agent.claim(conversation_id)
        assert assigned["type"] == "assigned", assigned
        await customer.until(lambda f: f.get("type") == "handoff" and f.get("status") == "assigned")
        await agent.close()
    await customer.close()
    return conversation_id


async def agent_frame(server: LiveServer, token: str | None, frame: dict[str, Any]) -> str:
    """Open ``/ws/agent`` with ``token``, send ``frame``; the outcome as ``"<reply type>"``,
    ``"error <code>"`` or ``"close <code>"``."""
    async with websockets.connect(server.ws + "/ws/agent", close_timeout=1) as ws:
        await ws.send(json.dumps({"type": "hello", "token": token or ""}))
        try:
            welcome = json.loads(await asyncio.wait_for(ws.recv(), 5))
        except websockets.ConnectionClosed as closed:
            return f"close {closed.rcvd.code if closed.rcvd else None}"
        assert welcome["type"] == "welcome", welcome
        if frame["type"] == "hello":
            return "welcome"
        await ws.send(json.dumps(frame))
        while True:
            reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
            about = reply.get("conversation_id")
            if reply["type"] in AGENT_REPLIES and about in (None, frame.get("conversation_id")):
                return f"error {reply['code']}" if reply["type"] == "error" else str(reply["type"])


async def chat_hello(server: LiveServer, token: str | None, conversation_id: str | None = None) -> str:
    """Open ``/ws/chat`` and say hello; ``"welcome"``, ``"welcome <other conversation>"``,
    ``"error <code>"`` or ``"close <code>"``."""
    hello: dict[str, Any] = {"type": "hello", "locale": "zh-CN"}
    if token is not None:
        hello["token"] = token
    if conversation_id is not None:
        hello["conversation_id"] = conversation_id
    async with websockets.connect(server.ws + "/ws/chat", close_timeout=1) as ws:
        await ws.send(json.dumps(hello))
        try:
            first = json.loads(await asyncio.wait_for(ws.recv(), 5))
        except websockets.ConnectionClosed as closed:
            return f"close {closed.rcvd.code if closed.rcvd else None}"
        if first["type"] == "error":
            return f"error {first['code']}"
        assert first["type"] == "welcome", first
        if conversation_id is not None and first["conversation_id"] != conversation_id:
            return "welcome to another conversation"
        return "welcome"
