"""The dispatch records screen in Chromium. A dispatcher filters the table, opens a dispatch (its
trip ticket and invoices), creates one for a free trip ticket, edits its date and time, meets the
double-booked unit rule in words beside the unit field, schedules it and deletes it. A billing
clerk sees the same table and detail, with creators' names, and only the actions they hold."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from tests.browser.conftest import WAIT_MS, LiveServer, login, screenshot

pytestmark = pytest.mark.browser

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
VISIBLE_ACTIONS = """() => [...document.querySelectorAll("#screen button")]
  .filter((b) => b.checkVisibility())
  .map((b) => ({ text: b.textContent.trim(), permission: b.dataset.permission ?? null,
                 viewOnly: b.matches(".link, .close, form.search button, .more-invoices") }))"""


def _open_records(browser: Any, server: LiveServer, username: str) -> Any:
    page = login(browser, server, username) if username != "billing" else None
    if page is None:  # the billing clerk lands on the billing screen, and opens the records
        context = browser.new_context(viewport={"width": 1440, "height": 900}, timezone_id="UTC")
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        page.errors = []
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        page.goto(f"{server.url}/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", "demo")
        page.click("button[type=submit]")
        page.wait_for_url(f"{server.url}/billing")
        from playwright.sync_api import expect

        expect(page.locator("#load-status")).to_have_text("")  # its first loads answered
        page.goto(f"{server.url}/records")
    else:
        page.goto(f"{server.url}/records")
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.wait_for_selector(".dispatches table.rows tbody tr")
    return page


def _local(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M")


def _free_ticket(server: LiveServer, *, but: set[str]) -> str:
    tickets = server.call("GET", "/api/trip-tickets?unused=true&limit=200", "dispatcher")["items"]
    return next(t["id"] for t in tickets if t["id"] not in but)


def test_a_dispatcher_filters_opens_creates_edits_steps_and_deletes(
        server: LiveServer, browser: Any) -> None:
    from playwright.sync_api import expect

    page = _open_records(browser, server, "dispatcher")
    everything = server.call("GET", "/api/dispatch?limit=500", "dispatcher")
    assert everything["total"] > 1
    # filter by the unit of a seeded dispatch: the count and every row follow the server
    unit = everything["items"][0]["unit"]
    expected = server.call("GET", f"/api/dispatch?unit={unit}&limit=500", "dispatcher")
    page.select_option("form.filters select[name=unit]", unit)
    page.click("form.filters button[type=submit]")
    expect(page.locator(".dispatches h2 .count")).to_have_text(str(expected["total"]))
    expect(page.locator(".dispatches tbody tr")).to_have_count(expected["total"])
    unit_name = expected["items"][0]["unit_name"]
    for cell in page.locator(".dispatches tbody tr td:nth-child(3)").all_text_contents():
        assert cell == unit_name
    # sort by date and time, newest first, then oldest first
    page.click("button.sort[data-sort=datetime]")
    expect(page.locator("th[aria-sort=ascending] button.sort[data-sort=datetime]")).to_have_count(1)
    page.select_option("form.filters select[name=unit]", "")
    page.click("form.filters button[type=submit]")
    expect(page.locator(".dispatches h2 .count")).to_have_text(str(everything["total"]))
    # open one: its trip ticket and invoices
    first = page.locator(".dispatches tbody tr").first
    ticket_number = first.locator("button.open").first.text_content()
    first.locator("button.open").first.click()
    detail = page.locator(".dispatch-detail")
    expect(detail.locator("h2")).to_contain_text(ticket_number or "")
    expect(detail.locator("h3", has_text="Trip ticket")).to_be_visible()
    expect(detail.locator("h3", has_text="Invoices")).to_be_visible()
    screenshot(page, "records-dispatcher-detail")

    # create a dispatch for a free trip ticket
    units = [u for u in server.call("GET", "/api/units?limit=500", "dispatcher")["items"]
             if u["in_service"]]
    unit_a, unit_b = units[0], units[1]
    start = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).replace(
        hour=10, minute=0, second=0, microsecond=0)
    page.click("button.new-dispatch")
    form = page.locator("form.create")
    free = form.locator("select[name=trip_ticket_id] option[value]:not([value=''])")
    expect(free.first).to_be_attached()
    ticket = free.first.get_attribute("value")
    assert ticket
    form.locator("select[name=trip_ticket_id]").select_option(ticket)
    form.locator("input[name=datetime]").fill(_local(start))
    form.locator("select[name=unit]").select_option(unit_a["id"])
    form.locator("button[type=submit]").click()
    expect(detail.locator(".detail-message")).to_have_text("Dispatch created.")
    created = [d for d in server.call("GET", "/api/dispatch?limit=500", "dispatcher")["items"]
               if d["trip_ticket_id"] == ticket]
    assert len(created) == 1
    mine = created[0]
    assert mine["created_by"] == "user-dispatcher" and mine["unit"] == unit_a["id"]
    expect(detail).to_contain_text("Dispatcher")
    expect(detail.locator("h2 .tag")).to_have_text("pending")

    # edit its date and time
    later = start + dt.timedelta(days=1, hours=1)
    detail.locator("button.edit").click()
    detail.locator("form.edit-form input[name=datetime]").fill(_local(later))
    detail.locator("form.edit-form button[type=submit]").click()
    expect(detail.locator(".detail-message")).to_have_text("Dispatch saved.")
    got = server.call("GET", f"/api/dispatch/{mine['id']}", "dispatcher")
    assert dt.datetime.fromisoformat(got["datetime"]) == later

    # the other unit is booked then: the 409 shows in words beside the unit field
    server.call("POST", "/api/dispatch", "operations", json={
        "trip_ticket_id": _free_ticket(server, but={ticket}), "datetime": later.isoformat(),
        "unit": unit_b["id"]})
    detail.locator("button.edit").click()
    edit = detail.locator("form.edit-form")
    edit.locator("select[name=unit]").select_option(unit_b["id"])
    edit.locator("button[type=submit]").click()
    error = edit.locator(".field-error[data-field=unit]")
    expect(error).to_be_visible()
    expect(error).to_contain_text("already has a dispatch at that date and time")
    expect(edit.locator("select[name=unit]")).to_have_attribute("aria-invalid", "true")
    expect(edit.locator(".field-error[data-field=datetime]")).to_be_hidden()
    screenshot(page, "records-dispatcher-unit-double-booked")
    assert server.call("GET", f"/api/dispatch/{mine['id']}", "dispatcher")["unit"] == unit_a["id"]
    edit.locator("button.cancel-edit").click()

    # a status step: draft -> scheduled
    detail.locator("button.step[data-status=scheduled]").click()
    expect(detail.locator(".detail-message")).to_have_text("Status: scheduled.")
    assert server.call("GET", f"/api/dispatch/{mine['id']}", "dispatcher")["status"] == "scheduled"
    expect(detail.locator("button.step[data-status=dispatched]")).to_be_visible()

    # an invoice: the amount is asked for beside its field, then added; removed again
    add = detail.locator("form.add-invoice")
    order = add.locator("select[name=sales_order_id] option:not([value=''])").first
    add.locator("select[name=sales_order_id]").select_option(order.get_attribute("value"))
    add.locator("button[type=submit]").click()
    expect(add.locator(".field-error[data-field=amount_cents]")).to_have_text(
        "Give the amount, e.g. 120.50.")
    add.locator("input[name=amount]").fill("120.50")
    add.locator("button[type=submit]").click()
    expect(detail.locator(".detail-message")).to_have_text("Invoice added.")
    invoices = server.call("GET", f"/api/dispatch/{mine['id']}", "dispatcher")["invoices"]
    assert [i["amount_cents"] for i in invoices] == [12050]
    expect(detail.locator("h2 .tag")).to_have_text("scheduled")
    expect(detail.locator("button.delete")).to_have_count(0)  # no longer their pending draft
    detail.locator("button.remove-invoice").click()
    expect(detail.locator(".detail-message")).to_have_text("Invoice removed.")
    expect(detail.locator("h2 .tag")).to_have_text("pending")

    # delete it (their own, still pending): asked twice, then gone
    detail.locator("button.delete").click()
    expect(detail.locator("button.delete")).to_have_text("Really delete?")
    screenshot(page, "records-dispatcher-delete")
    detail.locator("button.delete").click()
    expect(page.locator(".dispatch-detail")).to_have_count(0)
    expect(page.locator(".filter-message")).to_contain_text("deleted")
    left = server.call("GET", "/api/dispatch?limit=500", "dispatcher")["items"]
    assert mine["id"] not in {d["id"] for d in left}
    # the browser logs the one refused edit (the 409 asked for); nothing else went wrong
    assert page.errors == ["Failed to load resource: the server responded with a status of 409 "
                           "(Conflict)"], page.errors


def test_a_billing_clerk_sees_the_records_and_only_their_actions(
        server: LiveServer, browser: Any) -> None:
    from playwright.sync_api import expect

    page = _open_records(browser, server, "billing")
    me = page.evaluate("""async () => (await fetch("/api/auth/me", { headers: {
        Authorization: `Bearer ${sessionStorage.getItem("dispatch.token")}` } })).json()""")
    permissions = set(me["permissions"])
    assert "dispatch:create" not in permissions and "dispatch:add_invoice" in permissions
    # creators by name, never by id
    creators = page.locator(".dispatches tbody tr td:nth-child(6)").all_text_contents()
    assert creators and not any(UUID.search(c) for c in creators), creators
    expect(page.locator("button.new-dispatch")).to_have_count(0)
    expect(page.locator("button.edit-row")).to_have_count(0)
    page.locator(".dispatches tbody tr button.open").first.click()
    detail = page.locator(".dispatch-detail")
    expect(detail.locator("h3", has_text="Trip ticket")).to_be_visible()
    expect(detail.locator("form.add-invoice")).to_be_visible()
    for hidden in ("button.edit", "button.step", "button.delete", "button.remove-invoice"):
        expect(detail.locator(hidden)).to_have_count(0)
    screenshot(page, "records-billing-detail")
    for b in page.evaluate(VISIBLE_ACTIONS):
        if b["viewOnly"]:
            continue
        declared = set((b["permission"] or "").split())
        assert declared & permissions, b
    assert page.errors == []
