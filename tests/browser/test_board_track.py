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
    # Done an hour ago: on the chart whatever the hour (the board's day reaches eight hours back
    # when midnight is more recent, so just after midnight the evening's work still shows).
    now, scale = dt.datetime.now(dt.UTC), 1.0
    window = {"start": (now - dt.timedelta(hours=3)).isoformat(),
              "end": (now + dt.timedelta(hours=3)).isoformat()}
    server.call("PATCH", f"/api/work-orders/{job['id']}", "dispatcher",
                json={"time_window": window})
    stay = 25 if job["estimated_minutes"] != 25 else 35  # on site: not what was estimated
    for step, minutes in (("accept", 60), ("en_route", 50), ("on_site", 40),
                          ("complete", 40 - stay)):
        server.call("POST", f"/api/work-orders/{job['id']}/status", "tech1", json={
            "step": step,
            "device_time": (now - dt.timedelta(minutes=minutes * scale)).isoformat()})
    page = login(browser, server, "dispatcher")  # loads today's completed work with the open
    page.wait_for_selector(".queue-list li.job")
    page.click("#open-timeline")
    block = page.locator(f"#timeline .tl-row[data-drop-technician='{tech}']"
                         f" .block.st-completed[data-order='{job['id']}']")
    block.wait_for()
    assert "completed" in (block.get_attribute("title") or "")
    assert "late" not in (block.get_attribute("class") or "").split()
    # Drawn as it happened: on site for `stay` minutes (not its estimate), after a 10-minute drive.
    ticks = [box["x"] + box["width"] / 2 for box in (
        t.bounding_box() for t in page.locator("#timeline .tl-axis .tick").all()) if box]
    hour = ticks[1] - ticks[0]
    tolerance = max(hour * scale / 10, 2)
    on_site = block.bounding_box()
    assert on_site is not None
    assert abs(on_site["width"] - hour * stay / 60 * scale) < tolerance
    drives = page.locator(f"#timeline .tl-row[data-drop-technician='{tech}'] .travel").all()
    assert any(abs((b["x"] + b["width"]) - on_site["x"]) < 2
               and abs(b["width"] - hour / 6 * scale) < tolerance
               for b in (d.bounding_box() for d in drives) if b)
    screenshot(page, "timeline-done")
    assert not page.errors


def test_just_after_midnight_the_timeline_still_shows_the_evenings_work(
        server: LiveServer, browser: Any) -> None:
    """The dispatcher's browser is put in a zone where it is now 0:mm: a job finished before
    that midnight is still part of the working day on the timeline (not cut at the date)."""
    now = dt.datetime.now(dt.UTC)
    zone = f"Etc/GMT+{now.hour}" if now.hour <= 12 else f"Etc/GMT-{24 - now.hour}"
    finished = now - dt.timedelta(minutes=now.minute + 5)  # before the local midnight
    tech = technician_id(server, "tech1")
    jobs = server.call("GET", f"/api/work-orders?technician_id={tech}&limit=100", "tech1")
    job = next(wo for wo in jobs["items"] if wo["status"] == "assigned")
    server.call("PATCH", f"/api/work-orders/{job['id']}", "dispatcher", json={"time_window": {
        "start": (now - dt.timedelta(hours=4)).isoformat(),
        "end": (now + dt.timedelta(hours=1)).isoformat()}})
    for step, minutes in (("accept", 40), ("en_route", 30), ("on_site", 20), ("complete", 0)):
        server.call("POST", f"/api/work-orders/{job['id']}/status", "tech1", json={
            "step": step, "device_time": (finished - dt.timedelta(minutes=minutes)).isoformat()})
    page = login(browser, server, "dispatcher", timezone_id=zone)
    assert page.evaluate("new Date().getHours()") == 0
    page.wait_for_selector(".queue-list li.job")
    page.click("#open-timeline")
    page.locator(f"#timeline .tl-row[data-drop-technician='{tech}']"
                 f" .block.st-completed[data-order='{job['id']}']").wait_for()
    assert not page.errors
