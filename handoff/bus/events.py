"""What both bus adapters share: topic checks and the JSON encoding of events."""

from __future__ import annotations

import json

from handoff.models import JsonDict

MAX_EVENT_BYTES = 64 * 1024
"""Events are small; a large payload belongs in a store, with its id on the bus."""

GLOB_CHARS = frozenset("*?[")


def encode_event(topic: str, event: JsonDict) -> str:
    """Compact JSON for ``event``; rejects empty topics, non-JSON values and oversized events."""
    check_topic(topic)
    if not isinstance(event, dict):
        raise TypeError(f"bus events are JSON objects, not {type(event).__name__}")
    payload = json.dumps(event, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    if len(payload.encode()) > MAX_EVENT_BYTES:
        raise ValueError(f"event on {topic!r} is larger than {MAX_EVENT_BYTES} bytes")
    return payload


def decode_event(payload: str) -> JsonDict:
    """The event dict from its JSON."""
    event = json.loads(payload)
    if not isinstance(event, dict):
        raise ValueError("bus payload is not a JSON object")
    return event


def check_topic(topic: str) -> None:
    """Topics are non-empty strings without whitespace."""
    if not isinstance(topic, str) or not topic or any(ch.isspace() for ch in topic):
        raise ValueError(f"bad bus topic {topic!r}")


def is_pattern(topic_or_pattern: str) -> bool:
    """Whether a subscription string is a glob pattern (``agent.*``) rather than an exact topic."""
    return any(ch in GLOB_CHARS for ch in topic_or_pattern)
