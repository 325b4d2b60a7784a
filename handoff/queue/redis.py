"""``RedisHandoffQueue``: the handoff queue shared by every server process of a scale-out deployment.

Keys (all under the configured prefix; public, pinned by a test):

* ``ticket:<id>``    hash — the ticket record, plus ``member`` (its waiting-set member) and
                     ``assigned_us`` (assignment time in µs, for handling times)
* ``package:<id>``   string — the context package JSON
* ``waiting``        sorted set — score = priority, member = ``<created µs>:<seq>:<id>``, so
                     equal priorities sort by arrival
* ``open``           set — ids of queued and assigned tickets
* ``open_conv``      hash — conversation id -> its open ticket id (one open ticket per conversation)
* ``conv:<id>``      string — the conversation's latest ticket id
* ``agent:<id>``     set — ids of tickets the agent holds (its load)
* ``notes:<id>``     list — internal notes (JSON)
* ``handle_times``   list — recent handling times in seconds, newest first
* ``seq``            counter — arrival sequence

Every state change runs in one Lua script, so it is atomic across processes: of many
concurrent claims on one ticket exactly one wins.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, Self

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import RedisError

from handoff.context import ContextPackage
from handoff.errors import (
    AgentAtCapacity,
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
from handoff.queue.records import check_rating, iso, micros, ticket_from_record, ticket_record

_FAILURES = (RedisError, OSError, TimeoutError)

_ENQUEUE = """
local existing = redis.call('HGET', KEYS[1], ARGV[1])
if existing then return {0, existing} end
local seq = redis.call('INCR', KEYS[3])
local member = ARGV[4] .. ':' .. string.format('%012d', seq) .. ':' .. ARGV[2]
redis.call('HSET', KEYS[6], 'member', member, unpack(ARGV, 6))
redis.call('SET', KEYS[7], ARGV[5])
redis.call('ZADD', KEYS[4], ARGV[3], member)
redis.call('SADD', KEYS[5], ARGV[2])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[2])
return {1, ARGV[2]}
"""

_CLAIM = """
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing'} end
local state = redis.call('HGET', KEYS[1], 'state')
local owner = redis.call('HGET', KEYS[1], 'assigned_to')
if state == 'assigned' and owner == ARGV[2] then return {'ok'} end
if state ~= 'queued' then return {'taken', owner or '', state} end
if redis.call('SCARD', KEYS[3]) >= tonumber(ARGV[3]) then return {'capacity'} end
redis.call('HSET', KEYS[1], 'state', 'assigned', 'assigned_to', ARGV[2], 'assigned_at', ARGV[4],
           'assigned_us', ARGV[5])
redis.call('ZREM', KEYS[2], redis.call('HGET', KEYS[1], 'member'))
redis.call('SADD', KEYS[3], ARGV[1])
return {'ok'}
"""

# KEYS: ticket, waiting, owner's agent set, open, open_conv, handle_times
# ARGV: id, by ('' = system), new state, at, disposition, samples, at µs, expected owner ('' = none)
_RELEASE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing'} end
local state = redis.call('HGET', KEYS[1], 'state')
local owner = redis.call('HGET', KEYS[1], 'assigned_to') or ''
if state ~= 'queued' and state ~= 'assigned' then return {'invalid', state} end
if ARGV[2] ~= '' and (state ~= 'assigned' or owner ~= ARGV[2]) then return {'not_assigned'} end
if state == 'assigned' and owner ~= ARGV[8] then return {'retry'} end
redis.call('HSET', KEYS[1], 'state', ARGV[3], 'closed_at', ARGV[4])
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'disposition', ARGV[5]) end
redis.call('ZREM', KEYS[2], redis.call('HGET', KEYS[1], 'member'))
redis.call('SREM', KEYS[4], ARGV[1])
redis.call('HDEL', KEYS[5], redis.call('HGET', KEYS[1], 'conversation_id'))
if state == 'assigned' then
  redis.call('SREM', KEYS[3], ARGV[1])
  local since = tonumber(redis.call('HGET', KEYS[1], 'assigned_us'))
  local seconds = math.max(0, (tonumber(ARGV[7]) - since) / 1000000)
  redis.call('LPUSH', KEYS[6], tostring(seconds))
  redis.call('LTRIM', KEYS[6], 0, tonumber(ARGV[6]) - 1)
end
return {'ok'}
"""

