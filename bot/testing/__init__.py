"""Test doubles imported by ``tests/`` and ``evals/`` only (never by production modules)."""

from bot.testing.fake_openai import (
    DelayReply,
    ErrorReply,
    FakeOpenAI,
    Reply,
    TextReply,
    ToolCallReply,
    ToolCallSpec,
    delay_reply,
    error_reply,
    json_reply,
    malformed_tool_call,
    run_fake_openai,
    text_reply,
    tool_call_reply,
)

__all__ = [
    "DelayReply",
    "ErrorReply",
    "FakeOpenAI",
    "Reply",
    "TextReply",
    "ToolCallReply",
    "ToolCallSpec",
    "delay_reply",
    "error_reply",
    "json_reply",
    "malformed_tool_call",
    "run_fake_openai",
    "text_reply",
    "tool_call_reply",
]
