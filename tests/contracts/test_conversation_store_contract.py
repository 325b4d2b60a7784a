"""One behaviour suite for the ConversationStore port, run unchanged on SQLite and a real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.domain import ConversationId, CustomerId
from bot.errors import NotFound, StateConflict, StoreUnavailable
from bot.ports import ConversationStore
from bot.stores.redis import RedisConversationStore
from bot.stores.sqlite import SqliteConversationStore
from tests.redis_server import own_redis_process


class StepClock:
    """A clock that advances one second per reading."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ConversationStore]:
    clock = StepClock()
    s: ConversationStore
    if request.param == "sqlite":
        s = await SqliteConversationStore(tmp_path / "conv.db", clock=clock).open()
    else:
        url = request.getfixturevalue("redis_url")
        prefix = request.getfixturevalue("redis_prefix")
        s = await RedisConversationStore(url, prefix=prefix, clock=clock).open()
    yield s
    await s.close()


CUST = CustomerId("C001")


async def test_store_creates_and_lists_conversations_per_customer(store: ConversationStore) -> None:
    a = await store.create_conversation(CUST, "zh-CN")
    b = await store.create_conversation(CUST, "en-US")
    other = await store.create_conversation(CustomerId("C002"), "zh-CN")
    got = await store.get_conversation(a.id)
    assert got is not None and got.customer_id == CUST and got.locale == "zh-CN" and got.last_seq == 0
    assert [c.id for c in await store.list_conversations(CUST)] == [a.id, b.id]
    assert other.id not in [c.id for c in await store.list_conversations(CUST)]
    assert set(await store.conversation_ids()) >= {a.id, b.id, other.id}
    assert await store.get_conversation(ConversationId("c_missing")) is None


async def test_store_append_assigns_consecutive_seq(store: ConversationStore) -> None:
    conv = await store.create_conversation(CUST, "zh-CN")
    seqs = []
    for i in range(5):
        event, created = await store.append(conv.id, "message", {"role": "customer", "text": f"m{i}"})
        assert created
        seqs.append(event.seq)
    assert seqs == [1, 2, 3, 4, 5]
    again = await store.get_conversation(conv.id)
    assert again is not None and again.last_seq == 5


async def test_store_append_is_idempotent_on_client_msg_id(store: ConversationStore) -> None:
    conv = await store.create_conversation(CUST, "zh-CN")
    first, created1 = await store.append(conv.id, "message", {"text": "hi"}, client_msg_id="m-1")
    second, created2 = await store.append(conv.id, "message", {"text": "hi again"}, client_msg_id="m-1")
    assert created1 and not created2
    assert second.seq == first.seq and second.data == {"text": "hi"}
    assert len(await store.events_after(conv.id, 0)) == 1


async def test_store_concurrent_appends_never_share_a_seq(store: ConversationStore) -> None:
    conv = await store.create_conversation(CUST, "zh-CN")
    results = await asyncio.gather(
        *(store.append(conv.id, "message", {"i": i}, client_msg_id=f"m-{i % 25}") for i in range(50))
    )
    created = [e for e, c in results if c]
    assert sorted(e.seq for e in created) == list(range(1, 26))
    events = await store.events_after(conv.id, 0)
    assert [e.seq for e in events] == list(range(1, 26))


async def test_store_events_after_returns_exactly_the_missed_events(store: ConversationStore) -> None:
    conv = await store.create_conversation(CUST, "zh-CN")
    for i in range(6):
        await store.append(conv.id, "message", {"n": i})
    missed = await store.events_after(conv.id, 3)
    assert [e.seq for e in missed] == [4, 5, 6]
    assert [e.data["n"] for e in missed] == [3, 4, 5]
    assert [e.seq for e in await store.events_after(conv.id, 2, limit=2)] == [3, 4]
    assert await store.events_after(conv.id, 6) == []
    frame = missed[0].frame()
    assert frame["type"] == "message" and frame["seq"] == 4 and "ts" in frame


async def test_store_append_to_unknown_conversation_raises(store: ConversationStore) -> None:
    with pytest.raises(NotFound):
        await store.append(ConversationId("c_nope"), "message", {})


async def test_store_state_is_compare_and_set(store: ConversationStore) -> None:
    conv = await store.create_conversation(CUST, "zh-CN")
    state, version = await store.load_state(conv.id)
    assert state == {} and version == 0
    v1 = await store.save_state(conv.id, {"mode": "bot", "flow": {"id": "installment"}}, version)
    assert v1 == 1
    with pytest.raises(StateConflict):
        await store.save_state(conv.id, {"mode": "agent"}, version)
    state, version = await store.load_state(conv.id)
    assert state == {"mode": "bot", "flow": {"id": "installment"}} and version == 1
    with pytest.raises(NotFound):
        await store.load_state(ConversationId("c_nope"))


