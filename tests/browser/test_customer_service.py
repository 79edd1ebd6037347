"""Customer service in Chromium: the ``service`` user finds a customer by phone (typed with
punctuation), opens their page (jobs, invoices and balance, consent history), books a job with a
time window, reschedules it, adds a customer-visible and an internal comment, and cancels it with
a reason; the customer's tracking page (no login) shows the customer-visible note and not the
internal one. No page error, no console error, no answer of 400 or more."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from tests.browser.conftest import WAIT_MS, LiveServer, screenshot

pytestmark = pytest.mark.browser


def _local(at: dt.datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M")  # a datetime-local value (the context runs in UTC)


def _sign_in(browser: Any, server: LiveServer) -> Any:
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, timezone_id="UTC")
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.problems = []
    page.on("pageerror", lambda e: page.problems.append(f"page error: {e}"))
    page.on("console", lambda m: m.type == "error" and page.problems.append(m.text))
    page.on("response", lambda r: r.status >= 400 and page.problems.append(
        f"{r.request.method} {r.url} answered {r.status}"))
    page.goto(f"{server.url}/login")
    page.fill("input[name=username]", "service")
    page.fill("input[name=password]", "demo")
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/service")
    return page


def test_customer_service_serves_a_caller_from_their_page(
        server: LiveServer, browser: Any) -> None:
    customer = server.call("GET", "/api/customers/cust-00001", "service")
    digits = customer["phone"][2:]  # +1 and ten digits
    page = _sign_in(browser, server)
    page.wait_for_selector(".orders table.rows tbody tr")

    # find them by phone, as the caller reads it out
    page.fill("form.search input[name=q]", f"({digits[:3]}) {digits[3:6]}-{digits[6:]}")
    page.click("form.search button")
    page.wait_for_selector(".customers table.rows tbody tr")
    assert page.locator(".customers tbody tr").count() == 1
    page.click(".customers button.pick")
    page.wait_for_selector(".customer-page h2")
    assert customer["name"] in page.text_content(".customer-page h2")
    assert page.locator(".customer-page .contact").is_visible()
    assert re.search(r"\$[\d,]+\.\d\d", page.text_content(".customer-page .money") or "")
    screenshot(page, "customer-service-found")

    # book a job for tomorrow 10:00-12:00
    tomorrow = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).replace(
        hour=10, minute=0, second=0, microsecond=0)
    form = page.locator("form.new-job")
    form.locator("input[name=description]").fill("Washer leaks on the spin cycle")
    form.locator("input[name=start]").fill(_local(tomorrow))
    form.locator("input[name=end]").fill(_local(tomorrow + dt.timedelta(hours=2)))
    form.locator("button[type=submit]").click()
    page.wait_for_selector(".book-job .message.ok")
    job_id = re.search(r"Booked (\S+) ", page.text_content(".book-job .message") or "")
    assert job_id, page.text_content(".book-job .message")
    job = job_id.group(1)
    row = page.locator(f".open-jobs tr[data-job-row='{job}']")
    row.wait_for()
    assert "Washer leaks" in (row.text_content() or "")

    # reschedule it to the day after, 14:00-16:00
    row.locator("button.open-job").click()
    panel = page.locator(f".job-panel[data-job='{job}']")
    panel.wait_for()
    later = tomorrow + dt.timedelta(days=1, hours=4)
    panel.locator("form.edit-job input[name=start]").fill(_local(later))
    panel.locator("form.edit-job input[name=end]").fill(_local(later + dt.timedelta(hours=2)))
    panel.locator("form.edit-job button[type=submit]").click()
    page.wait_for_selector(".job-panel .message.ok")
    saved = server.call("GET", f"/api/work-orders/{job}", "service")
    assert dt.datetime.fromisoformat(saved["time_window"]["start"]) == later

    # a customer-visible comment and an internal one
    panel.locator("textarea[name=text]").fill("We will ring 15 minutes before arriving")
    panel.locator("select[name=visibility]").select_option("customer")
    panel.locator("form.add-comment button[type=submit]").click()
    page.wait_for_selector(".job-panel li.comment[data-visibility=customer]")
    page.locator(".job-panel textarea[name=text]").fill("Customer disputes the last invoice")
    page.locator(".job-panel form.add-comment button[type=submit]").click()
    page.wait_for_selector(".job-panel li.comment[data-visibility=internal]")
    screenshot(page, "customer-service-page")
    link = page.get_attribute(".job-panel a.tracking-link", "href")
    assert link and link.startswith(f"{server.url}/t/")

    # the customer's tracking page, without a login
    customer_view = browser.new_context(viewport={"width": 412, "height": 860}, is_mobile=True)
    track = customer_view.new_page()
    track.set_default_timeout(WAIT_MS)
    track.goto(link)
    track.wait_for_selector("#messages li[data-kind=note]")
    messages = track.text_content("#messages") or ""
    assert "We will ring 15 minutes before arriving" in messages
    assert "disputes" not in (track.content())
    screenshot(track, "customer-service-tracking")
    customer_view.close()

    # cancel it with a reason
    panel = page.locator(f".job-panel[data-job='{job}']")
    panel.locator("form.cancel-job input[name=reason]").fill("Customer repaired it themselves")
    panel.locator("form.cancel-job button[type=submit]").click()
    past = page.locator(f".past-jobs tr[data-job-row='{job}']")
    past.wait_for()
    assert "Customer repaired it themselves" in (past.text_content() or "")
    assert page.locator(f".open-jobs tr[data-job-row='{job}']").count() == 0
    done = server.call("GET", f"/api/work-orders/{job}", "service")
    assert (done["status"], done["status_reason"]) == ("cancelled",
                                                       "Customer repaired it themselves")
    screenshot(page, "customer-service-cancelled")
    assert page.problems == []
