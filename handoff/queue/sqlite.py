"""``SqliteHandoffQueue``: the embedded handoff queue, persisted in one SQLite file (WAL).

Every call runs on one dedicated thread that owns the connection. Writes run in
``BEGIN IMMEDIATE`` transactions, so a claim reads the ticket and the agent's load and
updates them with no other writer in between — also across connections and processes
sharing the file (they wait up to ``busy_timeout_ms`` for the write lock). A partial unique
index keeps at most one open ticket per conversation.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Self, TypeVar

from handoff.context import ContextPackage
from handoff.errors import (
    AgentAtCapacity,
    HandoffError,
    InvalidTransition,
    NotAssigned,
    QueueUnavailable,
    TicketAlreadyClaimed,
    TicketNotFound,
)
from handoff.models import (
    AgentId,
    AgentNote,
    ConversationId,
    Disposition,
    Ticket,
    TicketId,
    TicketState,
)
from handoff.queue.records import TICKET_FIELDS, check_rating, iso, micros, ticket_from_record, ticket_record

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS handoff_tickets (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    conversation_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    priority INTEGER NOT NULL,
    language TEXT NOT NULL,
    skills TEXT NOT NULL,
    tier TEXT NOT NULL,
    topic TEXT,
    state TEXT NOT NULL,
    offline TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_us INTEGER NOT NULL,
    sla_deadline TEXT NOT NULL,
    assigned_to TEXT,
    assigned_at TEXT,
    first_response_at TEXT,
    closed_at TEXT,
    sla_breached_at TEXT,
    disposition TEXT,
    csat TEXT,
    csat_comment TEXT,
    package TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS handoff_tickets_order ON handoff_tickets (state, priority, created_us, seq);
CREATE INDEX IF NOT EXISTS handoff_tickets_conv ON handoff_tickets (conversation_id, seq);
CREATE INDEX IF NOT EXISTS handoff_tickets_agent ON handoff_tickets (assigned_to, state);
CREATE UNIQUE INDEX IF NOT EXISTS handoff_tickets_one_open
    ON handoff_tickets (conversation_id) WHERE state IN ('queued', 'assigned');
CREATE TABLE IF NOT EXISTS handoff_notes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    text TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS handoff_notes_ticket ON handoff_notes (ticket_id, seq);
CREATE TABLE IF NOT EXISTS handoff_handle_times (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    seconds REAL NOT NULL
);
"""

_COLUMNS = ", ".join(TICKET_FIELDS)
_ORDER = "ORDER BY priority, created_us, seq"


