"""The customer WebSocket protocol (``/ws/chat``), version 1: client frames as pydantic models.

Frames are JSON objects with a ``type``. Unknown fields are rejected (a client typo must not
be silently ignored). Server frames are plain dicts built by the service; their shapes are
documented in ``docs/protocol.md`` and pinned by tests.
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from bot.errors import BadInput

PROTOCOL_VERSION = 1

Locale = Literal["zh-CN", "en-US"]
ClientMsgId = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:\-]+$")]
ActionValue = str | int | float | bool | None


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class HelloFrame(_Frame):
    type: Literal["hello"]
    token: str | None = Field(default=None, max_length=4096)  # missing → 4401 at verify, like a bad one
    locale: Locale = "zh-CN"
    conversation_id: str | None = Field(default=None, max_length=100)
    last_seq: int | None = Field(default=None, ge=0)
    protocol: int | None = None


class MessageFrame(_Frame):
    type: Literal["message"]
    client_msg_id: ClientMsgId
    text: str


class ActionFrame(_Frame):
    type: Literal["action"]
    client_msg_id: ClientMsgId
    action_id: str = Field(min_length=1, max_length=200)
    values: dict[Annotated[str, Field(max_length=100)], ActionValue] = Field(default_factory=dict)


class PingFrame(_Frame):
    type: Literal["ping"]


class TypingFrame(_Frame):
    type: Literal["typing"]
    active: bool = True


ClientFrame = Annotated[
    HelloFrame | MessageFrame | ActionFrame | PingFrame | TypingFrame, Field(discriminator="type")
]
_client_frame: TypeAdapter[ClientFrame] = TypeAdapter(ClientFrame)
KNOWN_TYPES = frozenset({"hello", "message", "action", "ping", "typing"})


def parse_client_frame(raw: str | bytes, *, max_bytes: int) -> ClientFrame:
    """Parse one client frame or raise ``BadInput`` with a wire error code.

    Codes: ``frame_too_large``, ``invalid_utf8``, ``bad_json``, ``bad_frame``,
    ``unknown_type``, ``unknown_field``.
    """
    size = len(raw) if isinstance(raw, bytes) else len(raw.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise BadInput("frame_too_large", f"frames are limited to {max_bytes} bytes; this one has {size}")
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadInput("invalid_utf8", "the frame is not valid UTF-8") from exc
    try:
        doc = json.loads(raw, parse_constant=_not_json, parse_float=_finite)
    except (ValueError, RecursionError) as exc:  # also NaN/Infinity, 1e400 and integers of > 4300 digits
        raise BadInput("bad_json", "the frame is not valid JSON") from exc
    if not isinstance(doc, dict):
        raise BadInput("bad_frame", "a frame must be a JSON object")
    kind = doc.get("type")
    if not isinstance(kind, str) or kind not in KNOWN_TYPES:  # a list or object is unhashable
        raise BadInput("unknown_type", f"unknown frame type {kind!r}")
    try:
        return _client_frame.validate_python(doc)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"][1:]) or "frame"
        if first["type"] == "extra_forbidden":
            raise BadInput("unknown_field", f"unknown field {where!r} in a {kind!r} frame") from exc
        raise BadInput("bad_frame", f"{kind!r} frame: {where}: {first['msg']}") from exc


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value


def error_frame(code: str, message: str, **extra: Any) -> dict[str, Any]:
    """A recoverable error; the socket stays open."""
    return {"type": "error", "code": code, "message": message, **extra}
