"""Event bus adapters: ``InMemoryEventBus`` (one process) and ``RedisEventBus`` (``handoff.bus.redis``)."""

from handoff.bus.memory import InMemoryEventBus

__all__ = ["InMemoryEventBus"]
