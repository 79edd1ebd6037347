"""The billing screen in Chromium. The billing clerk signs in and lands on /billing, processes an
invoice from the queue, records a partial payment against it (the amount typed in dollars), meets
the overpayment rule in words beside the amount, and sees the balance change; the customers'
balances add up. No failed request and no console error but the one refusal asked for."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from storage.migrate import upgrade
from tests.browser.conftest import WAIT_MS, LiveServer, _in_thread, build_app, run_server, screenshot
from tests.web.api_helpers import seed_small
from web.settings import Settings

pytestmark = pytest.mark.browser


@pytest.fixture
def server(tmp_path: Any) -> Iterator[LiveServer]:
    """The small company with its billing of the months before (finished jobs, payments)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'billing.db'}"
    _in_thread(lambda: (upgrade(url), seed_small(url, stores=4, technicians=6, orders=24,
                                                 history=True)))
    with run_server(build_app(Settings(database_url=url, tile_url=""))) as live:
        yield live


def _sign_in(browser: Any, server: LiveServer, problems: list[str]) -> Any:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, timezone_id="UTC")
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.method} {r.url}"))
    page.on("response", lambda r: problems.append(f"{r.request.method} {r.url} {r.status}")
            if r.status >= 400 else None)
    page.goto(f"{server.url}/login")
    page.fill("input[name=username]", "billing")
    page.fill("input[name=password]", "demo")
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/billing")
    return page


def test_the_billing_clerk_processes_an_invoice_and_records_a_partial_payment(
        server: LiveServer, browser: Any) -> None:
    from playwright.sync_api import expect

    problems: list[str] = []
    page = _sign_in(browser, server, problems)
    expect(page.locator("#load-status")).to_have_text("")
    queue = server.call("GET", "/api/billing/to-process?limit=500", "billing")
    expect(page.locator(".to-process h2 .count")).to_have_text(str(queue["total"]))
    kinds = set(page.locator(".to-process tbody tr").evaluate_all(
        "rows => rows.map((r) => r.dataset.kind)"))
    assert {"dispatch", "invoice"} <= kinds, kinds
    screenshot(page, "billing-to-process")

    # process a waiting invoice from the queue: it leaves the queue, processed by the clerk now
    row = page.locator(".to-process tbody tr[data-kind=invoice]").first
    item_id = row.get_attribute("data-id")
    number = next(i["number"] for i in queue["items"] if i["id"] == item_id)
    row.locator("button.process").click()
    expect(page.locator(".to-process .message")).to_have_text(f"Invoice {number} processed.")
    expect(page.locator(f".to-process tbody tr[data-id='{item_id}']")).to_have_count(0)
    expect(page.locator(".to-process h2 .count")).to_have_text(str(queue["total"] - 1))
    invoice = server.call("GET", f"/api/invoices/{item_id}", "billing")
    assert invoice["processed"] and invoice["processed_by"] == "user-billing"
    assert invoice["processed_at"] and invoice["payment_status"] == "unpaid"
    amount = invoice["amount_cents"]

    # its row on the invoices tab, found by its number
    page.click("#tab-invoices")
    page.fill(".invoice-filters input[name=q]", number)
    page.press(".invoice-filters input[name=q]", "Enter")
    line = page.locator(f".invoices tbody tr[data-invoice='{item_id}']")
    expect(page.locator(".invoices tbody tr")).to_have_count(1)
    expect(line.locator(".balance")).to_have_text(_dollars(amount))
    line.locator("button.pay").click()
    form = page.locator("form.payment-form")
    amount_field = form.locator("input[name=amount]")
    expect(amount_field).to_have_value(f"{amount // 100}.{amount % 100:02d}")

    # one cent too much: the server's refusal in words beside the amount, nothing recorded
    amount_field.fill(f"{(amount + 1) // 100}.{(amount + 1) % 100:02d}")
    form.locator("button[type=submit]").click()
    error = form.locator(".field-error[data-field=amount_cents]")
    expect(error).to_be_visible()
    expect(error).to_contain_text("more than the balance")
    expect(amount_field).to_have_attribute("aria-invalid", "true")
    screenshot(page, "billing-overpayment")
    assert server.call("GET", f"/api/invoices/{item_id}/payments", "billing")["total"] == 0

    # a partial payment, typed in dollars, sent as cents
    part = amount // 3
    amount_field.fill(f"{part // 100}.{part % 100:02d}")
    form.locator("select[name=method]").select_option("check")
    form.locator("input[name=reference]").fill("check 2041")
    form.locator("button[type=submit]").click()
    left = amount - part
    expect(page.locator(".invoices > .message")).to_have_text(
        f"Payment of {_dollars(part)} recorded for {number}: {_dollars(left)} left.")
    expect(line.locator(".balance")).to_have_text(_dollars(left))
    expect(line.locator(".paid")).to_have_text(_dollars(part))
    expect(line.locator(".pay-status")).to_have_text("partly paid")
    expect(page.locator("form.payment-form")).to_have_count(0)
    paid = server.call("GET", f"/api/invoices/{item_id}/payments", "billing")
    assert [(p["amount_cents"], p["method"], p["reference"]) for p in paid["items"]] == [
        (part, "check", "check 2041")]
    line.locator("button.payments").click()
    expect(page.locator(".payments-list tbody tr")).to_have_count(1)
    expect(page.locator(".payments-list tbody tr")).to_contain_text("check 2041")
    screenshot(page, "billing-partial-payment")

    # the customers' balances: the totals are billed less paid, as the API says
    page.click("#tab-balances")
    totals = server.call("GET", "/api/billing/balances?owing=true", "billing")["totals"]
    expect(page.locator(".balances dd.owed")).to_have_text(_dollars(totals["balance_cents"]))
    customer = invoice["customer_id"]
    expect(page.locator(f".balances tbody tr[data-customer='{customer}']")).to_have_count(1)
    page.locator(f".balances tbody tr[data-customer='{customer}'] button.customer-invoices").click()
    expect(page.locator(".invoices .filter-chip")).to_be_visible()
    expect(page.locator(f".invoices tbody tr[data-invoice='{item_id}']")).to_have_count(1)
    screenshot(page, "billing-balances")
    page.wait_for_timeout(300)  # late answers
    refused = [p for p in problems if "422" in p]
    assert len(refused) == 2 and len(problems) == 2, problems  # the overpayment asked for
    page.context.close()


def _dollars(cents: int) -> str:
    return f"${cents // 100:,}.{cents % 100:02d}"
