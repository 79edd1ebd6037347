"""Booking and changing a job from the board in Chromium, with the customer service screen's own
form: the dispatcher finds a customer, picks the place on the live map and books; the job opens
ready to assign; "Edit" moves it (a new place picked on the map), "Reschedule" moves its window,
"Cancel with a reason" closes it. A walk-in is booked at a place picked on the map. A store
manager books but may not edit or cancel; a user without work_order:create gets no "New job".
With a geocoder configured (a stand-in Nominatim on a loopback port) the service screen's form
looks an address up; without one the look-up is not offered. No page error, no console error, no
answer of 400 or more."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from storage.migrate import upgrade
from tests.browser.conftest import (
    WAIT_MS,
    LiveServer,
    _in_thread,
    build_app,
    require_chromium,
    run_server,
    screenshot,
)
from tests.web.api_helpers import seed_small
from tests.web.test_geocode_api import AGENT, FakeNominatim
from web.settings import Settings

pytestmark = pytest.mark.browser


def open_page(browser: Any, server: LiveServer, username: str, landing: str) -> Any:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, timezone_id="UTC")
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.problems = []
    page.on("pageerror", lambda e: page.problems.append(f"page error: {e}"))
    page.on("console", lambda m: m.type == "error" and page.problems.append(m.text))
    page.on("response", lambda r: r.status >= 400 and page.problems.append(
        f"{r.request.method} {r.url} answered {r.status}"))
    page.goto(f"{server.url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "demo")
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}{landing}")
    return page


def local(at: dt.datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M")  # a datetime-local value (the contexts run in UTC)


FREE_POINT = """(covered) => {
  const box = document.getElementById("map").getBoundingClientRect();
  const blocked = covered.map((s) => document.querySelector(s)).filter((e) => e && !e.hidden)
    .map((e) => e.getBoundingClientRect());
  for (let y = box.top + box.height * 0.35; y < box.bottom - 40; y += 23) {
    for (let x = box.left + 40; x < box.right - 40; x += 29) {
      const inside = (b) => x >= b.left - 8 && x <= b.right + 8 && y >= b.top - 8 && y <= b.bottom + 8;
      if (blocked.some(inside)) continue;
      const hit = document.elementFromPoint(x, y);
      if (!hit || hit.closest(".leaflet-marker-icon, .leaflet-control, .legend, .panel")) continue;
      const ll = window.dispatchBoard.map.map.containerPointToLatLng([x - box.left, y - box.top]);
      return { x, y, lat: ll.lat, lon: ll.lng };
    }
  }
  return null;
}"""


def pick_on_live_map(page: Any, said: str) -> dict[str, float]:
    """Click a free point of the board's map (no pin, no panel); answers the place the form
    says it took (``said``: its text), which must be on the map where it was clicked."""
    point: dict[str, float] = page.evaluate(FREE_POINT, ["#booking", "#details", "#alerts"])
    assert point, "no free point on the map"
    page.mouse.click(point["x"], point["y"])
    page.wait_for_selector(f"{said}:has-text('picked on the map')")
    lat, lon = (float(v) for v in (page.text_content(said) or "").split(" (")[0].split(", "))
    bounds = page.evaluate("() => window.dispatchBoard.map.map.getBounds().toBBoxString()")
    west, south, east, north = (float(v) for v in bounds.split(","))
    assert south <= lat <= north and west <= lon <= east
    return {"lat": lat, "lon": lon}


def near(location: dict[str, float], point: dict[str, float]) -> bool:
    return abs(location["lat"] - point["lat"]) < 1e-4 and abs(location["lon"] - point["lon"]) < 1e-4


def test_a_dispatcher_books_edits_reschedules_and_cancels_from_the_board(
        server: LiveServer, browser: Any) -> None:
    customer = server.call("GET", "/api/customers/cust-00001", "dispatcher")
    page = open_page(browser, server, "dispatcher", "/")
    page.wait_for_selector(".queue-list li.job")
    page.wait_for_selector("#connection[data-state=live]")
    page.click("#open-booking")
    panel = page.locator("#booking")
    panel.locator("form.new-job").wait_for()
    assert panel.locator(".geocode").is_hidden()  # no geocoder configured: no look-up offered

    # find the customer by name, as the caller gives it
    panel.locator("input[name=find]").fill(customer["name"].split()[-1])
    panel.locator("button.find").click()
    panel.locator(f".pick-customer[data-customer='{customer['id']}']").click()
    panel.locator("input[name=customer][readonly]").wait_for()
    assert "saved address" in (panel.locator(".place-text").text_content() or "")

    start = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).replace(
        hour=9, minute=0, second=0, microsecond=0)
    panel.locator("select[name=priority]").select_option("high")
    panel.locator("input[name=minutes]").fill("45")
    panel.locator("input[name=start]").fill(local(start))
    panel.locator("input[name=end]").fill(local(start + dt.timedelta(hours=2)))
    panel.locator("input[name=skills]").fill("plumbing")
    panel.locator("input[name=description]").fill("Water heater leaking in the garage")
    panel.locator("button.pick-on-map").click()
    picked = pick_on_live_map(page, "#booking .place-text")
    screenshot(page, "board-new-job")
    panel.locator("button[type=submit]").click()

    # booked: the job opens in the details panel, ready to assign
    details = page.locator("#details")
    details.locator(".message.ok").wait_for()
    assert page.locator("#booking").is_hidden()
    job_id = (details.locator("h2").text_content() or "").split()[-1]
    job = server.call("GET", f"/api/work-orders/{job_id}", "dispatcher")
    assert (job["customer_id"], job["priority"], job["estimated_minutes"]) == (
        customer["id"], "high", 45)
    assert job["required_skills"] == ["plumbing"] and near(job["location"], picked)
    assert dt.datetime.fromisoformat(job["time_window"]["start"]) == start
    assert details.locator("form.assign").count() == 1
    page.wait_for_selector(f".queue-list li[data-order='{job_id}']")

    # edit: a new description and a new place picked on the map
    details.locator(".job-actions button[data-mode=edit]").click()
    edit = details.locator("form.edit-job")
    edit.locator("input[name=description]").fill("Water heater leaking, shut-off valve stuck")
    edit.locator("button.pick-on-map").click()
    moved = pick_on_live_map(page, "#details form.edit-job .place-text")
    edit.locator("button[type=submit]").click()
    details.locator(".message.ok").wait_for()
    job = server.call("GET", f"/api/work-orders/{job_id}", "dispatcher")
    assert job["description"] == "Water heater leaking, shut-off valve stuck"
    assert near(job["location"], moved) and job["customer_id"] == customer["id"]

    # reschedule to the afternoon
    details.locator(".job-actions button[data-mode=reschedule]").click()
    later = start + dt.timedelta(hours=5)
    details.locator("form.reschedule-job input[name=start]").fill(local(later))
    details.locator("form.reschedule-job input[name=end]").fill(local(later + dt.timedelta(hours=2)))
    details.locator("form.reschedule-job button[type=submit]").click()
    details.locator(".message.ok:has-text('Rescheduled')").wait_for()
    job = server.call("GET", f"/api/work-orders/{job_id}", "dispatcher")
    assert dt.datetime.fromisoformat(job["time_window"]["start"]) == later

    # cancel with a reason: it leaves the queue
    details.locator(".job-actions button[data-mode=cancel]").click()
    details.locator("form.cancel-job input[name=reason]").fill("Customer fixed the valve")
    details.locator("form.cancel-job button[type=submit]").click()
    details.locator(".message.ok:has-text('Cancelled')").wait_for()
    page.wait_for_selector(f".queue-list li[data-order='{job_id}']", state="detached")
    job = server.call("GET", f"/api/work-orders/{job_id}", "dispatcher")
    assert (job["status"], job["status_reason"]) == ("cancelled", "Customer fixed the valve")
    assert details.locator(".job-actions").count() == 0  # nothing left to change

    # a walk-in at a place picked on the map
    page.click("#open-booking")
    panel.locator("input[name=customer]").fill("Walk-in Wanda")
    panel.locator("input[name=phone]").fill("+12145550142")
    panel.locator("input[name=description]").fill("Garage door stuck half open")
    assert "the store" in (panel.locator(".place-text").text_content() or "")
    panel.locator("button.pick-on-map").click()
    spot = pick_on_live_map(page, "#booking .place-text")
    panel.locator("button[type=submit]").click()
    details.locator(".message.ok:has-text('Booked')").wait_for()
    walk_in_id = (details.locator("h2").text_content() or "").split()[-1]
    walk_in = server.call("GET", f"/api/work-orders/{walk_in_id}", "dispatcher")
    assert near(walk_in["location"], spot) and walk_in["customer_id"]
    assert server.call("GET", f"/api/customers/{walk_in['customer_id']}",
                       "dispatcher")["name"] == "Walk-in Wanda"
    assert page.problems == []


def test_who_may_book_or_change_a_job_on_the_board(server: LiveServer, browser: Any) -> None:
    manager = open_page(browser, server, "manager", "/")
    manager.wait_for_selector(".queue-list li.job")
    assert manager.locator("#open-booking").is_visible()  # work_order:create
    manager.locator(".queue-list li.job").first.click()
    manager.wait_for_selector("#details:not([hidden]) h2")
    assert manager.locator("#details .job-actions").count() == 0  # no edit, no cancel
    assert manager.problems == []

    fleet = open_page(browser, server, "fleet", "/fleet")
    fleet.goto(f"{server.url}/")
    fleet.wait_for_selector(".queue-list li.job")
    assert fleet.locator("#open-booking").is_hidden()
    fleet.locator(".queue-list li.job").first.click()
    fleet.wait_for_selector("#details:not([hidden]) h2")
    assert fleet.locator("#details .job-actions").count() == 0
    assert fleet.problems == []


@pytest.fixture
def geocoded(tmp_path: Path) -> Iterator[tuple[LiveServer, FakeNominatim]]:
    """The app with a geocoder: a stand-in Nominatim on another loopback port."""
    require_chromium()
    url = f"sqlite+aiosqlite:///{tmp_path / 'board.db'}"
    _in_thread(lambda: (upgrade(url), seed_small(url, stores=4, technicians=6, orders=12)))
    nominatim = FakeNominatim()
    with run_server(nominatim.app) as fake, run_server(build_app(Settings(
            database_url=url, tile_url="", geocoder="nominatim", geocoder_url=fake.url,
            geocoder_user_agent=AGENT))) as live:
        yield live, nominatim


def test_customer_service_looks_an_address_up_when_a_geocoder_is_configured(
        geocoded: tuple[LiveServer, FakeNominatim], browser: Any) -> None:
    server, nominatim = geocoded
    page = open_page(browser, server, "service", "/service")
    form = page.locator("form.new-job")
    form.locator(".geocode").wait_for()  # the server says a geocoder is configured
    form.locator("input[name=customer]").fill("Lookup Larry")
    form.locator("input[name=description]").fill("Fridge warm since this morning")
    form.locator("input[name=lookup]").fill("Main Street")
    form.locator("button.look-up").click()
    form.locator(".places .use-place").first.wait_for()
    assert "OpenStreetMap" in (form.locator(".places .attribution").text_content() or "")
    form.locator(".places .use-place").first.click()
    page.wait_for_selector("form.new-job .place-text:has-text('address look-up')")
    assert form.locator("input[name=address]").input_value() == "Main Street, Dallas, TX"
    screenshot(page, "service-geocoded")
    form.locator("button[type=submit]").click()
    page.wait_for_selector(".book-job .message.ok")
    job_id = (page.text_content(".book-job .message") or "").split()[1]
    job = server.call("GET", f"/api/work-orders/{job_id}", "service")
    assert job["location"] == {"lat": 32.7767, "lon": -96.797}
    assert job["address"] == "Main Street, Dallas, TX"
    assert [s["params"]["q"] for s in nominatim.seen] == ["Main Street"]

    # the small map of the form: a click there is the place
    form.locator("input[name=customer]").fill("Map Mary")
    form.locator("input[name=description]").fill("Dishwasher will not start")
    box = form.locator(".pick-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.6)
    page.wait_for_selector("form.new-job .place-text:has-text('picked on the map')")
    text = form.locator(".place-text").text_content() or ""
    lat, lon = (float(v) for v in text.split(" (")[0].split(", "))
    before = page.text_content(".book-job .message")
    form.locator("button[type=submit]").click()
    page.wait_for_function("(before) => document.querySelector('.book-job .message').textContent"
                           " !== before", arg=before)
    job_id = (page.text_content(".book-job .message") or "").split()[1]
    job = server.call("GET", f"/api/work-orders/{job_id}", "service")
    assert abs(job["location"]["lat"] - lat) < 1e-4 and abs(job["location"]["lon"] - lon) < 1e-4
    assert page.problems == []
