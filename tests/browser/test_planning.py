"""Planning on the board in Chromium: "who should take this?" → assign, a re-plan confirmed from
its diff (and another dispatcher's decision seen live), the emergency coordinator's tools, the
timeline, and the technician's offline completion synced exactly once."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest

from tests.browser.conftest import LiveServer, has_websocket, login, screenshot
from tests.browser.test_board import technician_id, unassigned_job

pytestmark = pytest.mark.browser

WS_LIVE = has_websocket()


@pytest.fixture(autouse=True)
def on_shift(server: LiveServer) -> None:
    """The seed's shifts are fixed hours of the seed day: put everyone on shift now."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    shift = {"start": (now - dt.timedelta(hours=2)).isoformat(),
             "end": (now + dt.timedelta(hours=10)).isoformat()}
    headers = {"Authorization": f"Bearer {server.token('admin')}"}
    techs = server.call("GET", "/api/technicians?limit=500", "admin")["items"]
    for t in techs:
        r = httpx.patch(f"{server.url}/api/technicians/{t['id']}", json={"shift": shift},
                        headers=headers, timeout=10)
        assert r.status_code < 400, r.text


def open_job(page: Any, job_id: str) -> None:
    page.fill("form.filters input[name=q]", job_id)
    page.click(f".queue-list li[data-order='{job_id}']")
    page.wait_for_selector("#details .who-takes .ask")


def job_with_candidates(server: LiveServer) -> dict[str, Any]:
    """An unassigned job that some technician can still reach in its window."""
    page = server.call("GET", "/api/work-orders?unassigned=true&status=new&limit=200", "dispatcher")
    for wo in page["items"]:
        got = server.call("GET", f"/api/work-orders/{wo['id']}/candidates?k=5", "dispatcher")
        if any(not c["currently_assigned"] for c in got["items"]):
            return dict(wo)
    pytest.skip("no unassigned job of the seed has a candidate")


def test_candidates_then_one_click_assign(server: LiveServer, browser: Any) -> None:
    job = job_with_candidates(server)
    page = login(browser, server, "dispatcher")
    open_job(page, job["id"])
    page.click("#details .who-takes .ask")
    first = page.wait_for_selector("#details .candidates li.cand")
    text = first.inner_text().lower()
    assert "eta" in text and "km" in text and "risk" in text
    screenshot(page, "candidates")
    tech = first.get_attribute("data-technician")
    page.click("#details .candidates li.cand button.take")
    page.wait_for_selector("#details .message.ok")
    now = server.call("GET", f"/api/work-orders/{job['id']}", "dispatcher")
    assert now["technician_id"] == tech
    assert now["version"] == job["version"] + 1
    assert not page.errors


def make_plan(page: Any, seconds: int = 1) -> None:
    page.click("#open-plan")
    page.select_option("#plan select[name=kind]", "all")
    page.fill("#plan input[name=time_limit_seconds]", str(seconds))
    page.click("#plan form.plan-form button[type=submit]")
    page.wait_for_selector("#plan .pstatus", timeout=60_000)


def test_replan_diff_confirm_some(server: LiveServer, browser: Any) -> None:
    page = login(browser, server, "dispatcher")
    page.wait_for_selector(".queue-list li.job")
    make_plan(page)
    moves = page.locator("#plan .moves li.move")
    assert moves.count() >= 1, page.inner_text("#plan")
    assert page.locator("#plan .kpi-diff tbody tr").count() == 4
    assert page.locator(".leaflet-overlay-pane path.move-line").count() >= 1  # drawn on the map
    screenshot(page, "proposal")
    proposal_id = page.evaluate("() => window.dispatchBoard.plans.current")
    ids = [m.get_attribute("data-order") for m in moves.all()]
    if len(ids) > 1:  # confirm some: leave the last one out
        moves.nth(len(ids) - 1).locator("input[type=checkbox]").uncheck()
    page.click("#plan .confirm-some")
    page.wait_for_selector("#plan .pstatus[data-status$=confirmed]")
    p = server.call("GET", f"/api/proposals/{proposal_id}", "dispatcher")
    chosen = ids[:-1] if len(ids) > 1 else ids
    assert p["status"] == ("partially_confirmed" if len(ids) > 1 else "confirmed")
    assert sorted(p["confirmed_moves"]) == sorted(chosen)
    for move in p["moves"]:
        if move["work_order_id"] in chosen:
            wo = server.call("GET", f"/api/work-orders/{move['work_order_id']}", "dispatcher")
            assert wo["technician_id"] == move["to_technician_id"]
    screenshot(page, "proposal-confirmed")
    assert not page.errors


@pytest.mark.skipif(not WS_LIVE, reason="the websocket /ws is not live")
def test_another_dispatchers_reject_shows_live(server: LiveServer, browser: Any) -> None:
    page = login(browser, server, "dispatcher")
    page.wait_for_selector("#connection[data-state=live]")
    make_plan(page)
    proposal_id = page.evaluate("() => window.dispatchBoard.plans.current")
    server.call("POST", f"/api/proposals/{proposal_id}/reject", "coordinator",
                json={"reason": "not now"})
    page.wait_for_selector("#plan .pstatus[data-status=rejected]")
    assert "by someone else" in page.inner_text("#plan .note")
    assert page.locator("#plan .confirm-some").count() == 0
    assert not page.errors


