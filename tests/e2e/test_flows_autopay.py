"""Autopay over the real socket: full or minimum, change, turn off; effective from the next statement."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest

from tests.e2e.test_flows_common import (
    DIGRESSION,
    Chat,
    assert_digression_answered,
    assert_flow,
    assert_refused_as_stale,
    cancel_button,
    confirm_button,
    conversation_state,
    duplicate_confirmation,
    effects,
    fid_of,
    flow_of,
    fresh_customer,
    module_server,
    option,
    snapshot,
)
from tests.harness import LiveServer

FLOW = "autopay"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    yield from module_server(tmp_path_factory)


async def autopay(server: LiveServer, cid: str) -> object:
    return (await snapshot(server, cid))["cards"][0]["autopay"]


async def next_statement(server: LiveServer, cid: str, lang: str) -> str:
    """The next statement date as the reply writes it, computed here from the card's statement day."""
    day = int((await snapshot(server, cid))["cards"][0]["statement_day"])
    d: date = server.rt.cards.today() + timedelta(days=1)
    while d.day != day:
        d += timedelta(days=1)
    return f"{d.month}月{d.day}日" if lang == "zh" else d.strftime("%b ") + str(d.day)


async def test_full_amount_typed_zh_in_three_steps(server: LiveServer) -> None:
    cid = await fresh_customer(server, "C001")
    chat = await Chat.open(server, cid, "zh")
    choose = await chat.say("我想开通自动还款")
    assert_flow(choose, FLOW, step="choose")
    assert "没有开通" in choose["text"]
    confirm = await chat.say("全额还款")
    assert_flow(confirm, FLOW, step="confirm")
    assert await next_statement(server, cid, "zh") in confirm["text"]
    done = await chat.say("确认")
    assert_flow(done, FLOW, "completed")
    assert chat.sent == 3
    assert "下期账单" in done["text"] and await next_statement(server, cid, "zh") in done["text"]
    assert await autopay(server, cid) == "full"
    await chat.close()


@pytest.mark.parametrize(("source", "lang", "ask"), [("C001", "zh", "设置自动还款"), ("C004", "en", "set up autopay")])
async def test_minimum_by_clicks(server: LiveServer, source: str, lang: str, ask: str) -> None:
    cid = await fresh_customer(server, source)
    chat = await Chat.open(server, cid, lang)
    choose = await chat.say(ask)
    confirm = await chat.press(option(choose, action="autopay.mode", mode="minimum"))
    done = await chat.press(confirm_button(confirm))
    assert_flow(done, FLOW, "completed")
    assert chat.sent == 3
    assert await autopay(server, cid) == "minimum"
    await chat.close()


async def test_mode_said_up_front_en_takes_two_steps(server: LiveServer) -> None:
    cid = await fresh_customer(server, "C004")
    chat = await Chat.open(server, cid, "en")
    confirm = await chat.say("set up autopay for the full amount")
    assert_flow(confirm, FLOW, step="confirm")
    done = await chat.say("yes")
    assert_flow(done, FLOW, "completed")
    assert chat.sent == 2
    assert "next statement" in done["text"] and await next_statement(server, cid, "en") in done["text"]
    assert await autopay(server, cid) == "full"
    await chat.close()


@pytest.mark.parametrize(
    ("lang", "text", "want"),
    [
        ("zh", "关闭自动还款", None),
        ("en", "turn off autopay", None),
        ("zh", "自动还款改成按最低还款额", "minimum"),
    ],
)
async def test_change_or_turn_off_an_existing_autopay(
    server: LiveServer, lang: str, text: str, want: str | None
) -> None:
    cid = await fresh_customer(server, "C002")  # autopay of the full balance
    chat = await Chat.open(server, cid, lang)
    confirm = await chat.say(text)
    assert_flow(confirm, FLOW, step="confirm")
    done = await chat.press(confirm_button(confirm))
    assert_flow(done, FLOW, "completed")
    assert await autopay(server, cid) == want
    await chat.close()


async def test_asking_for_what_is_already_set_changes_nothing(server: LiveServer) -> None:
    cid = await fresh_customer(server, "C002")
    before = effects(await snapshot(server, cid))
    chat = await Chat.open(server, cid, "zh")
    reply = await chat.say("帮我设置自动还款全额")
    assert_flow(reply, FLOW, "completed")
    assert "不需要修改" in reply["text"]
    assert effects(await snapshot(server, cid)) == before
    await chat.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_digression_at_the_choice_then_carry_on(server: LiveServer, lang: str) -> None:
    cid = await fresh_customer(server, "C001")
    chat = await Chat.open(server, cid, lang)
    choose = await chat.say("我想开通自动还款" if lang == "zh" else "set up autopay")
    side = await chat.say(DIGRESSION[lang])
    assert_digression_answered(side, "choices", fid_of(choose))
    confirm = await chat.press(option(side, action="autopay.mode", mode="full"))
    done = await chat.press(confirm_button(confirm))
    assert_flow(done, FLOW, "completed")
    assert await autopay(server, cid) == "full"
    await chat.close()


@pytest.mark.parametrize(("lang", "how"), [("zh", "算了"), ("en", "never mind"), ("en", "click")])
async def test_cancel_changes_nothing(server: LiveServer, lang: str, how: str) -> None:
    cid = await fresh_customer(server, "C001")
    before = effects(await snapshot(server, cid))
    chat = await Chat.open(server, cid, lang)
    confirm = await chat.say("自动还款全额" if lang == "zh" else "set up autopay for the full amount")
    bye = await chat.press(cancel_button(confirm)) if how == "click" else await chat.say(how)
    assert flow_of(bye)["status"] == "cancelled"
    assert effects(await snapshot(server, cid)) == before
    await chat.close()


async def test_duplicated_confirmation_sets_it_once(server: LiveServer) -> None:
    cid = await fresh_customer(server, "C001")
    chat = await Chat.open(server, cid, "zh")
    confirm = await chat.say("自动还款全额")
    done, again = await duplicate_confirmation(server, chat, confirm_button(confirm))
    assert_flow(done, FLOW, "completed")
    (refused,) = again
    assert_refused_as_stale(refused)
    state = await conversation_state(server, chat.conversation_id)
    assert [a["kind"] for a in state["actions"]] == ["autopay_set"]
    assert await autopay(server, cid) == "full"
    await chat.close()
