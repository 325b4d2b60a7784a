"""SQLite conversation store: the embedded default (one file under ``var/``, WAL).

All database work runs on one dedicated thread, so calls are serialised without locks and
the event loop never blocks. ``synchronous=FULL`` by default: when ``append`` returns, the
event is on disk (that is when the customer gets the ack).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from bot.domain import (
    AuditEntry,
    Conversation,
    ConversationId,
    CustomerId,
    Event,
    JsonDict,
    Record,
    utcnow,
)
from bot.errors import NotFound, StateConflict, StoreUnavailable

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    locale TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_seq INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT '{}',
    state_version INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS conversations_customer ON conversations(customer_id, created_at);
CREATE INDEX IF NOT EXISTS conversations_created ON conversations(created_at);
CREATE TABLE IF NOT EXISTS events (
    conversation_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at TEXT NOT NULL,
    client_msg_id TEXT,
    PRIMARY KEY (conversation_id, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS events_idem ON events(conversation_id, client_msg_id)
    WHERE client_msg_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS records (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT,
    kind TEXT NOT NULL,
    created_at TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS records_kind ON records(kind, created_at);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    details TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
"""


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


class SqliteConversationStore:
    """``ConversationStore`` on a SQLite file."""

    def __init__(
        self,
        path: Path,
        *,
        synchronous: str = "FULL",
        clock: Callable[[], datetime] = utcnow,
        timeout_s: float = 10.0,
    ) -> None:
        self._path = path
        self._synchronous = synchronous
        self._clock = clock
        self._timeout_s = timeout_s
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cardcare-sqlite")
        self._conn: sqlite3.Connection | None = None

    async def open(self) -> SqliteConversationStore:
        await self._run(self._open_sync)
        return self

    def _open_sync(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={'FULL' if self._synchronous == 'FULL' else 'NORMAL'}")
        conn.execute("PRAGMA busy_timeout=30000")
        conn.executescript(SCHEMA)
        self._conn = conn

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._timeout_s):
                return await loop.run_in_executor(self._executor, fn, *args)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"sqlite store {str(self._path)!r}: {exc}") from exc
        except TimeoutError as exc:
            raise StoreUnavailable(f"sqlite store {str(self._path)!r} timed out") from exc

    @property
    def _db(self) -> sqlite3.Connection:
        assert self._conn is not None, "store not opened"
        return self._conn

    # -- conversations -------------------------------------------------------------------

    async def create_conversation(self, customer_id: CustomerId, locale: str) -> Conversation:
        conv = Conversation(
            id=ConversationId(f"c_{uuid.uuid4().hex}"),
            customer_id=customer_id,
            locale=locale,
            created_at=self._clock(),
        )
        await self._run(
            lambda: self._db.execute(
                "INSERT INTO conversations (id, customer_id, locale, created_at) VALUES (?, ?, ?, ?)",
                (conv.id, conv.customer_id, conv.locale, conv.created_at.isoformat()),
            )
        )
        return conv

    @staticmethod
    def _conversation(row: tuple[Any, ...]) -> Conversation:
        return Conversation(
            id=ConversationId(row[0]),
            customer_id=CustomerId(row[1]),
            locale=row[2],
            created_at=datetime.fromisoformat(row[3]),
            last_seq=int(row[4]),
        )

    async def get_conversation(self, conversation_id: ConversationId) -> Conversation | None:
        row = await self._run(
            lambda: self._db.execute(
                "SELECT id, customer_id, locale, created_at, last_seq FROM conversations WHERE id = ?",
                (conversation_id,),
            ).fetchone()
        )
        return self._conversation(row) if row else None

    async def list_conversations(self, customer_id: CustomerId) -> list[Conversation]:
        rows = await self._run(
            lambda: self._db.execute(
                "SELECT id, customer_id, locale, created_at, last_seq FROM conversations"
                " WHERE customer_id = ? ORDER BY created_at",
                (customer_id,),
            ).fetchall()
        )
        return [self._conversation(r) for r in rows]

    async def conversation_ids(self, since: datetime | None = None) -> list[ConversationId]:
        bound = since.isoformat() if since else ""
        rows = await self._run(
            lambda: self._db.execute(
                "SELECT id FROM conversations WHERE created_at >= ? ORDER BY created_at", (bound,)
            ).fetchall()
        )
        return [ConversationId(r[0]) for r in rows]

    # -- events ----------------------------------------------------------------------------

    async def append(
        self,
        conversation_id: ConversationId,
        type: str,
        data: JsonDict,
        *,
        client_msg_id: str | None = None,
    ) -> tuple[Event, bool]:
        now = self._clock()
        return await self._run(self._append_sync, conversation_id, type, data, client_msg_id, now)

    def _append_sync(
        self, conversation_id: str, type: str, data: JsonDict, client_msg_id: str | None, now: datetime
    ) -> tuple[Event, bool]:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            if client_msg_id is not None:
                row = db.execute(
                    "SELECT seq, type, data, created_at FROM events"
                    " WHERE conversation_id = ? AND client_msg_id = ?",
                    (conversation_id, client_msg_id),
                ).fetchone()
                if row:
                    db.execute("COMMIT")
                    return self._event(conversation_id, row, client_msg_id), False
            cur = db.execute(
                "UPDATE conversations SET last_seq = last_seq + 1 WHERE id = ? RETURNING last_seq",
                (conversation_id,),
            ).fetchone()
            if cur is None:
                raise NotFound(f"conversation {conversation_id!r} does not exist")
            seq = int(cur[0])
            db.execute(
                "INSERT INTO events (conversation_id, seq, type, data, created_at, client_msg_id)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (conversation_id, seq, type, _dumps(data), now.isoformat(), client_msg_id),
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return (
            Event(
                conversation_id=ConversationId(conversation_id),
                seq=seq,
                type=type,
                data=data,
                created_at=now,
                client_msg_id=client_msg_id,
            ),
            True,
        )

    @staticmethod
    def _event(conversation_id: str, row: tuple[Any, ...], client_msg_id: str | None) -> Event:
        return Event(
            conversation_id=ConversationId(conversation_id),
            seq=int(row[0]),
            type=row[1],
            data=json.loads(row[2]),
            created_at=datetime.fromisoformat(row[3]),
            client_msg_id=client_msg_id,
        )

    async def events_after(
        self, conversation_id: ConversationId, after_seq: int = 0, limit: int | None = None
    ) -> list[Event]:
        rows = await self._run(
            lambda: self._db.execute(
                "SELECT seq, type, data, created_at, client_msg_id FROM events"
                " WHERE conversation_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                (conversation_id, after_seq, -1 if limit is None else limit),
            ).fetchall()
        )
        return [self._event(conversation_id, r[:4], r[4]) for r in rows]

    # -- state -----------------------------------------------------------------------------

    async def load_state(self, conversation_id: ConversationId) -> tuple[JsonDict, int]:
        row = await self._run(
            lambda: self._db.execute(
                "SELECT state, state_version FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone()
        )
        if row is None:
            raise NotFound(f"conversation {conversation_id!r} does not exist")
        return json.loads(row[0]), int(row[1])

    async def save_state(self, conversation_id: ConversationId, state: JsonDict, version: int) -> int:
        payload = _dumps(state)

        def save() -> int:
            cur = self._db.execute(
                "UPDATE conversations SET state = ?, state_version = state_version + 1"
                " WHERE id = ? AND state_version = ?",
                (payload, conversation_id, version),
            )
            if cur.rowcount != 1:
                raise StateConflict(f"conversation {conversation_id!r} state changed since version {version}")
            return version + 1

        return await self._run(save)

    # -- records and audit -----------------------------------------------------------------

    async def add_record(
        self, kind: str, data: JsonDict, *, conversation_id: ConversationId | None = None
    ) -> None:
        now = self._clock().isoformat()
        await self._run(
            lambda: self._db.execute(
                "INSERT INTO records (conversation_id, kind, created_at, data) VALUES (?, ?, ?, ?)",
                (conversation_id, kind, now, _dumps(data)),
            )
        )

    async def add_records(
        self, items: Sequence[tuple[str, JsonDict]], *, conversation_id: ConversationId | None = None
    ) -> None:
        now = self._clock().isoformat()
        rows = [(conversation_id, kind, now, _dumps(data)) for kind, data in items]

        def write() -> None:
            with self._db:
                self._db.execute("BEGIN")
                self._db.executemany(
                    "INSERT INTO records (conversation_id, kind, created_at, data) VALUES (?, ?, ?, ?)", rows
                )

        if rows:
            await self._run(write)

    async def records(
        self, kinds: Sequence[str] | None = None, since: datetime | None = None
    ) -> list[Record]:
        sql = "SELECT conversation_id, kind, created_at, data FROM records WHERE created_at >= ?"
        args: list[Any] = [since.isoformat() if since else ""]
        if kinds:
            sql += f" AND kind IN ({','.join('?' * len(kinds))})"
            args.extend(kinds)
        sql += " ORDER BY id"
        rows = await self._run(lambda: self._db.execute(sql, args).fetchall())
        return [
            Record(
                conversation_id=ConversationId(r[0]) if r[0] else None,
                kind=r[1],
                created_at=datetime.fromisoformat(r[2]),
                data=json.loads(r[3]),
            )
            for r in rows
        ]

    async def audit(self, actor: str, action: str, target: str, details: JsonDict) -> None:
        now = self._clock().isoformat()
        await self._run(
            lambda: self._db.execute(
                "INSERT INTO audit (created_at, actor, action, target, details) VALUES (?, ?, ?, ?, ?)",
                (now, actor, action, target, _dumps(details)),
            )
        )

    async def audit_log(self, since: datetime | None = None) -> list[AuditEntry]:
        rows = await self._run(
            lambda: self._db.execute(
                "SELECT created_at, actor, action, target, details FROM audit WHERE created_at >= ? ORDER BY id",
                (since.isoformat() if since else "",),
            ).fetchall()
        )
        return [
            AuditEntry(
                created_at=datetime.fromisoformat(r[0]),
                actor=r[1],
                action=r[2],
                target=r[3],
                details=json.loads(r[4]),
            )
            for r in rows
        ]

    async def ping(self) -> None:
        await self._run(lambda: self._db.execute("SELECT 1").fetchone())

    async def close(self) -> None:
        if self._conn is not None:
            conn = self._conn
            await asyncio.get_running_loop().run_in_executor(self._executor, conn.close)
            self._conn = None
        self._executor.shutdown(wait=False)
