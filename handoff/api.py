"""The agent API: a thin FastAPI router over ``AgentHub`` (cardcare agent protocol v1).

HTTP: demo agent list and token minting (demo only), the audited context read and the
agent's queue. WebSocket ``/ws/agent``: hello → welcome + queue snapshots, then claim,
message, note, handback, close. Handlers parse (``handoff.protocol``), call the hub, send.
"""

# No ``from __future__ import annotations`` here: FastAPI resolves the dependency annotations
# of routes defined inside functions at runtime, which string annotations would break.

import asyncio
import contextlib
import json
import logging
from collections import OrderedDict
from typing import Annotated, assert_never

from fastapi import APIRouter, Depends, Header, HTTPException, WebSocket
from pydantic import BaseModel, Field
from starlette.websockets import WebSocketDisconnect, WebSocketState

from handoff.errors import (
    BusUnavailable,
    GatewayUnavailable,
    HandoffError,
    InvalidAgentToken,
    NotVisible,
    QueueUnavailable,
    SessionOverflow,
    TicketNotFound,
    UnknownAgent,
)
from handoff.hub import AgentHub
from handoff.models import Agent, AgentId, ConversationId, Disposition, JsonDict
from handoff.ports import AgentDirectory, AgentTokens
from handoff.protocol import (
    AckFrame,
    AssignedFrame,
    BlockedFrame,
    ClaimFrame,
    ClientFrame,
    ClosedFrame,
    CloseFrame,
    ContextFrame,
    ContextRequestFrame,
    ErrorFrame,
    FrameError,
    HandbackFrame,
    HelloFrame,
    MessageFrame,
    NotedFrame,
    NoteFrame,
    PingFrame,
    PongFrame,
    QueueRequestFrame,
    ReturnedFrame,
    WelcomeFrame,
    parse_client_frame,
    queue_frame,
    rules,
)
from handoff.session import AgentSession
from handoff.settings import HandoffSettings

logger = logging.getLogger(__name__)

CLOSE_UNAUTHORIZED = 4401
CLOSE_TRY_AGAIN = 1013
ACK_CACHE = 256
_UNAVAILABLE = (QueueUnavailable, BusUnavailable, GatewayUnavailable)


class TokenRequest(BaseModel):
    agent_id: Annotated[str, Field(min_length=1, max_length=128)]


def create_agent_router(
    hub: AgentHub,
    tokens: AgentTokens,
    directory: AgentDirectory,
    *,
    demo: bool,
    settings: HandoffSettings | None = None,
) -> APIRouter:
    """The agent endpoints; the demo endpoints exist only when ``demo`` is true."""
    s = settings or HandoffSettings()
    router = APIRouter()
    if demo:
        _add_demo_routes(router, tokens, directory)
    _add_agent_routes(router, hub, tokens, directory)

    @router.websocket("/ws/agent")
    async def agent_socket(ws: WebSocket) -> None:
        await ws.accept()
        agent_id = await _hello(ws, tokens, s)
        if agent_id is None:
            return
        try:
            async with hub.connect(agent_id) as session:
                await ws.send_json(_welcome(session.agent))
                await _serve(ws, session, _FrameHandler(hub, session), s)
        except UnknownAgent:
            await _close(ws, CLOSE_UNAUTHORIZED, "unknown agent")

    return router


def _add_demo_routes(router: APIRouter, tokens: AgentTokens, directory: AgentDirectory) -> None:
    @router.get("/api/v1/demo/agents")
    async def demo_agents() -> JsonDict:
        return {"agents": [_agent_json(a) for a in await directory.all()]}

    @router.post("/api/v1/demo/agent-token")
    async def demo_agent_token(body: TokenRequest) -> JsonDict:
        try:
            agent = await directory.get(AgentId(body.agent_id))
        except UnknownAgent:
            raise HTTPException(400, f"unknown agent {body.agent_id!r}") from None
        return {"token": tokens.mint(agent.id), "agent": _agent_json(agent)}


