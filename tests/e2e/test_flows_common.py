"""Shared pieces of the flow suites (``test_flows_<flow>.py``), and the tests that span flows.

Each flow module starts one real server at module scope. A test gets its own customer: a
copy of a seeded demo customer under a fresh id (``fresh_customer``), so tests that change
the card system never see each other's freezes, plans or cases. ``Chat`` is a customer on
the real ``/ws/chat`` socket that waits for the reply to each of its inputs (by ``reply_to``)
and counts the frames it sent, which is how the suites measure customer steps.
"""

from __future__ import annotations

import asyncio
import copy
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.harness import (
    ChatClient,
    LiveServer,
    ServerProcess,
    copy_index,
    demo_token,
    live_server,
    make_settings,
)

PROCESS_ENV = {
    "CARDCARE_EMBEDDER": "hash",
    "CARDCARE_TOKEN_SECRET": "f" * 48,
    "CARDCARE_DEMO": "true",
    "CARDCARE_REDIS_URL": "",
    "OPENAI_API_KEY": "",
    "OPENAI_BASE_URL": "",
}
DIGRESSION = {"zh": "先问一下，年化利率是多少？", "en": "before I confirm, what's the APR?"}
LOCALES = {"zh": "zh-CN", "en": "en-US"}


# -- servers and customers ---------------------------------------------------------------------


def module_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The body of each flow module's ``server`` fixture: one live server for the module."""
    with live_server(make_settings(tmp_path_factory.mktemp("var"))) as server:
        yield server


async def fresh_customer(server: LiveServer, source: str) -> str:
    """A copy of seeded customer ``source`` under a new id, in the server's card system."""
    new_id = f"{source}-{uuid.uuid4().hex[:6]}"
    doc = copy.deepcopy(await server.call(lambda: server.rt.cards.snapshot(source)))
    doc["customer"]["id"] = new_id
    for card in doc["cards"]:
        card["customer_id"] = new_id
    await server.call(lambda: server.rt.cards.add_customer_doc(doc))
    return new_id


async def snapshot(server: LiveServer, customer_id: str) -> dict[str, Any]:
    data: dict[str, Any] = await server.call(lambda: server.rt.cards.snapshot(customer_id))
    return data


def effects(snap: dict[str, Any]) -> dict[str, Any]:
    """What a flow can change in the card system, for before/after comparisons."""
    return {
        "cards": [
            (
                c["id"],
                c["status"],
                c.get("temp_limit"),
                c.get("temp_limit_until"),
                c.get("autopay"),
                c.get("replaced_by"),
            )
            for c in snap["cards"]
        ],
        "cases": [(c["id"], c["kind"]) for c in snap["cases"]],
        "plans": [(p["id"], p["status"]) for p in snap["plans"]],
        "replacements": [r["id"] for r in snap["replacements"]],
        "limit_increases": list(snap.get("limit_increases", [])),
    }


async def conversation_state(server: LiveServer, conversation_id: str) -> dict[str, Any]:
    await server.call(server.rt.conversations.idle)
    doc, _ = await server.call(lambda: server.rt.store.load_state(conversation_id))
    return dict(doc)


# -- the customer ---------------------------------------------------------------------------------


