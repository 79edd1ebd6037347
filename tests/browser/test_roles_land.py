"""Every demo role signs in through the login page in Chromium and lands on its own screen: the
board for those who dispatch (store managers limited to their stores), the technician view, and the
billing, records, customer-service and fleet screens for the others. On each: no failed request,
no answer of 400 or more, no console error, no page error, and every visible action declares the
permission its endpoint requires (``data-permission``), which the user holds (``/api/auth/me``);
the safe ones (opening a job, asking who should take it, the re-plan and emergency panels) are
clicked."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from storage.migrate import upgrade
from tests.browser.conftest import WAIT_MS, LiveServer, _in_thread, build_app, run_server, screenshot
from tests.web.api_helpers import seed_small
from web.settings import Settings

pytestmark = pytest.mark.browser

#: Where each demo login lands.
LANDING = {
    "admin": "/", "dispatcher": "/", "coordinator": "/", "operations": "/", "manager": "/",
    "billing": "/billing", "service": "/service", "fleet": "/fleet", "tech1": "/tech",
}
#: Buttons that only show, filter, page or navigate (no change, no permission of their own).
VIEW_ONLY = ("#logout, #open-timeline, button.close, button.link, button.zoom, .more-dispatches, "
             ".more-invoices, form.search button")
#: The visible buttons: their text, declared permissions, and whether they are view-only.
VISIBLE_BUTTONS = """(viewOnly) => [...document.querySelectorAll("button")]
  .filter((b) => b.checkVisibility() && !b.closest("dialog:not([open])"))
  .map((b) => ({ text: (b.textContent || b.getAttribute("aria-label") || "").trim().slice(0, 40),
                 permission: b.dataset.permission ?? null, viewOnly: b.matches(viewOnly) }))"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One seeded company for every role (the walk changes nothing)."""
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('roles') / 'board.db'}"
    _in_thread(lambda: (upgrade(url), seed_small(url, stores=4, technicians=6, orders=24)))
    with run_server(build_app(Settings(database_url=url, tile_url=""))) as live:
        yield live


