"""Two web processes sharing Redis and PostgreSQL: what one commits, the other's clients see.

Real uvicorn processes on free loopback ports, real Redis pub/sub, real PostgreSQL.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import websockets

from tests.conftest import REDIS_URL, RUN_ID, empty_postgres, free_port, require_service
from tests.web.api_helpers import seed_small

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
PREFIX = f"dispatch-test-{RUN_ID}"
FUTURE = dt.datetime.now(dt.UTC) + dt.timedelta(days=20)


@pytest.fixture(scope="module")
def two_workers(postgres_url: str) -> Iterator[tuple[str, str]]:
    require_service("Redis", "127.0.0.1", 6379)
    empty_postgres(postgres_url)
    seed_small(postgres_url, orders=420)  # 210 trip tickets, the odd ones free
    # As the Procfile's web processes: no feeds, no alert rules (an alert raised while the test
    # streams would take a place among the events it counts).
    env = {**os.environ, "DATABASE_URL": postgres_url, "REDIS_URL": REDIS_URL,
           "REDIS_PREFIX": PREFIX, "SECRET_KEY": "shared-test-secret-0123456789abcdef0123",
           "RUN_FEEDS": "false", "ALERTS_ENABLED": "false"}
    procs, urls = [], []
    try:
        for _ in range(2):
            port = free_port()
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "web.app:create_app", "--factory", "--host",
                 "127.0.0.1", "--port", str(port), "--log-level", "warning",
                 "--ws-per-message-deflate", "false"], cwd=ROOT, env=env))
            urls.append(f"127.0.0.1:{port}")
        deadline = time.monotonic() + 30
        for url in urls:
            while True:
                try:
                    if httpx.get(f"http://{url}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("workers did not start")
                time.sleep(0.1)
        yield urls[0], urls[1]
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=10)
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"{PREFIX}*"):
            client.delete(key)
        client.close()


async def _token(url: str, username: str = "operations") -> str:
    async with httpx.AsyncClient() as http:
        response = await http.post(f"http://{url}/api/auth/login",
                                   json={"username": username, "password": "demo"})
        return str(response.json()["access_token"])


async def _create(url: str, token: str, tickets: list[str], unit: str, start: int = 0) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        for n, ticket in enumerate(tickets, start=start):
            response = await http.post(
                f"http://{url}/api/dispatch", headers={"Authorization": f"Bearer {token}"},
                json={"trip_ticket_id": ticket, "unit": unit,
                      "datetime": (FUTURE + dt.timedelta(hours=n)).isoformat()})
            assert response.status_code == 201, response.text


async def _collect(url: str, token: str, want: int, within_s: float) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    async with websockets.connect(f"ws://{url}/ws") as ws:
        await ws.send(json.dumps({"type": "auth", "token": token}))
        ready = json.loads(await ws.recv())
        await ws.send(json.dumps({"type": "subscribe", "topics": ["board"],
                                  "since": ready["seq"]}))
        deadline = time.monotonic() + within_s
        while len(events) < want and time.monotonic() < deadline:
            try:
                message = json.loads(await asyncio.wait_for(ws.recv(), 1.0))
            except TimeoutError:
                continue
            if message["type"] == "event":
                events.append(message)
    return events


def _kill_listeners() -> int:
    client = redis.Redis.from_url(REDIS_URL)
    killed = 0
    for info in client.client_list():
        if info.get("name") == f"{PREFIX}-listener":
            client.client_kill_filter(_id=info["id"])
            killed += 1
    client.close()
    return killed


def test_an_event_committed_through_one_worker_reaches_a_client_of_the_other(
    two_workers: tuple[str, str],
) -> None:
    a, b = two_workers

    async def scenario() -> list[dict[str, Any]]:
        token = await _token(a)
        collector = asyncio.create_task(_collect(b, token, want=1, within_s=15))
        await asyncio.sleep(1.0)
        await _create(a, token, ["tt-000001"], unit="unit-0001")
        return await collector

    events = asyncio.run(scenario())
    assert [e["event"] for e in events] == ["DispatchCreated"]
    assert events[0]["data"]["trip_ticket_id"] == "tt-000001"


def test_after_redis_drops_the_subscribers_every_client_has_every_event_once_in_order(
    two_workers: tuple[str, str],
) -> None:
    a, b = two_workers
    tickets = [f"tt-{n:06d}" for n in range(3, 203, 2)]  # 100 events

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
        token = await _token(a)
        on_b = asyncio.create_task(_collect(b, token, want=100, within_s=60))
        on_a = asyncio.create_task(_collect(a, token, want=100, within_s=60))
        await asyncio.sleep(1.0)
        first, rest = tickets[:40], tickets[40:]
        await _create(a, token, first, unit="unit-0002")
        killed = await asyncio.to_thread(_kill_listeners)  # mid-stream
        await _create(a, token, rest, unit="unit-0002", start=len(first))
        return await on_b, await on_a, killed

    on_b, on_a, killed = asyncio.run(scenario())
    assert killed >= 2, "both workers' Redis listeners were cut"
    for events in (on_b, on_a):
        seqs = [e["seq"] for e in events]
        assert len(seqs) == 100
        assert seqs == sorted(seqs) and len(set(seqs)) == 100
        assert seqs[-1] - seqs[0] == 99, "no hole in the sequence"
        assert {e["data"]["trip_ticket_id"] for e in events} == set(tickets)
