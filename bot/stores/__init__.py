"""Conversation store adapters: SQLite (embedded default) and Redis (scale-out)."""
