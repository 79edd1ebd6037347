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

#: The one clock value of the API tests: the demo data is seeded for it and the app's clock starts
#: at it (``ShiftedClock``), so what the data says about "now" is what the rules see.
SEED_NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def seed_small(database_url: str, *, stores: int = 4, technicians: int = 6,
               orders: int = 20, now: dt.datetime = SEED_NOW) -> None:
    async def run() -> None:
        engine = create_engine(database_url)
        try:
            await seed(engine, stores=stores, technicians=technicians, orders=orders, seed=1,
                       now=now, progress=False)
        finally:
            await engine.dispose()

    asyncio.run(run())


@contextmanager
def seeded_client(database_url: str, *, now: dt.datetime | None = None,
                  **settings: Any) -> Iterator[TestClient]:
    """The small demo company seeded for ``now`` (default ``SEED_NOW``) and an app whose clock
    starts at that same instant."""
    start = now or SEED_NOW
    seed_small(database_url, now=start)
    app = create_app(Settings(database_url=database_url, **settings), clock=ShiftedClock(start))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


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
