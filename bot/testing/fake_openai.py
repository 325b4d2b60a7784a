"""A fake OpenAI-compatible server: ``/v1/chat/completions``, ``/v1/embeddings``, ``/v1/models``.

Tests script it and read what it was sent::

    fake = FakeOpenAI()
    fake.enqueue(json_reply({...}), text_reply("您的年费是……"))
    with run_fake_openai(fake) as base_url:      # uvicorn on 127.0.0.1, real HTTP
        ...
    assert fake.requests[0]["messages"][0]["role"] == "system"

or, in unit tests, without a socket:
``httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app))``.

Chat completions answer non-streaming and streaming (SSE) requests, with text or
``tool_calls`` in both; every tool-call delta carries its ``index`` and the first one its
``id``, ``type`` and name (what langchain-openai needs to merge them); the final usage chunk
(``choices: []``) is sent when ``stream_options.include_usage`` is set.

With nothing queued the fake answers sensibly, so e2e runs and evals can use it
unscripted (see :func:`default_reply`): a JSON object for a ``json_schema`` request, filled
from the schema and from ``"field": value`` hints in the last user message (the offline
reading the assistant puts in its prompt); after a tool result, the result's ``text``; a
tool call when a bound tool is named as ``"tool": "<name>"``; otherwise the ``<draft>``
block, the first sentences of the first ``<passage>``, a transcript digest, or an echo.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import math
import re
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

JsonDict = dict[str, Any]


# -- scripted replies ------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class TextReply:
    """Assistant text; streamed in pieces of ``chunk_chars`` characters."""

    text: str
    chunk_chars: int = 6


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolCallSpec:
    """One tool call; ``arguments`` is the raw JSON text (so a test can send broken JSON)."""

    name: str
    arguments: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolCallReply:
    """An assistant turn that calls tools."""

    calls: tuple[ToolCallSpec, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorReply:
    """An HTTP error in OpenAI's error shape."""

    status: int
    message: str = "fake upstream error"


@dataclass(frozen=True, slots=True, kw_only=True)
class DelayReply:
    """Wait ``seconds`` before answering with ``reply`` (``None``: the default reply)."""

    seconds: float
    reply: Reply | None = None


Reply = TextReply | ToolCallReply | ErrorReply | DelayReply


def text_reply(text: str, *, chunk_chars: int = 6) -> TextReply:
    """Assistant text."""
    return TextReply(text=text, chunk_chars=chunk_chars)


def json_reply(obj: Any) -> TextReply:
    """Assistant text that is ``obj`` as JSON (for ``response_format`` requests)."""
    return TextReply(text=json.dumps(obj, ensure_ascii=False), chunk_chars=16)


def tool_call_reply(
    name: str, args: Mapping[str, Any] | None = None, *more: tuple[str, Mapping[str, Any]]
) -> ToolCallReply:
    """A call of tool ``name`` with ``args`` (and further ``(name, args)`` calls)."""
    calls = [(name, args or {}), *more]
    return ToolCallReply(
        calls=tuple(ToolCallSpec(name=n, arguments=json.dumps(dict(a), ensure_ascii=False)) for n, a in calls)
    )


def malformed_tool_call(name: str = "statement") -> ToolCallReply:
    """A tool call whose arguments are not valid JSON."""
    return ToolCallReply(calls=(ToolCallSpec(name=name, arguments='{"customer_id": "C0'),))


def error_reply(status: int = 500, message: str = "fake upstream error") -> ErrorReply:
    """An HTTP error response."""
    return ErrorReply(status=status, message=message)


def delay_reply(seconds: float, reply: Reply | None = None) -> DelayReply:
    """``reply`` after ``seconds`` (longer than the client's timeout makes a timeout)."""
    return DelayReply(seconds=seconds, reply=reply)


# -- the app -------------------------------------------------------------------------------


