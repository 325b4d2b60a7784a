"""Card activation over the real socket: confirm, activate once, then PIN and autopay."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import timedelta

import pytest

from tests.e2e.test_flows_common import (
    DIGRESSION,
    Chat,
    assert_digression_answered,
    assert_flow,
    assert_refused_as_stale,
    cancel_button,
    cards_of,
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

FLOW = "activation"
ASK = {"zh": "我要激活新卡", "en": "activate my card"}
YES = {"zh": "确认", "en": "yes"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    yield from module_server(tmp_path_factory)


async def status(server: LiveServer, cid: str) -> str:
    return str((await snapshot(server, cid))["cards"][0]["status"])


def assert_activated(done: dict[str, object], lang: str) -> None:
    assert_flow(done, FLOW, "completed")  # type: ignore[arg-type]
    (link,) = cards_of(done, "link")  # type: ignore[arg-type]
    assert link["url"] == "app://card/pin"
    assert option(done, action="flow.start", flow="autopay")  # type: ignore[arg-type]
    text = str(done["text"])
    assert "3310" in text and ("3次" in text if lang == "zh" else "3 wrong tries" in text)


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_activation_typed_in_two_steps(server: LiveServer, lang: str) -> None:
    cid = await fresh_customer(server, "C005")
    chat = await Chat.open(server, cid, lang)
    confirm = await chat.say(ASK[lang])
    assert_flow(confirm, FLOW, step="confirm")
    deadline = server.rt.cards.today() - timedelta(days=12) + timedelta(days=90)
    expected = (
        ["激活期限", f"{deadline.month}月{deadline.day}日"]
        if lang == "zh"
        else ["Activate by", deadline.strftime("%b ") + str(deadline.day)]
    )
    assert expected in cards_of(confirm, "confirm")[0]["lines"]
    assert "90" in confirm["text"]
    done = await chat.say(YES[lang])
    assert chat.sent == 2
    assert_activated(done, lang)
    assert await status(server, cid) == "active"
    await chat.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_activation_by_click_then_autopay_offer_starts_autopay(server: LiveServer, lang: str) -> None:
    cid = await fresh_customer(server, "C005")
    chat = await Chat.open(server, cid, lang)
    confirm = await chat.say(ASK[lang])
    done = await chat.press(confirm_button(confirm))
    assert chat.sent == 2
    assert_activated(done, lang)
    autopay = await chat.press(option(done, action="flow.start", flow="autopay"))
    assert_flow(autopay, "autopay", step="choose")
    state = await conversation_state(server, chat.conversation_id)
    assert [a["kind"] for a in state["actions"]] == ["card_activated"]
    await chat.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_digression_at_the_confirmation(server: LiveServer, lang: str) -> None:
    cid = await fresh_customer(server, "C005")
    chat = await Chat.open(server, cid, lang)
    confirm = await chat.say(ASK[lang])
    side = await chat.say(DIGRESSION[lang])
    assert_digression_answered(side, "confirm", fid_of(confirm))
    assert await status(server, cid) == "inactive"
    done = await chat.say(YES[lang])
    assert_activated(done, lang)
    await chat.close()


@pytest.mark.parametrize(("lang", "how"), [("zh", "不用了"), ("en", "no"), ("zh", "click")])
async def test_cancel_leaves_the_card_inactive(server: LiveServer, lang: str, how: str) -> None:
    cid = await fresh_customer(server, "C005")
    before = effects(await snapshot(server, cid))
    chat = await Chat.open(server, cid, lang)
    confirm = await chat.say(ASK[lang])
    bye = await chat.press(cancel_button(confirm)) if how == "click" else await chat.say(how)
    assert flow_of(bye)["status"] == "cancelled"
    assert effects(await snapshot(server, cid)) == before
    assert_refused_as_stale(await chat.press(confirm_button(confirm)))
    assert await status(server, cid) == "inactive"
    await chat.close()


async def test_duplicated_confirmation_activates_once(server: LiveServer) -> None:
    cid = await fresh_customer(server, "C005")
    chat = await Chat.open(server, cid, "zh")
    confirm = await chat.say(ASK["zh"])
    done, again = await duplicate_confirmation(server, chat, confirm_button(confirm))
    assert_activated(done, "zh")
    (refused,) = again
    assert_refused_as_stale(refused)
    state = await conversation_state(server, chat.conversation_id)
    assert [a["kind"] for a in state["actions"]] == ["card_activated"]
    assert await status(server, cid) == "active"
    await chat.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_card_past_its_activation_window_is_explained_with_a_replacement_offered(
    server: LiveServer, lang: str
) -> None:
    cid = await fresh_customer(server, "C005")
    doc = copy.deepcopy(await snapshot(server, cid))
    issued = server.rt.cards.today() - timedelta(days=100)
    doc["cards"][0]["issued_on"] = issued.isoformat()
    await server.call(lambda: server.rt.cards.add_customer_doc(doc))
    chat = await Chat.open(server, cid, lang)
    reply = await chat.say(ASK[lang])
    assert_flow(reply, FLOW, "failed")
    assert "90" in reply["text"]
    assert (f"{issued.month}月{issued.day}日" if lang == "zh" else issued.strftime("%b ")) in reply["text"]
    assert option(reply, action="flow.start", flow="card_replacement")
    assert option(reply, action="handoff.request")
    assert await status(server, cid) == "inactive"
    replace = await chat.press(option(reply, action="flow.start", flow="card_replacement"))
    assert_flow(replace, "card_replacement", step="delivery")
    await chat.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_an_active_card_needs_no_activation(server: LiveServer, lang: str) -> None:
    cid = await fresh_customer(server, "C001")
    before = effects(await snapshot(server, cid))
    chat = await Chat.open(server, cid, lang)
    reply = await chat.say(ASK[lang])
    assert_flow(reply, FLOW, "completed")
    assert "6217" in reply["text"] and ("已经激活" in reply["text"] or "already active" in reply["text"])
    assert effects(await snapshot(server, cid)) == before
    await chat.close()
