"""The board in Chromium: login, map and queue, assignment by hand seen live by the technician and
back on the board, a store manager's scope, screenshots of each view."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import LiveServer, has_websocket, login, screenshot

pytestmark = pytest.mark.browser

WS_LIVE = has_websocket()


def unassigned_job(server: LiveServer, for_technician: str = "tech1") -> dict[str, Any]:
    """An unassigned job whose skills the technician has."""
    tech = server.call("GET", f"/api/technicians/{technician_id(server, for_technician)}",
                       "dispatcher")
    page = server.call("GET", "/api/work-orders?unassigned=true&status=new&limit=200", "dispatcher")
    fits = [wo for wo in page["items"] if set(wo["required_skills"]) <= set(tech["skills"])]
    assert fits, "the seed has no job this technician can take"
    return dict(fits[0])


def technician_id(server: LiveServer, username: str) -> str:
    return str(server.call("GET", "/api/auth/me", username)["technician_id"])


def test_dispatcher_sees_map_markers_and_queue(server: LiveServer, browser: Any) -> None:
    page = login(browser, server, "dispatcher")
    page.wait_for_selector(".queue-list li.job")
    page.wait_for_selector(".leaflet-marker-icon.wo-pin, .leaflet-marker-icon.wo-cluster")
    assert page.locator(".leaflet-overlay-pane canvas, .leaflet-interactive").count() > 0  # stores
    jobs = page.locator(".queue-list li.job")
    assert jobs.count() > 0
    first = jobs.first.inner_text().lower()
    assert "emergency" in first or "high" in first  # priority sort puts the urgent first
    page.select_option("form.filters select[name=sort]", "age")
    page.fill("form.filters input[name=q]", "zzz-no-such-job")
    page.wait_for_selector(".queue-list li.empty")
    page.fill("form.filters input[name=q]", "")
    jobs.first.click()
    page.wait_for_selector("#details form.assign select[name=technician]")
    screenshot(page, "board")
    assert not page.errors


@pytest.mark.xfail(not WS_LIVE, reason="the websocket /ws is not live yet: pushes cannot arrive",
                   strict=True)
def test_assignment_reaches_technician_and_acceptance_reaches_board(
        server: LiveServer, browser: Any) -> None:
    job = unassigned_job(server)
    tech = technician_id(server, "tech1")
    board = login(browser, server, "dispatcher")
    phone = login(browser, server, "tech1", mobile=True)
    board.wait_for_selector("#connection[data-state=live]")
    phone.wait_for_selector("#connection[data-state=live]")

    board.fill("form.filters input[name=q]", job["id"])
    board.click(f".queue-list li[data-order='{job['id']}']")
    board.select_option("#details select[name=technician]", tech)
    board.click("#details form.assign button[type=submit]")
    board.wait_for_selector("#details .message.ok")

    card = phone.locator(f"li.card[data-order='{job['id']}']")
    card.wait_for()  # pushed, no reload
    assert card.get_attribute("data-status") == "assigned"
    screenshot(phone, "technician")
    card.locator("button[data-step=accept]").click()
    phone.wait_for_selector(f"li.card[data-order='{job['id']}'][data-status=accepted]")

    # The dispatcher's board shows the acceptance without a reload.
    board.wait_for_selector("#details dd.status.st-accepted")
    board.select_option("form.filters select[name=status]", "accepted")
    board.wait_for_selector(f".queue-list li[data-order='{job['id']}']")
    assert not board.errors and not phone.errors


def test_assign_by_hand_and_technician_accepts(server: LiveServer, browser: Any) -> None:
    """Without relying on pushes: the board assigns, the technician's view lists and accepts."""
    job = unassigned_job(server)
    tech = technician_id(server, "tech1")
    board = login(browser, server, "dispatcher")
    board.fill("form.filters input[name=q]", job["id"])
    board.click(f".queue-list li[data-order='{job['id']}']")
    board.select_option("#details select[name=technician]", tech)
    board.click("#details form.assign button[type=submit]")
    board.wait_for_selector("#details .message.ok")
    assert server.call("GET", f"/api/work-orders/{job['id']}", "dispatcher")["technician_id"] == tech

    phone = login(browser, server, "tech1", mobile=True)
    card = phone.locator(f"li.card[data-order='{job['id']}']")
    card.wait_for()
    card.locator("button[data-step=accept]").click()
    phone.wait_for_selector(f"li.card[data-order='{job['id']}'][data-status=accepted]")
    assert server.call("GET", f"/api/work-orders/{job['id']}", "dispatcher")["status"] == "accepted"
    screenshot(phone, "technician-accepted")
    assert not phone.errors


def test_stale_version_shows_who_changed_it(server: LiveServer, browser: Any) -> None:
    job = unassigned_job(server)
    board = login(browser, server, "dispatcher")
    board.fill("form.filters input[name=q]", job["id"])
    board.click(f".queue-list li[data-order='{job['id']}']")
    board.wait_for_selector("#details select[name=technician]")
    # The board stops listening (as if its network hiccuped), and someone else assigns the job.
    board.evaluate("() => { const live = window.dispatchBoard.live;"
                   " if (live) { live.stopped = true; live.ws?.close(); } }")
    server.call("POST", f"/api/work-orders/{job['id']}/assign", "coordinator",
                json={"technician_id": technician_id(server, "tech2"), "version": job["version"],
                      "allow_missing_skills": True})
    board.select_option("#details select[name=technician]", index=1)
    board.click("#details form.assign button[type=submit]")
    message = board.wait_for_selector("#details .message.warn")
    assert "changed this job first" in message.inner_text()


def test_store_manager_sees_only_their_stores(server: LiveServer, browser: Any) -> None:
    scope = set(server.call("GET", "/api/auth/me", "manager")["store_ids"])
    page = login(browser, server, "manager")
    page.wait_for_selector("#kpis .kpi-store")
    page.select_option("form.filters select[name=status]", "open")
    page.wait_for_timeout(500)
    shown = set(page.eval_on_selector_all(".queue-list li.job", "els => els.map(e => e.dataset.store)"))
    held = set(page.evaluate(
        "() => [...window.dispatchBoard.model.workOrders.values()].map(w => w.store_id)"))
    stores = set(page.evaluate("() => [...window.dispatchBoard.model.stores.keys()]"))
    assert shown and shown <= scope
    assert held <= scope
    assert stores <= scope
    assert {k.get_attribute("data-store") for k in page.locator("#kpis .kpi-store").all()} == scope
    for store in scope:  # the on-time rate today, as the server counts it
        day = server.call("GET", f"/api/stores/{store}/today", "manager")
        cell = page.locator(f"#kpis .kpi-store[data-store='{store}'] .wide")
        want = ("—" if day["on_time_rate"] is None
                else f"{round(day['on_time_rate'] * 100)}%")
        page.wait_for_function("([el, want]) => el.querySelector('b').textContent === want",
                               arg=[cell.element_handle(), want])
    screenshot(page, "store")
    assert not page.errors
