"""The customer widget in a real browser: flaky networks, hostile text, keyboard-only use, reloads."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import (
    Tab,
    deep_focus,
    rendered_items,
    server_events,
    stored_conversation,
    wait_until,
)
from tests.harness import LiveServer

pytestmark = pytest.mark.browser

CHAT = "cardcare-chat"


def open_widget(tab: Tab, server: LiveServer, query: str = "") -> None:
    tab.page.goto(server.http + "/" + query)
    tab.page.locator(f"{CHAT} .launcher").click()
    expect(tab.page.locator(f"{CHAT} .panel")).to_be_visible()
    expect(tab.page.locator(f"{CHAT} .cc")).to_have_attribute("data-conn", "open")


def say(tab: Tab, text: str) -> None:
    tab.page.locator(f"{CHAT} textarea").fill(text)
    tab.page.locator(f"{CHAT} textarea").press("Enter")


def customer_bubbles(tab: Tab, text: str) -> Any:
    return tab.page.locator(f"{CHAT} .msg-customer .text", has_text=text)


def settled_events(
    server: LiveServer, customer_id: str, conversation_id: str, texts: list[str]
) -> list[dict[str, Any]]:
    """The stored events once every text is stored and every turn it started has finished."""

    def stored() -> bool:
        events = server_events(server.http, customer_id, conversation_id)
        return sorted(
            e["text"] for e in events if e.get("role") == "customer" and e["type"] == "message"
        ) == sorted(texts)

    wait_until(stored)
    loop = server.rt.extras["loop"]
    asyncio.run_coroutine_threadsafe(server.rt.conversations.idle(), loop).result(timeout=30)
    return server_events(server.http, customer_id, conversation_id)


def test_widget_survives_a_dropped_connection_without_losing_or_doubling_messages(
    server: LiveServer, new_tab: Callable[..., Tab]
) -> None:
    tab = new_tab()
    open_widget(tab, server)
    say(tab, "第一条：你好")
    expect(tab.page.locator(f"{CHAT} .msg-customer[data-status=sent]")).to_have_count(1)
    expect(tab.page.locator(f"{CHAT} .msg-bot:not(.welcome)")).to_have_count(1)

    # The network goes away and the socket with it; the customer keeps typing.
    tab.context.set_offline(True)
    tab.page.evaluate("() => window.__cc.sockets.forEach((s) => s.close())")
    expect(tab.page.locator(f"{CHAT} .banner-offline")).to_be_visible()
    say(tab, "离线时发的第二条")
    say(tab, "离线时发的第三条")
    expect(tab.page.locator(f"{CHAT} .msg-customer[data-status=pending]")).to_have_count(2)
    tab.shot("widget-offline-zh")

    tab.context.set_offline(False)
    expect(tab.page.locator(f"{CHAT} .banner-offline")).to_be_hidden()
    expect(tab.page.locator(f"{CHAT} .msg-customer[data-status=sent]")).to_have_count(3)

    # A second drop while online (server side closes, e.g. a deploy): the widget resumes with last_seq.
    tab.page.evaluate("() => window.__cc.sockets.at(-1).close()")
    say(tab, "重连后的第四条")
    texts = ["第一条：你好", "离线时发的第二条", "离线时发的第三条", "重连后的第四条"]
    conversation_id = stored_conversation(tab)["conversation_id"]
    events = settled_events(server, "C001", conversation_id, texts)

    for text in texts:
        expect(customer_bubbles(tab, text)).to_have_count(1)
    shown = wait_until(lambda: (items := rendered_items(tab)) and len(items) == len(events) and items)
    assert [i["seq"] for i in shown] == [e["seq"] for e in events], (
        "every stored event exactly once, in order"
    )
    messages = [(i["seq"], i["text"]) for i in shown if i["role"] in ("customer", "bot", "agent")]
    assert messages == [(e["seq"], e["text"]) for e in events if e["type"] == "message"]
    hellos = [f for f in tab.sent() if f["type"] == "hello"]
    assert len(hellos) >= 3
    assert all(h["conversation_id"] == conversation_id for h in hellos[1:])
    assert all(h.get("last_seq", 0) > 0 for h in hellos[1:])
    cmids = [f["client_msg_id"] for f in tab.sent() if f["type"] == "message"]
    assert len(set(cmids)) == len(texts), "a resend reuses the client_msg_id"
    tab.shot("widget-reconnected-zh")


def test_a_reload_resumes_the_conversation_from_storage(
    server: LiveServer, new_tab: Callable[..., Tab]
) -> None:
    tab = new_tab()
    open_widget(tab, server)
    say(tab, "查一下我的账单")
    # The reply streams into a bubble before it has a seq; wait for the stored (settled) reply.
    expect(tab.page.locator(f"{CHAT} .msg-bot:not(.welcome)[data-seq]")).to_have_count(1)
    expect(tab.page.locator(f"{CHAT} .msg-bot[data-streaming]")).to_have_count(0)
    before = rendered_items(tab)
    assert [i["role"] for i in before] == ["customer", "bot"]
    conversation_id = stored_conversation(tab)["conversation_id"]

    tab.page.reload()
    tab.page.locator(f"{CHAT} .launcher").click()
    expect(tab.page.locator(f"{CHAT} .msg-bot:not(.welcome)[data-seq]")).to_have_count(1)
    assert wait_until(lambda: rendered_items(tab) == before)
    assert stored_conversation(tab)["conversation_id"] == conversation_id


def test_hostile_markup_is_shown_as_text(server: LiveServer, new_tab: Callable[..., Tab]) -> None:
    tab = new_tab()
    open_widget(tab, server)
    hostile = "<img src=x onerror=alert(1)>"
    say(tab, hostile)
    expect(customer_bubbles(tab, hostile)).to_have_count(1)
    expect(customer_bubbles(tab, hostile)).to_have_text(hostile)
    expect(tab.page.locator(f"{CHAT} .msg-customer[data-status=sent]")).to_have_count(1)
    expect(tab.page.locator(f"{CHAT} .msg-bot:not(.welcome)")).to_have_count(1)
    assert tab.page.locator(f"{CHAT} img").count() == 0
    assert (
        tab.page.evaluate(
            "() => document.querySelector('cardcare-chat').shadowRoot.querySelectorAll('img').length"
        )
        == 0
    )
    assert tab.dialogs == []
    assert tab.errors == []


def test_keyboard_only_use_of_the_widget(server: LiveServer, new_tab: Callable[..., Tab]) -> None:
    tab = new_tab()
    page = tab.page
    page.goto(server.http + "/")
    expect(page.locator(f"{CHAT} .launcher")).to_be_visible()
    expect(page.locator("#card-amount")).not_to_have_text("—")
    tab.shot("demo-home-zh")

    for _ in range(12):
        page.keyboard.press("Tab")
        if "launcher" in deep_focus(tab)["cls"]:
            break
    focus = deep_focus(tab)
    assert "launcher" in focus["cls"], focus
    assert focus["label"] == "打开明光银行智能助手"
    assert focus["outline"] != "none", "a visible focus ring"

    page.keyboard.press("Enter")
    expect(page.locator(f"{CHAT} .panel")).to_be_visible()
    assert deep_focus(tab)["tag"] == "textarea"
    expect(page.locator(f"{CHAT} .cc")).to_have_attribute("data-conn", "open")
    page.keyboard.type("你好")
    page.keyboard.press("Enter")
    expect(customer_bubbles(tab, "你好")).to_have_count(1)
    assert page.locator(f"{CHAT} textarea").input_value() == ""

    page.keyboard.press("Shift+Tab")
    assert deep_focus(tab)["quick"] == "points"
    page.keyboard.press("Enter")
    expect(customer_bubbles(tab, "我有多少积分？")).to_have_count(1)

    # Focus stays in the full-screen panel: after the send button it wraps to the first control.
    page.keyboard.press("Tab")
    assert deep_focus(tab)["tag"] == "textarea"
    page.keyboard.press("Tab")
    assert "send" in deep_focus(tab)["cls"]
    page.keyboard.press("Tab")
    assert "close" in deep_focus(tab)["cls"]
    tab.shot("widget-keyboard-zh")

    page.keyboard.press("Escape")
    expect(page.locator(f"{CHAT} .panel")).to_be_hidden()
    assert "launcher" in deep_focus(tab)["cls"]
    assert tab.errors == []


def test_english_widget_for_an_english_speaking_customer(
    server: LiveServer, new_tab: Callable[..., Tab]
) -> None:
    tab = new_tab(locale="en-US")
    page = tab.page
    page.goto(server.http + "/")
    expect(page.locator("#customer")).to_be_enabled()
    old = page.locator(CHAT)
    page.locator("#customer").select_option("C004")
    expect(old).to_have_count(1)
    expect(page.locator(f"{CHAT} .launcher")).to_have_attribute("aria-label", "Open the Lumen Bank assistant")
    page.locator(f"{CHAT} .launcher").click()
    expect(page.locator(f"{CHAT} .title")).to_have_text("Lumen Bank assistant (AI)")
    expect(page.locator(f"{CHAT} .quick-btn")).to_have_text(
        ["Bill", "Installments", "Credit limit", "Lost card", "Points"]
    )
    expect(page.locator(f"{CHAT} .cc")).to_have_attribute("data-conn", "open")
    say(tab, "What is the annual fee?")
    expect(page.locator(f"{CHAT} .msg-bot:not(.welcome)")).to_have_count(1)
    assert stored_conversation(tab, "C004")["conversation_id"]
    tab.shot("widget-en")
    page.locator(f"{CHAT} .quick-btn[data-quick=installment]").click()
    expect(customer_bubbles(tab, "I'd like to pay in installments")).to_have_count(1)
    expect(page.locator(f"{CHAT} .card").last).to_be_visible()
    tab.shot("widget-flow-card-en")


# Delivers a frame as if the server had sent it on the widget's live socket.
SERVER_SAYS = (
    "(f) => window.__cc.sockets.at(-1).dispatchEvent(new MessageEvent('message', {data: JSON.stringify(f)}))"
)
CARDS_FRAME = {
    "type": "message",
    "seq": 1000,
    "role": "bot",
    "message_id": "m_cards_demo",
    "reply_to": 1,
    "text": "这是为您准备的方案：",
    "citations": [
        {
            "article_id": "installment-purchase",
            "locale": "zh",
            "title": "消费分期",
            "section": "手续费",
            "version": 1,
            "snippet": "每期手续费按分期本金收取。",
        }
    ],
    "cards": [
        {
            "type": "table",
            "id": "quote-1",
            "title": "¥3,299.00 分期方案",
            "columns": ["期数", "每期还款", "每期手续费", "年化利率"],
            "rows": [
                {
                    "cells": ["3", "¥1,124.41", "¥24.74", "13.45%"],
                    "action": {
                        "label": "选 3 期",
                        "action_id": "installment.periods",
                        "values": {"periods": 3},
                    },
                },
                {
                    "cells": ["12", "¥296.69", "¥21.77", "14.31%"],
                    "action": {
                        "label": "选 12 期",
                        "action_id": "installment.periods",
                        "values": {"periods": 12},
                    },
                },
            ],
            "footnote": "手续费按本金每期收取。",
        },
        {
            "type": "form",
            "id": "limit-form",
            "title": "临时额度申请",
            "fields": [
                {
                    "name": "amount",
                    "label": "新额度",
                    "kind": "number",
                    "min": 30001,
                    "max": 45000,
                    "required": True,
                },
                {
                    "name": "days",
                    "label": "天数",
                    "kind": "select",
                    "options": [["30", "30天"], ["60", "60天"], ["90", "90天"]],
                },
            ],
            "submit": {"label": "提交申请", "action_id": "limit.submit"},
        },
        {"type": "info", "id": "limit-calc", "title": "额度测算", "lines": [["当前额度", "¥30,000.00"]]},
        {
            "type": "link",
            "id": "app-limit",
            "title": "在 App 中查看",
            "label": "打开额度页",
            "url": "app://card/limit-increase?card=K00101",
        },
        {"type": "link", "id": "evil", "title": "可疑链接", "label": "点我", "url": "javascript:alert(1)"},
    ],
}


def test_cards_render_safely_validate_forms_and_send_each_action_once(
    server: LiveServer, new_tab: Callable[..., Tab]
) -> None:
    """The server's card shapes (docs/protocol.md), delivered as a frame on the live socket.

    The clicks happen offline, so no reply from the live engine moves the transcript under the
    pointer; what each click queued is read from the widget's outbox, then sent on reconnect.
    """
    tab = new_tab()
    open_widget(tab, server)
    page = tab.page
    page.evaluate(SERVER_SAYS, CARDS_FRAME)
    table = page.locator(f"{CHAT} .card-table")
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(page.locator(f"{CHAT} .card-link a")).to_have_attribute(
        "href", "app://card/limit-increase?card=K00101"
    )
    expect(page.locator(f"{CHAT} .card-link .link-unsafe")).to_contain_text("点我")
    assert page.locator(f'{CHAT} a[href^="javascript"]').count() == 0
    tab.context.set_offline(True)
    expect(page.locator(f"{CHAT} .banner-offline")).to_be_visible()
    table.scroll_into_view_if_needed()
    tab.shot("widget-cards-table-zh")

    def queued() -> list[tuple[str, dict[str, Any]]]:
        return [(o["action_id"], o["values"]) for o in stored_conversation(tab).get("outbox", [])]

    table.locator("tbody tr").nth(1).locator("button").dblclick()
    expect(table.locator("button[data-chosen]")).to_have_text("已选择: 选 12 期")
    expect(table.locator("tbody tr").nth(0).locator("button")).to_be_disabled()
    assert queued() == [("installment.periods", {"periods": 12})]

    form = page.locator(f"{CHAT} .card-form")
    form.locator("button[type=submit]").click()
    expect(form.locator(".field-error").first).to_have_text("请填写新额度")
    form.get_by_label("新额度").fill("30000")
    form.locator("button[type=submit]").click()
    expect(form.locator(".field-error").first).to_have_text("新额度不能小于 30001")
    assert len(queued()) == 1
    form.get_by_label("新额度").fill("40,000")
    form.get_by_label("天数").select_option("60")
    form.locator("button[type=submit]").dblclick()
    expect(form.locator("button[type=submit]")).to_be_disabled()
    assert queued() == [
        ("installment.periods", {"periods": 12}),
        ("limit.submit", {"amount": 40000, "days": "60"}),
    ]
    expect(
        page.locator(f"{CHAT} .msg-customer .text", has_text="提交申请 · 新额度 40000 · 天数 60天")
    ).to_have_count(1)
    tab.shot("widget-cards-zh")

    tab.context.set_offline(False)
    wait_until(lambda: stored_conversation(tab).get("outbox") == [])
    actions = [(f["action_id"], f["values"]) for f in tab.sent() if f["type"] == "action"]
    assert actions == [
        ("installment.periods", {"periods": 12}),
        ("limit.submit", {"amount": 40000, "days": "60"}),
    ]
    assert tab.dialogs == [] and tab.errors == []