def _add_agent_routes(
    router: APIRouter, hub: AgentHub, tokens: AgentTokens, directory: AgentDirectory
) -> None:
    async def current_agent(authorization: Annotated[str | None, Header()] = None) -> Agent:
        scheme, _, token = (authorization or "").partition(" ")
        try:
            if scheme.lower() != "bearer" or not token.strip():
                raise InvalidAgentToken("missing bearer token")
            return await directory.get(tokens.verify(token.strip()))
        except (InvalidAgentToken, UnknownAgent):
            raise HTTPException(401, "agent token required", headers={"WWW-Authenticate": "Bearer"}) from None

    @router.get("/api/v1/agent/conversations/{conversation_id}/context")
    async def conversation_context(
        conversation_id: str, agent: Annotated[Agent, Depends(current_agent)]
    ) -> JsonDict:
        try:
            package = await hub.context(agent.id, ConversationId(conversation_id))
        except NotVisible:
            raise HTTPException(403, "this chat is not in your queue") from None
        except TicketNotFound:
            raise HTTPException(404, "no handoff for this conversation") from None
        except _UNAVAILABLE:
            raise HTTPException(503, "handoff service temporarily unavailable") from None
        return package.to_json()

    @router.get("/api/v1/agent/queue")
    async def agent_queue(agent: Annotated[Agent, Depends(current_agent)]) -> JsonDict:
        try:
            view = await hub.queue_view(agent.id)
        except _UNAVAILABLE:
            raise HTTPException(503, "handoff service temporarily unavailable") from None
        frame = queue_frame(view).dump()
        return {"items": frame["items"], "assigned": frame["assigned"]}


async def _hello(ws: WebSocket, tokens: AgentTokens, s: HandoffSettings) -> AgentId | None:
    """The first frame must be a valid hello within the timeout, else close with 4401."""
    try:
        async with asyncio.timeout(s.hello_timeout_s):
            raw = await ws.receive_text()
        frame = parse_client_frame(json.loads(raw))
        if not isinstance(frame, HelloFrame):
            raise FrameError("hello_required", "the first frame must be hello")
        return tokens.verify(frame.token)
    except WebSocketDisconnect:
        return None
    except (TimeoutError, ValueError, KeyError, RecursionError, InvalidAgentToken):  # FrameError, bad JSON: ValueErrors
        await _close(ws, CLOSE_UNAUTHORIZED, "agent token required")
        return None


async def _serve(ws: WebSocket, session: AgentSession, handler: "_FrameHandler", s: HandoffSettings) -> None:
    """Read client frames and write session frames until either side ends."""
    writer = asyncio.create_task(_write(ws, session))
    reader = asyncio.create_task(_read(ws, session, handler, s))
    done, pending = await asyncio.wait({writer, reader}, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    if pending:  # both may end at once (the socket closed while a frame was being written)
        await asyncio.wait(pending)
    if writer in done and isinstance(writer.exception(), SessionOverflow):
        await _close(ws, CLOSE_TRY_AGAIN, "too far behind, reconnect")
    for task in done:
        if (exc := task.exception()) is not None and not isinstance(
            exc, SessionOverflow | WebSocketDisconnect
        ):
            logger.error("handoff.agent_socket.failed", extra={"agent_id": session.agent.id}, exc_info=exc)


async def _write(ws: WebSocket, session: AgentSession) -> None:
    while True:
        frame = await session.next_frame()
        await ws.send_json(frame)


async def _read(ws: WebSocket, session: AgentSession, handler: "_FrameHandler", s: HandoffSettings) -> None:
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        if text is None:
            session.send(ErrorFrame(code="bad_frame", message="frames are JSON text").dump())
            continue
        if len(text) > s.max_frame_bytes or len(text.encode()) > s.max_frame_bytes:
            session.send(
                ErrorFrame(
                    code="frame_too_large", message=f"frames are at most {s.max_frame_bytes} bytes"
                ).dump()
            )
            continue
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):  # deeply nested JSON exhausts the parser's recursion
            session.send(ErrorFrame(code="bad_json", message="frame is not valid JSON").dump())
            continue
        try:
            frame = parse_client_frame(data)
        except FrameError as exc:
            session.send(ErrorFrame(code=exc.code, message=str(exc)).dump())
            continue
        session.send(await handler.handle(frame))