class Chat:
    """A customer on the chat socket: each input is answered before the next one is sent."""

    def __init__(self, ws: str, token: str, locale: str) -> None:
        self.client = ChatClient(ws, token, locale=locale)
        self.sent = 0

    @classmethod
    async def open(
        cls,
        server: LiveServer | ServerProcess,
        customer_id: str,
        lang: str,
        *,
        conversation_id: str | None = None,
        last_seq: int | None = None,
    ) -> Chat:
        chat = cls(server.ws, await demo_token(server.http, customer_id), LOCALES[lang])
        await chat.client.connect(conversation_id=conversation_id, last_seq=last_seq)
        return chat

    @property
    def conversation_id(self) -> str:
        return str(self.client.welcome["conversation_id"])

    @property
    def frames(self) -> list[dict[str, Any]]:
        return self.client.frames

    async def say(self, text: str, *, cmid: str | None = None) -> dict[str, Any]:
        """Type ``text``; the assistant's reply to it."""
        cmid = await self.client.say(text, client_msg_id=cmid)
        self.sent += 1
        return await self.reply_to(await self.ack(cmid))

    async def press(self, button: dict[str, Any], *, cmid: str | None = None, **extra: Any) -> dict[str, Any]:
        """Click a card button (with form ``extra`` values); the assistant's reply to it."""
        cmid = await self.send_action(button, cmid=cmid, **extra)
        return await self.reply_to(await self.ack(cmid))

    async def send_action(self, button: dict[str, Any], *, cmid: str | None = None, **extra: Any) -> str:
        """Send a click without waiting for anything."""
        cmid = cmid or self.client.next_id()
        await self.client.send(
            {
                "type": "action",
                "client_msg_id": cmid,
                "action_id": button["action_id"],
                "values": {**button.get("values", {}), **extra},
            }
        )
        self.sent += 1
        return cmid

    async def ack(self, cmid: str) -> int:
        """The seq the server gave input ``cmid`` (from its ack, already seen or still to come)."""
        seen = [f for f in self.frames if f.get("type") == "ack" and f.get("client_msg_id") == cmid]
        if seen:
            return int(seen[-1]["seq"])
        frame = await self.client.until(lambda f: f.get("type") == "ack" and f.get("client_msg_id") == cmid)
        return int(frame["seq"])

    async def acks(self, cmid: str, count: int) -> list[int]:
        """The seqs of ``count`` acks for ``cmid`` (a resent input is acked again)."""
        while (
            sum(1 for f in self.frames if f.get("type") == "ack" and f.get("client_msg_id") == cmid) < count
        ):
            await self.client.recv()
        return [
            int(f["seq"]) for f in self.frames if f.get("type") == "ack" and f.get("client_msg_id") == cmid
        ]

    async def reply_to(self, seq: int) -> dict[str, Any]:
        """The assistant's message answering input ``seq``."""

        def answers(f: dict[str, Any]) -> bool:
            return f.get("type") == "message" and f.get("role") == "bot" and f.get("reply_to") == seq

        seen = [f for f in self.frames if answers(f)]
        if seen:
            return seen[-1]
        return await self.client.until(answers, timeout=30)

    def handoffs(self, status: str | None = None) -> list[dict[str, Any]]:
        return [f for f in self.frames if f.get("type") == "handoff" and status in (None, f.get("status"))]

    async def handoff(self, status: str) -> dict[str, Any]:
        """The first ``handoff`` frame with ``status`` (seen already or still to come)."""
        seen = self.handoffs(status)
        if seen:
            return seen[0]
        return await self.client.until(
            lambda f: f.get("type") == "handoff" and f.get("status") == status, timeout=15
        )

    async def close(self) -> None:
        await self.client.close()


# -- reading replies --------------------------------------------------------------------------------


