"""Kill -9 the server mid-conversation: no acknowledged message is lost, none doubled."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import websockets

from tests.harness import ChatClient, ServerProcess, copy_index, demo_token

ENV = {
    "CARDCARE_EMBEDDER": "hash",
    "CARDCARE_TOKEN_SECRET": "k" * 48,
    "CARDCARE_DEMO": "true",
    "CARDCARE_REDIS_URL": "",
    "OPENAI_API_KEY": "",
    "OPENAI_BASE_URL": "",
}


QUESTIONS = ["你好", "我的账单多少钱", "谢谢", "我的额度是多少", "我有多少积分", "年费多少"]


async def test_kill_9_loses_no_acknowledged_message(tmp_path: Path) -> None:
    env = {**ENV, "CARDCARE_VAR_DIR": str(tmp_path / "var")}
    copy_index(tmp_path / "var")
    server = ServerProcess(env).start()
    try:
        c = ChatClient(server.ws, await demo_token(server.http, "C001"))
        await c.connect()
        conv_id = c.welcome["conversation_id"]
        acked: dict[str, int] = {}
        # Below the per-connection burst limit, so every message is accepted.
        sent = [await c.say(QUESTIONS[i % len(QUESTIONS)]) for i in range(18)]
        with contextlib.suppress(websockets.ConnectionClosed, asyncio.TimeoutError):
            while len(acked) < 8:
                f = await c.recv(timeout=10)
                if f["type"] == "ack":
                    acked[f["client_msg_id"]] = f["seq"]
        server.kill()  # mid-stream: some messages acked, some maybe stored, some lost in flight
        assert len(acked) >= 8
    finally:
        server.kill()

    server = ServerProcess(env, port=server.port).start()
    try:
        c2 = ChatClient(server.ws, await demo_token(server.http, "C001"))
        await c2.connect(conversation_id=conv_id, last_seq=0)
        # Every acknowledged message is stored exactly once, with the seq it was acked with.
        frames = []
        with contextlib.suppress(asyncio.TimeoutError):
            while True:
                frames.append(await c2.recv(timeout=3))
        stored = {f["client_msg_id"]: f["seq"] for f in frames if f.get("role") == "customer"}
        for cmid, seq in acked.items():
            assert stored[cmid] == seq
        seqs = [f["seq"] for f in frames if "seq" in f and f["type"] != "ack"]
        assert seqs == list(range(1, len(seqs) + 1))
        # Stored-but-unanswered messages are answered after the restart, each exactly once.
        replies = [f["reply_to"] for f in frames if f.get("role") == "bot"]
        assert sorted(replies) == sorted(stored.values())
        # Resending the unacknowledged ones is safe: they are stored once.
        for cmid in sent:
            if cmid not in acked:
                await c2.say("resend", client_msg_id=cmid)
        await c2.close()
    finally:
        server.stop()