class _FrameHandler:
    """Turns one client frame into one hub call and one reply frame."""

    def __init__(self, hub: AgentHub, session: AgentSession) -> None:
        self._hub = hub
        self._agent = session.agent
        self._acks: OrderedDict[str, JsonDict] = OrderedDict()

    async def handle(self, frame: ClientFrame) -> JsonDict:
        conversation_id = getattr(frame, "conversation_id", None)
        try:
            return await self._dispatch(frame)
        except _UNAVAILABLE as exc:
            logger.warning(
                "handoff.agent_action_unavailable", extra={"agent_id": self._agent.id, "code": exc.code}
            )
            return ErrorFrame(
                code=exc.code, message="temporarily unavailable, try again", conversation_id=conversation_id
            ).dump()
        except HandoffError as exc:
            return ErrorFrame(code=exc.code, message=str(exc), conversation_id=conversation_id).dump()
        except Exception:  # task root for this frame: report it and keep the socket
            logger.exception("handoff.agent_frame_failed", extra={"agent_id": self._agent.id})
            return ErrorFrame(
                code="internal", message="internal error", conversation_id=conversation_id
            ).dump()

    async def _dispatch(self, frame: ClientFrame) -> JsonDict:
        hub, me = self._hub, self._agent.id
        match frame:
            case ClaimFrame(conversation_id=cid):
                package = await hub.claim(me, ConversationId(cid))
                return AssignedFrame(
                    conversation_id=cid, ticket_id=package.ticket_id, context=package.to_json()
                ).dump()
            case MessageFrame():
                return await self._message(frame)
            case NoteFrame(conversation_id=cid, text=text):
                note = await hub.note(me, ConversationId(cid), text)
                return NotedFrame(conversation_id=cid, at=note.at).dump()
            case HandbackFrame(conversation_id=cid, note=note):
                ticket = await hub.handback(me, ConversationId(cid), note or None)
                return ReturnedFrame(conversation_id=cid, ticket_id=ticket.id).dump()
            case CloseFrame(conversation_id=cid, disposition=disposition):
                ticket = await hub.close(me, ConversationId(cid), Disposition(disposition))
                return ClosedFrame(
                    conversation_id=cid, ticket_id=ticket.id, disposition=disposition, by="agent"
                ).dump()
            case ContextRequestFrame(conversation_id=cid):
                package = await hub.context(me, ConversationId(cid))
                return ContextFrame(
                    conversation_id=cid, ticket_id=package.ticket_id, context=package.to_json()
                ).dump()
            case QueueRequestFrame():
                return queue_frame(await hub.queue_view(me)).dump()
            case PingFrame():
                return PongFrame().dump()
            case HelloFrame():
                return ErrorFrame(code="already_authenticated", message="hello was already accepted").dump()
            case _:
                assert_never(frame)

    async def _message(self, frame: MessageFrame) -> JsonDict:
        # A console that resends after a reconnect gets the same ack, and the customer one message.
        if frame.client_msg_id and (cached := self._acks.get(frame.client_msg_id)) is not None:
            return cached
        result = await self._hub.agent_message(
            self._agent.id, ConversationId(frame.conversation_id), frame.text
        )
        match result.kind:
            case "blocked":
                return BlockedFrame(
                    conversation_id=frame.conversation_id,
                    client_msg_id=frame.client_msg_id,
                    rules=rules(result.issues),
                ).dump()
            case "sent":
                ack = AckFrame(
                    conversation_id=frame.conversation_id,
                    seq=result.seq,
                    client_msg_id=frame.client_msg_id,
                    warnings=rules(result.warnings),
                ).dump()
                if frame.client_msg_id:
                    self._acks[frame.client_msg_id] = ack
                    while len(self._acks) > ACK_CACHE:
                        self._acks.popitem(last=False)
                return ack


def _welcome(agent: Agent) -> JsonDict:
    return WelcomeFrame(
        agent_id=agent.id,
        display_name=agent.display_name,
        skills=sorted(s.value for s in agent.skills),
        languages=list(agent.languages),
        capacity=agent.capacity,
        is_supervisor=agent.is_supervisor,
    ).dump()


def _agent_json(agent: Agent) -> JsonDict:
    return {
        "agent_id": agent.id,
        "display_name": agent.display_name,
        "skills": sorted(s.value for s in agent.skills),
        "languages": list(agent.languages),
        "capacity": agent.capacity,
        "is_supervisor": agent.is_supervisor,
    }


async def _close(ws: WebSocket, code: int, reason: str) -> None:
    if ws.client_state is WebSocketState.CONNECTED:
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await ws.close(code=code, reason=reason)