def test_emergency_mark_unavailable_confirm_undo(server: LiveServer, browser: Any) -> None:
    victim = technician_id(server, "tech1")
    jobs = server.call("GET", f"/api/work-orders?technician_id={victim}&status=assigned,accepted",
                       "dispatcher")["items"]
    if not jobs:  # give tech1 something to re-plan
        job = unassigned_job(server)
        server.call("POST", f"/api/work-orders/{job['id']}/assign", "dispatcher",
                    json={"technician_id": victim, "version": job["version"]})
    page = login(browser, server, "coordinator")
    page.wait_for_selector(".queue-list li.job")
    page.click("#open-emergency")
    page.check(f"#emergency .tech-picks input[value='{victim}']")
    screenshot(page, "emergency-select")
    page.click("#emergency .mark")
    page.wait_for_selector("#plan .pstatus", timeout=60_000)
    assert "Marked unavailable" in page.inner_text("#plan .note")
    assert server.call("GET", f"/api/technicians/{victim}", "dispatcher")["status"] == "unavailable"
    screenshot(page, "emergency-replan")
    page.click("#plan .confirm-some")  # all moves: one step
    page.wait_for_selector("#plan .pstatus[data-status=confirmed]")
    page.click("#plan .undo")
    page.wait_for_selector("#plan .pstatus[data-status=undone]")
    assert server.call("GET", f"/api/technicians/{victim}", "dispatcher")["status"] == "available"
    assert not page.errors


def test_emergency_area_and_new_job_with_candidates(server: LiveServer, browser: Any) -> None:
    page = login(browser, server, "coordinator")
    page.wait_for_selector(".queue-list li.job")
    page.click("#open-emergency")
    page.click("#emergency .draw")
    box = page.locator("#map").bounding_box()
    page.mouse.move(box["x"] + 80, box["y"] + 60)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] - 40, box["y"] + box["height"] - 40, steps=5)
    page.mouse.up()
    assert page.locator("#emergency .tech-picks input:checked").count() >= 1
    page.click("#emergency [data-tab=job]")
    page.fill("#emergency input[name=description]", "Freezer leaking, aisle 4")
    page.click("#emergency form.emergency-job button[type=submit]")
    page.wait_for_selector("#details .candidates li.cand, #details .who-takes .muted")
    assert "emergency" in page.inner_text("#details header").lower()
    screenshot(page, "emergency-job")
    assert not page.errors


def test_timeline(server: LiveServer, browser: Any) -> None:
    page = login(browser, server, "dispatcher")
    page.wait_for_selector(".queue-list li.job")
    page.click("#open-timeline")
    page.wait_for_selector("#timeline .tl-row .block")
    rows = page.locator("#timeline .tl-row:not(.tl-axis)").count()
    assert rows >= 1
    screenshot(page, "timeline")
    job = page.locator("#timeline .tl-track .block").first.get_attribute("data-order")
    page.locator("#timeline .tl-track .block").first.click()
    page.wait_for_selector(f"#details h2:has-text('{job}')")
    assert not page.errors


def test_offline_completion_synced_once(server: LiveServer, browser: Any) -> None:
    tech = technician_id(server, "tech1")
    job = unassigned_job(server)
    wo = server.call("POST", f"/api/work-orders/{job['id']}/assign", "dispatcher",
                     json={"technician_id": tech, "version": job["version"]})
    for step in ("accept", "en_route", "on_site"):
        wo = server.call("POST", f"/api/work-orders/{job['id']}/status", "tech1",
                         json={"step": step})
    assert wo["status"] == "on_site"

    phone = login(browser, server, "tech1", mobile=True)
    card = phone.locator(f"li.card[data-order='{job['id']}'][data-status=on_site]")
    card.wait_for()
    phone.context.set_offline(True)
    phone.wait_for_function("() => !navigator.onLine")
    card.locator("button[data-step=complete]").click()
    canvas = phone.wait_for_selector("dialog canvas.signature")
    b = canvas.bounding_box()
    phone.mouse.move(b["x"] + 20, b["y"] + b["height"] / 2)
    phone.mouse.down()
    for i in range(1, 8):
        phone.mouse.move(b["x"] + 20 + i * 30, b["y"] + b["height"] / 2 + (15 if i % 2 else -15))
    phone.mouse.up()
    phone.click("dialog button[value=ok]")
    phone.wait_for_selector("#sync:has-text('1 to sync')")
    screenshot(phone, "technician-offline")
    assert server.call("GET", f"/api/work-orders/{job['id']}", "dispatcher")["status"] == "on_site"
    queued = phone.evaluate("() => JSON.parse(localStorage.getItem('dispatch.outbox'))")
    device_time = queued[0]["body"]["device_time"]

    phone.context.set_offline(False)
    phone.wait_for_function("() => JSON.parse(localStorage.getItem('dispatch.outbox') || '[]')"
                            ".length === 0", timeout=20_000)
    done = server.call("GET", f"/api/work-orders/{job['id']}", "dispatcher")
    assert done["status"] == "completed"
    assert done["proof"]["device_time"]
    assert done["proof"]["signature_ref"].startswith("attachment:sha256-")
    audit = server.call("GET", f"/api/audit?entity_id={job['id']}&limit=100", "admin")["items"]
    completions = [a for a in audit if a["action"] == "work_order.complete"]
    assert len(completions) == 1, audit
    assert device_time[:19] in str(done["proof"]["device_time"]) or done["proof"]["device_time"]
    assert not phone.errors
