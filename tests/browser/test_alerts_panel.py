"""The alerts panel in Chromium: an emergency order's alert appears live on two boards, one
dispatcher acknowledges it, the other board sees it acknowledged; the subject opens the job."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from storage.migrate import upgrade
from tests.browser.conftest import (
    LiveServer,
    _in_thread,
    login,
    require_chromium,
    run_server,
    screenshot,
)
from tests.web.api_helpers import seed_small
from web.app import create_app
from web.settings import Settings

pytestmark = pytest.mark.browser


@pytest.fixture
def alert_server(tmp_path: Path) -> Iterator[LiveServer]:
    """The board's server with a long alert tick: only the emergency's wake-up raises alerts."""
    require_chromium()
    url = f"sqlite+aiosqlite:///{tmp_path / 'alerts.db'}"
    _in_thread(lambda: (upgrade(url), seed_small(url, stores=4, technicians=6, orders=12)))
    app = create_app(Settings(database_url=url, tile_url="", alerts_interval_seconds=300))
    with run_server(app) as live:
        yield live


def test_a_dispatcher_sees_an_alert_appear_and_acknowledges_it(
        alert_server: LiveServer, browser: Any) -> None:
    server = alert_server
    board = login(browser, server, "dispatcher")
    other = login(browser, server, "operations")
    for page in (board, other):
        page.wait_for_selector("#connection[data-state=live]")
    store = server.call("GET", "/api/stores?limit=1", "dispatcher")["items"][0]
    order = server.call("POST", "/api/work-orders", "dispatcher", json={
        "store_id": store["id"], "priority": "emergency",
        "location": {"lat": store["location"]["lat"], "lon": store["location"]["lon"]},
        "description": "Gas smell at the bakery (browser alert)"})
    item = f"#alerts li.alert:has(button[data-order='{order['id']}'])"
    board.wait_for_selector(item)  # live, no reload
    other.wait_for_selector(item)
    card = board.locator(item)
    assert "sev-critical" in (card.get_attribute("class") or "")
    assert "status-open" in (card.get_attribute("class") or "")
    text = card.inner_text()
    assert "Emergency job waiting" in text and "L1" in text and store["name"] in text
    assert int(board.inner_text("#alerts .alert-count")) >= 1
    screenshot(board, "alerts")

    card.locator("button.ack").click()
    board.wait_for_selector(f"{item}.status-acknowledged")
    other.wait_for_selector(f"{item}.status-acknowledged")  # everyone sees it
    assert other.locator(f"{item} button.ack").count() == 0
    alert_id = card.get_attribute("data-id")
    stored = server.call("GET", f"/api/alerts/{alert_id}", "admin")
    assert stored["status"] == "acknowledged" and stored["version"] == 2

    board.click(f"{item} button[data-order='{order['id']}']")  # the subject opens the job
    board.wait_for_selector("#details:not([hidden])")
    assert "Gas smell at the bakery" in board.inner_text("#details")
    screenshot(board, "alerts-acknowledged")
    assert not board.errors and not other.errors


def test_a_flood_of_alerts_is_filtered_and_acknowledged_in_one_click(
        alert_server: LiveServer, browser: Any) -> None:
    server = alert_server
    board = login(browser, server, "dispatcher")
    board.wait_for_selector("#connection[data-state=live]")
    store = server.call("GET", "/api/stores?limit=1", "dispatcher")["items"][0]
    for n in range(3):
        server.call("POST", "/api/work-orders", "dispatcher", json={
            "store_id": store["id"], "priority": "emergency",
            "location": {"lat": store["location"]["lat"], "lon": store["location"]["lon"]},
            "description": f"Burst pipe {n} (flood of alerts)"})
    deadline = time.monotonic() + 10
    while True:  # the three alerts are raised (the wake-up after each order)
        critical = server.call("GET", "/api/alerts?status=open&severity=critical&limit=500",
                               "dispatcher")["items"]
        if sum("flood of alerts" in a["message"] for a in critical) == 3:
            break
        assert time.monotonic() < deadline, critical
        time.sleep(0.1)
    board.select_option("#alerts .alert-filter", "warning")
    assert board.locator("#alerts li.sev-critical").count() == 0
    board.select_option("#alerts .alert-filter", "critical")
    button = board.locator("#alerts button.ack-all")
    shown = len(critical)
    board.wait_for_function(  # the board shows what the server has
        f"() => document.querySelectorAll('#alerts li.alert.status-open').length === {shown}")
    assert button.inner_text() == f"Acknowledge all {shown}"
    button.click()
    board.wait_for_function(
        "() => document.querySelectorAll('#alerts li.alert.status-open').length === 0")
    assert board.inner_text("#alerts .bulk-note").startswith(f"{shown} acknowledged")
    left = server.call("GET", "/api/alerts?status=open&severity=critical", "admin")
    assert all(a["store_id"] is None for a in left["items"])  # only what a dispatcher cannot see
    screenshot(board, "alerts-bulk-acknowledged")
    assert not board.errors
