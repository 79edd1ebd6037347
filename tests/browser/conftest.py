"""Browser tests: the real app (seeded SQLite) under uvicorn in a thread, driven by Debian's
Chromium through Playwright. Without /usr/bin/chromium the tests skip, unless CI=true (then fail).
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from storage.migrate import upgrade
from tests.browser import diagnostics
from tests.browser.no_signal import Signal, signal_for
from tests.conftest import IN_CI
from tests.web.api_helpers import seed_small
from web.app import create_app
from web.settings import Settings

CHROMIUM = "/usr/bin/chromium"
#: How long an action or an assertion waits for what it expects (each returns as soon as it
#: holds). Generous on purpose: under the whole suite (two workers, each with its browser, its
#: server and the databases) a live update has taken over 15 s to show on a slow machine; this
#: is a bound on a stall, not a latency the product promises (the benchmarks measure those).
WAIT_MS = 30_000
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"


def require_chromium() -> None:
    if os.path.exists(CHROMIUM):
        return
    if IN_CI:
        pytest.fail(f"{CHROMIUM} is required when CI=true", pytrace=False)
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")


def build_app(settings: Settings) -> Starlette:
    return create_app(settings)


def has_websocket() -> bool:
    return any(getattr(r, "path", None) == "/ws" for r in create_app(Settings()).router.routes)


@dataclass
class LiveServer:
    url: str
    app: Starlette

    def token(self, username: str) -> str:
        r = httpx.post(f"{self.url}/api/auth/login", json={"username": username, "password": "demo"})
        r.raise_for_status()
        return str(r.json()["access_token"])

    def call(self, method: str, path: str, username: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token(username)}"}
        r = httpx.request(method, f"{self.url}{path}", headers=headers, timeout=10, **kwargs)
        assert r.status_code < 400, r.text
        return r.json()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    require_chromium()
    url = f"sqlite+aiosqlite:///{tmp_path / 'board.db'}"
    _in_thread(lambda: (upgrade(url), seed_small(url, stores=4, technicians=6, orders=24)))
    app = build_app(Settings(database_url=url, tile_url=""))
    with run_server(app) as live:
        yield live


@pytest.fixture
def signal(server: LiveServer) -> Iterator[Signal]:
    """The phone's network: a relay to ``server`` that can drop everything (``no_signal.py``);
    pages opened at ``signal.url`` reach the app only through it."""
    with signal_for(server.url) as relay:
        yield relay


@contextlib.contextmanager
def run_server(app: Any) -> Iterator[LiveServer]:
    """Serve ``app`` under uvicorn in a thread on a free loopback port, until the block ends.

    The server gets the socket already bound, so no other process can take the port between
    finding it free and listening on it. A probe watches it (``diagnostics.py``): a failed test's
    report says what the server and its event loop were doing."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        probe = diagnostics.probe(app)
        config = uvicorn.Config(probe, log_level="warning", lifespan="on",
                                ws="websockets-sansio" if _has_sansio() else "auto")
        srv = uvicorn.Server(config)
        thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        try:
            deadline = time.monotonic() + 20
            while not srv.started:
                if time.monotonic() > deadline or not thread.is_alive():
                    raise RuntimeError("the test server did not start")
                time.sleep(0.05)
            probe.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
            yield LiveServer(probe.url, app)
        finally:
            srv.should_exit = True
            thread.join(timeout=10)
            probe.stop()


def _in_thread(work: Any) -> None:
    """Run blocking set-up that uses asyncio.run() away from Playwright's event loop."""
    failures: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as error:  # re-raised in the test's thread
            failures.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if failures:
        raise failures[0]


def _has_sansio() -> bool:
    try:
        import uvicorn.protocols.websockets.websockets_sansio_impl  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_chromium()
    from playwright.sync_api import expect, sync_playwright

    # An assertion waits as long as an action may (the pages' default): on a loaded machine (two
    # workers, each with a browser and a server) a screen that saves, then reloads what it shows,
    # can take longer than Playwright's 5 s; a passing assertion returns as soon as it holds.
    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def login(browser: Any, server: LiveServer, username: str, *, mobile: bool = False,
          timezone_id: str = "UTC") -> Any:
    """A new browser context logged in as ``username``; answers its page, on its landing page."""
    size = {"width": 412, "height": 860} if mobile else {"width": 1440, "height": 900}
    context = browser.new_context(viewport=size, is_mobile=mobile, has_touch=mobile,
                                  timezone_id=timezone_id)
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{server.url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "demo")
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/tech" if username.startswith("tech") else f"{server.url}/")
    page.errors = errors
    return page


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    diagnostics.reset()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
        item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport,
                                                                      pytest.TestReport]:
    report = yield
    if report.when == "call" and report.failed:
        browser = getattr(item, "funcargs", {}).get("browser")
        report.sections.append(("what the servers and pages were doing",
                                diagnostics.report(browser)))
    return report
