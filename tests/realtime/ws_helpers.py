"""Helpers for websocket tests against the real app (Starlette TestClient, in process, or uvicorn
as ``dispatch serve`` runs it)."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import uvicorn
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from domain.roles import Principal, Role
from domain.services import dispatches as dispatch_uc
from domain.services.context import Context
from storage.engine import create_engine
from storage.uow import SqlUnitOfWork
from tests.web.api_helpers import token
from web.ws_protocol import UVICORN_OPTIONS

FUTURE = dt.datetime.now(dt.UTC) + dt.timedelta(days=10)
OPS = Principal(user_id="user-operations", username="operations",
                roles=frozenset({Role.OPERATIONS_MANAGER}))


@asynccontextmanager
async def serve(app: Any, **options: Any) -> AsyncIterator[str]:
    """``app`` under uvicorn as ``dispatch serve`` runs it (``options`` replace its settings, e.g.
    another ``ws`` protocol class), on a free loopback port; yields ``host:port``."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, lifespan="on", log_level="warning", access_log=False,
                            **{**UVICORN_OPTIONS, **options})
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(30):
            while not server.started:
                assert not task.done(), "uvicorn stopped before it started"
                await asyncio.sleep(0.02)
        yield f"127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@contextmanager
def connect(client: TestClient, username: str, topics: list[str],
            since: int | None = None) -> Iterator[Any]:
    """Open /ws, authenticate and subscribe; closes the socket on exit."""
    with client.websocket_connect("/ws") as ws:
        ws.send_json({"type": "auth", "token": token(client, username)})
        ready = ws.receive_json()
        assert ready["type"] == "ready", ready
        ws.send_json({"type": "subscribe", "topics": topics, "since": since})
        yield ws


def receive_until(ws: Any, predicate: Any, limit: int = 500) -> list[dict[str, Any]]:
    seen = []
    for _ in range(limit):
        message = ws.receive_json()
        seen.append(message)
        if predicate(message):
            return seen
    raise AssertionError(f"no matching message in {limit}: {seen[-3:]}")


def close_code(ws: Any) -> int:
    try:
        for _ in range(100):
            ws.receive_json()
    except WebSocketDisconnect as closed:
        return int(closed.code)
    raise AssertionError("the socket stayed open")


def make_dispatches(database_url: str, tickets: list[str], unit: str = "unit-0001") -> None:
    """Commit dispatches directly through the use case (another process could do the same)."""

    async def run() -> None:
        engine = create_engine(database_url)
        try:
            for n, ticket in enumerate(tickets):
                await dispatch_uc.create_dispatch(
                    SqlUnitOfWork(engine, actor=OPS),
                    Context(principal=OPS, now=dt.datetime.now(dt.UTC)),
                    trip_ticket_id=ticket, datetime=FUTURE + dt.timedelta(hours=n), unit=unit)
        finally:
            await engine.dispose()

    asyncio.run(run())


def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("condition not met in time")