def cards_of(reply: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [c for c in reply.get("cards", []) if c.get("type") == kind]


def option(
    reply: dict[str, Any], label: str | None = None, *, action: str | None = None, **values: Any
) -> dict[str, Any]:
    """A button of a choices card, by words in its label, its action id and/or its values."""
    for card in cards_of(reply, "choices"):
        for o in card["options"]:
            if label is not None and label not in o["label"]:
                continue
            if action is not None and o["action_id"] != action:
                continue
            if all(o["values"].get(k) == v for k, v in values.items()):
                return dict(o)
    raise AssertionError(f"no option {label!r} {action!r} {values!r} in {reply.get('cards')!r}")


def confirm_button(reply: dict[str, Any]) -> dict[str, Any]:
    (card,) = cards_of(reply, "confirm")
    return dict(card["confirm"])


def cancel_button(reply: dict[str, Any]) -> dict[str, Any]:
    (card,) = cards_of(reply, "confirm")
    return dict(card["cancel"])


def flow_of(reply: dict[str, Any]) -> dict[str, Any]:
    """The flow a reply belongs to (``{"id", "status", "step"}``), or ``{}``."""
    return dict((reply.get("meta") or {}).get("flow") or {})


def assert_flow(
    reply: dict[str, Any], flow_id: str, status: str = "continue", step: str | None = None
) -> None:
    """The reply is the flow's own (not the guard's fallback), at ``status`` (and ``step``)."""
    meta = reply.get("meta") or {}
    assert meta.get("handled") == "flow", (meta, reply["text"])
    got = flow_of(reply)
    assert got.get("id") == flow_id and got.get("status") == status, (got, reply["text"])
    if step is not None:
        assert got.get("step") == step, (got, reply["text"])


def assert_digression_answered(reply: dict[str, Any], card_kind: str, fid: str) -> None:
    """A digression's reply: a cited answer first, then the flow's card again (same flow instance)."""
    assert reply["citations"], reply["text"]
    again = [c for c in cards_of(reply, card_kind) if str(c.get("id", "")).startswith(fid)]
    assert again, (card_kind, fid, reply.get("cards"))


def fid_of(reply: dict[str, Any]) -> str:
    """The flow instance id the reply's cards are bound to."""
    for card in reply.get("cards", []):
        for button in [*card.get("options", []), card.get("confirm"), card.get("submit")]:
            if button and button.get("values", {}).get("fid"):
                return str(button["values"]["fid"])
    raise AssertionError(f"no flow card in {reply.get('cards')!r}")


async def duplicate_confirmation(
    server: LiveServer, chat: Chat, button: dict[str, Any]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Send one confirmation three times at once: twice with one client_msg_id, once with another.

    The resent frame is acknowledged with the first one's seq and never answered on its
    own. Returns the reply to the first input and what the assistant said to the second
    one (once every turn has finished): a stale-card refusal, or nothing when the chat
    went to a person meanwhile.
    """
    first = await chat.send_action(button)
    await chat.send_action(button, cmid=first)
    second = await chat.send_action(button)
    seqs = await chat.acks(first, 2)
    assert seqs[0] == seqs[1]
    second_seq = await chat.ack(second)
    done = await chat.reply_to(seqs[0])
    await server.call(server.rt.conversations.idle)
    events = await server.call(lambda: server.rt.store.events_after(chat.conversation_id, 0))

    def answers(seq: int) -> list[dict[str, Any]]:
        return [dict(e.data) for e in events if e.data.get("role") == "bot" and e.data.get("reply_to") == seq]

    assert len(answers(seqs[0])) == 1
    return done, answers(second_seq)


def assert_refused_as_stale(reply: dict[str, Any]) -> None:
    assert not flow_of(reply), reply
    assert "过期" in reply["text"] or "no longer current" in reply["text"], reply["text"]


# -- a server in a child process, for restarts ----------------------------------------------------------


class Restartable:
    """``cardcare serve`` on one var dir, stopped and started again on the same port."""

    def __init__(self, var_dir: Path) -> None:
        copy_index(var_dir)
        self.env = {**PROCESS_ENV, "CARDCARE_VAR_DIR": str(var_dir)}
        self.process = ServerProcess(self.env)

    def start(self) -> Restartable:
        self.process.start()
        return self

    def restart(self) -> None:
        self.process.stop()
        self.process = ServerProcess(self.env, port=self.process.port).start()

    def stop(self) -> None:
        self.process.stop()

    @property
    def ws(self) -> str:
        return self.process.ws

    @property
    def http(self) -> str:
        return self.process.http

    async def state(self, customer_id: str) -> dict[str, Any]:
        async with httpx.AsyncClient() as http:
            r = await http.get(f"{self.http}/api/v1/demo/customers/{customer_id}/state")
            r.raise_for_status()
            data: dict[str, Any] = r.json()
            return data


# -- tests that span flows ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    yield from module_server(tmp_path_factory)


async def test_flow_card_from_a_finished_flow_is_refused_and_changes_nothing(server: LiveServer) -> None:
    cid = await fresh_customer(server, "C001")
    chat = await Chat.open(server, cid, "zh")
    offer = await chat.say("我想开通自动还款")
    full = await chat.press(option(offer, action="autopay.mode", mode="full"))
    done = await chat.press(confirm_button(full))
    assert_flow(done, "autopay", "completed")
    before = effects(await snapshot(server, cid))
    # The minimum-payment choice from the first card belongs to the finished flow instance.
    stale = await chat.press(option(offer, action="autopay.mode", mode="minimum"))
    assert_refused_as_stale(stale)
    assert effects(await snapshot(server, cid)) == before
    await chat.close()


async def test_starting_another_flow_mid_flow_leaves_the_first_one_and_its_cards(server: LiveServer) -> None:
    cid = await fresh_customer(server, "C001")
    chat = await Chat.open(server, cid, "zh")
    limit = await chat.say("我想提额")
    assert_flow(limit, "limit_increase", step="choose")
    replace = await chat.say("我的卡坏了要换卡")
    assert_flow(replace, "card_replacement", step="delivery")
    stale = await chat.press(option(limit, action="limit.pick", kind="temporary"))
    assert_refused_as_stale(stale)
    snap = await snapshot(server, cid)
    assert snap["cards"][0]["temp_limit"] is None and not snap["replacements"]
    state = await conversation_state(server, chat.conversation_id)
    assert [f["flow"] for f in state["flows_done"]] == ["limit_increase"]
    assert state["flow"]["id"] == "card_replacement"
    await chat.close()


def test_every_flow_has_its_own_suite() -> None:
    from bot.flows import FLOWS

    here = Path(__file__).parent
    names = {"installment_early_payoff": "early_payoff", "card_replacement": "replacement"}
    missing = [f for f in FLOWS if not (here / f"test_flows_{names.get(f, f)}.py").exists()]
    assert not missing


async def test_chat_waits_for_the_reply_to_its_own_input(server: LiveServer) -> None:
    """The helper the suites rely on: a reply is matched to its input, not to whatever came next."""
    cid = await fresh_customer(server, "C009")
    chat = await Chat.open(server, cid, "en")
    first = await chat.client.say("hi")
    second = await chat.client.say("What is my credit limit?")
    limit = await chat.reply_to(await chat.ack(second))
    hello = await chat.reply_to(await chat.ack(first))
    assert limit["reply_to"] > hello["reply_to"]
    assert "15,000" in limit["text"]
    await asyncio.wait_for(chat.close(), 5)
