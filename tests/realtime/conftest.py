"""Fixtures for realtime tests: real HTTP servers on loopback, run in the test's event loop."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import uvicorn

from realtime.geotab import (
    Fleet,
    GeotabLogin,
    GeotabSimulator,
    InMemoryFeedCursorStore,
    ManualClock,
)

GEOTAB_DATABASE = "acme"
GEOTAB_USER = "acme-dispatch-service"
GEOTAB_PASSWORD = "s3cret"
SIM_START = datetime(2026, 7, 14, 15, 0, tzinfo=UTC)


@asynccontextmanager
async def serve_asgi(app: Any) -> AsyncIterator[str]:
    """Serve `app` with uvicorn on a free 127.0.0.1 port; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted sockets inherit this; without it Nagle + delayed ACK add ~40 ms to each
    # keep-alive request (uvicorn writes headers and body separately).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        lifespan="off",
        ws="none",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(10):
            while not server.started:
                if task.done():
                    task.result()
                    raise RuntimeError("uvicorn stopped before it started")
                await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@dataclass
class GeotabSim:
    """A running simulator with a hand-driven clock, and what a client needs to reach it."""

    simulator: GeotabSimulator
    fleet: Fleet
    clock: ManualClock
    url: str

    def login(self, *, password: str = GEOTAB_PASSWORD, server: str | None = None) -> GeotabLogin:
        return GeotabLogin(
            server=server or self.url,
            database=GEOTAB_DATABASE,
            username=GEOTAB_USER,
            password=password,
        )

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)


@pytest.fixture
async def geotab_sim() -> AsyncIterator[GeotabSim]:
    clock = ManualClock(SIM_START)
    # Short stays at sites so most vans are driving and logging every second.
    fleet = Fleet(
        vans=5,
        seed=7,
        clock=clock,
        dwell_range=(timedelta(seconds=20), timedelta(seconds=40)),
    )
    simulator = GeotabSimulator(fleet, database=GEOTAB_DATABASE, users={GEOTAB_USER: GEOTAB_PASSWORD})
    async with serve_asgi(simulator) as url:
        yield GeotabSim(simulator, fleet, clock, url)


@dataclass
class RecordingSleep:
    """Stands in for `asyncio.sleep` in the client: records each wait and returns at once,
    except for waits of at least `park_at` seconds, which park until cancelled (the client is
    idle, caught up) and set `idle`."""

    park_at: float = 3600.0
    waits: list[float] = field(default_factory=list)
    idle: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if seconds >= self.park_at:
            self.idle.set()
            await asyncio.Event().wait()
        await asyncio.sleep(0)


@pytest.fixture
def recording_sleep() -> RecordingSleep:
    return RecordingSleep()


@dataclass
class Collected:
    """What a client handed off, in order."""

    batches: list[list[Any]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def items(self) -> list[Any]:
        return [item for batch in self.batches for item in batch]

    async def __call__(self, items: list[Any]) -> None:
        self.batches.append(list(items))
        self.arrived.set()


@pytest.fixture
def collected() -> Collected:
    return Collected()


@pytest.fixture
def cursor_store() -> InMemoryFeedCursorStore:
    return InMemoryFeedCursorStore()


@pytest.fixture
def serve() -> Callable[[Any], Any]:
    """`async with serve(app) as url`: another ASGI app on a free loopback port."""
    return serve_asgi