async def test_store_unicode_round_trips(store: ConversationStore) -> None:
    conv = await store.create_conversation(CUST, "zh-CN")
    text = "我的卡丢了 😟 <img src=x onerror=alert(1)> ¥12,000"
    await store.append(conv.id, "message", {"text": text})
    (event,) = await store.events_after(conv.id, 0)
    assert event.data["text"] == text


async def test_store_records_filter_by_kind_and_time(store: ConversationStore) -> None:
    conv = await store.create_conversation(CUST, "zh-CN")
    await store.add_record("turn", {"intent": "installment"}, conversation_id=conv.id)
    await store.add_record("csat", {"rating": 5}, conversation_id=conv.id)
    await store.add_record("turn", {"intent": "billing.statement"})
    turns = await store.records(["turn"])
    assert [r.data["intent"] for r in turns] == ["installment", "billing.statement"]
    assert turns[0].conversation_id == conv.id and turns[1].conversation_id is None
    all_records = await store.records()
    later = await store.records(since=all_records[1].created_at)
    assert [r.kind for r in later] == ["csat", "turn"]


async def test_store_adds_a_turns_records_in_one_write(store: ConversationStore) -> None:
    conv = await store.create_conversation(CUST, "zh-CN")
    await store.add_records([("turn", {"n": 1}), ("flow", {"event": "started"})], conversation_id=conv.id)
    await store.add_records([])
    got = await store.records()
    assert [(r.kind, r.conversation_id) for r in got] == [("turn", conv.id), ("flow", conv.id)]


async def test_store_audit_log_is_ordered(store: ConversationStore) -> None:
    await store.audit("agent:A1", "context.read", "c_1", {"reason": "claim"})
    await store.audit("customer:C001", "card.freeze", "card:K1", {"key": "k"})
    log = await store.audit_log()
    assert [(e.actor, e.action) for e in log] == [("agent:A1", "context.read"), ("customer:C001", "card.freeze")]
    assert log[1].details == {"key": "k"}


async def test_store_ping(store: ConversationStore) -> None:
    await store.ping()


async def test_sqlite_store_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "conv.db"
    s = await SqliteConversationStore(path).open()
    conv = await s.create_conversation(CUST, "zh-CN")
    await s.append(conv.id, "message", {"text": "persist me"}, client_msg_id="x")
    await s.close()
    s2 = await SqliteConversationStore(path).open()
    events = await s2.events_after(conv.id, 0)
    assert [e.data["text"] for e in events] == ["persist me"]
    _, created = await s2.append(conv.id, "message", {"text": "dup"}, client_msg_id="x")
    assert not created
    await s2.close()


async def test_sqlite_audit_log_rejects_updates(tmp_path: Path) -> None:
    import sqlite3

    s = await SqliteConversationStore(tmp_path / "conv.db").open()
    await s.audit("a", "b", "c", {})
    await s.close()
    conn = sqlite3.connect(tmp_path / "conv.db")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM audit")
    conn.close()


@pytest.mark.redis
async def test_redis_store_reports_an_outage_and_works_again_after_redis_restarts(redis_prefix: str) -> None:
    server = own_redis_process()
    s = await RedisConversationStore(server.url, prefix=redis_prefix, timeout_s=1.0).open()
    try:
        conv = await s.create_conversation(CUST, "zh-CN")
        await s.append(conv.id, "message", {"text": "before"}, client_msg_id="m-1")
        server.stop()
        # While Redis is gone the store says so, quickly, in its own terms (the socket turns it into "resend").
        with pytest.raises(StoreUnavailable):
            await s.append(conv.id, "message", {"text": "during"}, client_msg_id="m-2")
        with pytest.raises(StoreUnavailable):
            await s.ping()
        await asyncio.to_thread(server.restart)
        # The same store object reconnects; the append script is loaded again into the new server.
        await s.ping()
        again = await s.create_conversation(CUST, "zh-CN")
        event, created = await s.append(again.id, "message", {"text": "after"}, client_msg_id="m-3")
        assert created and event.seq == 1
        assert [e.data["text"] for e in await s.events_after(again.id, 0)] == ["after"]
    finally:
        await s.close()
        server.stop()
