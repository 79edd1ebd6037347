"""The alert rules screen in Chromium, against the real API. An admin opens /alert-rules from the
top bar: every kind of the catalogue is a row; they open the urgent-order kind, try a template
with a placeholder the kind does not offer (the preview refuses it in words and marks the
template), fix it, preview the example alert, change the number and save; the row and the API
say what was saved. The weekly figure per kind is drawn. A dispatcher has no link to the screen
and is sent to their own. No failed request, no answer of 400 or more and no console error
along the way, except the refusal the test asks for."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from domain.alerts import AlertKind
from storage.migrate import upgrade
from tests.browser.conftest import WAIT_MS, LiveServer, _in_thread, build_app, run_server, screenshot
from tests.web.api_helpers import seed_small
from web.settings import Settings

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('alert-rules') / 'board.db'}"
    _in_thread(lambda: (upgrade(url), seed_small(url, stores=3, technicians=4, orders=12)))
    with run_server(build_app(Settings(database_url=url, tile_url=""))) as live:
        yield live


def open_as(browser: Any, server: LiveServer, username: str) -> Any:
    """A new browser context signed in as ``username``, on their landing page."""
    context = browser.new_context(viewport={"width": 1440, "height": 900}, timezone_id="UTC")
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(f"{server.url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "demo")
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/")
    return page


def watch(page: Any) -> list[str]:
    """From now on, every failure the user must not meet (the board's requests that leaving it
    cut short are not counted: watching starts on the screen under test)."""
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
            if m.type == "error" else None)
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} {r.failure}"))
    page.on("response", lambda r: problems.append(
        f"{r.request.method} {r.url} answered {r.status}") if r.status >= 400 else None)
    return problems


def test_an_admin_previews_and_saves_a_kind(server: LiveServer, browser: Any) -> None:
    from playwright.sync_api import expect

    page = open_as(browser, server, "admin")
    page.locator("nav#areas a", has_text="Alert rules").click()
    page.wait_for_url(f"{server.url}/alert-rules")
    problems = watch(page)
    catalogue = page.locator("section.catalogue table tbody tr")
    expect(catalogue).to_have_count(len(AlertKind))
    row = page.locator('section.catalogue tr[data-kind="urgent_order"]')
    expect(row).to_contain_text("Unassigned for at least: 10 min")
    row.locator("button.edit").click()

    form = page.locator('form.rule-editor[data-kind="urgent_order"]')
    template = form.locator("textarea[name=template]")
    template.fill("{shop} asks: {order_id}")
    with page.expect_response(lambda r: r.url.endswith("/preview")) as refused:
        form.locator("button.preview").click()
    assert refused.value.status == 422
    expect(form.locator(".message")).to_contain_text("unknown placeholder {shop}")
    expect(template).to_have_attribute("aria-invalid", "true")
    refusals = [p for p in problems if "422" in p]  # the answer, and the browser's note of it
    assert refusals and all("preview" in p or "Unprocessable" in p for p in refusals), refusals
    problems.clear()

    template.fill("")
    form.locator("button.placeholder[data-name=store]").click()
    template.press("End")
    template.type(": {order_id} waits {waited}")
    form.locator("button.preview").click()
    expect(form.locator(".preview-message")).to_have_text("Dallas Downtown: wo-1234 waits 12 min")
    expect(form.locator(".preview-title")).to_have_text("Urgent job unassigned")
    expect(template).not_to_have_attribute("aria-invalid", "true")

    form.locator('input[name="s:after_minutes"]').fill("5")
    form.locator("select[name=severity]").select_option("critical")
    form.locator("button.save").click()
    saved = page.locator('form.rule-editor[data-kind="urgent_order"] .message')
    expect(saved).to_contain_text("Saved (version 1)")
    expect(row).to_contain_text("Unassigned for at least: 5 min")
    expect(row).to_contain_text("{store}: {order_id} waits {waited}")
    expect(row.locator(".tag.critical")).to_be_visible()
    screenshot(page, "alert-rules-saved")

    rule = next(r for r in server.call("GET", "/api/alert-rules", "admin")["items"]
                if r["kind"] == "urgent_order")
    assert rule["settings"] == {"after_minutes": 5} and rule["severity"] == "critical"
    assert rule["template"] == "{store}: {order_id} waits {waited}" and rule["version"] == 1

    expect(page.locator("section.figures h2")).to_have_text("Alerts per week")
    expect(page.locator("section.figures table, section.figures p.muted").first).to_be_visible()
    assert problems == []
    page.context.close()


def test_a_dispatcher_has_no_alert_rules_screen(server: LiveServer, browser: Any) -> None:
    from playwright.sync_api import expect

    page = open_as(browser, server, "dispatcher")
    expect(page.locator("nav#areas a", has_text="Alert rules")).to_have_count(0)
    page.goto(f"{server.url}/alert-rules")
    page.wait_for_url(f"{server.url}/")
    expect(page.locator("nav#areas a", has_text="Alert rules")).to_have_count(0)
    page.context.close()


def test_the_screen_is_registered_like_the_others() -> None:
    static = Path(__file__).resolve().parents[2] / "web" / "static"
    assert (static / "alert-rules.html").is_file()
    assert '"/alert-rules"' in (static / "js" / "shared" / "me.js").read_text(encoding="utf-8")
