"""The on-call screen in Chromium: an admin opens it from the top bar, puts a dispatcher on call
for level 1 around the clock and an operations manager on an override for level 2, sees "on call
now" follow, sets the dispatcher's alert e-mail and quiet hours, and removes the shift; a
dispatcher reads the same screen without any way to change it; a billing clerk has no link to it
and is sent back to their own screen. No page error and no failed request along the way."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import update

import storage.tables as t
from storage.engine import create_engine
from storage.migrate import upgrade
from tests.browser.conftest import WAIT_MS, LiveServer, _in_thread, build_app, login, run_server
from tests.web.api_helpers import seed_small
from web.settings import Settings

pytestmark = pytest.mark.browser
PHONES = {"dispatcher": "+12145550101", "operations": "+12145550102"}


async def give_phones(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            for username, phone in PHONES.items():
                await conn.execute(update(t.users).where(t.users.c.username == username)
                                   .values(phone=phone))
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('oncall') / 'board.db'}"
    _in_thread(lambda: (upgrade(url), seed_small(url, stores=4, technicians=6, orders=12),
                        asyncio.run(give_phones(url))))
    with run_server(build_app(Settings(database_url=url, tile_url=""))) as live:
        yield live


def watch(page: Any) -> list[str]:
    problems: list[str] = []
    # a request the page left behind when it navigated away is aborted: not a failure
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url} {r.failure}")
            if r.failure != "net::ERR_ABORTED" else None)
    page.on("response", lambda r: problems.append(f"{r.status}: {r.url}")
            if r.status >= 400 else None)
    return problems


def pick(form: Any, name: str, phone: str) -> None:
    """Choose the person whose option shows that phone number."""
    value = form.locator(f"select[name={name}] option", has_text=phone).get_attribute("value")
    form.locator(f"select[name={name}]").select_option(value)


def now_row(page: Any, level: int) -> str:
    text: str = page.locator("section.oncall-now tbody tr").nth(level - 1).inner_text()
    return text


def test_an_admin_builds_the_rota_and_a_dispatcher_reads_it(browser: Any,
                                                            server: LiveServer) -> None:
    page = login(browser, server, "admin")
    problems = watch(page)
    page.click("#areas a[href='/oncall']")
    page.wait_for_selector("section.oncall-shifts form.add-shift")
    assert "nobody on the rota" in now_row(page, 1)

    form = page.locator("form.add-shift")
    form.locator("select[name=level]").select_option("1")
    pick(form, "user_id", PHONES["dispatcher"])
    form.locator("input[name=starts]").fill("00:00")
    form.locator("input[name=ends]").fill("00:00")
    for day in ("sat", "sun"):
        form.locator(f"input[name=weekdays][value={day}]").check()
    form.locator("input[name=note]").fill("front desk")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("text=Shift added.")
    shifts = page.locator("section.oncall-shifts tbody tr")
    assert shifts.count() == 1 and "all day" in shifts.first.inner_text()
    assert PHONES["dispatcher"] in now_row(page, 1) and "rota" in now_row(page, 1)

    form = page.locator("form.add-override")
    form.locator("select[name=level]").select_option("2")
    pick(form, "user_id", PHONES["operations"])
    page.evaluate("""() => {  // from an hour ago until in an hour, in the browser's local time
      const at = (h) => { const d = new Date(Date.now() + h * 3600e3);
        return new Date(d - d.getTimezoneOffset() * 60e3).toISOString().slice(0, 16); };
      const f = document.querySelector("form.add-override");
      f.elements.starts_at.value = at(-1); f.elements.ends_at.value = at(1); }""")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("text=Override added.")
    assert PHONES["operations"] in now_row(page, 2) and "override" in now_row(page, 2)

    contact = page.locator("form.set-contact")
    pick(contact, "user_id", PHONES["dispatcher"])
    contact.locator("input[name=email]").fill("dispatch@example.com")
    contact.locator("input[name=quiet_starts]").fill("22:00")
    contact.locator("input[name=quiet_ends]").fill("07:00")
    contact.locator("button[type=submit]").click()
    page.wait_for_selector("text=Contact saved.")
    row = page.locator("section.oncall-contacts tbody tr", has_text="dispatch@example.com")
    assert "22:00–07:00" in row.inner_text()

    shifts.first.locator("button.remove").click()
    page.wait_for_selector("text=Shift removed.")
    assert page.locator("section.oncall-shifts tbody tr").count() == 0
    assert problems == [] and page.errors == []
    page.context.close()

    reader = login(browser, server, "dispatcher")
    problems = watch(reader)
    reader.goto(f"{server.url}/oncall")
    reader.wait_for_selector("section.oncall-overrides tbody tr")
    assert reader.locator("form, button.remove").count() == 0  # reads, changes nothing
    assert problems == [] and reader.errors == []
    reader.context.close()


def test_a_billing_clerk_has_no_on_call_screen(browser: Any, server: LiveServer) -> None:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(f"{server.url}/login")
    page.fill("input[name=username]", "billing")
    page.fill("input[name=password]", "demo")
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/billing")
    assert page.locator("#areas a[href='/oncall']").count() == 0
    page.goto(f"{server.url}/oncall")
    page.wait_for_url(f"{server.url}/billing")
    context.close()
