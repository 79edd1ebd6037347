"""A board whose snapshot has to wait its turn (every read slot busy, as in a reconnect storm) says
it is loading the board, then draws it when the snapshot comes; it is not closed meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from typing import Any

import pytest

from tests.browser.conftest import LiveServer, login

pytestmark = pytest.mark.browser


async def hold_every_slot(shared: Any, holding: threading.Event, release: asyncio.Event) -> None:
    async with contextlib.AsyncExitStack() as stack:
        for _ in range(shared.slots):
            await stack.enter_async_context(shared.slot())
        holding.set()
        await release.wait()


def test_a_board_waiting_for_its_snapshot_says_it_is_loading(
        server: LiveServer, browser: Any) -> None:
    live = server.app.state.runtime.live  # type: ignore[attr-defined]
    board = login(browser, server, "dispatcher")
    board.wait_for_selector("#connection[data-state=live]")
    board.wait_for_selector(".queue-list li.job")
    jobs = board.locator(".queue-list li.job").count()
    deadline = time.monotonic() + 20  # the board's snapshot is no longer kept for reuse
    while live.snapshots.stats()["kept"] and time.monotonic() < deadline:
        time.sleep(0.05)

    loop = live.hub._flusher.get_loop()  # the server's event loop (its thread)
    holding, release = threading.Event(), asyncio.Event()
    held = asyncio.run_coroutine_threadsafe(
        hold_every_slot(live.snapshots, holding, release), loop)
    try:
        assert holding.wait(10)
        # The board comes back without a seq (as after a long absence): it needs a snapshot.
        board.evaluate("() => { const l = window.dispatchBoard.live; l.seq = null;"
                       " l.ws.close(); }")
        indicator = board.wait_for_selector("#connection[data-state=loading]")
        assert indicator.inner_text() == "Loading the board…"
    finally:
        loop.call_soon_threadsafe(release.set)
        held.result(timeout=10)
    board.wait_for_selector("#connection[data-state=live]")
    assert board.locator(".queue-list li.job").count() == jobs
    assert not board.errors
