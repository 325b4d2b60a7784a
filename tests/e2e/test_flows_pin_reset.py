"""PIN help over the real socket: one step, no side effect, and digits typed in chat never come back.

The flow has a single step, so there is no middle to digress from or cancel at; what these
tests pin instead is that it ends in that one step, changes nothing, and keeps a typed PIN
out of everything the assistant sends and stores.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.test_flows_common import (
    Chat,
    assert_flow,
    cards_of,
    effects,
    fresh_customer,
    module_server,
    option,
    snapshot,
)
from tests.harness import LiveServer

FLOW = "pin_reset"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    yield from module_server(tmp_path_factory)


def assert_guidance(reply: dict[str, object], lang: str) -> None:
    assert_flow(reply, FLOW, "completed")  # type: ignore[arg-type]
    (link,) = cards_of(reply, "link")  # type: ignore[arg-type]
    assert link["url"] == "app://card/pin"
    text = str(reply["text"])
    if lang == "zh":
        assert "App" in text and "3次" in text and "第二天" in text and "不会索要" in text
    else:
        assert "app" in text and "3 wrong tries" in text and "next day" in text and "never ask" in text


async def test_a_question_about_pin_rules_gets_a_cited_answer_and_the_flow_offered(server: LiveServer) -> None:
    cid = await fresh_customer(server, "C001")
    chat = await Chat.open(server, cid, "zh")
    reply = await chat.say("密码输错几次会被锁？")
    assert "3" in str(reply["text"])
    assert [c["article_id"] for c in reply["citations"]] == ["pin-management"]  # type: ignore[index]
    (offer,) = cards_of(reply, "choices")  # type: ignore[arg-type]
    assert offer["options"][0]["values"] == {"flow": FLOW}
    await chat.close()


@pytest.mark.parametrize(("lang", "text"), [("zh", "我忘记密码了"), ("en", "I forgot my PIN")])
async def test_guidance_in_one_step_and_nothing_changes(server: LiveServer, lang: str, text: str) -> None:
    cid = await fresh_customer(server, "C001")
    before = effects(await snapshot(server, cid))
    chat = await Chat.open(server, cid, lang)
    reply = await chat.say(text)
    assert chat.sent == 1
    assert_guidance(reply, lang)
    assert effects(await snapshot(server, cid)) == before
    await chat.close()


@pytest.mark.parametrize(
    ("lang", "text", "digits"),
    [
        ("zh", "我的密码是123456，帮我重置", "123456"),
        ("en", "my PIN is 4321, can you reset it", "4321"),
    ],
)
async def test_a_typed_pin_is_never_echoed_nor_stored(
    server: LiveServer, lang: str, text: str, digits: str
) -> None:
    cid = await fresh_customer(server, "C001")
    chat = await Chat.open(server, cid, lang)
    reply = await chat.say(text)
    assert_guidance(reply, lang)
    assert digits not in reply["text"]
    assert ("已被隐藏" in reply["text"]) if lang == "zh" else ("hidden" in reply["text"])
    assert not [f for f in chat.frames if digits in str(f)]  # not in the echo, the deltas or the reply
    events = await server.call(lambda: server.rt.store.events_after(chat.conversation_id, 0))
    assert events and not [e for e in events if digits in str(e.data)]
    await chat.close()


@pytest.mark.parametrize(
    ("lang", "question"), [("zh", "密码忘了怎么办"), ("en", "What happens if I forget my PIN?")]
)
async def test_started_from_the_offer_under_an_answer(server: LiveServer, lang: str, question: str) -> None:
    cid = await fresh_customer(server, "C001")
    chat = await Chat.open(server, cid, lang)
    answer = await chat.say(question)
    assert answer["citations"]
    guidance = await chat.press(option(answer, action="flow.start", flow="pin_reset"))
    assert_guidance(guidance, lang)
    await chat.close()
