"""Drag and drop assignment on the board in Chromium: a queue job dropped on a technician's row in
the timeline is assigned on the server (with the version the board saw) and shows on the board
without a reload; a drop whose job another client changed during the drag shows the conflict."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import LiveServer, has_websocket, login, screenshot
from tests.browser.test_board import technician_id, unassigned_job

pytestmark = pytest.mark.browser

WS_LIVE = has_websocket()


def start_drag(page: Any, job_id: str, technician: str) -> Any:
    """Open the timeline, pick the job in the queue and hold it over the technician's row."""
    page.wait_for_selector(".queue-list li.job")
    page.click("#open-timeline")
    row = page.locator(f"#timeline .tl-row[data-drop-technician='{technician}']")
    row.wait_for()
    page.fill("form.filters input[name=q]", job_id)
    source = page.locator(f".queue-list li.job[data-order='{job_id}'][draggable=true]")
    source.wait_for()
    source.hover()
    page.mouse.down()
    row.locator(".tl-track").hover(position={"x": 40, "y": 8})
    row.locator(".tl-track").hover(position={"x": 60, "y": 10})
    page.wait_for_selector(f"#timeline .tl-row.drop-target[data-drop-technician='{technician}']")
    return row


def test_drag_queue_job_onto_timeline_technician(server: LiveServer, browser: Any) -> None:
    job = unassigned_job(server)
    tech = technician_id(server, "tech1")
    page = login(browser, server, "dispatcher")
    start_drag(page, job["id"], tech)
    screenshot(page, "drag-over-technician")
    page.mouse.up()
    page.wait_for_selector("#details .message.ok")
    now = server.call("GET", f"/api/work-orders/{job['id']}", "dispatcher")
    assert now["technician_id"] == tech
    assert now["version"] == job["version"] + 1
    # The board shows it without a reload: the job's block in the technician's row, the details.
    page.wait_for_selector(f"#timeline .tl-row[data-drop-technician='{tech}']"
                           f" .block[data-order='{job['id']}']")
    assert "Assigned to" in page.inner_text("#details .message.ok")
    assert page.locator("#timeline .drop-target").count() == 0  # the highlight is gone
    screenshot(page, "drag-assigned")
    assert not page.errors


def test_stale_drop_shows_who_changed_it(server: LiveServer, browser: Any) -> None:
    job = unassigned_job(server)
    tech1 = technician_id(server, "tech1")
    tech2 = technician_id(server, "tech2")
    page = login(browser, server, "dispatcher")
    if WS_LIVE:
        page.wait_for_selector("#connection[data-state=live]")
    start_drag(page, job["id"], tech1)
    # Another client assigns the job while the dispatcher is still dragging it.
    server.call("POST", f"/api/work-orders/{job['id']}/assign", "admin",
                json={"technician_id": tech2, "version": job["version"],
                      "allow_missing_skills": True})
    if WS_LIVE:  # the board hears of it; the drop still carries the version seen at drag start
        page.wait_for_function(
            "([id, v]) => window.dispatchBoard.model.workOrders.get(id)?.version > v",
            arg=[job["id"], job["version"]])
    page.mouse.up()
    message = page.wait_for_selector("#details .message.warn")
    assert "Someone changed this job first" in message.inner_text()
    now = server.call("GET", f"/api/work-orders/{job['id']}", "dispatcher")
    assert now["technician_id"] == tech2  # the stale drop changed nothing
    assert now["version"] == job["version"] + 1
    screenshot(page, "drag-conflict")
    assert not page.errors
