"""Handoff in two browsers: the customer's widget and the agent console at /agent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, Tab, stored_conversation, wait_until
from tests.harness import LiveServer

pytestmark = pytest.mark.browser

CHAT = "cardcare-chat"


def customer_asks_for_a_person(
    tab: Tab, server: LiveServer, customer_id: str = "C001", text: str = "转人工", lang: str = "zh-CN"
) -> str:
    tab.page.goto(f"{server.http}/?customer={customer_id}&lang={lang}")
    tab.page.locator(f"{CHAT} .launcher").click()
    expect(tab.page.locator(f"{CHAT} .cc")).to_have_attribute("data-conn", "open")
    tab.page.locator(f"{CHAT} textarea").fill(text)
    tab.page.locator(f"{CHAT} textarea").press("Enter")
    expect(tab.page.locator(f"{CHAT} .msg-bot:not(.welcome)")).to_have_count(1)
    return str(wait_until(lambda: stored_conversation(tab, customer_id).get("conversation_id")))


def agent_signs_in(new_tab: Callable[..., Tab], server: LiveServer, agent_id: str = "zhangmin") -> Tab:
    tab = new_tab(viewport=DESKTOP)
    offset = getattr(server, "clock_offset", None)
    if offset:
        # The server's clock is moved into agents' hours; the console's SLA countdowns follow it.
        tab.context.clock.set_system_time(datetime.now(UTC) + offset)
    tab.page.goto(server.http + "/agent")
    tab.page.locator(f"[data-agent={agent_id}]").click()
    expect(tab.page.locator(".conn-open")).to_be_visible()
    return tab


def claim(agent: Tab, conversation_id: str) -> None:
    item = agent.page.locator(f'.q-item[data-conversation="{conversation_id}"]')
    expect(item).to_be_visible()
    item.locator("button").click()
    expect(agent.page.locator(".tab[aria-selected=true]")).to_be_visible()
    expect(agent.page.locator(".chat .composer-input")).to_be_visible()


def test_customer_waiting_for_a_person_sees_position_and_eta(
    server: LiveServer, new_tab: Callable[..., Tab]
) -> None:
    customer = new_tab()
    customer_asks_for_a_person(customer, server)
    bar = customer.page.locator(f"{CHAT} .banner-handoff")
    expect(bar).to_be_visible()
    expect(bar).to_have_attribute("data-state", "queued")
    expect(bar).to_contain_text("正在为您转接人工客服")
    expect(bar.locator(".bar-detail")).to_contain_text("排在第")
    customer.shot("widget-waiting-zh")


def test_agent_claims_reads_the_context_replies_and_hands_back(
    server: LiveServer, new_tab: Callable[..., Tab]
) -> None:
    customer = new_tab()
    conversation_id = customer_asks_for_a_person(customer, server)
    agent = agent_signs_in(new_tab, server)
    claim(agent, conversation_id)
    page = agent.page

    # The case file and the conversation show what the customer already said.
    expect(page.locator(".casefile .cf-summary")).to_be_visible()
    expect(page.locator(".casefile")).to_contain_text("转人工")
    expect(page.locator(".timeline .tl-customer", has_text="转人工")).to_be_visible()

    page.locator(".composer-input").fill("您好，我是张敏，请问有什么可以帮您？")
    page.locator(".composer-input").press("Enter")
    reply = customer.page.locator(f"{CHAT} .msg-agent")
    expect(reply).to_have_count(1)
    expect(reply.locator(".who-name")).to_contain_text("张敏")
    expect(reply.locator(".text")).to_have_text("您好，我是张敏，请问有什么可以帮您？")
    expect(customer.page.locator(f"{CHAT} .title")).to_contain_text("张敏")

    # An internal note stays internal.
    page.locator(".mode-note").click()
    page.locator(".composer-input").fill("已核实身份，客户想咨询额度")
    page.locator(".composer-input").press("Enter")
    expect(page.locator(".timeline .tl-note", has_text="已核实身份")).to_be_visible()

    # A draft the compliance guard blocks is not sent and stays in the box for editing.
    page.locator(".mode:not(.mode-note)").click()
    draft = "我保证您的提额申请一定能通过"
    page.locator(".composer-input").fill(draft)
    page.locator(".composer-input").press("Enter")
    expect(page.locator(".blocked")).to_be_visible()
    expect(page.locator(".composer-input")).to_have_value(draft)
    agent.shot("console-chat-zh")
    expect(customer.page.locator(f"{CHAT} .log")).not_to_contain_text("已核实身份")
    expect(customer.page.locator(f"{CHAT} .log")).not_to_contain_text(draft)

    # Hand back: the customer is back with the assistant and carries on.
    page.locator(".chat-actions .btn-secondary").click()
    page.locator(".drawer .btn-primary").click()
    expect(page.locator(".chat-state")).to_be_visible()
    expect(customer.page.locator(f"{CHAT} .handoff-returned")).to_be_visible()
    replies_before = customer.page.locator(f"{CHAT} .msg-bot:not(.welcome)").count()
    customer.page.locator(f"{CHAT} textarea").fill("我有多少积分？")
    customer.page.locator(f"{CHAT} textarea").press("Enter")
    wait_until(lambda: customer.page.locator(f"{CHAT} .msg-bot:not(.welcome)").count() > replies_before)
    expect(customer.page.locator(f"{CHAT} .title")).to_have_text("明光银行智能助手（AI）")
    customer.shot("widget-after-handback-zh")
    assert customer.errors == [] and agent.errors == []


def test_two_chats_as_tabs_close_with_a_disposition_and_the_customer_rates(
    server: LiveServer, new_tab: Callable[..., Tab]
) -> None:
    first = new_tab()
    second = new_tab()
    first_id = customer_asks_for_a_person(first, server, "C001")
    second_id = customer_asks_for_a_person(second, server, "C005")
    agent = agent_signs_in(new_tab, server)
    claim(agent, first_id)
    claim(agent, second_id)
    page = agent.page
    expect(page.locator(".tab")).to_have_count(2)
    expect(page.locator(".tab[aria-selected=true]")).to_have_attribute("data-conversation", second_id)
    page.locator(f'.tab[data-conversation="{first_id}"]').click()
    expect(page.locator(".tab[aria-selected=true]")).to_have_attribute("data-conversation", first_id)
    agent.shot("console-two-chats-zh")

    page.locator(".chat-actions .btn-danger").click()
    page.locator(".drawer select").select_option("resolved")
    page.locator(".drawer .btn-danger").click()
    expect(page.locator(".chat-state")).to_contain_text("已解决")

    # The customer is asked for a 1–5 rating and gives 4 stars with the keyboard.
    stars = first.page.locator(f"{CHAT} .card-csat")
    expect(stars).to_be_visible()
    first.page.locator(f"{CHAT} .star-input").first.focus()
    for _ in range(3):
        first.page.keyboard.press("ArrowRight")
    expect(first.page.locator(f"{CHAT} .star.on")).to_have_count(4)
    first.shot("widget-csat-zh")
    first.page.locator(f"{CHAT} .card-csat .btn-primary").focus()
    first.page.keyboard.press("Enter")
    expect(first.page.locator(f"{CHAT} .csat-thanks")).to_be_visible()
    ratings = [f for f in first.sent() if f["type"] == "action" and f["action_id"] == "csat"]
    assert [r["values"]["rating"] for r in ratings] == [4]


def test_english_customer_waits_and_an_english_speaking_agent_answers(
    server: LiveServer, new_tab: Callable[..., Tab]
) -> None:
    customer = new_tab(locale="en-US")
    conversation_id = customer_asks_for_a_person(
        customer, server, "C004", "I want to talk to a person", "en-US"
    )
    bar = customer.page.locator(f"{CHAT} .banner-handoff")
    expect(bar).to_have_attribute("data-state", "queued")
    expect(bar).to_contain_text("Connecting you to an agent")
    customer.shot("widget-waiting-en")

    agent = agent_signs_in(new_tab, server, "emily")
    expect(agent.page.locator(".col-title").first).to_contain_text("Waiting")
    claim(agent, conversation_id)
    expect(agent.page.locator(".casefile")).to_contain_text("talk to a person")
    agent.page.locator(".composer-input").fill("Hello, this is Emily. How can I help?")
    agent.page.locator(".composer-input").press("Enter")
    expect(customer.page.locator(f"{CHAT} .msg-agent .who-name")).to_have_text("Agent Emily Chen")
    expect(customer.page.locator(f"{CHAT} .banner-handoff")).to_contain_text("Emily Chen has joined the chat")
    agent.shot("console-en")
    customer.shot("widget-agent-en")
