"""Redis conversation store: the scale-out deployment (several replicas share one Redis).

Keys (under a configurable prefix, default ``cardcare:``):

* ``conv:{id}`` hash — customer_id, locale, created_at, state, state_version
* ``conv:{id}:events`` list — one JSON event per entry; ``seq`` is the 1-based index
* ``conv:{id}:idem`` hash — client_msg_id → seq
* ``customer:{cid}:convs`` and ``convs`` sorted sets — conversation ids by creation time
* ``records`` and ``audit`` streams — analytics records and the append-only audit log

Appends and state saves are Lua scripts, so they are atomic across replicas.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

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

# KEYS: conv hash, events list, idem hash. ARGV: payload json, client_msg_id ("" = none).
APPEND_LUA = """
if redis.call('EXISTS', KEYS[1]) == 0 then return {-1, ''} end
if ARGV[2] ~= '' then
  local seen = redis.call('HGET', KEYS[3], ARGV[2])
  if seen then
    return {0, redis.call('LINDEX', KEYS[2], tonumber(seen) - 1), tonumber(seen)}
  end
end
local seq = redis.call('RPUSH', KEYS[2], ARGV[1])
if ARGV[2] ~= '' then redis.call('HSET', KEYS[3], ARGV[2], seq) end
redis.call('HSET', KEYS[1], 'last_seq', seq)
return {1, '', seq}
"""

# KEYS: conv hash. ARGV: state json, expected version.
SAVE_STATE_LUA = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -2 end
local v = tonumber(redis.call('HGET', KEYS[1], 'state_version') or '0')
if v ~= tonumber(ARGV[2]) then return -1 end
redis.call('HSET', KEYS[1], 'state', ARGV[1], 'state_version', v + 1)
return v + 1
"""


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


