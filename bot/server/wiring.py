"""Builds the engine and its parts from settings (called by the app factory only)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Any

from bot.engine import ChatEngine
from bot.server.settings import BotSettings


async def build_engine(
    settings: BotSettings, stack: AsyncExitStack, **parts: Any
) -> ChatEngine:
    """The turn engine for these settings."""
    del settings, stack, parts
    return ChatEngine()


def build_inbound_filter() -> Callable[[str], str]:
    """What is applied to customer text before it is stored (card numbers, secrets)."""
    return lambda text: text

