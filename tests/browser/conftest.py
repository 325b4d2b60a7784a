"""Real-browser tests: Debian's Chromium (never a downloaded browser) driven by Playwright's sync API.

The suite shares one live server (uvicorn on a free port, ``tests.harness.LiveServer``): building
the knowledge index dominates start-up, and every test opens fresh browser contexts, so each gets
its own customer conversation anyway. The server's clock is moved into the agents' staffed hours
(08:00–22:00 China time) when the suite runs at night, so handoffs reach a live queue.

Pages get a small init script that records the page's WebSocket traffic (``window.__cc``), so
tests can drop the socket or check what went over the wire without any test hook in the product.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from bot.server.app import create_app
from tests.harness import LiveServer, make_settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}

# Records every socket and every frame both ways. Runs before the page's own scripts and is not
# subject to the page's CSP (it is injected by the browser, not loaded by the page).
SOCKET_RECORDER = """
(() => {
  const Native = window.WebSocket;
  const cc = { sockets: [], received: [], sent: [] };
  class RecordedSocket extends Native {
    constructor(...args) {
      super(...args);
      cc.sockets.push(this);
      this.addEventListener('message', (ev) => {
        try { cc.received.push(JSON.parse(ev.data)); } catch (e) { /* not JSON */ }
      });
    }
    send(data) {
      try { cc.sent.push(JSON.parse(data)); } catch (e) { /* not JSON */ }
      return super.send(data);
    }
  }
  window.WebSocket = RecordedSocket;
  window.__cc = cc;
})();
"""


def staffed_offset(now: datetime) -> timedelta:
    """How far to move the clock so that it is daytime in China (agents on duty): 0 by day."""
    local = now.astimezone(ZoneInfo("Asia/Shanghai"))
    if 9 <= local.hour < 20:
        return timedelta(0)
    target = local.replace(hour=10, minute=0, second=0, microsecond=0)
    if target < local:
        target += timedelta(days=1)
    return target - local


@pytest.fixture(scope="package")
def server(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One cardcare server for the browser suite, its clock inside the agents' hours.

    Depends on ``browser`` so that a machine without Chromium skips before building the index.
    """
    offset = staffed_offset(datetime.now(UTC))
    settings = make_settings(tmp_path_factory.mktemp("browser-var"))
    live = LiveServer(settings, app=create_app(settings, clock=lambda: datetime.now(UTC) + offset))
    live.clock_offset = offset  # type: ignore[attr-defined]
    live.start()
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless. Missing: skip, unless CARDCARE_REQUIRE_BROWSER=1 (CI) → fail."""
    if not CHROMIUM.exists():
        if os.environ.get("CARDCARE_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing and CARDCARE_REQUIRE_BROWSER=1 (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


class Tab:
    """A page plus what the tests look at: dialogs, page errors, the recorded socket traffic."""

    def __init__(self, context: Any, page: Any) -> None:
        self.context = context
        self.page = page
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        page.on("dialog", self._dialog)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def received(self) -> list[dict[str, Any]]:
        return list(self.page.evaluate("() => window.__cc.received"))

    def sent(self) -> list[dict[str, Any]]:
        return list(self.page.evaluate("() => window.__cc.sent"))

    def shot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path


@pytest.fixture
def new_tab(browser: Any) -> Iterator[Callable[..., Tab]]:
    """Open pages in fresh browser contexts (own storage, like separate devices)."""
    contexts: list[Any] = []

    def open_tab(viewport: dict[str, int] = PHONE, locale: str = "zh-CN") -> Tab:
        context = browser.new_context(
            viewport=viewport,
            device_scale_factor=2 if viewport == PHONE else 1,
            locale=locale,
            timezone_id="Asia/Shanghai",
        )
        context.set_default_timeout(15_000)
        context.add_init_script(SOCKET_RECORDER)
        contexts.append(context)
        return Tab(context, context.new_page())

    yield open_tab
    for context in contexts:
        context.close()


def wait_until(check: Callable[[], Any], timeout: float = 15.0, interval: float = 0.05) -> Any:
    """Poll ``check`` until it returns something truthy (a condition, not a sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s: last result {result!r}")
        time.sleep(interval)


def stored_conversation(tab: Tab, customer_id: str = "C001") -> dict[str, Any]:
    """What the widget keeps in sessionStorage for the customer (conversation id, last seq, outbox)."""
    raw = tab.page.evaluate("(key) => sessionStorage.getItem(key)", f"cardcare:v1:{customer_id}")
    return json.loads(raw) if raw else {}


def server_events(http: str, customer_id: str, conversation_id: str) -> list[dict[str, Any]]:
    """The conversation's stored events, read through the customer HTTP API."""
    token = httpx.post(http + "/api/v1/demo/token", json={"customer_id": customer_id}).json()["token"]
    r = httpx.get(
        f"{http}/api/v1/conversations/{conversation_id}", headers={"Authorization": f"Bearer {token}"}
    )
    r.raise_for_status()
    return list(r.json()["events"])


def rendered_items(tab: Tab) -> list[dict[str, Any]]:
    """The widget's transcript as shown: seq, role and text of every stored item, in DOM order."""
    return list(
        tab.page.locator("cardcare-chat .log > li[data-seq]").evaluate_all(
            """nodes => nodes.map(n => ({
            seq: Number(n.dataset.seq), role: n.dataset.role || '',
            text: (n.querySelector('.text, .system-text') || {}).textContent || '' }))"""
        )
    )


def deep_focus(tab: Tab) -> dict[str, Any]:
    """The focused element, looking through shadow roots."""
    return dict(
        tab.page.evaluate(
            """() => {
            let el = document.activeElement;
            while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
            if (!el) return {};
            const style = getComputedStyle(el);
            return {
                tag: el.tagName.toLowerCase(), cls: el.className || '',
                quick: el.dataset ? el.dataset.quick || '' : '', label: el.getAttribute('aria-label') || '',
                outline: style.outlineStyle, shadow: style.boxShadow,
            };
        }"""
        )
    )
