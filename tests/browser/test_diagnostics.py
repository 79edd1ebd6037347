"""The probe a failed browser test reports from: it remembers the server's requests and catches
its event loop stalled, with the stack it was stuck in."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from tests.browser import diagnostics
from tests.browser.conftest import run_server


def stuck_for_a_while() -> None:
    time.sleep(3.0)  # blocks the server's event loop, as a synchronous call in a handler would


async def app(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["path"] == "/stall":
        asyncio.get_running_loop().call_soon(stuck_for_a_while)
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def test_a_stalled_loop_and_the_requests_are_in_the_report() -> None:
    diagnostics.reset()
    with run_server(app) as live:
        assert httpx.get(f"{live.url}/first").status_code == 204
        assert httpx.get(f"{live.url}/stall").status_code == 204
        assert httpx.get(f"{live.url}/after", timeout=10).status_code == 204
        report = diagnostics.report(None)
    assert "1 stall(s)" in report
    assert "in stuck_for_a_while" in report
    lines = report.splitlines()
    assert [line.split()[-1] for line in lines if " http /" in line] == ["/first", "/stall",
                                                                         "/after"]
    assert all(" 204 http " in line for line in lines if " http /" in line)