_BREACH = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'queued' and state ~= 'assigned' then return 0 end
if redis.call('HEXISTS', KEYS[1], 'first_response_at') == 1 then return 0 end
return redis.call('HSETNX', KEYS[1], 'sla_breached_at', ARGV[1])
"""

_FIRST_RESPONSE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('HGET', KEYS[1], 'state') ~= 'assigned' then return 0 end
return redis.call('HSETNX', KEYS[1], 'first_response_at', ARGV[1])
"""

_CSAT = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 'missing' end
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'queued' or state == 'assigned' then return state end
redis.call('HSET', KEYS[1], 'csat', ARGV[1])
if ARGV[2] == '' then redis.call('HDEL', KEYS[1], 'csat_comment')
else redis.call('HSET', KEYS[1], 'csat_comment', ARGV[2]) end
return 'ok'
"""


class RedisHandoffQueue:
    """``HandoffQueue`` on Redis: ``await RedisHandoffQueue(url, prefix=...).open()`` or ``async with``."""

    def __init__(
        self, url: str, *, prefix: str = "cardcare:handoff:", timeout_s: float = 5.0, handle_samples: int = 50
    ) -> None:
        self._p = prefix
        self._timeout_s = timeout_s
        self._handle_samples = handle_samples
        self._redis = aioredis.Redis.from_url(
            url, decode_responses=True, retry=Retry(ExponentialWithJitterBackoff(base=0.01, cap=0.5), 2)
        )
        self._enqueue = self._redis.register_script(_ENQUEUE)
        self._claim = self._redis.register_script(_CLAIM)
        self._release_script = self._redis.register_script(_RELEASE)
        self._breach = self._redis.register_script(_BREACH)
        self._first_response = self._redis.register_script(_FIRST_RESPONSE)
        self._csat = self._redis.register_script(_CSAT)

    async def open(self) -> Self:
        """Check that Redis answers."""
        async with self._io("ping"):
            await self._redis.ping()
        return self

    async def __aenter__(self) -> Self:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Release the connections."""
        await self._redis.aclose()

    # -- port ---------------------------------------------------------------------------

    async def enqueue(self, ticket: Ticket, package: ContextPackage) -> tuple[Ticket, bool]:
        """Store ``ticket`` (queued) with its package, unless the conversation already has an open ticket."""
        fields = [item for k, v in ticket_record(ticket).items() if v is not None for item in (k, v)]
        keys = [
            self._k("open_conv"),
            self._k("conv", ticket.conversation_id),
            self._k("seq"),
            self._k("waiting"),
            self._k("open"),
            self._k("ticket", ticket.id),
            self._k("package", ticket.id),
        ]
        args: list[str | int] = [
            ticket.conversation_id,
            ticket.id,
            int(ticket.priority),
            f"{micros(ticket.created_at):020d}",
            json.dumps(package.to_json(), ensure_ascii=False),
            *fields,
        ]
        async with self._io("enqueue"):
            created, ticket_id = await self._enqueue(keys=keys, args=args)
        if created:
            return ticket, True
        return await self.get(TicketId(_s(ticket_id))), False

    async def get(self, ticket_id: TicketId) -> Ticket:
        """The ticket, or ``TicketNotFound``."""
        async with self._io("get"):
            rec = await self._redis.hgetall(self._k("ticket", ticket_id))
        if not rec:
            raise TicketNotFound(ticket_id)
        return ticket_from_record(_record(rec))

    async def latest(self, conversation_id: ConversationId) -> Ticket | None:
        """The conversation's most recent ticket, open or not."""
        async with self._io("latest"):
            ticket_id = await self._redis.get(self._k("conv", conversation_id))
        return await self.get(TicketId(_s(ticket_id))) if ticket_id else None

    async def package(self, ticket_id: TicketId) -> ContextPackage:
        """The context package stored with the ticket."""
        async with self._io("package"):
            payload = await self._redis.get(self._k("package", ticket_id))
        if payload is None:
            raise TicketNotFound(ticket_id)
        return ContextPackage.from_json(json.loads(payload))

    async def waiting(self) -> list[Ticket]:
        """Queued tickets: priority 1 first, then by arrival."""
        async with self._io("waiting"):
            members = await self._redis.zrange(self._k("waiting"), 0, -1)
        return await self._load([TicketId(_s(m).rsplit(":", 1)[1]) for m in members])

    async def open_tickets(self) -> list[Ticket]:
        """Queued and assigned tickets, in queue order."""
        async with self._io("open"):
            ids = await self._redis.smembers(self._k("open"))
        return await self._load([TicketId(_s(i)) for i in ids], in_queue_order=True)

    async def assigned_to(self, agent_id: AgentId) -> list[Ticket]:
        """Tickets the agent holds now."""
        async with self._io("assigned_to"):
            ids = await self._redis.smembers(self._k("agent", agent_id))
        return await self._load([TicketId(_s(i)) for i in ids], in_queue_order=True)

    async def claim(self, ticket_id: TicketId, agent_id: AgentId, *, capacity: int, at: datetime) -> Ticket:
        """Atomically give a queued ticket to ``agent_id`` (idempotent for the same agent)."""
        keys = [self._k("ticket", ticket_id), self._k("waiting"), self._k("agent", agent_id)]
        async with self._io("claim"):
            result = await self._claim(keys=keys, args=[ticket_id, agent_id, capacity, iso(at), micros(at)])
        match result[0]:
            case "ok":
                return await self.get(ticket_id)
            case "missing":
                raise TicketNotFound(ticket_id)
            case "capacity":
                raise AgentAtCapacity(agent_id, capacity)
            case _:
                raise TicketAlreadyClaimed(ticket_id, by=result[1] or None, state=result[2])

    async def record_first_response(self, ticket_id: TicketId, at: datetime) -> tuple[Ticket, bool]:
        """Set the first agent response time once, while the ticket is assigned."""
        async with self._io("first_response"):
            done = await self._first_response(keys=[self._k("ticket", ticket_id)], args=[iso(at)])
        if done == -1:
            raise TicketNotFound(ticket_id)
        return await self.get(ticket_id), done == 1

    async def handback(self, ticket_id: TicketId, agent_id: AgentId, *, at: datetime) -> Ticket:
        """The agent returns the chat to the assistant; frees their capacity."""
        return await self._release(ticket_id, agent_id, TicketState.RETURNED, None, at)

    async def close(
        self, ticket_id: TicketId, *, by: AgentId | None, disposition: Disposition, at: datetime
    ) -> Ticket:
        """Close by the assigned agent, or (``by=None``) by the system when the customer leaves."""
        return await self._release(ticket_id, by, TicketState.CLOSED, disposition, at)

    async def mark_breached(self, ticket_id: TicketId, at: datetime) -> bool:
        """Record an SLA breach once, for an open ticket still without a first response."""
        async with self._io("breach"):
            done = await self._breach(keys=[self._k("ticket", ticket_id)], args=[iso(at)])
        if done == -1:
            raise TicketNotFound(ticket_id)
        return bool(done == 1)

    async def add_note(self, note: AgentNote) -> None:
        """Append an internal note to the ticket."""
        await self.get(note.ticket_id)
        payload = json.dumps(
            {"agent_id": note.agent_id, "text": note.text, "at": iso(note.at)}, ensure_ascii=False
        )
        async with self._io("add_note"):
            await self._redis.rpush(self._k("notes", note.ticket_id), payload)

    async def notes(self, ticket_id: TicketId) -> list[AgentNote]:
        """The ticket's notes, oldest first."""
        async with self._io("notes"):
            rows = await self._redis.lrange(self._k("notes", ticket_id), 0, -1)
        out = []
        for row in rows:
            data = json.loads(row)
            out.append(
                AgentNote(
                    ticket_id=ticket_id,
                    agent_id=AgentId(data["agent_id"]),
                    text=data["text"],
                    at=datetime.fromisoformat(data["at"]),
                )
            )
        return out

    async def record_csat(self, ticket_id: TicketId, rating: int, comment: str | None) -> Ticket:
        """Store the customer's rating (1..5) of a closed or handed-back chat."""
        check_rating(rating)
        async with self._io("csat"):
            result = await self._csat(keys=[self._k("ticket", ticket_id)], args=[rating, comment or ""])
        if result == "missing":
            raise TicketNotFound(ticket_id)
        if result != "ok":
            raise InvalidTransition(f"ticket {ticket_id!r} is {result}: rate it after it ends")
        return await self.get(ticket_id)

    async def handle_times(self) -> list[float]:
        """Recent handling times in seconds (assignment to close or hand-back), newest first."""
        async with self._io("handle_times"):
            rows = await self._redis.lrange(self._k("handle_times"), 0, self._handle_samples - 1)
        return [float(r) for r in rows]

    # -- internals ----------------------------------------------------------------------

    async def _release(
        self,
        ticket_id: TicketId,
        by: AgentId | None,
        state: TicketState,
        disposition: Disposition | None,
        at: datetime,
    ) -> Ticket:
        # The owner's load set is a declared key, so read the owner first; the script checks
        # it did not change in between (and we retry if it did).
        for _ in range(5):
            current = await self.get(ticket_id)
            owner = current.assigned_to or ""
            keys = [
                self._k("ticket", ticket_id),
                self._k("waiting"),
                self._k("agent", owner),
                self._k("open"),
                self._k("open_conv"),
                self._k("handle_times"),
            ]
            args = [
                ticket_id,
                by or "",
                state.value,
                iso(at),
                disposition.value if disposition else "",
                self._handle_samples,
                micros(at),
                owner,
            ]
            async with self._io("release"):
                result = await self._release_script(keys=keys, args=args)
            match result[0]:
                case "ok":
                    return await self.get(ticket_id)
                case "missing":
                    raise TicketNotFound(ticket_id)
                case "invalid":
                    raise InvalidTransition(f"ticket {ticket_id!r} is already {result[1]}")
                case "not_assigned":
                    raise NotAssigned(by or "", current.conversation_id)
                case _:
                    continue
        raise QueueUnavailable(f"ticket {ticket_id!r} kept changing hands; release not applied")

    async def _load(self, ids: Sequence[TicketId], *, in_queue_order: bool = False) -> list[Ticket]:
        if not ids:
            return []
        async with self._io("load"):
            async with self._redis.pipeline(transaction=False) as pipe:
                for ticket_id in ids:
                    pipe.hgetall(self._k("ticket", ticket_id))
                records: list[dict[str, Any]] = [r for r in await pipe.execute() if r]
        if in_queue_order:
            # Same order as the waiting set: priority, then the arrival-ordered member.
            records.sort(key=lambda r: (int(r["priority"]), r["member"]))
        return [ticket_from_record(r) for r in records]

    def _k(self, kind: str, ident: str | None = None) -> str:
        return f"{self._p}{kind}" if ident is None else f"{self._p}{kind}:{ident}"

    @asynccontextmanager
    async def _io(self, what: str) -> AsyncIterator[None]:
        try:
            async with asyncio.timeout(self._timeout_s):
                yield
        except _FAILURES as exc:
            raise QueueUnavailable(f"redis handoff queue {what}: {exc}") from exc


def _s(value: object) -> str:
    """A Redis reply as text (the client decodes replies; this also narrows the vendor's types)."""
    return value.decode() if isinstance(value, bytes) else str(value)


def _record(raw: Mapping[Any, Any]) -> dict[str, str]:
    return {_s(k): _s(v) for k, v in raw.items()}
