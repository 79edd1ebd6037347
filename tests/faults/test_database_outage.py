"""PostgreSQL gone for a while (every connection dropped, the port refusing: what a restart looks
like to the app): requests fail fast with 503 and a problem body, not 500 and not a hang; when it
is back the same process answers again and publishes events again, with no restart."""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from tests.faults.conftest import (
    BoardClient,
    TcpProxy,
    WebProcess,
    login,
    new_order,
    wait_until,
    web_env,
)


@pytest.fixture
def proxied(fault_database: str) -> Iterator[tuple[str, TcpProxy]]:
    parts = urlsplit(fault_database)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    netloc = f"{parts.username}@127.0.0.1:{proxy.port}" if parts.username else \
        f"127.0.0.1:{proxy.port}"
    try:
        yield urlunsplit((parts.scheme, netloc, parts.path, "", "")), proxy
    finally:
        proxy.close()


def test_requests_fail_fast_with_503_while_the_database_is_away_then_recover(
        proxied: tuple[str, TcpProxy]) -> None:
    url, proxy = proxied
    web = WebProcess(web_env(url))
    board: BoardClient | None = None
    try:
        token = login(web.url)
        headers = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{web.url}/api/work-orders", headers=headers, timeout=10
                         ).status_code == 200
        proxy.cut()
        started = time.monotonic()
        for path in ("/api/work-orders", "/api/stores"):
            r = httpx.get(f"{web.url}{path}", headers=headers, timeout=30)
            assert r.status_code == 503, r.text
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["code"] == "database_unavailable" and r.headers["retry-after"]
        refused = new_order(web.url, token, 0)
        assert refused.status_code == 503 and refused.json()["code"] == "database_unavailable"
        print(f"three requests refused in {time.monotonic() - started:.2f} s")
        assert httpx.get(f"{web.url}/healthz", timeout=30).status_code == 503

        proxy.restore()
        wait_until(lambda: httpx.get(f"{web.url}/api/work-orders", headers=headers,
                                     timeout=30).status_code == 200, 30, "requests answer again")
        board = BoardClient(web.url, token)
        made = new_order(web.url, token, 1)
        assert made.status_code == 201, made.text
        wait_until(lambda: any(made.json()["id"] in d for d in board.created()), 30,
                   "events are published again")
        assert httpx.get(f"{web.url}/healthz", timeout=10).status_code == 200
    finally:
        if board is not None:
            board.close()
        web.stop()
