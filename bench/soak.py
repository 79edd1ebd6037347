"""Soak: the API and the websocket fan-out under steady load; memory and latency per minute.

    python bench/soak.py [--minutes 10] [--boards 50] [--rps 20] [--creates-per-second 2]

Production shape on one machine: one web process (``dispatch serve``'s app under uvicorn, its own
process) on PostgreSQL and Redis, a fresh database seeded with the small demo company. The load,
from this process (loopback only, bounded by ``--minutes``):

* ``--boards`` dispatcher boards on websockets (snapshot, then every event);
* ``--rps`` API reads a second (the work-order list with filters, as the board's queue asks);
* ``--creates-per-second`` new work orders a second (each an event to every board);
* ``/healthz`` twice a second: the baseline in the same run (the cheapest answer the server has).

Each minute prints the server's memory (VmRSS, VmHWM), API read and create p50/p99, the baseline's
p50/p99, and the fan-out delay p50/p99 (the create's answer -> its event on a board, over every
board). Both memory and p99 should stay flat from minute to minute.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import websockets

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def memory_mb(pid: int) -> tuple[float, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in {"VmRSS", "VmHWM"}:
            fields[name] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Minute:
    def __init__(self) -> None:
        self.reads: list[float] = []
        self.creates: list[float] = []
        self.health: list[float] = []
        self.fanout: list[float] = []
        self.errors = 0


async def board(url: str, token: str, sent_at: dict[str, float], minute: list[Minute],
                stop: asyncio.Event) -> None:
    async with websockets.connect(url, max_size=None) as ws:
        await ws.send(json.dumps({"type": "auth", "token": token}))
        await ws.send(json.dumps({"type": "subscribe", "topics": ["board"], "since": None}))
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(ws.recv(), 1.0)
            except TimeoutError:
                continue
            msg = json.loads(raw)
            if msg.get("type") == "event" and msg.get("event") == "WorkOrderCreated":
                desc = str(((msg.get("data") or {}).get("work_order") or {}).get("description", ""))
                if desc in sent_at:
                    minute[-1].fanout.append(time.monotonic() - sent_at[desc])


async def paced(rate: float, stop: asyncio.Event, action: object) -> None:
    gap = 1.0 / rate
    next_at = time.monotonic()
    running: set[asyncio.Task[None]] = set()
    while not stop.is_set():
        next_at += gap
        if len(running) < 200:  # bounded: a server that stalls does not pile up requests here
            task = asyncio.create_task(action())  # type: ignore[operator]
            running.add(task)
            task.add_done_callback(running.discard)
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))


async def run(args: argparse.Namespace, base: str, pid: int) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30,
                                 limits=httpx.Limits(max_connections=64)) as client:
        r = await client.post("/api/auth/login", json={"username": "dispatcher",
                                                        "password": "demo"})
        token = r.json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        minute = [Minute()]
        stop = asyncio.Event()
        sent_at: dict[str, float] = {}
        ws_url = base.replace("http://", "ws://") + "/ws"
        boards = [asyncio.create_task(board(ws_url, token, sent_at, minute, stop))
                  for _ in range(args.boards)]
        await asyncio.sleep(3)  # boards hold their snapshots

        async def timed(bucket: str, method: str, path: str, **kw: object) -> None:
            start = time.monotonic()
            try:
                resp = await client.request(method, path, headers=headers, **kw)  # type: ignore[arg-type]
                if resp.status_code >= 400:
                    minute[-1].errors += 1
                    return
            except httpx.HTTPError:
                minute[-1].errors += 1
                return
            getattr(minute[-1], bucket).append((time.monotonic() - start) * 1000)

        async def read() -> None:
            await timed("reads", "GET", "/api/work-orders",
                        params={"status": "new,assigned", "store_id": "store-0001", "limit": 50})

        async def create() -> None:
            desc = f"soak {uuid.uuid4().hex[:12]}"
            await timed("creates", "POST", "/api/work-orders", json={
                "store_id": "store-0001", "priority": "normal", "description": desc,
                "location": {"lat": 32.78, "lon": -96.8}})
            sent_at[desc] = time.monotonic()

        async def health() -> None:
            await timed("health", "GET", "/healthz")

        loads = [asyncio.create_task(paced(args.rps, stop, read)),
                 asyncio.create_task(paced(args.creates_per_second, stop, create)),
                 asyncio.create_task(paced(2, stop, health))]
        print("minute  rss_mb  peak_mb  read_p50/p99 ms  create_p50/p99 ms  healthz_p50/p99 ms  "
              "fanout_p50/p99 ms  errors", flush=True)
        for m in range(1, args.minutes + 1):
            await asyncio.sleep(60)
            done, minute[-1] = minute[-1], Minute()
            rss, peak = memory_mb(pid)
            fan = [x * 1000 for x in done.fanout]
            print(f"{m:>6}  {rss:6.0f}  {peak:7.0f}  "
                  f"{pct(done.reads, .5):6.1f}/{pct(done.reads, .99):6.1f}  "
                  f"{pct(done.creates, .5):8.1f}/{pct(done.creates, .99):6.1f}  "
                  f"{pct(done.health, .5):8.1f}/{pct(done.health, .99):6.1f}  "
                  f"{pct(fan, .5):7.1f}/{pct(fan, .99):6.1f}  {done.errors}", flush=True)
            if len(sent_at) > 100_000:  # bounded: forget creates long delivered
                sent_at.clear()
        stop.set()
        for task in (*loads, *boards):
            task.cancel()
        await asyncio.gather(*loads, *boards, return_exceptions=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--boards", type=int, default=50)
    parser.add_argument("--rps", type=float, default=20.0)
    parser.add_argument("--creates-per-second", type=float, default=2.0)
    args = parser.parse_args()
    name = f"dispatch_soak_{uuid.uuid4().hex[:8]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(ADMIN_URL)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": REDIS_URL,
           "REDIS_PREFIX": f"soak-{name}", "SECRET_KEY": secrets.token_urlsafe(48),
           "RUN_FEEDS": "false", "LOG_LEVEL": "warning"}
    server = None
    try:
        dispatch = str(Path(sys.executable).with_name("dispatch"))
        subprocess.run([dispatch, "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
        subprocess.run([dispatch, "seed", "--stores", "20", "--technicians", "40", "--orders",
                        "200", "--quiet"], cwd=ROOT, env=env, check=True, capture_output=True)
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "web.app:create_app", "--factory", "--host",
             "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"],
            cwd=ROOT, env=env)
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        print(f"soak: {args.minutes} min, {args.boards} boards, {args.rps:g} reads/s, "
              f"{args.creates_per_second:g} creates/s, PostgreSQL + Redis, one web process",
              flush=True)
        asyncio.run(run(args, base, server.pid))
    finally:
        if server is not None:
            server.terminate()
            server.wait(20)
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
