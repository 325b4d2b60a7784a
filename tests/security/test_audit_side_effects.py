"""Every side effect a flow performs in the card system is in the append-only audit log."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.harness import ChatClient, LiveServer, ShiftedClock, demo_token, live_server, make_settings


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(make_settings(tmp_path_factory.mktemp("var")), clock=ShiftedClock(10)) as s:
        yield s


async def test_freeze_replacement_and_plan_are_audited_with_their_keys(server: LiveServer) -> None:
    c = ChatClient(server.ws, await demo_token(server.http, "C001"))
    await c.connect()
    conv = c.welcome["conversation_id"]
    frozen = await c.ask("我的卡丢了")
    option = next(o for card in frozen["cards"] if card["type"] == "choices" for o in card["options"]
                  if o["action_id"] == "lostcard.delivery")
    await c.click(option["action_id"], option["values"])
    await c.reply()
    await c.close()
    await server.call(server.rt.conversations.idle)
    log = await server.call(lambda: server.rt.store.audit_log())
    mine = [e for e in log if e.target == conv]
    actions = [e.action for e in mine]
    assert actions[:2] == ["card.frozen", "card.replacement_ordered"]
    freeze = mine[0]
    assert freeze.actor == "assistant" and freeze.details["customer"] == "C001"
    assert freeze.details["key"].startswith(conv) and freeze.details["result"]["status"] == "frozen"


async def test_a_refused_side_effect_is_audited_too(server: LiveServer) -> None:
    from bot.errors import CardSystemError

    async def freeze_twice() -> str:
        card = (await server.rt.cards.cards("C003"))[0]
        await server.rt.cards.freeze_card("C003", card.id, reason="lost", key="c_audit:f1:freeze")
        try:
            await server.rt.cards.freeze_card("C003", card.id, reason="lost", key="c_audit:f2:freeze")
        except CardSystemError as exc:
            return exc.code
        return "no error"

    assert await server.call(freeze_twice) == "card_frozen"
    log = await server.call(lambda: server.rt.store.audit_log())
    mine = [(e.action, e.details.get("code")) for e in log if e.target == "c_audit"]
    assert mine == [("card.frozen", None), ("card.frozen.refused", "card_frozen")]
