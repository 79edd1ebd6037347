"""The selected technician's track on the board in Chromium: the van's breadcrumb trail from the
position history and the planned route through their open jobs, numbered in order."""

from __future__ import annotations

import datetime as dt
import sqlite3
from typing import Any

import pytest

from tests.browser.conftest import LiveServer, login, screenshot
from tests.browser.test_board import technician_id

pytestmark = pytest.mark.browser


def add_history(server: LiveServer, unit_id: str, fixes: int) -> None:
    """Fixes every 30 s over the last ``fixes`` half-minutes, heading north-east."""
    path = server.app.state.settings.database_url.split("///", 1)[1]
    now = dt.datetime.now(dt.UTC)
    rows = [(unit_id, 32.75 + i / 2000, -96.85 + i / 2000, 30.0, 45.0,
             (now - dt.timedelta(seconds=30 * (fixes - i))).isoformat(), f"track-{i}", "geotab")
            for i in range(fixes)]
    with sqlite3.connect(path, timeout=30) as db:
        db.executemany("INSERT INTO position_history (unit_id, lat, lon, speed_kmh, bearing, "
                       "device_time, record_id, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)


def test_a_selected_technician_shows_trail_and_planned_route(server: LiveServer,
                                                             browser: Any) -> None:
    tech = technician_id(server, "tech1")
    detail = server.call("GET", f"/api/technicians/{tech}", "dispatcher")
    add_history(server, detail["unit_id"], 40)
    jobs = server.call("GET", f"/api/work-orders?technician_id={tech}&limit=100", "dispatcher")
    open_jobs = [wo for wo in jobs["items"]
                 if wo["status"] in {"assigned", "accepted", "en_route", "on_site"}]
    assert open_jobs, "the seed gives tech1 work"
    track = server.call("GET", f"/api/technicians/{tech}/track", "dispatcher")
    assert len(track["trail"]) == 40

    page = login(browser, server, "dispatcher")
    page.wait_for_selector(".queue-list li.job")
    page.click("#open-timeline")
    page.click(f"#timeline button.tl-name[data-technician='{tech}']")
    page.wait_for_selector("path.track-trail")
    page.wait_for_selector("path.track-route")
    assert page.locator(".track-stop").count() == len(open_jobs)
    labels = page.locator(".track-stop").all_inner_texts()
    assert sorted(labels, key=int) == [str(i + 1) for i in range(len(open_jobs))]
    screenshot(page, "technician-track")
    page.click("#details button.close")  # closing the technician hides the track
    page.wait_for_selector("path.track-trail", state="detached")
    assert page.locator(".track-stop").count() == 0
    assert not page.errors


def test_the_timeline_shows_what_was_done_today(server: LiveServer, browser: Any) -> None:
    tech = technician_id(server, "tech1")
    jobs = server.call("GET", f"/api/work-orders?technician_id={tech}&limit=100", "tech1")
    job = next(wo for wo in jobs["items"] if wo["status"] == "assigned")
    for step in ("accept", "en_route", "on_site", "complete"):
        server.call("POST", f"/api/work-orders/{job['id']}/status", "tech1", json={"step": step})
    page = login(browser, server, "dispatcher")  # loads today's completed work with the open
    page.wait_for_selector(".queue-list li.job")
    page.click("#open-timeline")
    block = page.locator(f"#timeline .tl-row[data-drop-technician='{tech}']"
                         f" .block.st-completed[data-order='{job['id']}']")
    block.wait_for()
    assert "completed" in (block.get_attribute("title") or "")
    assert "late" not in (block.get_attribute("class") or "").split()
    screenshot(page, "timeline-done")
    assert not page.errors
