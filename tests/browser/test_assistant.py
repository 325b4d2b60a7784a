"""The assistant's answers in the widget: a streamed, cited answer and an in-chat flow run by clicking cards.

Both depend on the engine: the answer must cite its source (``message.citations``) and stream
(``delta`` frames), and the installment flow must walk choices/table → confirm → done.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Tab, wait_until
from tests.harness import LiveServer

pytestmark = pytest.mark.browser

CHAT = "cardcare-chat"


def open_widget(tab: Tab, server: LiveServer) -> None:
    tab.page.goto(server.http + "/")
    tab.page.locator(f"{CHAT} .launcher").click()
    expect(tab.page.locator(f"{CHAT} .cc")).to_have_attribute("data-conn", "open")


def test_fee_question_gets_a_streamed_answer_with_a_source_chip(
    server: LiveServer, new_tab: Callable[..., Tab]
) -> None:
    tab = new_tab()
    open_widget(tab, server)
    tab.page.locator(f"{CHAT} textarea").fill("年费多少？")
    tab.page.locator(f"{CHAT} textarea").press("Enter")
    answer = tab.page.locator(f"{CHAT} .msg-bot:not(.welcome)").last
    expect(answer).to_be_visible()
    expect(answer).not_to_have_attribute("data-streaming", "")

    final = [f for f in tab.received() if f.get("type") == "message" and f.get("role") == "bot"][-1]
    deltas = [
        f for f in tab.received() if f.get("type") == "delta" and f.get("message_id") == final["message_id"]
    ]
    assert deltas, "the answer was streamed as delta frames before the final message"
    assert final["citations"], "a fee answer cites the bank's article it comes from"

    chip = answer.locator(".chip").first
    expect(chip).to_be_visible()
    expect(chip).to_contain_text(final["citations"][0]["title"])
    chip.click()
    expect(chip).to_have_attribute("aria-expanded", "true")
    detail = answer.locator(".source-detail")
    expect(detail).to_be_visible()
    if final["citations"][0].get("snippet"):
        expect(detail.locator(".source-snippet")).to_have_text(final["citations"][0]["snippet"])
    tab.shot("widget-answer-with-source-zh")


def click_card_button(tab: Tab, card: str, text: str) -> None:
    button = tab.page.locator(f"{CHAT} {card} button", has_text=text).last
    expect(button).to_be_enabled()
    button.dblclick()  # a double click must not send the action twice


def test_installment_flow_by_clicking_cards(server: LiveServer, new_tab: Callable[..., Tab]) -> None:
    tab = new_tab()
    open_widget(tab, server)
    tab.page.locator(f"{CHAT} .quick-btn[data-quick=installment]").click()
    expect(tab.page.locator(f"{CHAT} .msg-customer .text", has_text="我想分期")).to_have_count(1)

    # Which purchase: the ¥3,299.00 one at 京东 (a choices card, or rows of a table card).
    pick = tab.page.locator(f"{CHAT} .card-choices button, {CHAT} .card-table button", has_text="3,299").last
    expect(pick).to_be_visible()
    tab.shot("widget-flow-pick-zh")
    if tab.page.locator(f"{CHAT} .card-choices button", has_text="3,299").count():
        click_card_button(tab, ".card-choices", "3,299")
    else:
        tab.page.locator(f"{CHAT} .card-table tr", has_text="3,299").last.locator("button").dblclick()

    # How many periods: the quote table; pick 12.
    row = tab.page.locator(f"{CHAT} .card-table tr", has=tab.page.locator("td.lead", has_text="12")).last
    expect(row).to_be_visible()
    tab.page.locator(f"{CHAT} .card-table").last.evaluate("(card) => card.scrollIntoView({block: 'start'})")
    tab.shot("widget-flow-card-zh")
    row.locator("button").dblclick()
    expect(row.locator("button")).to_have_attribute("data-chosen", "")

    confirm = tab.page.locator(f"{CHAT} .card-confirm").last
    expect(confirm).to_be_visible()
    expect(confirm).to_contain_text("3,299.00")
    replies_before = tab.page.locator(f"{CHAT} .msg-bot:not(.welcome)").count()
    confirm.locator(".btn-primary").dblclick()
    expect(confirm.locator(".btn-primary")).to_have_attribute("data-chosen", "")
    expect(confirm.locator(".btn-secondary")).to_be_disabled()

    actions = [f for f in tab.sent() if f["type"] == "action"]
    assert len(actions) == len({(a["action_id"], str(sorted(a["values"].items()))) for a in actions}), (
        "each clicked button sent exactly one action"
    )

    # Done: the plan exists in the card system and the assistant answers the confirmation.
    def plan() -> list[dict[str, object]]:
        state = httpx.get(server.http + "/api/v1/demo/customers/C001/state").json()
        return [p for p in state.get("plans", []) if Decimal(str(p["principal"])) == Decimal("3299.00")]

    made = wait_until(plan)
    assert made[-1]["periods"] == 12
    wait_until(lambda: tab.page.locator(f"{CHAT} .msg-bot:not(.welcome)").count() > replies_before)
    tab.shot("widget-flow-done-zh")
