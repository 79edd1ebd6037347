"""Helpers for API tests: a seeded app, logins and short-hands for problem checks."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from starlette.testclient import TestClient

from storage.engine import create_engine
from web.app import create_app
from web.clock import ShiftedClock
from web.demo.seed import seed
from web.settings import Settings


def seed_small(database_url: str, *, now: dt.datetime | None = None, stores: int = 4,
               technicians: int = 6, orders: int = 20, history: bool = False) -> None:
    """The small demo company, seeded for ``now`` (default: this moment, for an app on the
    system clock); with ``history``, also its billing of the months before (finished jobs,
    processed invoices, payments)."""
    now = now or dt.datetime.now(dt.UTC).replace(microsecond=0)

    async def run() -> None:
        engine = create_engine(database_url)
        try:
            await seed(engine, stores=stores, technicians=technicians, orders=orders, seed=1,
                       now=now, progress=False, history=history)
        finally:
            await engine.dispose()

    asyncio.run(run())


@contextmanager
def seeded_client(database_url: str, *, now: dt.datetime | None = None, history: bool = False,
                  **settings: Any) -> Iterator[TestClient]:
    """The small demo company seeded for ``now`` and an app whose clock starts at that same
    instant (``ShiftedClock``): one clock value for the data and the rules. By default ``now`` is
    the moment the client is made; ``clock_start(client)`` tells it."""
    start = now or dt.datetime.now(dt.UTC)
    clock = ShiftedClock(start)  # started before the seeding, so it keeps pace with the data
    seed_small(database_url, now=start, history=history)
    app = create_app(Settings(database_url=database_url, **settings), clock=clock)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def clock_start(client: TestClient) -> dt.datetime:
    """The instant the app's clock started at (the instant its demo data was seeded for)."""
    start: dt.datetime = client.app.state.runtime.clock.start  # type: ignore[attr-defined]
    return start


def app_now(client: TestClient) -> dt.datetime:
    """The app's clock now."""
    now: dt.datetime = client.app.state.runtime.now()  # type: ignore[attr-defined]
    return now


def token(client: TestClient, username: str, password: str = "demo") -> str:
    response = client.post("/api/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def auth(client: TestClient, username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(client, username)}"}


def assert_problem(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["detail"]
    if code is not None:
        assert body["code"] == code, body
    return body