class RedisConversationStore:
    """``ConversationStore`` on Redis."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "cardcare:",
        clock: Callable[[], datetime] = utcnow,
        timeout_s: float = 5.0,
    ) -> None:
        self._redis = aioredis.Redis.from_url(
            url,
            decode_responses=True,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry_on_timeout=True,
            health_check_interval=15,
        )
        self._p = prefix
        self._clock = clock
        self._timeout_s = timeout_s
        self._append = self._redis.register_script(APPEND_LUA)
        self._save_state = self._redis.register_script(SAVE_STATE_LUA)

    async def open(self) -> RedisConversationStore:
        await self.ping()
        return self

    def _k(self, *parts: str) -> str:
        return self._p + ":".join(parts)

    async def _call(self, coro: Any) -> Any:
        try:
            async with asyncio.timeout(self._timeout_s * 2):
                return await coro
        except (RedisError, OSError) as exc:
            raise StoreUnavailable(f"redis store: {exc}") from exc
        except TimeoutError as exc:
            raise StoreUnavailable("redis store timed out") from exc

    # -- conversations -------------------------------------------------------------------

    async def create_conversation(self, customer_id: CustomerId, locale: str) -> Conversation:
        conv = Conversation(
            id=ConversationId(f"c_{uuid.uuid4().hex}"),
            customer_id=customer_id,
            locale=locale,
            created_at=self._clock(),
        )
        score = conv.created_at.timestamp()
        pipe = self._redis.pipeline(transaction=True)
        pipe.hset(
            self._k("conv", conv.id),
            mapping={
                "customer_id": customer_id,
                "locale": locale,
                "created_at": conv.created_at.isoformat(),
                "last_seq": 0,
                "state": "{}",
                "state_version": 0,
            },
        )
        pipe.zadd(self._k("customer", customer_id, "convs"), {conv.id: score})
        pipe.zadd(self._k("convs"), {conv.id: score})
        await self._call(pipe.execute())
        return conv

    async def get_conversation(self, conversation_id: ConversationId) -> Conversation | None:
        row = await self._call(
            self._redis.hmget(self._k("conv", conversation_id), "customer_id", "locale", "created_at", "last_seq")
        )
        if row[0] is None:
            return None
        return Conversation(
            id=conversation_id,
            customer_id=CustomerId(row[0]),
            locale=row[1],
            created_at=datetime.fromisoformat(row[2]),
            last_seq=int(row[3] or 0),
        )

    async def list_conversations(self, customer_id: CustomerId) -> list[Conversation]:
        ids = await self._call(self._redis.zrange(self._k("customer", customer_id, "convs"), 0, -1))
        convs = [await self.get_conversation(ConversationId(i)) for i in ids]
        return [c for c in convs if c is not None]

    async def conversation_ids(self, since: datetime | None = None) -> list[ConversationId]:
        low = since.timestamp() if since else "-inf"
        ids = await self._call(self._redis.zrangebyscore(self._k("convs"), low, "+inf"))
        return [ConversationId(i) for i in ids]

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
        payload = _dumps({"type": type, "data": data, "ts": now.isoformat(), "cmid": client_msg_id})
        keys = [
            self._k("conv", conversation_id),
            self._k("conv", conversation_id, "events"),
            self._k("conv", conversation_id, "idem"),
        ]
        result = await self._call(self._append(keys=keys, args=[payload, client_msg_id or ""]))
        status = int(result[0])
        if status == -1:
            raise NotFound(f"conversation {conversation_id!r} does not exist")
        if status == 0:
            return self._event(conversation_id, int(result[2]), result[1]), False
        return (
            Event(
                conversation_id=conversation_id,
                seq=int(result[2]),
                type=type,
                data=data,
                created_at=now,
                client_msg_id=client_msg_id,
            ),
            True,
        )

    @staticmethod
    def _event(conversation_id: ConversationId, seq: int, raw: str) -> Event:
        doc = json.loads(raw)
        return Event(
            conversation_id=conversation_id,
            seq=seq,
            type=doc["type"],
            data=doc["data"],
            created_at=datetime.fromisoformat(doc["ts"]),
            client_msg_id=doc.get("cmid"),
        )

    async def events_after(
        self, conversation_id: ConversationId, after_seq: int = 0, limit: int | None = None
    ) -> list[Event]:
        end = -1 if limit is None else after_seq + limit - 1
        raw = await self._call(self._redis.lrange(self._k("conv", conversation_id, "events"), after_seq, end))
        return [self._event(conversation_id, after_seq + i + 1, r) for i, r in enumerate(raw)]

    # -- state -----------------------------------------------------------------------------

    async def load_state(self, conversation_id: ConversationId) -> tuple[JsonDict, int]:
        row = await self._call(self._redis.hmget(self._k("conv", conversation_id), "state", "state_version"))
        if row[0] is None:
            raise NotFound(f"conversation {conversation_id!r} does not exist")
        return json.loads(row[0]), int(row[1] or 0)

    async def save_state(self, conversation_id: ConversationId, state: JsonDict, version: int) -> int:
        result = int(
            await self._call(
                self._save_state(keys=[self._k("conv", conversation_id)], args=[_dumps(state), version])
            )
        )
        if result == -2:
            raise NotFound(f"conversation {conversation_id!r} does not exist")
        if result == -1:
            raise StateConflict(f"conversation {conversation_id!r} state changed since version {version}")
        return result

    # -- records and audit -----------------------------------------------------------------

    async def add_record(
        self, kind: str, data: JsonDict, *, conversation_id: ConversationId | None = None
    ) -> None:
        fields = {
            "kind": kind,
            "ts": self._clock().isoformat(),
            "conversation_id": conversation_id or "",
            "data": _dumps(data),
        }
        await self._call(self._redis.xadd(self._k("records"), fields))  # type: ignore[arg-type]

    async def add_records(
        self, items: Sequence[tuple[str, JsonDict]], *, conversation_id: ConversationId | None = None
    ) -> None:
        if not items:
            return
        ts = self._clock().isoformat()
        pipe = self._redis.pipeline(transaction=True)
        for kind, data in items:
            pipe.xadd(self._k("records"), {"kind": kind, "ts": ts, "conversation_id": conversation_id or "",
                                           "data": _dumps(data)})
        await self._call(pipe.execute())

    async def records(
        self, kinds: Sequence[str] | None = None, since: datetime | None = None
    ) -> list[Record]:
        # Filter on the record's own timestamp (the injected clock), not the stream id.
        rows = await self._call(self._redis.xrange(self._k("records"), "-", "+"))
        out: list[Record] = []
        for _id, f in rows:
            if kinds and f["kind"] not in kinds:
                continue
            created = datetime.fromisoformat(f["ts"])
            if since and created < since:
                continue
            out.append(
                Record(
                    kind=f["kind"],
                    created_at=created,
                    data=json.loads(f["data"]),
                    conversation_id=ConversationId(f["conversation_id"]) if f["conversation_id"] else None,
                )
            )
        return out

    async def audit(self, actor: str, action: str, target: str, details: JsonDict) -> None:
        fields = {
            "ts": self._clock().isoformat(),
            "actor": actor,
            "action": action,
            "target": target,
            "details": _dumps(details),
        }
        await self._call(self._redis.xadd(self._k("audit"), fields))  # type: ignore[arg-type]

    async def audit_log(self, since: datetime | None = None) -> list[AuditEntry]:
        rows = await self._call(self._redis.xrange(self._k("audit"), "-", "+"))
        out = [
            AuditEntry(
                created_at=datetime.fromisoformat(f["ts"]),
                actor=f["actor"],
                action=f["action"],
                target=f["target"],
                details=json.loads(f["details"]),
            )
            for _id, f in rows
        ]
        return [e for e in out if since is None or e.created_at >= since]

    async def ping(self) -> None:
        await self._call(self._redis.ping())

    async def close(self) -> None:
        await self._redis.aclose()
