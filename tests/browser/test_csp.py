"""The content security policy in Chromium: the board (map tiles from another origin, timeline,
details with proof photos) and the technician view (live socket, signature and photo proof) run
under it without a single violation."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from storage.migrate import upgrade
from tests.browser.conftest import WAIT_MS, LiveServer, _in_thread, build_app, has_websocket, run_server
from tests.browser.test_tech_proof import gradient_png, on_site_job, sign
from tests.web.api_helpers import seed_small
from web.settings import Settings

pytestmark = pytest.mark.browser

WS_LIVE = has_websocket()
TILE = gradient_png(256, 256)
#: Collects violations from the first moment of every document, before any page script runs.
LISTEN = """document.addEventListener("securitypolicyviolation", (e) => {
  (window.__violations ||= [])
    .push(`${e.violatedDirective} blocked ${e.blockedURI} at ${e.sourceFile}:${e.lineNumber}`);
});"""


def tile_server() -> Starlette:
    async def tile(request: Request) -> Response:
        return Response(TILE, media_type="image/png")

    return Starlette(routes=[Route("/tiles/{z}/{x}/{y}.png", tile)])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    """The board with its map tiles served from another origin (another port), as in production."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'board.db'}"

    def prepare() -> None:
        upgrade(url)
        seed_small(url, stores=4, technicians=6, orders=24)

    _in_thread(prepare)
    with run_server(tile_server()) as tiles:
        app = build_app(Settings(database_url=url,
                                 tile_url=f"{tiles.url}/tiles/{{z}}/{{x}}/{{y}}.png"))
        with run_server(app) as live:
            yield live


class Watched:
    """A logged-in page whose CSP violations (events and console reports) are kept."""

    def __init__(self, browser: Any, server: LiveServer, username: str, *, mobile: bool) -> None:
        size = {"width": 412, "height": 860} if mobile else {"width": 1440, "height": 900}
        self.context = browser.new_context(viewport=size, is_mobile=mobile, has_touch=mobile,
                                           timezone_id="UTC")
        self.context.add_init_script(LISTEN)
        self.page = self.context.new_page()
        self.page.set_default_timeout(WAIT_MS)
        self.console: list[str] = []
        self.page.on("console", lambda m: self.console.append(m.text)
                     if "Content Security Policy" in m.text else None)
        self.page.on("pageerror", lambda e: self.console.append(f"page error: {e}"))
        self.page.goto(f"{server.url}/login")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", "demo")
        self.page.click("button[type=submit]")
        landing = f"{server.url}/tech" if username.startswith("tech") else f"{server.url}/"
        self.page.wait_for_url(landing)
        response = self.page.reload()  # the landing page's own answer, to read its headers
        policy = response.headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy, policy
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, policy

    def violations(self) -> list[str]:
        seen: list[str] = self.page.evaluate("() => window.__violations || []")
        return seen + self.console


def test_the_board_and_the_technician_view_run_without_csp_violations(
        server: LiveServer, browser: Any) -> None:
    job = on_site_job(server)
    phone = Watched(browser, server, "tech1", mobile=True)
    tech = phone.page
    if WS_LIVE:
        tech.wait_for_selector("#connection[data-state=live]")  # the socket is allowed
    card = tech.locator(f"li.card[data-order='{job}'][data-status=on_site]")
    card.locator("button[data-step=complete]").click()
    sign(tech)  # a canvas drawn, kept as a blob
    tech.locator("dialog input[name=photos]").set_input_files(files=[
        {"name": "site.png", "mimeType": "image/png", "buffer": gradient_png(640, 480)}])
    tech.wait_for_selector("dialog .picked img")  # a blob: preview
    tech.click("dialog button[value=ok]")
    deadline = time.monotonic() + 30
    while server.call("GET", f"/api/work-orders/{job}", "dispatcher")["status"] != "completed":
        assert time.monotonic() < deadline, "the proof never reached the server"
        tech.wait_for_timeout(300)
    assert not phone.violations(), "\n".join(phone.violations())

    watched = Watched(browser, server, "dispatcher", mobile=False)
    board = watched.page
    if WS_LIVE:
        board.wait_for_selector("#connection[data-state=live]")
    board.wait_for_selector(".queue-list li.job")
    board.wait_for_selector(".leaflet-tile-loaded")  # tiles from the tile server's origin
    board.click("#open-timeline")
    tick = board.wait_for_selector("#timeline .tl-axis .tick")
    assert tick.evaluate("(el) => el.style.left").endswith("%")  # placed without inline style
    board.click(f"#timeline .block[data-order='{job}']")  # today's finished work
    board.wait_for_function("() => [...document.querySelectorAll('#details .proof img')]"
                            ".filter((i) => i.complete && i.naturalWidth > 0).length === 2")
    assert not watched.violations(), "\n".join(watched.violations())
    board.goto(f"{server.url}/api/docs")  # the API reference's stylesheet is a file too
    board.wait_for_selector("table tr td code")
    assert board.evaluate("() => getComputedStyle(document.body).marginTop") != "0px"
    assert not watched.violations(), "\n".join(watched.violations())
