"""The customer WebSocket ``/ws/chat``: a thin state machine over the conversation service.

AWAIT_HELLO → READY → CLOSED. Frames go out through one writer task (ordered, bounded);
stored events are delivered exactly once in ``seq`` order: the socket subscribes to the
conversation's bus topic first, replays from the store, and fills any gap from the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from bot.auth import Principal
from bot.conversations import conv_topic
from bot.domain import Conversation, JsonDict
from bot.errors import AuthError, BadInput, Forbidden, StoreUnavailable
from bot.server.errors import CLOSE_FORBIDDEN, CLOSE_SLOW_CONSUMER, CLOSE_UNAUTHORIZED
from bot.server.protocol import (
    PROTOCOL_VERSION,
    ActionFrame,
    HelloFrame,
    MessageFrame,
    PingFrame,
    TypingFrame,
    error_frame,
    parse_client_frame,
)
from bot.server.runtime import Runtime

logger = logging.getLogger(__name__)

SLOW_CLOSE_GRACE_S = 5.0  # how long a closing slow client has to read its way to the 1013


class ConnState(enum.Enum):
    AWAIT_HELLO = "await_hello"
    READY = "ready"
    CLOSED = "closed"


class TokenBucket:
    """Per-connection flood control: ``rate`` frames per second with a ``burst``."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.capacity = float(burst)
        self.tokens = float(burst)
        self.stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class ChatConnection:
    """One customer socket."""

    def __init__(self, ws: WebSocket, rt: Runtime) -> None:
        self.ws = ws
        self.rt = rt
        self.state = ConnState.AWAIT_HELLO
        self.principal: Principal | None = None
        self.conv: Conversation | None = None
        self.last_sent_seq = 0
        self._out: asyncio.Queue[JsonDict | None] = asyncio.Queue(maxsize=rt.settings.send_queue_max)
        self._bucket = TokenBucket(rt.settings.rate_per_s, rt.settings.rate_burst)
        self._deliver_lock = asyncio.Lock()
        self._overflowed = False

    # -- lifecycle -----------------------------------------------------------------------

    async def run(self) -> None:
        await self.ws.accept()
        writer = asyncio.create_task(self._writer())
        try:
            hello = await self._await_hello()
            if hello is None:
                return
            await self._serve(hello)
        except WebSocketDisconnect:
            pass
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("chat.connection_failed",
                             extra={"conversation_id": self.conv.id if self.conv else None})
            await self._close(1011, "internal error")
        finally:
            self.state = ConnState.CLOSED
            try:
                if self._overflowed:  # let the writer send what is queued and the 1013
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(asyncio.shield(writer), SLOW_CLOSE_GRACE_S)
            finally:
                writer.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await writer
                if self.principal is not None:
                    self.rt.connections.release(self.principal.subject)

    async def _await_hello(self) -> HelloFrame | None:
        deadline = time.monotonic() + self.rt.settings.hello_timeout_s
        while True:
            if self._overflowed:  # flooded with bad frames and not reading the errors
                return None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                await self._close(4408, "hello timeout")
                return None
            try:
                async with asyncio.timeout(remaining):
                    raw = await self._receive_raw()
            except TimeoutError:
                await self._close(4408, "hello timeout")
                return None
            if raw is None:
                return None
            try:
                frame = parse_client_frame(raw, max_bytes=self.rt.settings.max_frame_bytes)
            except BadInput as exc:
                await self._send(error_frame(exc.code, exc.message))
                continue
            if not isinstance(frame, HelloFrame):
                await self._send(error_frame("hello_required", "send a hello frame first"))
                continue
            return frame

    async def _serve(self, hello: HelloFrame) -> None:
        try:
            self.principal = self.rt.tokens.verify(hello.token, scope="customer")
        except AuthError as exc:
            await self._close(CLOSE_UNAUTHORIZED, str(exc))
            return
        if not self.rt.connections.acquire(self.principal.subject):
            await self._close(CLOSE_SLOW_CONSUMER, "too many connections for this customer")
            return
        try:
            conv, state = await self.rt.conversations.open_conversation(
                self.principal.subject, hello.locale, hello.conversation_id
            )
        except Forbidden as exc:
            await self._close(CLOSE_FORBIDDEN, str(exc))
            return
        self.conv = conv
        async with self.rt.bus.subscribe(conv_topic(conv.id)) as live:
            pump = asyncio.create_task(self._pump(live))
            expiry = asyncio.create_task(self._close_when_expired(self.principal))
            try:
                self.state = ConnState.READY
                await self._send({
                    "type": "welcome", "conversation_id": conv.id, "seq": conv.last_seq, "mode": state.mode,
                    "protocol": PROTOCOL_VERSION, "customer_id": self.principal.subject,
                    "expires_at": self.principal.expires_at,
                })
                # A last_seq past the end (or past what the store can hold) is the end.
                replay_from = min(hello.last_seq or 0, conv.last_seq)
                self.last_sent_seq = replay_from
                await self._fill_from_store()
                await self._receive_loop()
            finally:
                for task in (pump, expiry):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

    async def _close_when_expired(self, principal: Principal) -> None:
        """A socket is authorised by its token only while the token is valid: at expiry it closes
        with 4401, and the widget comes back at once with a fresh token and its ``last_seq``."""
        await asyncio.sleep(max(0.0, self.rt.tokens.seconds_left(principal)))
        logger.info("chat.token_expired", extra={"conversation_id": self.conv and self.conv.id})
        await self._close(CLOSE_UNAUTHORIZED, "token expired")

    # -- inbound -------------------------------------------------------------------------

    async def _receive_raw(self) -> str | bytes | None:
        message = await self.ws.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        if message.get("text") is not None:
            return str(message["text"])
        if message.get("bytes") is not None:
            return bytes(message["bytes"])
        return None

    async def _receive_loop(self) -> None:
        while self.state is ConnState.READY:
            raw = await self._receive_raw()
            if raw is None:
                continue
            if not self._bucket.take():
                await self._send(error_frame("rate_limited", "too many frames; slow down"))
                continue
            try:
                frame = parse_client_frame(raw, max_bytes=self.rt.settings.max_frame_bytes)
                await self._handle(frame)
            except BadInput as exc:
                await self._send(error_frame(exc.code, exc.message))
            except StoreUnavailable:
                logger.warning("chat.store_unavailable", extra={"conversation_id": self.conv and self.conv.id})
                await self._send(error_frame("unavailable", "the service is briefly unavailable; please resend"))

    async def _handle(self, frame: Any) -> None:
        assert self.conv is not None and self.principal is not None
        match frame:
            case MessageFrame():
                text = self.rt.check_text(frame.text)
                if not self.rt.customer_limits.allow(self.principal.subject):
                    raise BadInput("rate_limited", "too many messages; please wait a moment")
                event, _ = await self.rt.conversations.submit_message(self.conv, frame.client_msg_id, text)
                await self._send({"type": "ack", "client_msg_id": frame.client_msg_id, "seq": event.seq})
            case ActionFrame():
                if not self.rt.customer_limits.allow(self.principal.subject):
                    raise BadInput("rate_limited", "too many messages; please wait a moment")
                values = self.rt.check_action_values(frame.values)
                event, _ = await self.rt.conversations.submit_action(
                    self.conv, frame.client_msg_id, frame.action_id, values
                )
                await self._send({"type": "ack", "client_msg_id": frame.client_msg_id, "seq": event.seq})
            case PingFrame():
                await self._send({"type": "pong"})
            case TypingFrame():
                pass
            case HelloFrame():
                raise BadInput("already_hello", "this socket already said hello")

    # -- outbound ------------------------------------------------------------------------

    async def _pump(self, live: Any) -> None:
        async for message in live:
            await self._deliver(message.event)

    async def _deliver(self, frame: JsonDict) -> None:
        seq = frame.get("seq")
        if not isinstance(seq, int):
            await self._send(frame)
            return
        async with self._deliver_lock:
            if seq <= self.last_sent_seq:
                return
            if seq == self.last_sent_seq + 1:
                self.last_sent_seq = seq
                await self._send(frame)
                return
        await self._fill_from_store()

    async def _fill_from_store(self) -> None:
        """Send every stored event after ``last_sent_seq`` (replay, or a gap in the live feed)."""
        assert self.conv is not None
        async with self._deliver_lock:
            for event in await self.rt.conversations.store.events_after(self.conv.id, self.last_sent_seq):
                self.last_sent_seq = event.seq
                await self._send(event.frame())

    async def _send(self, frame: JsonDict) -> None:
        if self._overflowed:
            return
        try:
            self._out.put_nowait(frame)
        except asyncio.QueueFull:
            # A client that does not read: queue nothing more; the writer sends what is queued, then
            # closes with 1013. The client reconnects with last_seq and loses nothing.
            self._overflowed = True
            self.state = ConnState.CLOSED

    async def _writer(self) -> None:
        while True:
            if self._overflowed and self._out.empty():
                await self._close(CLOSE_SLOW_CONSUMER, "client too slow")
                return
            frame = await self._out.get()
            if frame is None:
                return
            if self.ws.application_state is not WebSocketState.CONNECTED:
                return
            try:
                await self.ws.send_json(frame)
            except (WebSocketDisconnect, RuntimeError, OSError):
                return

    async def _close(self, code: int, reason: str) -> None:
        self.state = ConnState.CLOSED
        if self.ws.application_state is WebSocketState.CONNECTED:
            with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect):
                await self.ws.close(code=code, reason=reason[:120])