@dataclass(kw_only=True)
class FakeOpenAI:
    """The fake endpoint: a queue of scripted replies and a log of what was asked."""

    model: str = "fake-gpt"
    embedding_dims: int = 64
    default: Callable[[JsonDict], Reply] | None = None
    base_url: str | None = None
    _queue: deque[Reply] = field(default_factory=deque)
    _requests: list[JsonDict] = field(default_factory=list)
    _embedding_requests: list[JsonDict] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self._chat, methods=["POST"]),
                Route("/v1/embeddings", self._embeddings, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
            ]
        )

    def enqueue(self, *replies: Reply) -> None:
        """Answer the next chat requests with ``replies``, in order."""
        with self._lock:
            self._queue.extend(replies)

    def reset(self) -> None:
        """Forget queued replies and recorded requests."""
        with self._lock:
            self._queue.clear()
            self._requests.clear()
            self._embedding_requests.clear()

    @property
    def requests(self) -> list[JsonDict]:
        """The chat-completion request bodies received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def embedding_requests(self) -> list[JsonDict]:
        with self._lock:
            return list(self._embedding_requests)

    @property
    def pending(self) -> int:
        """How many scripted replies are still queued."""
        with self._lock:
            return len(self._queue)

    async def _models(self, request: Request) -> Response:
        return JSONResponse(
            {
                "object": "list",
                "data": [{"id": self.model, "object": "model", "created": 0, "owned_by": "cardcare-fake"}],
            }
        )

    async def _embeddings(self, request: Request) -> Response:
        body = await request.json()
        with self._lock:
            self._embedding_requests.append(body)
        items = body.get("input")
        items = [items] if isinstance(items, str) else list(items or [])
        dims = int(body.get("dimensions") or self.embedding_dims)
        data = [
            {"object": "embedding", "index": i, "embedding": embed(str(t), dims)} for i, t in enumerate(items)
        ]
        tokens = sum(approx_tokens(str(t)) for t in items)
        return JSONResponse(
            {
                "object": "list",
                "model": body.get("model", self.model),
                "data": data,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )

    async def _chat(self, request: Request) -> Response:
        body = await request.json()
        with self._lock:
            self._requests.append(body)
            reply: Reply | None = self._queue.popleft() if self._queue else None
        while isinstance(reply, DelayReply):
            await asyncio.sleep(reply.seconds)
            reply = reply.reply
        if reply is None:
            reply = (self.default or default_reply)(body)
        if isinstance(reply, ErrorReply):
            return JSONResponse(
                {"error": {"message": reply.message, "type": "server_error", "param": None, "code": None}},
                status_code=reply.status,
            )
        assert isinstance(reply, TextReply | ToolCallReply), reply
        return _completion(body, reply, model=str(body.get("model") or self.model))


def _completion(body: JsonDict, reply: TextReply | ToolCallReply, *, model: str) -> Response:
    cid = "chatcmpl-" + uuid.uuid4().hex[:12]
    created = int(time.time())
    text = reply.text if isinstance(reply, TextReply) else ""
    calls: list[JsonDict] = [
        {
            "id": "call_" + uuid.uuid4().hex[:10],
            "type": "function",
            "function": {"name": c.name, "arguments": c.arguments},
        }
        for c in (reply.calls if isinstance(reply, ToolCallReply) else ())
    ]
    finish = "tool_calls" if calls else "stop"
    prompt_tokens = sum(approx_tokens(_content_text(m.get("content"))) for m in body.get("messages", []))
    completion_tokens = approx_tokens(text + "".join(c["function"]["arguments"] for c in calls))
    usage = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    head = {"id": cid, "created": created, "model": model, "system_fingerprint": "fp_fake"}
    if not body.get("stream"):
        message: JsonDict = {"role": "assistant", "content": text if not calls else None, "refusal": None}
        if calls:
            message["tool_calls"] = calls
        return JSONResponse(
            {
                **head,
                "object": "chat.completion",
                "usage": usage,
                "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
            }
        )
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    chunk_chars = reply.chunk_chars if isinstance(reply, TextReply) else 6

    def chunk(delta: JsonDict, finish_reason: str | None = None) -> JsonDict:
        return {
            **head,
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}],
        }

    def pieces() -> Iterator[JsonDict]:
        yield chunk({"role": "assistant", "content": ""})
        for i, call in enumerate(calls):
            args = call["function"]["arguments"]
            yield chunk(
                {
                    "tool_calls": [
                        {
                            "index": i,
                            "id": call["id"],
                            "type": "function",
                            "function": {"name": call["function"]["name"], "arguments": ""},
                        }
                    ]
                }
            )
            for j in range(0, len(args), 8):
                yield chunk({"tool_calls": [{"index": i, "function": {"arguments": args[j : j + 8]}}]})
        for j in range(0, len(text), max(1, chunk_chars)):
            yield chunk({"content": text[j : j + chunk_chars]})
        yield chunk({}, finish)
        if include_usage:
            yield {**head, "object": "chat.completion.chunk", "choices": [], "usage": usage}

    async def sse() -> AsyncIterator[str]:
        for piece in pieces():
            yield f"data: {json.dumps(piece, ensure_ascii=False)}\n\n"
        yield "data: [DONE]\n\n"

    return StreamingResponse(sse(), media_type="text/event-stream")


# -- default replies -----------------------------------------------------------------------

_DRAFT = re.compile(r"<draft>\s*(.*?)\s*</draft>", re.S)
_PASSAGE = re.compile(r"<passage\b[^>]*>\s*(.*?)\s*</passage>", re.S)
_TRANSCRIPT = re.compile(r"<transcript>\s*(.*?)\s*</transcript>", re.S)
_SENTENCE = re.compile(r"[^。！？!?\n]+[。！？!?]?")


def default_reply(body: JsonDict) -> Reply:
    """What the fake says when nothing is queued (see the module docstring)."""
    messages = body.get("messages") or []
    last = messages[-1] if messages else {}
    user = next((_content_text(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), "")
    if last.get("role") == "tool":
        content = _content_text(last.get("content"))
        with contextlib.suppress(ValueError, TypeError):
            data = json.loads(content)
            if isinstance(data, dict) and isinstance(data.get("text"), str):
                return text_reply(data["text"])
        return text_reply(content)
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema") or {}
        return json_reply(fill_schema(schema, user))
    tools = [t["function"] for t in body.get("tools") or [] if t.get("type") == "function"]
    forced = body.get("tool_choice")
    if isinstance(forced, dict):
        fn = next(t for t in tools if t["name"] == forced["function"]["name"])
        return tool_call_reply(fn["name"], fill_schema(fn.get("parameters") or {}, user))
    hinted = re.search(r'"tool"\s*:\s*"([\w.]+)"', user)
    if hinted and any(t["name"] == hinted.group(1) for t in tools):
        return tool_call_reply(hinted.group(1), {})
    if draft := _DRAFT.search(user):
        return text_reply(draft.group(1))
    if passage := _PASSAGE.search(user):
        lines = [
            ln
            for ln in passage.group(1).splitlines()
            if ln.strip() and not ln.lstrip().startswith(("#", "|"))
        ]
        sentences = _SENTENCE.findall(" ".join(lines))
        return text_reply("".join(sentences[:2]).strip() or passage.group(1)[:200])
    if transcript := _TRANSCRIPT.search(user):
        flat = " ".join(transcript.group(1).split())
        return text_reply("Summary: " + flat[:200])
    return text_reply("Echo: " + user[-200:])


def fill_schema(schema: JsonDict, hints: str = "", root: JsonDict | None = None, name: str = "") -> Any:
    """A value matching ``schema``, taking ``"name": value`` hints from ``hints`` where they fit."""
    root = root or schema
    if "$ref" in schema:
        ref = schema["$ref"].rsplit("/", 1)[-1]
        return fill_schema((root.get("$defs") or root.get("definitions") or {})[ref], hints, root, name)
    if "anyOf" in schema:
        options = [s for s in schema["anyOf"] if s.get("type") != "null"]
        hinted = _hint(hints, name)
        if hinted is None and len(options) < len(schema["anyOf"]):
            return None
        return fill_schema(options[0], hints, root, name) if options else None
    if "enum" in schema:
        hinted = _hint(hints, name)
        return hinted if hinted in schema["enum"] else schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties") or {}
        return {key: fill_schema(sub, hints, root, key) for key, sub in props.items()}
    hinted = _hint(hints, name)
    match kind:
        case "string":
            return hinted if isinstance(hinted, str) else f"test-{name}"
        case "number":
            return float(hinted) if isinstance(hinted, int | float) and not isinstance(hinted, bool) else 0.9
        case "integer":
            return int(hinted) if isinstance(hinted, int) and not isinstance(hinted, bool) else 1
        case "boolean":
            return hinted if isinstance(hinted, bool) else False
        case "array":
            return hinted if isinstance(hinted, list) else []
    return None


def _hint(hints: str, name: str) -> Any:
    if not name:
        return None
    found = re.search(
        rf'"{re.escape(name)}"\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?|true|false|null|\[[^\]]*\])', hints
    )
    if not found:
        return None
    with contextlib.suppress(ValueError):
        return json.loads(found.group(1))
    return None


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def approx_tokens(text: str) -> int:
    """A deterministic token estimate: about four characters a token, one per CJK character."""
    cjk = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")
    return cjk + math.ceil((len(text) - cjk) / 4)


def embed(text: str, dims: int) -> list[float]:
    """A deterministic unit vector for ``text``."""
    raw: list[float] = []
    counter = 0
    while len(raw) < dims:
        digest = hashlib.sha256(f"{counter}:{text}".encode()).digest()
        raw.extend((b / 255.0) - 0.5 for b in digest)
        counter += 1
    vec = raw[:dims]
    norm = math.sqrt(sum(v * v for v in vec)) or 1.0
    return [v / norm for v in vec]


# -- serving -----------------------------------------------------------------------------------


@contextlib.contextmanager
def run_fake_openai(fake: FakeOpenAI | None = None, *, port: int = 0) -> Iterator[str]:
    """Serve ``fake`` with uvicorn on 127.0.0.1 in a thread; yields the base URL (``…/v1``)."""
    fake = fake or FakeOpenAI()
    if not port:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
    config = uvicorn.Config(
        fake.app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="fake-openai", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("fake OpenAI server did not start")
        time.sleep(0.01)
    fake.base_url = f"http://127.0.0.1:{port}/v1"
    try:
        yield fake.base_url
    finally:
        server.should_exit = True
        thread.join(10)


def scripted(*replies: Reply) -> FakeOpenAI:
    """A fake with ``replies`` already queued."""
    fake = FakeOpenAI()
    fake.enqueue(*replies)
    return fake


__all__: Sequence[str] = (
    "DelayReply",
    "ErrorReply",
    "FakeOpenAI",
    "Reply",
    "TextReply",
    "ToolCallReply",
    "ToolCallSpec",
    "default_reply",
    "delay_reply",
    "error_reply",
    "fill_schema",
    "json_reply",
    "malformed_tool_call",
    "run_fake_openai",
    "scripted",
    "text_reply",
    "tool_call_reply",
)
