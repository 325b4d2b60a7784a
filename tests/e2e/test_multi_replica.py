"""Scale-out: two server processes sharing one real Redis serve one system.

A customer connected to process A and an agent connected to process B talk to each other
live; killing process A and reconnecting the customer to process B loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from tests.harness import AgentClient, ChatClient, ServerProcess, agent_token, copy_index, demo_token

pytestmark = pytest.mark.redis


def replica_env(var_dir: Path, shared: Path, redis_url: str, prefix: str) -> dict[str, str]:
    copy_index(var_dir)
    return {
        "CARDCARE_VAR_DIR": str(var_dir),
        "CARDCARE_CARDS_DB": str(shared / "cardsystem.db"),
        "CARDCARE_REDIS_URL": redis_url,
        "CARDCARE_REDIS_PREFIX": prefix,
        "CARDCARE_EMBEDDER": "hash",
        "CARDCARE_TOKEN_SECRET": "r" * 48,
        "CARDCARE_DEMO": "true",
        "CARDCARE_AGENT_HOURS": "00:00-23:59",
        "OPENAI_API_KEY": "",
        "OPENAI_BASE_URL": "",
    }


async def test_customer_on_a_and_agent_on_b_then_a_dies(tmp_path: Path, redis_url: str, redis_prefix: str) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    a_proc = ServerProcess(replica_env(tmp_path / "a", shared, redis_url, redis_prefix))
    b_proc = ServerProcess(replica_env(tmp_path / "b", shared, redis_url, redis_prefix))
    a_proc.start()
    b_proc.start()
    try:
        customer = ChatClient(a_proc.ws, await demo_token(a_proc.http, "C001"))
        await customer.connect()
        conv = customer.welcome["conversation_id"]
        await customer.say("转人工")
        await customer.until(lambda f: f.get("type") == "handoff" and f["status"] == "queued")

        agent = AgentClient(b_proc.ws, await agent_token(b_proc.http, "zhangmin"))
        await agent.connect()
        await agent.queued(conv)
        assigned = await agent.claim(conv)
        assert assigned["type"] == "assigned"
        assert any("转人工" in line["text"] for line in assigned["context"]["transcript"])
        await customer.until(lambda f: f.get("type") == "handoff" and f["status"] == "assigned")

        # Live, across processes: agent (B) → customer (A) and customer (A) → agent (B).
        await agent.send({"type": "message", "conversation_id": conv, "text": "您好，我是张敏。"})
        got = await customer.until(lambda f: f.get("type") == "message" and f.get("role") == "agent")
        assert got["text"] == "您好，我是张敏。"
        await customer.say("你好张敏，我想问年费")
        relayed = await agent.until(lambda f: f.get("type") == "message" and f.get("role") == "customer")
        assert "年费" in relayed["text"]
        first_relay_seq = relayed["seq"]
        seen = customer.last_seq

        # Process A dies; the agent keeps writing; the customer comes back through B.
        a_proc.kill()
        await agent.send({"type": "message", "conversation_id": conv, "text": "年费的问题我来帮您查。"})
        await agent.until(lambda f: f.get("type") == "ack")
        await agent.send({"type": "message", "conversation_id": conv, "text": "已经查到了。"})
        await agent.until(lambda f: f.get("type") == "ack")

        back = ChatClient(b_proc.ws, customer.token)
        welcome = await back.connect(conversation_id=conv, last_seq=seen)
        assert welcome["mode"] == "agent"
        missed = []
        with contextlib.suppress(asyncio.TimeoutError):
            while True:
                missed.append(await back.recv(timeout=1.5))
        seqs = [f["seq"] for f in missed if "seq" in f]
        assert seqs == list(range(seen + 1, seen + 1 + len(seqs)))  # in order, none twice, none skipped
        assert seqs[-1] >= welcome["seq"]
        texts = [f.get("text") for f in missed if f.get("role") == "agent"]
        assert texts == ["年费的问题我来帮您查。", "已经查到了。"]
        await back.say("好的谢谢")
        # Relays are at-least-once across a crash (a message relayed by A just before it died
        # may be relayed again by B); the console dedupes by seq, as the protocol says.
        relayed = await agent.until(lambda f: f.get("type") == "message" and f.get("role") == "customer"
                                    and f["seq"] != first_relay_seq)
        assert relayed["text"] == "好的谢谢"
        await back.close()
        await agent.close()
    finally:
        a_proc.kill()
        b_proc.stop()
