"""The whole chain in Chromium, each person on their own page: customer service books a job for an
existing customer on /service; a dispatcher assigns it on the board; the technician accepts, sets
off, arrives and completes it (signature) on /tech; and the customer, in a browser context of
their own without a login, watches their tracking page show each step live, without a reload:
booked, assigned with an ETA, on the way with the van on the map, arrived, completed. Once the
link has expired (the app's clock moved past its lifetime after the visit), the page shows nothing
of the job. No page error, no console error and no refused request on any page. (A forged link
showing nothing is tested in test_customer_tracking.py.)"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette

from storage.migrate import upgrade
from tests.browser.conftest import (
    WAIT_MS,
    LiveServer,
    _in_thread,
    require_chromium,
    run_server,
    screenshot,
)
from tests.browser.test_customer_tracking import _van_at
from tests.browser.test_tech_proof import sign
from tests.web.api_helpers import seed_small
from web.app import create_app
from web.clock import ShiftedClock
from web.settings import Settings

pytestmark = pytest.mark.browser


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[tuple[LiveServer, ShiftedClock]]:
    """The small company seeded for now, and an app whose clock the test can move on."""
    require_chromium()
    now = dt.datetime.now(dt.UTC)
    clock = ShiftedClock(now)
    url = f"sqlite+aiosqlite:///{tmp_path / 'chain.db'}"
    _in_thread(lambda: (upgrade(url), seed_small(url, now=now, stores=4, technicians=6,
                                                 orders=16)))
    app: Starlette = create_app(Settings(database_url=url, tile_url=""), clock=clock)
    with run_server(app) as live:
        yield live, clock


def person(browser: Any, server: LiveServer, username: str | None, *,
           mobile: bool = False) -> Any:
    """A browser context of its own; signed in as ``username`` (None: nobody, the customer)."""
    size = {"width": 412, "height": 860} if mobile else {"width": 1440, "height": 900}
    context = browser.new_context(viewport=size, is_mobile=mobile, has_touch=mobile,
                                  timezone_id="UTC")
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.problems = []
    page.on("pageerror", lambda e: page.problems.append(f"{username}: page error: {e}"))
    page.on("console", lambda m: m.type == "error" and page.problems.append(
        f"{username}: console: {m.text}"))
    page.on("response", lambda r: r.status >= 400 and page.problems.append(
        f"{username}: {r.request.method} {r.url} answered {r.status}"))
    if username is not None:
        landing = {"service": "/service", "dispatcher": "/"}.get(username, "/tech")
        page.goto(f"{server.url}/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", "demo")
        page.click("button[type=submit]")
        page.wait_for_url(f"{server.url}{landing}")
    return page


def shows(page: Any, status: str, text: str) -> None:
    page.wait_for_selector(f"#status[data-status={status}]")
    assert page.text_content("#status") == text


def test_booked_assigned_driven_and_done_while_the_customer_watches(
        chain: tuple[LiveServer, ShiftedClock], browser: Any) -> None:
    server, clock = chain
    customer = server.call("GET", "/api/customers/cust-00001", "service")
    technician = server.call("GET", "/api/auth/me", "tech1")["technician_id"]

    # customer service takes the call: finds the customer, books a job for the next hours
    service = person(browser, server, "service")
    service.fill("form.search input[name=q]", customer["name"])
    service.click("form.search button")
    service.click(f".customers button.pick[data-customer='{customer['id']}']")
    service.wait_for_selector(".customer-page h2")
    service.wait_for_selector("form.new-job input[name=customer][readonly]")
    start = (clock() + dt.timedelta(hours=1)).replace(second=0, microsecond=0)
    form = service.locator("form.new-job")
    form.locator("input[name=description]").fill("Kitchen sink backs up")
    form.locator("input[name=start]").fill(start.strftime("%Y-%m-%dT%H:%M"))
    form.locator("input[name=end]").fill((start + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
    form.locator("button[type=submit]").click()
    service.wait_for_selector(".book-job .message.ok")
    booked = re.search(r"Booked (\S+) ", service.text_content(".book-job .message") or "")
    assert booked, service.text_content(".book-job .message")
    job = booked.group(1)
    service.locator(f".open-jobs tr[data-job-row='{job}'] button.open-job").click()
    link = service.get_attribute(f".job-panel[data-job='{job}'] a.tracking-link", "href")
    assert link and link.startswith(f"{server.url}/t/")

    # the customer opens the link from the booking text: no login
    watcher = person(browser, server, None, mobile=True)
    watcher.goto(link)
    shows(watcher, "new", "Booked")
    watcher.evaluate("window.sameDocument = true")  # gone if the page reloads
    assert "between" in (watcher.text_content("#window") or "")

    # the dispatcher sees it arrive on the board and assigns it to tech1
    board = person(browser, server, "dispatcher")
    board.wait_for_selector("#connection[data-state=live]")
    board.fill("form.filters input[name=q]", job)
    board.click(f".queue-list li[data-order='{job}']")
    board.select_option("#details select[name=technician]", technician)
    board.click("#details form.assign button[type=submit]")
    board.wait_for_selector("#details .message.ok")
    shows(watcher, "assigned", "Technician assigned")
    first_name = (watcher.text_content("#technician") or "").strip()
    assert first_name and " " not in first_name
    watcher.wait_for_function("() => /\\d/.test(document.getElementById('eta').textContent)")

    # the technician: accept, set off (the van reports where it is), arrive, finish
    phone = person(browser, server, "tech1", mobile=True)
    card = phone.locator(f"li.card[data-order='{job}']")
    card.locator("button[data-step=accept]").click()
    phone.wait_for_selector(f"li.card[data-order='{job}'][data-status=accepted]")
    _van_at(server, 32.74, -96.86)
    card.locator("button[data-step=en_route]").click()
    shows(watcher, "en_route", "On the way")
    watcher.wait_for_function(  # the address and the van
        "() => document.querySelectorAll('#map path.leaflet-interactive').length === 2")
    assert watcher.text_content("#technician") == first_name
    screenshot(watcher, "chain-customer-en-route")
    phone.wait_for_selector(f"li.card[data-order='{job}'][data-status=en_route]")
    card.locator("button[data-step=on_site]").click()
    shows(watcher, "on_site", "Arrived")
    phone.wait_for_selector(f"li.card[data-order='{job}'][data-status=on_site]")
    card.locator("button[data-step=complete]").click()
    sign(phone)
    phone.click("dialog button[value=ok]")
    shows(watcher, "completed", "Completed")
    watcher.wait_for_selector("#messages li[data-kind=completed]")
    kinds = watcher.eval_on_selector_all("#messages li", "(items) => items.map((i) => i.dataset.kind)")
    assert {"booked", "assigned", "en_route", "arrived", "completed"} <= set(kinds)
    assert watcher.evaluate("window.sameDocument") is True
    board.wait_for_selector("#details dd.status.st-completed")
    done = server.call("GET", f"/api/work-orders/{job}", "dispatcher")
    assert (done["status"], done["customer_id"], done["technician_id"]) == (
        "completed", customer["id"], technician)

    # three hours later the link has expired: the page shows nothing of the job
    clock.advance(dt.timedelta(hours=3))
    later = person(browser, server, None, mobile=True)
    response = later.goto(link)
    assert response.status == 404
    later.problems.clear()  # the 404 of the expired page itself is what is expected
    assert "not available" in (later.text_content("h1") or "")
    assert later.query_selector("#status") is None
    page = later.content()
    assert "Completed" not in page and "Kitchen sink" not in page and first_name not in page
    for someone in (service, watcher, board, phone):
        assert someone.problems == [], someone.problems
