"""A reconnect storm against the real app: the event path has its own connections, so events keep
flowing to connected boards while the main pool is exhausted and other boards wait for their
snapshots (which then arrive, and nobody is closed); and the board's large first frame is
compressed on the wire while small messages are not (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
from contextlib import ExitStack
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from starlette.testclient import TestClient
from websockets.asyncio.client import ClientConnection, connect

from tests.realtime.ws_helpers import receive_until, serve, wait_for
from tests.web.api_helpers import auth, seed_small, token
from web.app import create_app
from web.settings import Settings
from web.ws_protocol import MIN_SIZE

#: Boards that wait for their snapshots (two dispatchers: one scope, one read).
WAITING = ["dispatcher", "coordinator", "admin", "manager", "dispatcher"]


async def exhaust(engine: AsyncEngine, held: list[AsyncConnection]) -> None:
    """Check out every connection of the engine's pool (and show that one more must wait)."""
    pool: Any = engine.pool
    for _ in range(pool.size() + pool._max_overflow):
        held.append(await engine.connect())
    try:
        extra = await asyncio.wait_for(engine.connect(), 0.3)
    except TimeoutError:
        return
    await extra.close()
    raise AssertionError("the pool was not exhausted")


async def release(held: list[AsyncConnection]) -> None:
    for conn in held:
        await conn.close()
    held.clear()


def is_marker(description: str) -> Any:
    def match(m: dict[str, Any]) -> bool:
        return (m["type"] == "event" and m["event"] == "WorkOrderCreated"
                and m["data"]["work_order"]["description"] == description)
    return match


def test_events_reach_connected_boards_while_the_main_pool_is_exhausted(
        database_url: str) -> None:
    seed_small(database_url, orders=60)
    settings = Settings(database_url=database_url, alerts_enabled=False)
    with TestClient(create_app(settings)) as client, \
            TestClient(create_app(settings)) as other_worker, ExitStack() as stack:
        tokens = {who: token(client, who) for who in WAITING}
        headers = auth(other_worker, "dispatcher")
        watching = stack.enter_context(client.websocket_connect("/ws"))
        watching.send_json({"type": "auth", "token": token(client, "operations")})
        watching.send_json({"type": "subscribe", "topics": ["board"], "since": None})
        receive_until(watching, lambda m: m["type"] == "snapshot")
        live = client.app.state.runtime.live  # type: ignore[attr-defined]
        engine = client.app.state.runtime.engine  # type: ignore[attr-defined]
        held: list[AsyncConnection] = []
        client.portal.call(exhaust, engine, held)  # type: ignore[union-attr]
        try:
            boards = []
            for who in WAITING:  # these boards' snapshots cannot be read while it lasts
                ws = stack.enter_context(client.websocket_connect("/ws"))
                ws.send_json({"type": "auth", "token": tokens[who]})
                assert ws.receive_json()["type"] == "ready"
                ws.send_json({"type": "subscribe", "topics": ["board"], "since": None})
                boards.append(ws)
            wait_for(lambda: live.snapshots.stats()["in_flight"] >= 1, 20)
            # A job created over REST on another worker: published by the relay of its leader
            # on the event path's own connections, delivered to the board already connected.
            created = other_worker.post("/api/work-orders", headers=headers, json={
                "store_id": "store-0001", "priority": "high", "description": "Storm marker",
                "location": {"lat": 32.78, "lon": -96.8}})
            assert created.status_code == 201, created.text
            event = receive_until(watching, is_marker("Storm marker"))[-1]
            assert live.snapshots.stats()["in_flight"] >= 1  # the others still wait
            assert all(not s.topics or s._syncing for s in live.hub.sessions
                       if s.principal.username != "operations")
        finally:
            client.portal.call(release, held)  # type: ignore[union-attr]
        for ws in boards:  # then every waiting board gets its snapshot, and the job
            got = receive_until(ws, lambda m: m["type"] in {"snapshot", "event"})
            snapshot = got[-1]
            assert snapshot["type"] == "snapshot"
            if snapshot["seq"] < event["seq"]:
                receive_until(ws, is_marker("Storm marker"))
            else:
                assert any(w["id"] == created.json()["id"] for w in snapshot["work_orders"])


class Counting(ClientConnection):
    """A websocket client that counts the bytes it receives (frames as on the wire)."""

    received_bytes = 0

    def data_received(self, data: bytes) -> None:
        self.received_bytes += len(data)
        super().data_received(data)


async def test_the_first_frame_is_compressed_and_small_messages_are_not(
        database_url: str) -> None:
    await asyncio.to_thread(seed_small, database_url, orders=400)
    async with serve(create_app(Settings(database_url=database_url, alerts_enabled=False))) \
            as host, httpx.AsyncClient(base_url=f"http://{host}") as http:
        login = await http.post("/api/auth/login",
                                json={"username": "dispatcher", "password": "demo"})
        async with connect(f"ws://{host}/ws", max_size=None,
                           create_connection=Counting) as ws:
            assert isinstance(ws, Counting)
            assert [e.name for e in ws.protocol.extensions] == ["permessage-deflate"]
            before = ws.received_bytes
            await ws.send(json.dumps({"type": "auth", "token": login.json()["access_token"]}))
            ready = await ws.recv()
            assert isinstance(ready, str)
            assert ws.received_bytes - before == on_the_wire(ready)  # sent as it is
            before = ws.received_bytes
            await ws.send(json.dumps({"type": "subscribe", "topics": ["board"], "since": None}))
            small = 0
            while not (text := await ws.recv()).startswith('{"type":"snapshot"'):
                assert isinstance(text, str)
                small += on_the_wire(text)
            assert isinstance(text, str)
            wire = ws.received_bytes - before - small
            assert len(text) > MIN_SIZE
            assert wire < len(text) / 4  # JSON deflates several times over
            assert json.loads(text)["work_orders"]


def on_the_wire(text: str) -> int:
    """An uncompressed text message's bytes on the wire from server to client: header + data."""
    size = len(text.encode())
    return size + (2 if size < 126 else 4 if size < 65536 else 10)