class Watched:
    """A fresh context whose page records every failure the role must not meet."""

    def __init__(self, browser: Any, server: LiveServer, username: str) -> None:
        mobile = username.startswith("tech")
        size = {"width": 412, "height": 860} if mobile else {"width": 1440, "height": 900}
        self.context = browser.new_context(viewport=size, is_mobile=mobile, has_touch=mobile,
                                           timezone_id="UTC")
        self.page = self.context.new_page()
        self.page.set_default_timeout(WAIT_MS)
        self.problems: list[str] = []
        self.calls: list[str] = []
        page = self.page
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on("console", lambda m: self.problems.append(f"console {m.type}: {m.text}")
                if m.type == "error" else None)
        page.on("requestfailed", lambda r: self.problems.append(
            f"request failed: {r.method} {r.url} {r.failure}"))
        page.on("response", self._response)
        page.goto(f"{server.url}/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", "demo")
        page.click("button[type=submit]")
        page.wait_for_url(f"{server.url}{LANDING[username]}")

    def _response(self, response: Any) -> None:
        request = response.request
        self.calls.append(f"{request.method} {response.url} {response.status}")
        if response.status >= 400:
            self.problems.append(f"{request.method} {response.url} answered {response.status}")

    def me(self) -> dict[str, Any]:
        me: dict[str, Any] = self.page.evaluate("""async () => {
          const r = await fetch("/api/auth/me", { headers: {
            Authorization: `Bearer ${sessionStorage.getItem("dispatch.token")}` } });
          return r.json();
        }""")
        return me

    def buttons(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.page.evaluate(VISIBLE_BUTTONS, VIEW_ONLY)
        return found

    def check_actions(self, permissions: set[str], where: str) -> None:
        """Every visible action declares a permission the user holds."""
        for b in self.buttons():
            if b["viewOnly"]:
                continue
            declared = (b["permission"] or "").split()
            if not declared:
                self.problems.append(f"{where}: button {b['text']!r} declares no permission")
            elif not set(declared) & permissions:
                self.problems.append(f"{where}: button {b['text']!r} needs {declared}, "
                                     f"which the user does not hold")


def _walk_board(w: Watched, permissions: set[str]) -> None:
    page = w.page
    page.wait_for_selector(".queue-list li.job")
    from playwright.sync_api import expect  # here: the module imports without Playwright

    expect(page.locator("#load-status")).to_have_text("")
    page.wait_for_selector("#connection[data-state=live]")
    drags = page.locator("[draggable=true]").count()
    if "work_order:assign" in permissions:
        assert drags > 0, "an assigner can drag jobs"
    else:
        assert drags == 0, "no drag and drop without work_order:assign"
    w.check_actions(permissions, "board")
    # open an unassigned job (its details hold the assign form and "who should take this?")
    page.locator("select[name=status]").first.select_option("unassigned")
    page.locator(".queue-list li.job").first.click()
    page.wait_for_selector("#details:not([hidden]) h2")
    assert (page.locator("#details form.assign").count() > 0) == ("work_order:assign" in permissions)
    ask = page.locator("#details .ask")
    if ask.count():
        ask.click()
        page.wait_for_selector("#details .cands ol.candidates, #details .cands p")
        takes = page.locator("#details .cands button.take").count()
        if "work_order:assign" not in permissions:
            assert takes == 0, "no Assign for a user who may not assign"
    w.check_actions(permissions, "job details")
    page.locator("#details .close").click()
    if page.locator("#open-plan").is_visible():
        page.click("#open-plan")
        page.wait_for_selector("#plan:not([hidden]) form.plan-form")
        w.check_actions(permissions, "re-plan panel")
        page.locator("#plan .close").click()
    if page.locator("#open-emergency").is_visible():
        page.click("#open-emergency")
        page.wait_for_selector("#emergency:not([hidden]) .tab-body > *")
        for tab in page.locator("#emergency [role=tab]").all():
            tab.click()
            page.wait_for_selector("#emergency .tab-body > *")
            w.check_actions(permissions, f"emergency panel, {tab.text_content()}")
        page.locator("#emergency .close").click()
    page.click("#open-timeline")
    page.wait_for_selector("#timeline:not([hidden]) .tl-row")
    w.check_actions(permissions, "timeline")


def _walk_screen(w: Watched, path: str, permissions: set[str]) -> None:
    page = w.page
    from playwright.sync_api import expect  # here: the module imports without Playwright

    expect(page.locator("#load-status")).to_have_text("")
    if path == "/records":
        page.wait_for_selector(".dispatches table.rows tbody tr")
        page.wait_for_selector(".invoices h2")
        assert (page.locator("button.process").count() > 0) == ("billing:manage" in permissions)
    elif path == "/billing":
        page.wait_for_selector(".to-process table.rows tbody tr")
        assert (page.locator("button.process").count() > 0) == ("billing:manage" in permissions)
    elif path == "/service":
        page.wait_for_selector(".orders table.rows tbody tr")
        page.fill("form.search input[name=q]", "a")
        page.click("form.search button")
        page.wait_for_selector(".customers table.rows tbody tr")
        if "work_order:create" in permissions:
            page.locator(".customers button.book").first.click()
            page.wait_for_selector("form.new-job input[name=customer][readonly]")
    elif path == "/fleet":
        page.wait_for_selector(".units table.rows tbody tr")
        page.wait_for_selector("#connection[data-state=live]")
        # every unit says how fresh its tracker is (the small seed has no fixes yet: offline)
        units = page.locator(".units tbody tr")
        assert units.count() == 10
        assert page.locator(".units tbody td .tag").count() >= units.count()
    w.check_actions(permissions, path)
    # the top bar offers this screen and only screens the user may open
    nav = [a.get_attribute("href") for a in page.locator("#areas a").all()]
    assert not nav or path in nav, nav


def _walk_tech(w: Watched, permissions: set[str]) -> None:
    page = w.page
    page.wait_for_selector("#jobs li")
    page.wait_for_selector("#connection[data-state=live]")
    assert "work_order:work" in permissions
    w.check_actions(permissions, "technician view")


@pytest.mark.parametrize("username", list(LANDING))
def test_each_role_lands_on_its_screen_and_sees_only_what_it_may_do(
        server: LiveServer, browser: Any, username: str) -> None:
    w = Watched(browser, server, username)
    try:
        me = w.me()
        assert "permissions" in me, "GET /api/auth/me lists the user's permissions"
        permissions = set(me["permissions"])
        path = LANDING[username]
        if path == "/":
            _walk_board(w, permissions)
        elif path == "/tech":
            _walk_tech(w, permissions)
        else:
            _walk_screen(w, path, permissions)
        w.page.wait_for_timeout(300)  # late answers of what was clicked
        screenshot(w.page, f"land-{username}")
        assert not w.problems, "\n".join(w.problems)
    finally:
        w.context.close()


def test_a_screen_not_for_the_user_sends_them_to_theirs(server: LiveServer, browser: Any) -> None:
    """The billing clerk opening the board (or a bookmark of it) gets their own screen, without a
    single refused request."""
    from playwright.sync_api import expect

    w = Watched(browser, server, "billing")
    try:
        expect(w.page.locator("#load-status")).to_have_text("")  # nothing of it still loading
        w.page.goto(f"{server.url}/")
        w.page.wait_for_url(f"{server.url}/billing")
        w.page.wait_for_selector(".to-process table.rows tbody tr")
        assert not w.problems, "\n".join(w.problems)
    finally:
        w.context.close()
