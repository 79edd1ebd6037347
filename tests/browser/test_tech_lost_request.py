"""A technician's step whose request the network never answers (a phone between cells), in
Chromium: the app gives the lost request up and sends the step again, once; the queue is not held
by it until the browser itself gives up, minutes later."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import WAIT_MS, LiveServer
from tests.browser.test_tech_signout import assigned_job

pytestmark = pytest.mark.browser

#: The app gives a step up after 15 s and sends it again at its next flush (every 15 s).
WITHIN_S = 60


def test_a_step_whose_request_gets_no_answer_is_sent_again(server: LiveServer,
                                                            browser: Any) -> None:
    job = assigned_job(server)
    # No service worker: the page's own requests are what the test holds back.
    context = browser.new_context(viewport={"width": 412, "height": 860}, is_mobile=True,
                                  has_touch=True, service_workers="block")
    phone = context.new_page()
    phone.set_default_timeout(WAIT_MS)
    errors: list[str] = []
    phone.on("pageerror", lambda e: errors.append(str(e)))
    phone.goto(f"{server.url}/login")
    phone.fill("input[name=username]", "tech1")
    phone.fill("input[name=password]", "demo")
    phone.click("button[type=submit]")
    phone.wait_for_url(f"{server.url}/tech")
    held: list[Any] = []
    sent: list[str] = []

    def lose_the_first(route: Any) -> None:
        if not held:
            held.append(route)  # never continued, fulfilled or aborted: no answer
            return
        sent.append(route.request.headers.get("idempotency-key", ""))
        route.continue_()

    phone.route("**/api/work-orders/*/status", lose_the_first)
    phone.locator(f"li.card[data-order='{job}'] button[data-step=accept]").click()
    status = "assigned"
    for _ in range(WITHIN_S * 4):  # bounded: the page's waits below are 250 ms each
        status = server.call("GET", f"/api/work-orders/{job}", "dispatcher")["status"]
        if status == "accepted":
            break
        phone.wait_for_timeout(250)
    assert status == "accepted", f"the step was not sent again within {WITHIN_S} s"
    first_key = held[0].request.headers.get("idempotency-key")
    assert len(held) == 1 and sent == [first_key]  # the same step, sent again once
    phone.wait_for_selector(f"li.card[data-order='{job}'][data-status=accepted]")
    assert errors == []
    context.close()
