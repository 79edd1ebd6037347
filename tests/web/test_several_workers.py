"""``dispatch serve --workers 2``: two web processes behind one port, with PostgreSQL and Redis
between them, answer as one.

The server is the real command in a process of its own. Which worker holds a connection is read
from the operating system (the accepted socket's owner), so each check can send one request to
one worker and the next to the other.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from websockets.sync.client import ClientConnection, connect

from tests.conftest import REDIS_URL, RUN_ID, empty_postgres, free_port, require_service
from tests.web.api_helpers import seed_small
from web.planning.shared import SharedPlanning

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
PREFIX = f"dispatch-test-{RUN_ID}-workers"
FUTURE = dt.datetime.now(dt.UTC) + dt.timedelta(days=20)
PLAN = {"scope": {"all": True}, "time_limit_seconds": 1}
MAX_FAILURES = 4


@dataclass
class Server:
    port: int
    workers: list[int]
    clients: list[httpx.Client] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_of(self, client_port: int) -> int:
        """The worker process that accepted the connection from ``client_port``."""
        inodes = set(_server_sockets(self.port, client_port))
        for pid in self.workers:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                        return pid
                except OSError:
                    continue
        raise AssertionError(f"no worker holds the connection from port {client_port}")

    def http_on_each(self) -> dict[int, httpx.Client]:
        """One kept-alive HTTP connection on each worker."""
        found: dict[int, httpx.Client] = {}
        for _ in range(60):  # bounded: the kernel hands connections to either worker
            client = httpx.Client(base_url=self.base, timeout=60)
            self.clients.append(client)
            response = client.get("/livez")
            port = response.extensions["network_stream"].get_extra_info("client_addr")[1]
            found.setdefault(self.worker_of(port), client)
            if len(found) == len(self.workers):
                return found
        raise AssertionError("every connection went to the same worker")

    def websocket_on(self, pid: int, token: str, stack: ExitStack) -> ClientConnection:
        """A board subscribed on worker ``pid`` (closed with ``stack``)."""
        for _ in range(60):
            with ExitStack() as attempt:
                ws = attempt.enter_context(connect(f"ws://127.0.0.1:{self.port}/ws",
                                                   open_timeout=30))
                if self.worker_of(ws.socket.getsockname()[1]) != pid:
                    continue
                stack.push(attempt.pop_all())
            ws.send(json.dumps({"type": "auth", "token": token}))
            ready = json.loads(ws.recv(timeout=30))
            ws.send(json.dumps({"type": "subscribe", "topics": ["board"],
                                "since": ready["seq"]}))
            return ws
        raise AssertionError(f"no websocket reached worker {pid}")


def _server_sockets(server_port: int, client_port: int) -> Iterator[str]:
    """``socket:[inode]`` of the server's side of a loopback connection."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table, encoding="ascii") as rows:
            next(rows)
            for row in rows:
                cells = row.split()
                local, remote = cells[1], cells[2]
                if (int(local.rsplit(":", 1)[1], 16) == server_port
                        and int(remote.rsplit(":", 1)[1], 16) == client_port):
                    yield f"socket:[{cells[9]}]"


