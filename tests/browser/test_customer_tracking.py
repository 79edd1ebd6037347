"""The customer's tracking page in Chromium, without logging in: customer service books a job, a
dispatcher assigns it, the technician sets off, arrives and completes it, and the open page shows
each step as it happens (no reload), the van on the map while on the way; a forged link shows
nothing. No page error and no console error (the content security policy is enforced)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from storage import tables as t
from storage.engine import create_engine, write_transaction
from tests.browser.conftest import WAIT_MS, LiveServer, _in_thread, screenshot

pytestmark = pytest.mark.browser


def _book(server: LiveServer) -> dict[str, Any]:
    start = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).replace(second=0, microsecond=0)
    return server.call("POST", "/api/work-orders", "service", json={
        "store_id": "store-0001", "priority": "normal", "customer_id": "cust-00001",
        "location": {"lat": 32.78, "lon": -96.8}, "description": "Oven will not heat",
        "time_window": {"start": start.isoformat(),
                        "end": (start + dt.timedelta(hours=2)).isoformat()}})


def _step(server: LiveServer, order_id: str, step: str) -> None:
    server.call("POST", f"/api/work-orders/{order_id}/status", "dispatcher",
                json={"step": step, "technician_id": "tech-0001"})


def _van_at(server: LiveServer, lat: float, lon: float) -> None:
    """The technician's van reports a fix (as the GeoTab feed would store it)."""
    unit_id = server.call("GET", "/api/technicians/tech-0001", "dispatcher")["unit_id"]

    async def write() -> None:
        engine = create_engine(server.app.state.settings.database_url)
        try:
            async with write_transaction(engine) as conn:
                await conn.execute(t.positions_latest.delete().where(
                    t.positions_latest.c.unit_id == unit_id))
                await conn.execute(t.positions_latest.insert().values(
                    unit_id=unit_id, lat=lat, lon=lon, speed_kmh=40.0, bearing=90.0,
                    device_time=dt.datetime.now(dt.UTC), record_id="test-fix", source="test"))
        finally:
            await engine.dispose()

    _in_thread(lambda: asyncio.run(write()))


def _open(browser: Any, url: str) -> Any:
    context = browser.new_context(viewport={"width": 412, "height": 860}, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.problems = []
    page.on("pageerror", lambda e: page.problems.append(f"page error: {e}"))
    page.on("console", lambda m: m.type == "error" and page.problems.append(m.text))
    page.goto(url)
    return page


def _shows(page: Any, status: str, text: str) -> None:
    page.wait_for_selector(f"#status[data-status={status}]")
    assert page.text_content("#status") == text


def test_the_tracking_page_follows_the_job_live_without_a_login(
        server: LiveServer, browser: Any) -> None:
    order = _book(server)
    link = server.call("GET", f"/api/work-orders/{order['id']}", "service")["tracking_url"]
    assert link.startswith(server.url + "/t/")
    page = _open(browser, link)
    _shows(page, "new", "Booked")
    page.evaluate("window.sameDocument = true")  # gone if the page reloads
    assert "between" in page.text_content("#window")
    page.wait_for_selector("#messages li[data-kind=booked]")

    server.call("POST", f"/api/work-orders/{order['id']}/assign", "dispatcher",
                json={"technician_id": "tech-0001", "allow_missing_skills": True})
    _shows(page, "assigned", "Technician assigned")
    technician = page.text_content("#technician") or ""
    assert technician and " " not in technician.strip()  # the first name only

    _van_at(server, 32.74, -96.86)
    _step(server, order["id"], "accept")
    _step(server, order["id"], "en_route")
    _shows(page, "en_route", "On the way")
    page.wait_for_selector("#messages li[data-kind=en_route]")
    # the van and the address on the map, when the van has a position (the demo's vans do)
    page.wait_for_function(
        "() => document.querySelectorAll('#map path.leaflet-interactive').length === 2")
    assert page.text_content("#eta") not in {"", "\u2013"}
    screenshot(page, "customer-tracking-en-route")

    _step(server, order["id"], "on_site")
    _shows(page, "on_site", "Arrived")
    page.wait_for_function(
        "() => document.querySelectorAll('#map path.leaflet-interactive').length === 1")
    _step(server, order["id"], "complete")
    _shows(page, "completed", "Completed")
    page.wait_for_selector("#messages li[data-kind=completed]")
    assert page.evaluate("window.sameDocument") is True
    assert page.problems == []

    forged = _open(browser, link[:-3] + ("abc" if not link.endswith("abc") else "xyz"))
    assert "not available" in (forged.text_content("h1") or "")
    assert forged.query_selector("#status") is None
    assert "Oven" not in forged.content() and "Completed" not in forged.content()


def test_a_request_the_network_never_answers_does_not_stop_the_page(
        server: LiveServer, browser: Any) -> None:
    """A phone between cells: one poll's request gets no answer at all. The page gives it up and
    asks again, and shows the job's next step; it does not wait on the lost request for ever."""
    order = _book(server)
    link = server.call("GET", f"/api/work-orders/{order['id']}", "service")["tracking_url"]
    page = _open(browser, link)
    _shows(page, "new", "Booked")
    held: list[Any] = []

    def lose_the_next_one(route: Any) -> None:
        if not held:
            held.append(route)  # never continued, fulfilled or aborted: no answer
        else:
            route.continue_()

    page.route("**/api/track/**", lose_the_next_one)
    for _ in range(150):  # the page polls every second: its next request is held within 30 s
        if held:
            break
        page.wait_for_timeout(200)
    assert held, "the page made no request"
    server.call("POST", f"/api/work-orders/{order['id']}/assign", "dispatcher",
                json={"technician_id": "tech-0001", "allow_missing_skills": True})
    _shows(page, "assigned", "Technician assigned")
    assert len(held) == 1 and page.problems == []
