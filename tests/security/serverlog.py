"""What the server logged while a test ran: unexpected errors are findings even when the client saw none."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

WATCHED = ("bot", "handoff", "knowledge", "uvicorn.error")

# Warnings that mean something went wrong for a client (an event not delivered, a record lost).
BAD_WARNINGS = frozenset({
    "conversation.publish_failed", "engine.record_failed", "chat.store_unavailable", "handoff.publish_failed",
    "handoff.transcript_unavailable", "handoff.agent_action_unavailable",
})


class LogWatch(logging.Handler):
    """Collects the server's error records, and the warnings in ``BAD_WARNINGS``."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []
        self.known: set[str] = set()  # known issues, reported and waiting for a fix elsewhere
        self._lock2 = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or record.getMessage() in BAD_WARNINGS:
            with self._lock2:
                self.records.append(record)

    def problems(self) -> list[str]:
        with self._lock2:
            lines = [f"{r.name}: {r.levelname} {r.getMessage()} {_cause(r)}" for r in self.records]
        return [line for line in lines if not any(k in line for k in self.known)]

    def clear(self) -> None:
        with self._lock2:
            self.records.clear()


def _cause(record: logging.LogRecord) -> str:
    return repr(record.exc_info[1]) if record.exc_info else ""


@contextmanager
def watch_server_log() -> Iterator[LogWatch]:
    watch = LogWatch()
    loggers = [logging.getLogger(name) for name in WATCHED]
    for log in loggers:
        log.addHandler(watch)
    try:
        yield watch
    finally:
        for log in loggers:
            log.removeHandler(watch)
