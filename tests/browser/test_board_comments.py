"""A comment event carries the comment alone: the board adds it to the job it holds and keeps the
job's version current, so the next assignment from the board is not refused as stale."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import LiveServer, login
from tests.browser.test_board import WS_LIVE, technician_id, unassigned_job

pytestmark = pytest.mark.browser


@pytest.mark.skipif(not WS_LIVE, reason="the websocket /ws is not live: pushes cannot arrive")
def test_a_comment_from_someone_else_keeps_the_boards_job_current(
        server: LiveServer, browser: Any) -> None:
    job = unassigned_job(server)
    tech = technician_id(server, "tech1")
    board = login(browser, server, "dispatcher")
    board.wait_for_selector("#connection[data-state=live]")
    board.fill("form.filters input[name=q]", job["id"])
    board.click(f".queue-list li[data-order='{job['id']}']")
    board.wait_for_selector("#details select[name=technician]")

    server.call("POST", f"/api/work-orders/{job['id']}/comments", "coordinator",
                json={"text": "Gate code 1234"})
    held = board.wait_for_function(
        "([id, v]) => { const wo = window.dispatchBoard.model.workOrders.get(id);"
        " return wo && wo.version > v && wo; }", arg=[job["id"], job["version"]]).json_value()
    assert held["version"] == job["version"] + 1
    assert [c["text"] for c in held["comments"]] == ["Gate code 1234"]
    assert held["status"] == "new" and held["description"] == job["description"]

    board.wait_for_function(  # the details panel is redrawn with the new version
        "v => [...document.querySelectorAll('#details dt')].find((d) => d.textContent === 'Version')"
        "?.nextElementSibling?.textContent === String(v)", arg=job["version"] + 1)
    board.select_option("#details select[name=technician]", tech)
    board.click("#details form.assign button[type=submit]")
    board.wait_for_selector("#details .message.ok")
    now = server.call("GET", f"/api/work-orders/{job['id']}", "dispatcher")
    assert now["technician_id"] == tech and now["version"] == job["version"] + 2
    assert not board.errors
