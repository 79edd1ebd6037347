"""Fault fixtures: web processes of our own (uvicorn subprocesses on free loopback ports), a Redis
server of our own that a test may kill and start again, a database of our own per test, and a TCP
proxy that can cut a service off (every connection dropped, new ones refused) and restore it.

The machine's shared PostgreSQL and Redis are never stopped: what a restart does to a client
(its connections gone, the port refusing, then back) is done to our own server or at the proxy.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import IN_CI, PG_ADMIN_URL, _pg_admin, free_port, require_service
from tests.web.api_helpers import seed_small

ROOT = Path(__file__).resolve().parents[2]
START_LIMIT_S = 30.0


def wait_until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout} s")


@pytest.fixture
def fault_database() -> Iterator[str]:
    """A migrated PostgreSQL database of this test's own, seeded with the small demo company."""
    require_service("PostgreSQL", "127.0.0.1", 5432)
    from storage.migrate import upgrade

    name = f"dispatch_fault_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        upgrade(url)
        seed_small(url)
        yield url
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


class RedisServer:
    """A redis-server process of our own on a fixed free port: ``kill`` and ``start`` again."""

    def __init__(self, binary: str, port: int) -> None:
        self.binary, self.port = binary, port
        self.process: subprocess.Popen[bytes] | None = None
        self.url = f"redis://127.0.0.1:{port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self._answers, START_LIMIT_S, "redis-server answers")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
            self.process = None


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    binary = shutil.which("redis-server")
    if binary is None:
        if IN_CI:
            pytest.fail("redis-server is required when CI=true", pytrace=False)
        pytest.skip("redis-server is not installed")
    server = RedisServer(binary, free_port())
    server.start()
    try:
        yield server
    finally:
        server.kill()


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a target; ``cut`` drops every connection and refuses new
    ones (what a restarting server looks like to its clients), ``restore`` serves again on the
    same port."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.restore()

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers.update({writer, up_writer})
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        self._writers.difference_update({writer, up_writer})

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port,
                                                  reuse_address=True)

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            with suppress(Exception):
                writer.transport.abort()
        self._writers.clear()

    def restore(self) -> None:
        self._run(self._start())

    def cut(self) -> None:
        self._run(self._cut())

    def close(self) -> None:
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()


class WebProcess:
    """``uvicorn web.app:create_app`` in a process of its own (the Procfile's web process)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "web.app:create_app", "--factory", "--host",
             "127.0.0.1", "--port", str(self.port), "--log-level", "warning"],
            cwd=ROOT, env=env)
        wait_until(self._up, START_LIMIT_S, f"web process on {self.port} answers")

    def _up(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"web process exited with {self.process.returncode}")
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code in {200, 503}
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def web_env(database_url: str, **extra: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": secrets.token_urlsafe(48),
            "RUN_FEEDS": "false", "ALERTS_ENABLED": "false", "LOG_LEVEL": "warning",
            "REDIS_PREFIX": f"fault-{uuid.uuid4().hex[:8]}", **extra}


def login(base: str, username: str = "dispatcher") -> str:
    r = httpx.post(f"{base}/api/auth/login", json={"username": username, "password": "demo"},
                   timeout=10)
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def new_order(base: str, token: str, n: int) -> httpx.Response:
    return httpx.post(f"{base}/api/work-orders", headers={"Authorization": f"Bearer {token}"},
                      json={"store_id": "store-0001", "priority": "normal",
                            "location": {"lat": 32.78, "lon": -96.8},
                            "description": f"Fault test order {n}"}, timeout=15)


class BoardClient:
    """A board on a websocket in a thread of its own: records every event's seq and name."""

    def __init__(self, base: str, token: str, since: int | None = None) -> None:
        from websockets.sync.client import connect

        self._connection = connect(base.replace("http://", "ws://") + "/ws", max_size=None,
                                   open_timeout=10)
        self.ws = self._connection.__enter__()
        self.ws.send(json.dumps({"type": "auth", "token": token}))
        ready = json.loads(self.ws.recv(10))
        assert ready["type"] == "ready", ready
        self.ws.send(json.dumps({"type": "subscribe", "topics": ["board"], "since": since}))
        self.events: list[tuple[int, str, str]] = []  # (seq, event name, its data as JSON)
        self.snapshot_seq: int | None = None
        self.closed = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            while True:
                msg = json.loads(self.ws.recv())
                if msg["type"] == "snapshot":
                    self.snapshot_seq = msg["seq"]
                elif msg["type"] == "event":
                    self.events.append((msg["seq"], msg["event"], json.dumps(msg.get("data"))))
        except Exception:  # the socket closed (or the server died): the test looks at what came
            self.closed.set()

    def created(self) -> list[str]:
        """Ids (of those given) whose WorkOrderCreated came, in order."""
        return [data for _, name, data in self.events if name == "WorkOrderCreated"]

    @property
    def last_seq(self) -> int:
        return max([s for s, _, _ in self.events] + [self.snapshot_seq or 0])

    def close(self) -> None:
        with suppress(Exception):
            self._connection.__exit__(None, None, None)
        self._thread.join(5)