def _workers(pid: int) -> list[int]:
    """The web worker processes uvicorn started (not multiprocessing's resource tracker)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in children
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()]


@pytest.fixture(scope="module")
def server(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    require_service("Redis", "127.0.0.1", 6379)
    empty_postgres(postgres_url)
    seed_small(postgres_url, orders=60)
    port = free_port()
    env = {**os.environ, "DATABASE_URL": postgres_url, "REDIS_URL": REDIS_URL,
           "REDIS_PREFIX": PREFIX, "RUN_FEEDS": "false", "ALERTS_ENABLED": "false",
           "DEMO": "false", "LOG_LEVEL": "info", "WEB_CONCURRENCY": "2",
           "PLANNING_WORKERS": "1", "PLANNING_MAX_WAITING": "1",
           "LOGIN_MAX_FAILURES": str(MAX_FAILURES),
           # a revocation elsewhere can only arrive in time by the bus
           "DELEGATION_REFRESH_SECONDS": "600"}
    log = tmp_path_factory.mktemp("workers") / "stderr.txt"
    with log.open("w") as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "web.cli", "serve", "--port", str(port)],
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
    running = Server(port, [])
    try:
        deadline = time.monotonic() + 90
        while log.read_text().count("Application startup complete") < 2:
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        running.workers = _workers(proc.pid)
        assert len(running.workers) == 2, running.workers
        yield running
    finally:
        for client in running.clients:
            client.close()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        keys = redis.Redis.from_url(REDIS_URL)
        for key in keys.scan_iter(f"{PREFIX}*"):
            keys.delete(key)
        keys.close()


def _login(client: httpx.Client, username: str) -> str:
    response = client.post("/api/auth/login", json={"username": username, "password": "demo"})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def _created(ws: ClientConnection, ticket: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            message = json.loads(ws.recv(timeout=1))
        except TimeoutError:
            continue
        if (message["type"] == "event" and message["event"] == "DispatchCreated"
                and message["data"]["trip_ticket_id"] == ticket):
            return dict(message)
    raise AssertionError(f"the dispatch of {ticket} never reached the board")


def test_an_event_made_through_one_worker_reaches_a_board_on_the_other(server: Server) -> None:
    (a, on_a), (b, on_b) = server.http_on_each().items()
    token = _login(on_a, "operations")
    with ExitStack() as stack:
        boards = {a: server.websocket_on(a, token, stack), b: server.websocket_on(b, token, stack)}
        for n, (writer, reader) in enumerate(((on_a, b), (on_b, a))):
            ticket = f"tt-{2 * n + 1:06d}"  # the odd tickets are free
            made = writer.post("/api/dispatch", headers={"Authorization": f"Bearer {token}"},
                               json={"trip_ticket_id": ticket, "unit": "unit-0001",
                                     "datetime": (FUTURE + dt.timedelta(hours=n)).isoformat()})
            assert made.status_code == 201, made.text
            seen = _created(boards[reader], ticket)
            assert seen["data"]["unit"] == made.json()["unit"] == "unit-0001"


def test_failed_logins_count_across_workers(server: Server) -> None:
    on = list(server.http_on_each().values())
    wrong = {"username": "fleet", "password": "not the password"}
    answers = [on[n % 2].post("/api/auth/login", json=wrong).status_code
               for n in range(MAX_FAILURES)]
    assert answers == [401] * MAX_FAILURES, "half of them on each worker"
    for client in on:  # every worker refuses now, even the right password
        locked = client.post("/api/auth/login", json={**wrong, "password": "demo"})
        assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0


def test_a_logout_on_one_worker_ends_the_token_on_the_other_at_once(server: Server) -> None:
    (_, on_a), (_, on_b) = server.http_on_each().items()
    token = _login(on_a, "billing")
    headers = {"Authorization": f"Bearer {token}"}
    assert on_b.get("/api/auth/me", headers=headers).status_code == 200
    assert on_a.post("/api/auth/logout", headers=headers, json={}).status_code == 204
    deadline = time.monotonic() + 5  # the periodic re-read is ten minutes away
    while on_b.get("/api/auth/me", headers=headers).status_code != 401:
        assert time.monotonic() < deadline, "the other worker still takes the token"
        time.sleep(0.05)


def test_dispatch_users_sign_out_ends_the_token_on_every_worker_at_once(server: Server,
                                                                       postgres_url: str) -> None:
    on = list(server.http_on_each().values())
    headers = {"Authorization": f"Bearer {_login(on[0], 'service')}"}
    assert all(client.get("/api/auth/me", headers=headers).status_code == 200 for client in on)
    env = {**os.environ, "DATABASE_URL": postgres_url, "REDIS_URL": REDIS_URL,
           "REDIS_PREFIX": PREFIX}
    done = subprocess.run([sys.executable, "-m", "web.cli", "users", "sign-out", "service"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    deadline = time.monotonic() + 5  # the periodic re-read is ten minutes away
    while any(client.get("/api/auth/me", headers=headers).status_code != 401 for client in on):
        assert time.monotonic() < deadline, "a worker still takes the signed-out token"
        time.sleep(0.05)


class HeldSlot:
    """The cluster's only solver slot, held by the test through the same Redis queue."""

    def __init__(self) -> None:
        self.held, self.release = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._hold()), daemon=True)

    async def _hold(self) -> None:
        queue = SharedPlanning(REDIS_URL, PREFIX, slots=1, max_waiting=1)
        try:
            async with queue.slot():
                self.held.set()
                await asyncio.to_thread(self.release.wait, 60)
        finally:
            await queue.close()

    def __enter__(self) -> HeldSlot:
        self.thread.start()
        assert self.held.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.thread.join(10)


def _waiting() -> int:
    async def read() -> int:
        queue = SharedPlanning(REDIS_URL, PREFIX, slots=1, max_waiting=1)
        try:
            return (await queue.snapshot())["waiting"]
        finally:
            await queue.close()
    return asyncio.run(read())


def test_the_planning_queue_is_one_queue_across_workers(server: Server) -> None:
    (_, on_a), (_, on_b) = server.http_on_each().items()
    dispatcher = {"Authorization": f"Bearer {_login(on_a, 'dispatcher')}"}
    coordinator = {"Authorization": f"Bearer {_login(on_b, 'coordinator')}"}
    answer: dict[str, httpx.Response] = {}
    with HeldSlot():
        first = threading.Thread(target=lambda: answer.update(
            first=on_a.post("/api/proposals", json=PLAN, headers=dispatcher)))
        first.start()
        deadline = time.monotonic() + 20
        while _waiting() < 1:  # the dispatcher's plan waits in line, on worker a
            assert time.monotonic() < deadline and first.is_alive(), answer
            time.sleep(0.05)
        # the line (one place) is full for worker b too
        busy = on_b.post("/api/proposals", json=PLAN, headers=coordinator)
        assert busy.status_code == 503 and busy.json()["code"] == "planner_busy", busy.text
        assert int(busy.headers["Retry-After"]) > 0
        # and the dispatcher's own second plan is refused on worker b
        again = on_b.post("/api/proposals", json=PLAN, headers=dispatcher)
        assert again.status_code == 409 and again.json()["code"] == "plan_in_progress"
    first.join(60)
    assert answer["first"].status_code == 201, answer["first"].text
    solve = answer["first"].json()["solve"]
    assert solve["queued_seconds"] > 0 and solve["status"] != "empty"
