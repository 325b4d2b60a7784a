"""One behaviour suite for the HandoffQueue port, run unchanged on SQLite and a real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

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
    Priority,
    Skill,
    TicketId,
    TicketState,
)
from handoff.ports import HandoffQueue
from handoff.queue.redis import RedisHandoffQueue
from handoff.queue.sqlite import SqliteHandoffQueue
from handoff.routing import lane_position
from handoff.testing import make_package, make_ticket
from tests.redis_server import free_port

T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
EMILY, TOM = AgentId("emily"), AgentId("tom")

Opener = Callable[[], Awaitable[HandoffQueue]]


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def opener(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Opener]:
    """Opens a queue on the same storage each time it is called (to test reopen and two connections)."""
    opened: list[HandoffQueue] = []

    async def open_queue() -> HandoffQueue:
        q: HandoffQueue
        if request.param == "sqlite":
            q = await SqliteHandoffQueue(tmp_path / "handoff.db", handle_samples=5).open()
        else:
            url = request.getfixturevalue("redis_url")
            prefix = request.getfixturevalue("redis_prefix")
            q = await RedisHandoffQueue(url, prefix=prefix, handle_samples=5).open()
        opened.append(q)
        return q

    yield open_queue
    for q in opened:
        await q.aclose()


@pytest.fixture
async def queue(opener: Opener) -> HandoffQueue:
    return await opener()


async def put(queue: HandoffQueue, **kw: object):
    ticket = make_ticket(**kw)  # type: ignore[arg-type]
    stored, created = await queue.enqueue(ticket, make_package(ticket))
    assert created
    return stored


async def test_queue_enqueue_stores_ticket_and_package(queue: HandoffQueue) -> None:
    ticket = make_ticket("conv-a", priority=Priority.P2, skills=(Skill.SENIOR,), tier="platinum")
    package = make_package(ticket)
    stored, created = await queue.enqueue(ticket, package)
    assert created and stored == ticket
    assert await queue.get(ticket.id) == ticket
    assert await queue.latest(ConversationId("conv-a")) == ticket
    assert await queue.package(ticket.id) == package
    assert [t.id for t in await queue.waiting()] == [ticket.id]
    assert [t.id for t in await queue.open_tickets()] == [ticket.id]


async def test_queue_unknown_ids_raise_not_found(queue: HandoffQueue) -> None:
    with pytest.raises(TicketNotFound):
        await queue.get(TicketId("nope"))
    with pytest.raises(TicketNotFound):
        await queue.package(TicketId("nope"))
    with pytest.raises(TicketNotFound):
        await queue.claim(TicketId("nope"), EMILY, capacity=3, at=T0)
    assert await queue.latest(ConversationId("nobody")) is None


async def test_queue_enqueue_is_idempotent_while_conversation_has_open_ticket(queue: HandoffQueue) -> None:
    first = await put(queue, conversation_id="conv-a")
    again = make_ticket("conv-a", priority=Priority.P1)
    stored, created = await queue.enqueue(again, make_package(again))
    assert not created and stored.id == first.id
    assert len(await queue.waiting()) == 1
    await queue.close(first.id, by=None, disposition=Disposition.ABANDONED, at=T0)
    later = make_ticket("conv-a")
    stored, created = await queue.enqueue(later, make_package(later))
    assert created and stored.id == later.id
    assert (await queue.latest(ConversationId("conv-a"))).id == later.id


async def test_queue_orders_by_priority_then_arrival(queue: HandoffQueue) -> None:
    p3_early = await put(queue, priority=Priority.P3, created_at=T0)
    p1_late = await put(queue, priority=Priority.P1, created_at=T0 + timedelta(seconds=30))
    p3_same_time = await put(queue, priority=Priority.P3, created_at=T0)
    p2 = await put(queue, priority=Priority.P2, created_at=T0 + timedelta(seconds=10))
    p1_early = await put(queue, priority=Priority.P1, created_at=T0 + timedelta(seconds=5))
    expected = [p1_early.id, p1_late.id, p2.id, p3_early.id, p3_same_time.id]
    assert [t.id for t in await queue.waiting()] == expected
    assert [t.id for t in await queue.open_tickets()] == expected


async def test_queue_positions_count_the_same_lane_only(queue: HandoffQueue) -> None:
    a = await put(queue, created_at=T0)
    risk = await put(queue, priority=Priority.P1, skills=(Skill.RISK,), created_at=T0 + timedelta(seconds=1))
    en = await put(queue, language="en", created_at=T0 + timedelta(seconds=2))
    b = await put(queue, created_at=T0 + timedelta(seconds=3))
    waiting = await queue.waiting()
    assert [lane_position(t, waiting) for t in (a, risk, en, b)] == [1, 1, 1, 2]
    await queue.claim(a.id, EMILY, capacity=3, at=T0 + timedelta(seconds=4))
    assert lane_position(b, await queue.waiting()) == 1


async def test_queue_claim_assigns_and_leaves_waiting(queue: HandoffQueue) -> None:
    ticket = await put(queue)
    at = T0 + timedelta(seconds=42)
    claimed = await queue.claim(ticket.id, EMILY, capacity=3, at=at)
    assert claimed.state is TicketState.ASSIGNED
    assert claimed.assigned_to == EMILY and claimed.assigned_at == at
    assert await queue.waiting() == []
    assert [t.id for t in await queue.assigned_to(EMILY)] == [ticket.id]
    assert [t.id for t in await queue.open_tickets()] == [ticket.id]
    assert await queue.claim(ticket.id, EMILY, capacity=3, at=at) == claimed  # same agent: idempotent
    with pytest.raises(TicketAlreadyClaimed) as err:
        await queue.claim(ticket.id, TOM, capacity=3, at=at)
    assert err.value.by == EMILY and err.value.ticket_id == ticket.id


async def test_queue_claim_respects_capacity(queue: HandoffQueue) -> None:
    first, second = await put(queue), await put(queue)
    await queue.claim(first.id, TOM, capacity=1, at=T0)
    with pytest.raises(AgentAtCapacity):
        await queue.claim(second.id, TOM, capacity=1, at=T0)
    assert (await queue.get(second.id)).state is TicketState.QUEUED
    await queue.handback(first.id, TOM, at=T0 + timedelta(seconds=60))
    assert (await queue.claim(second.id, TOM, capacity=1, at=T0)).assigned_to == TOM


async def test_queue_handback_by_owner_frees_capacity_and_records_handling_time(queue: HandoffQueue) -> None:
    ticket = await put(queue)
    await queue.claim(ticket.id, EMILY, capacity=3, at=T0)
    with pytest.raises(NotAssigned):
        await queue.handback(ticket.id, TOM, at=T0)
    back = await queue.handback(ticket.id, EMILY, at=T0 + timedelta(seconds=90))
    assert back.state is TicketState.RETURNED and back.closed_at == T0 + timedelta(seconds=90)
    assert back.assigned_to == EMILY  # kept for metrics
    assert await queue.assigned_to(EMILY) == []
    assert await queue.open_tickets() == []
    assert await queue.handle_times() == [pytest.approx(90.0)]
    with pytest.raises(InvalidTransition):
        await queue.handback(ticket.id, EMILY, at=T0)


async def test_queue_close_by_agent_and_by_system(queue: HandoffQueue) -> None:
    served, waiting = await put(queue), await put(queue)
    await queue.claim(served.id, EMILY, capacity=3, at=T0)
    with pytest.raises(NotAssigned):
        await queue.close(waiting.id, by=EMILY, disposition=Disposition.RESOLVED, at=T0)
    closed = await queue.close(
        served.id, by=EMILY, disposition=Disposition.RESOLVED, at=T0 + timedelta(seconds=30)
    )
    assert closed.state is TicketState.CLOSED and closed.disposition is Disposition.RESOLVED
    abandoned = await queue.close(waiting.id, by=None, disposition=Disposition.ABANDONED, at=T0)
    assert abandoned.state is TicketState.CLOSED and abandoned.disposition is Disposition.ABANDONED
    assert await queue.waiting() == [] and await queue.open_tickets() == []
    assert await queue.handle_times() == [pytest.approx(30.0)]  # only chats an agent held
    with pytest.raises(InvalidTransition):
        await queue.close(served.id, by=EMILY, disposition=Disposition.RESOLVED, at=T0)


async def test_queue_system_close_of_assigned_ticket_frees_the_agent(queue: HandoffQueue) -> None:
    ticket = await put(queue)
    await queue.claim(ticket.id, TOM, capacity=1, at=T0)
    await queue.close(ticket.id, by=None, disposition=Disposition.ABANDONED, at=T0)
    assert await queue.assigned_to(TOM) == []
    other = await put(queue)
    assert (await queue.claim(other.id, TOM, capacity=1, at=T0)).assigned_to == TOM


async def test_queue_keeps_only_recent_handling_times(queue: HandoffQueue) -> None:
    for n in range(7):
        ticket = await put(queue)
        await queue.claim(ticket.id, EMILY, capacity=1, at=T0)
        await queue.close(ticket.id, by=EMILY, disposition=Disposition.RESOLVED, at=T0 + timedelta(seconds=n))
    assert await queue.handle_times() == [pytest.approx(float(n)) for n in (6, 5, 4, 3, 2)]


async def test_queue_first_response_and_breach_are_recorded_once(queue: HandoffQueue) -> None:
    late, answered = await put(queue), await put(queue)
    assert await queue.mark_breached(late.id, T0 + timedelta(seconds=301))
    assert not await queue.mark_breached(late.id, T0 + timedelta(seconds=302))
    assert (await queue.get(late.id)).sla_breached_at == T0 + timedelta(seconds=301)

    _, done = await queue.record_first_response(answered.id, T0)
    assert not done  # not assigned yet
    await queue.claim(answered.id, EMILY, capacity=3, at=T0)
    ticket, done = await queue.record_first_response(answered.id, T0 + timedelta(seconds=20))
    assert done and ticket.first_response_at == T0 + timedelta(seconds=20)
    ticket, done = await queue.record_first_response(answered.id, T0 + timedelta(seconds=50))
    assert not done and ticket.first_response_at == T0 + timedelta(seconds=20)
    assert not await queue.mark_breached(answered.id, T0 + timedelta(seconds=400))


async def test_queue_notes_keep_order(queue: HandoffQueue) -> None:
    ticket = await put(queue)
    for n, text in enumerate(["客户情绪激动", "已核实身份"]):
        await queue.add_note(
            AgentNote(ticket_id=ticket.id, agent_id=EMILY, text=text, at=T0 + timedelta(seconds=n))
        )
    notes = await queue.notes(ticket.id)
    assert [(n.agent_id, n.text, n.at) for n in notes] == [
        (EMILY, "客户情绪激动", T0),
        (EMILY, "已核实身份", T0 + timedelta(seconds=1)),
    ]
    with pytest.raises(TicketNotFound):
        await queue.add_note(AgentNote(ticket_id=TicketId("nope"), agent_id=EMILY, text="x", at=T0))


async def test_queue_csat_only_after_the_chat_ends(queue: HandoffQueue) -> None:
    ticket = await put(queue)
    with pytest.raises(InvalidTransition):
        await queue.record_csat(ticket.id, 5, None)
    await queue.claim(ticket.id, EMILY, capacity=3, at=T0)
    await queue.close(ticket.id, by=EMILY, disposition=Disposition.RESOLVED, at=T0)
    with pytest.raises(ValueError):
        await queue.record_csat(ticket.id, 6, None)
    rated = await queue.record_csat(ticket.id, 4, "很耐心")
    assert (rated.csat, rated.csat_comment) == (4, "很耐心")


async def test_queue_concurrent_claims_exactly_one_wins(queue: HandoffQueue) -> None:
    ticket = await put(queue)
    agents = [AgentId(f"agent{n}") for n in range(25)]
    results = await asyncio.gather(
        *(queue.claim(ticket.id, a, capacity=3, at=T0) for a in agents), return_exceptions=True
    )
    winners = [r for r in results if not isinstance(r, BaseException)]
    losers = [r for r in results if isinstance(r, BaseException)]
    assert len(winners) == 1
    assert all(isinstance(e, TicketAlreadyClaimed) and e.by == winners[0].assigned_to for e in losers)
    assert (await queue.get(ticket.id)).assigned_to == winners[0].assigned_to


async def test_queue_concurrent_claims_on_many_tickets_respect_capacity(queue: HandoffQueue) -> None:
    tickets = [await put(queue) for _ in range(6)]
    agents = [AgentId(f"agent{n}") for n in range(4)]
    claims = [queue.claim(t.id, a, capacity=1, at=T0) for t in tickets for a in agents]
    results = await asyncio.gather(*claims, return_exceptions=True)
    won = [r for r in results if not isinstance(r, BaseException)]
    assert all(
        isinstance(r, TicketAlreadyClaimed | AgentAtCapacity) for r in results if isinstance(r, BaseException)
    )
    assert len(won) == len(agents)  # every agent got exactly one chat, no chat went twice
    assert len({t.id for t in won}) == len(won)
    for agent in agents:
        assert len(await queue.assigned_to(agent)) == 1


async def test_queue_concurrent_claims_from_two_connections(opener: Opener) -> None:
    one, two = await opener(), await opener()
    for _ in range(5):
        ticket = await put(one)
        results = await asyncio.gather(
            *(
                q.claim(ticket.id, AgentId(f"{name}{n}"), capacity=9, at=T0)
                for n in range(8)
                for name, q in (("a", one), ("b", two))
            ),
            return_exceptions=True,
        )
        assert sum(not isinstance(r, BaseException) for r in results) == 1
        assert all(isinstance(r, TicketAlreadyClaimed) for r in results if isinstance(r, BaseException))


async def test_queue_state_survives_reopen(opener: Opener) -> None:
    first = await opener()
    served, waiting = await put(first), await put(first, priority=Priority.P1)
    await first.claim(served.id, EMILY, capacity=3, at=T0)
    await first.add_note(AgentNote(ticket_id=served.id, agent_id=EMILY, text="note", at=T0))
    await first.aclose()
    again = await opener()
    assert (await again.get(served.id)).assigned_to == EMILY
    assert [t.id for t in await again.waiting()] == [waiting.id]
    assert [t.id for t in await again.assigned_to(EMILY)] == [served.id]
    assert (await again.package(served.id)).ticket_id == served.id
    assert [n.text for n in await again.notes(served.id)] == ["note"]
    with pytest.raises(TicketAlreadyClaimed):
        await again.claim(served.id, TOM, capacity=3, at=T0)


async def test_sqlite_queue_unusable_file_raises_queue_unavailable(tmp_path: Path) -> None:
    with pytest.raises(QueueUnavailable):
        await SqliteHandoffQueue(tmp_path).open()  # a directory, not a database file


@pytest.mark.redis
async def test_redis_queue_down_raises_queue_unavailable() -> None:
    queue = RedisHandoffQueue(f"redis://127.0.0.1:{free_port()}/0", timeout_s=2.0)
    try:
        with pytest.raises(QueueUnavailable):
            await queue.open()
        with pytest.raises(QueueUnavailable):
            await queue.waiting()
    finally:
        await queue.aclose()


@pytest.mark.redis
async def test_redis_queue_key_names_are_pinned(redis_url: str, redis_prefix: str) -> None:
    import redis.asyncio as aioredis

    async with RedisHandoffQueue(redis_url, prefix=redis_prefix) as queue:
        ticket = await put(queue, conversation_id="conv-k", ticket_id="tk1")
        await queue.claim(ticket.id, EMILY, capacity=3, at=T0)
        await queue.add_note(AgentNote(ticket_id=ticket.id, agent_id=EMILY, text="n", at=T0))
        await queue.close(ticket.id, by=EMILY, disposition=Disposition.RESOLVED, at=T0)
        await put(queue, conversation_id="conv-w", ticket_id="tk2")
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        keys = {k.removeprefix(redis_prefix) for k in await client.keys(redis_prefix + "*")}
    finally:
        await client.aclose()
    assert keys == {
        "ticket:tk1",
        "package:tk1",
        "notes:tk1",
        "conv:conv-k",
        "handle_times",
        "seq",
        "ticket:tk2",
        "package:tk2",
        "conv:conv-w",
        "waiting",
        "open",
        "open_conv",
    }
