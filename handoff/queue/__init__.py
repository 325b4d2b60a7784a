"""``HandoffQueue`` adapters: ``SqliteHandoffQueue`` (embedded default) and ``RedisHandoffQueue``
(``handoff.queue.redis``, scale-out)."""

from handoff.queue.sqlite import SqliteHandoffQueue

__all__ = ["SqliteHandoffQueue"]
