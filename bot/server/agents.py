"""Mounts the handoff package's agent API; its parts are created later, in the lifespan."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from handoff.api import create_agent_router


class Late:
    """Stands in for a part that exists only once the app has started (forwards attribute access)."""

    def __init__(self, name: str) -> None:
        self._name = name
        self.target: Any = None

    def __getattr__(self, attr: str) -> Any:
        target = self.__dict__.get("target")
        if target is None:
            raise RuntimeError(f"{self._name} is not ready: the app has not started")
        return getattr(target, attr)


class LateParts:
    """The hub, the token issuer and the agent directory, bound at start-up."""

    def __init__(self) -> None:
        self.hub = Late("agent hub")
        self.tokens = Late("agent tokens")
        self.directory = Late("agent directory")

    def bind(self, *, hub: Any, tokens: Any, directory: Any) -> None:
        self.hub.target = hub
        self.tokens.target = tokens
        self.directory.target = directory


def agent_routes(demo: bool, parts: LateParts) -> APIRouter:
    """The agent WebSocket and HTTP endpoints (demo endpoints only in demo mode)."""
    return create_agent_router(parts.hub, parts.tokens, parts.directory, demo=demo)  # type: ignore[arg-type]