class SqliteHandoffQueue:
    """``HandoffQueue`` on a SQLite file. Use ``await SqliteHandoffQueue(path).open()`` or ``async with``."""

    def __init__(
        self,
        path: Path | str,
        *,
        timeout_s: float = 5.0,
        handle_samples: int = 50,
        busy_timeout_ms: int = 5000,
    ) -> None:
        self._path = Path(path)
        self._timeout_s = timeout_s
        self._handle_samples = handle_samples
        self._busy_timeout_ms = busy_timeout_ms
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="handoff-sqlite")
        self._conn: sqlite3.Connection | None = None

    async def open(self) -> Self:
        """Open (creating the file and schema if needed) in WAL mode."""
        await self._run(self._connect)
        return self

    async def __aenter__(self) -> Self:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection and stop the thread."""
        if self._conn is not None:
            await self._run(self._disconnect)
        self._executor.shutdown(wait=True)

    # -- port ---------------------------------------------------------------------------

    async def enqueue(self, ticket: Ticket, package: ContextPackage) -> tuple[Ticket, bool]:
        """Store ``ticket`` (queued) with its package, unless the conversation already has an open ticket."""
        rec = ticket_record(ticket)
        payload = json.dumps(package.to_json(), ensure_ascii=False)

        def do(conn: sqlite3.Connection) -> tuple[Ticket, bool]:
            existing = _one(
                conn, "conversation_id = ? AND state IN ('queued', 'assigned')", ticket.conversation_id
            )
            if existing is not None:
                return existing, False
            conn.execute(
                f"INSERT INTO handoff_tickets ({_COLUMNS}, created_us, package) "
                f"VALUES ({', '.join('?' * len(TICKET_FIELDS))}, ?, ?)",
                (*rec.values(), micros(ticket.created_at), payload),
            )
            return ticket, True

        return await self._write(do)

    async def get(self, ticket_id: TicketId) -> Ticket:
        """The ticket, or ``TicketNotFound``."""
        return await self._read(lambda c: _must(c, ticket_id))

    async def latest(self, conversation_id: ConversationId) -> Ticket | None:
        """The conversation's most recent ticket, open or not."""
        return await self._read(
            lambda c: _one(c, "conversation_id = ? ORDER BY seq DESC LIMIT 1", conversation_id)
        )

    async def package(self, ticket_id: TicketId) -> ContextPackage:
        """The context package stored with the ticket."""

        def do(conn: sqlite3.Connection) -> str:
            row = conn.execute("SELECT package FROM handoff_tickets WHERE id = ?", (ticket_id,)).fetchone()
            if row is None:
                raise TicketNotFound(ticket_id)
            return str(row[0])

        return ContextPackage.from_json(json.loads(await self._read(do)))

    async def waiting(self) -> list[Ticket]:
        """Queued tickets: priority 1 first, then by arrival."""
        return await self._read(lambda c: _many(c, f"state = 'queued' {_ORDER}"))

    async def open_tickets(self) -> list[Ticket]:
        """Queued and assigned tickets, in queue order."""
        return await self._read(lambda c: _many(c, f"state IN ('queued', 'assigned') {_ORDER}"))

    async def assigned_to(self, agent_id: AgentId) -> list[Ticket]:
        """Tickets the agent holds now."""
        return await self._read(
            lambda c: _many(c, f"assigned_to = ? AND state = 'assigned' {_ORDER}", agent_id)
        )

    async def claim(self, ticket_id: TicketId, agent_id: AgentId, *, capacity: int, at: datetime) -> Ticket:
        """Atomically give a queued ticket to ``agent_id`` (idempotent for the same agent)."""

        def do(conn: sqlite3.Connection) -> Ticket:
            ticket = _must(conn, ticket_id)
            if ticket.state is TicketState.ASSIGNED and ticket.assigned_to == agent_id:
                return ticket
            if ticket.state is not TicketState.QUEUED:
                raise TicketAlreadyClaimed(ticket_id, by=ticket.assigned_to, state=ticket.state.value)
            (load,) = conn.execute(
                "SELECT COUNT(*) FROM handoff_tickets WHERE assigned_to = ? AND state = 'assigned'",
                (agent_id,),
            ).fetchone()
            if load >= capacity:
                raise AgentAtCapacity(agent_id, capacity)
            cur = conn.execute(
                "UPDATE handoff_tickets SET state = 'assigned', assigned_to = ?, assigned_at = ? "
                "WHERE id = ? AND state = 'queued'",
                (agent_id, iso(at), ticket_id),
            )
            claimed = _must(conn, ticket_id)
            if cur.rowcount != 1:  # cannot happen under BEGIN IMMEDIATE; never report a lost race as a win
                raise TicketAlreadyClaimed(ticket_id, by=claimed.assigned_to, state=claimed.state.value)
            return claimed

        return await self._write(do)

    async def record_first_response(self, ticket_id: TicketId, at: datetime) -> tuple[Ticket, bool]:
        """Set the first agent response time once, while the ticket is assigned."""

        def do(conn: sqlite3.Connection) -> tuple[Ticket, bool]:
            cur = conn.execute(
                "UPDATE handoff_tickets SET first_response_at = ? "
                "WHERE id = ? AND state = 'assigned' AND first_response_at IS NULL",
                (iso(at), ticket_id),
            )
            return _must(conn, ticket_id), cur.rowcount == 1

        return await self._write(do)

    async def handback(self, ticket_id: TicketId, agent_id: AgentId, *, at: datetime) -> Ticket:
        """The agent returns the chat to the assistant; frees their capacity."""
        return await self._write(
            lambda c: self._release(c, ticket_id, agent_id, TicketState.RETURNED, None, at)
        )

    async def close(
        self, ticket_id: TicketId, *, by: AgentId | None, disposition: Disposition, at: datetime
    ) -> Ticket:
        """Close by the assigned agent, or (``by=None``) by the system when the customer leaves."""
        return await self._write(
            lambda c: self._release(c, ticket_id, by, TicketState.CLOSED, disposition, at)
        )

    async def mark_breached(self, ticket_id: TicketId, at: datetime) -> bool:
        """Record an SLA breach once, for an open ticket still without a first response."""

        def do(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "UPDATE handoff_tickets SET sla_breached_at = ? WHERE id = ? AND sla_breached_at IS NULL "
                "AND first_response_at IS NULL AND state IN ('queued', 'assigned')",
                (iso(at), ticket_id),
            )
            if cur.rowcount == 0:
                _must(conn, ticket_id)
            return cur.rowcount == 1

        return await self._write(do)

    async def add_note(self, note: AgentNote) -> None:
        """Append an internal note to the ticket."""

        def do(conn: sqlite3.Connection) -> None:
            _must(conn, note.ticket_id)
            conn.execute(
                "INSERT INTO handoff_notes (ticket_id, agent_id, text, at) VALUES (?, ?, ?, ?)",
                (note.ticket_id, note.agent_id, note.text, iso(note.at)),
            )

        await self._write(do)

    async def notes(self, ticket_id: TicketId) -> list[AgentNote]:
        """The ticket's notes, oldest first."""

        def do(conn: sqlite3.Connection) -> list[AgentNote]:
            rows = conn.execute(
                "SELECT agent_id, text, at FROM handoff_notes WHERE ticket_id = ? ORDER BY seq", (ticket_id,)
            ).fetchall()
            return [
                AgentNote(ticket_id=ticket_id, agent_id=AgentId(a), text=t, at=datetime.fromisoformat(w))
                for a, t, w in rows
            ]

        return await self._read(do)

    async def record_csat(self, ticket_id: TicketId, rating: int, comment: str | None) -> Ticket:
        """Store the customer's rating (1..5) of a closed or handed-back chat."""
        check_rating(rating)

        def do(conn: sqlite3.Connection) -> Ticket:
            ticket = _must(conn, ticket_id)
            if ticket.is_open:
                raise InvalidTransition(
                    f"ticket {ticket_id!r} is {ticket.state.value}: rate it after it ends"
                )
            conn.execute(
                "UPDATE handoff_tickets SET csat = ?, csat_comment = ? WHERE id = ?",
                (str(rating), comment, ticket_id),
            )
            return _must(conn, ticket_id)

        return await self._write(do)

    async def handle_times(self) -> list[float]:
        """Recent handling times in seconds (assignment to close or hand-back), newest first."""
        return await self._read(
            lambda c: [
                float(r[0])
                for r in c.execute(
                    "SELECT seconds FROM handoff_handle_times ORDER BY seq DESC LIMIT ?",
                    (self._handle_samples,),
                )
            ]
        )

    # -- internals ----------------------------------------------------------------------

    def _release(
        self,
        conn: sqlite3.Connection,
        ticket_id: TicketId,
        by: AgentId | None,
        state: TicketState,
        disposition: Disposition | None,
        at: datetime,
    ) -> Ticket:
        ticket = _must(conn, ticket_id)
        if not ticket.is_open:
            raise InvalidTransition(f"ticket {ticket_id!r} is already {ticket.state.value}")
        if by is not None and (ticket.state is not TicketState.ASSIGNED or ticket.assigned_to != by):
            raise NotAssigned(by, ticket.conversation_id)
        conn.execute(
            "UPDATE handoff_tickets SET state = ?, closed_at = ?, disposition = ? WHERE id = ?",
            (state.value, iso(at), disposition.value if disposition else None, ticket_id),
        )
        if ticket.assigned_at is not None:
            seconds = max(0.0, (at - ticket.assigned_at).total_seconds())
            conn.execute("INSERT INTO handoff_handle_times (seconds) VALUES (?)", (seconds,))
            conn.execute(
                "DELETE FROM handoff_handle_times "
                "WHERE seq <= (SELECT MAX(seq) FROM handoff_handle_times) - ?",
                (self._handle_samples,),
            )
        return _must(conn, ticket_id)

    def _connect(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self._path, isolation_level=None, timeout=self._busy_timeout_ms / 1000)
        conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.executescript(SCHEMA)
        self._conn = conn

    def _disconnect(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def _run(self, fn: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._timeout_s):
                return await loop.run_in_executor(self._executor, fn)
        except HandoffError:
            raise
        except (sqlite3.Error, OSError, TimeoutError) as exc:
            raise QueueUnavailable(f"handoff queue {self._path.name!r}: {exc}") from exc

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await self._run(lambda: fn(self._connection()))

    async def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def transaction() -> T:
            with _immediate(self._connection()) as conn:
                return fn(conn)

        return await self._run(transaction)

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise QueueUnavailable("handoff queue is not open")
        return self._conn


@contextmanager
def _immediate(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction that takes the write lock up front (no lock upgrades, no deadlocks)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _one(conn: sqlite3.Connection, where: str, *args: object) -> Ticket | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM handoff_tickets WHERE {where}", args).fetchone()
    return ticket_from_record(dict(zip(TICKET_FIELDS, row, strict=True))) if row else None


def _many(conn: sqlite3.Connection, where: str, *args: object) -> list[Ticket]:
    rows = conn.execute(f"SELECT {_COLUMNS} FROM handoff_tickets WHERE {where}", args).fetchall()
    return [ticket_from_record(dict(zip(TICKET_FIELDS, row, strict=True))) for row in rows]


def _must(conn: sqlite3.Connection, ticket_id: TicketId) -> Ticket:
    ticket = _one(conn, "id = ?", ticket_id)
    if ticket is None:
        raise TicketNotFound(ticket_id)
    return ticket
