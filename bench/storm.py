"""Reconnect storm: N boards open at once; how long each waits for its snapshot.

    .venv/bin/python bench/storm.py [--backend sqlite|postgres|both] [--boards 200]
        [--managers 40] [--orders 1200] [--deflate off|all|large] [--source DIR] [--timeout 60]

After a deploy or a network blip every dispatcher and store manager reconnects at once. For each
backend (SQLite with the in-process bus, the embedded default; PostgreSQL with Redis) this seeds
the demo-sized company (200 stores, 200 technicians, ``--orders`` open jobs) in a fresh database,
adds ``--boards`` users (``--managers`` of them store managers, two per store, the rest
dispatchers), starts the app under uvicorn in a process of its own on a free loopback port
(``--deflate``: permessage-deflate off, on every message, or on large ones as ``dispatch serve``
does; ``--source``: the code of another checkout, for a before/after comparison; before this
change ``dispatch serve`` had it off) and logs every user in over REST. Then:

* three dispatcher boards connect and hold their snapshots (they watch the relay);
* **baseline**: one board opens alone, three times;
* **storm**: ``--boards`` boards open at once with real websocket clients (each its own user:
  auth, subscribe ``board``, wait for the snapshot); 0.5 s in, a work order is created over REST.

Printed: time to snapshot (from the TCP connect to the whole snapshot received) p50/p99/max and
the part of it spent connecting and authenticating (to ``ready``), the boards left without one
and how they ended, the ``loading`` notices, the first frame's size
(uncompressed, and on the wire: the websocket bytes received from ``subscribe`` to the end of the
snapshot), snapshots computed and sent (the server's ``/healthz``), the server's and this
process's CPU time (the two share the machine: read the wall times beside its load), and
the mid-storm event: the REST call's time, its arrival at the watching boards (the relay's
publish path during the storm) and at the storm's boards (held behind their snapshots, or
already in them).

Bounded: every board gives up after ``--timeout`` seconds; only 127.0.0.1 is contacted; every
process started here is stopped and every database made here dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import resource
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from app_process import free_port, wait_until_up  # noqa: E402  (beside this script)

ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
CLK_TCK = os.sysconf("SC_CLK_TCK")
SNAPSHOT = re.compile(r'^\{"type":\s*"snapshot",\s*"seq":\s*(\d+)')

#: ``python -c SERVER <source dir> <database url> <port> <off|all|large>``: serve on 127.0.0.1 with
#: uvicorn's websocket implementation as ``dispatch serve`` does; permessage-deflate ``off``,
#: offered for ``all`` messages (uvicorn's own), or for ``large`` ones only (``web.ws_protocol``,
#: what ``dispatch serve`` runs).
SERVER = """
import sys
sys.path.insert(0, sys.argv[1])
import uvicorn
from web.app import create_app
from web.settings import Settings
options = {"ws_per_message_deflate": sys.argv[4] != "off"}
if sys.argv[4] == "large":
    from web.ws_protocol import UVICORN_OPTIONS
    options.update(UVICORN_OPTIONS)
uvicorn.run(create_app(Settings(database_url=sys.argv[2])), host="127.0.0.1",
            port=int(sys.argv[3]), log_level="warning", access_log=False, **options)
"""


class CountingConnection(ClientConnection):
    """Counts the bytes that reach the client's websocket protocol (frames as on the wire)."""

    received_bytes = 0

    def data_received(self, data: bytes) -> None:
        self.received_bytes += len(data)
        super().data_received(data)


@dataclass
class BoardResult:
    started: float = 0.0
    ready_at: float | None = None
    snapshot_at: float | None = None
    snapshot_seq: int | None = None
    frame_bytes: int = 0
    wire_bytes: int = 0
    loading: int = 0
    event_at: float | None = None
    event_seq: int | None = None
    ended: str = ""


@dataclass
class Marker:
    """The mid-storm work order: its description, when its creation answered, its seq."""

    text: str = field(default_factory=lambda: f"storm {uuid.uuid4().hex[:12]}")
    created_at: float | None = None
    seq: int | None = None
    arrived: asyncio.Event = field(default_factory=asyncio.Event)


async def board(url: str, token: str, result: BoardResult, marker: Marker | None,
                until: float, snapped: asyncio.Event | None = None) -> None:
    """One board: connect, authenticate, subscribe with no ``since``, read to the snapshot; then
    listen for the marker's event until it arrives (or is in the snapshot) or time runs out."""
    result.started = time.perf_counter()
    try:
        async with asyncio.timeout(max(0.1, until - time.perf_counter())):
            async with connect(url, max_size=None, open_timeout=None, ping_interval=None,
                               create_connection=CountingConnection) as ws:
                assert isinstance(ws, CountingConnection)
                await ws.send(json.dumps({"type": "auth", "token": token}))
                ready = json.loads(await ws.recv())
                result.ready_at = time.perf_counter()
                if ready.get("type") != "ready":
                    result.ended = f"not ready: {ready.get('type')}"
                    return
                before = ws.received_bytes
                await ws.send(json.dumps({"type": "subscribe", "topics": ["board"],
                                          "since": None}))
                while result.snapshot_at is None:
                    text = await ws.recv()
                    assert isinstance(text, str)
                    if match := SNAPSHOT.match(text[:64]):
                        result.snapshot_at = time.perf_counter()
                        result.snapshot_seq = int(match.group(1))
                        result.frame_bytes = len(text.encode())
                        result.wire_bytes = ws.received_bytes - before
                        if snapped is not None:
                            snapped.set()
                    elif text.startswith('{"type":"loading"'):
                        result.loading += 1
                if marker is None:
                    result.ended = "ok"
                    return
                while True:
                    if marker.seq is not None and result.snapshot_seq is not None \
                            and result.snapshot_seq >= marker.seq:
                        result.ended = "ok"  # the new job is in the snapshot
                        return
                    try:
                        text = await asyncio.wait_for(ws.recv(), 0.5)
                    except TimeoutError:
                        continue
                    if marker.text in text and '"WorkOrderCreated"' in text:
                        result.event_at = time.perf_counter()
                        result.event_seq = int(json.loads(text)["seq"])
                        if marker.seq is None:
                            marker.seq = result.event_seq
                        marker.arrived.set()
                        result.ended = "ok"
                        return
    except TimeoutError:
        result.ended = "timed out" if result.snapshot_at is None else "no event"
    except ConnectionClosed as closed:
        code = closed.rcvd.code if closed.rcvd else None
        result.ended = f"closed {code}"
    except OSError as error:
        result.ended = f"connect failed: {error.__class__.__name__}"


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


async def prepare(database_url: str, orders: int, boards: int, managers: int) -> list[str]:
    """Seed the demo company and the storm's users; answers their usernames."""
    from sqlalchemy import insert, select

    from domain.roles import Role
    from domain.users import User
    from storage import mapping as m
    from storage import tables as t
    from storage.engine import create_engine
    from web.demo.seed import seed
    from web.security import hash_password

    engine = create_engine(database_url)
    try:
        await seed(engine, stores=200, technicians=200, orders=orders, progress=False)
        async with engine.begin() as conn:
            stores = (await conn.execute(select(t.stores.c.id).order_by(t.stores.c.id))
                      ).scalars().all()
            password = hash_password("demo")
            users = []
            for n in range(boards):
                if n < managers:
                    users.append(User(username=f"storm-m{n:03d}", password_hash=password,
                                      roles=frozenset({Role.STORE_MANAGER}),
                                      store_ids=frozenset({stores[(n // 2) % len(stores)]})))
                else:
                    users.append(User(username=f"storm-d{n:03d}", password_hash=password,
                                      roles=frozenset({Role.DISPATCHER})))
            rows = [{**m.user_to_row(u), "version": 1} for u in users]
            await conn.execute(insert(t.users), rows)
        return [u.username for u in users]
    finally:
        await engine.dispose()


async def login_all(base: str, names: list[str]) -> dict[str, str]:
    tokens: dict[str, str] = {}
    gate = asyncio.Semaphore(4)
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        async def one(name: str) -> None:
            async with gate:
                for _ in range(20):
                    r = await http.post("/api/auth/login",
                                        json={"username": name, "password": "demo"})
                    if r.status_code == 200:
                        tokens[name] = r.json()["access_token"]
                        return
                    await asyncio.sleep(float(r.headers.get("retry-after", "1")))
                raise SystemExit(f"could not log {name} in: {r.status_code} {r.text}")
        await asyncio.gather(*(one(n) for n in names))
    return tokens


def summary(label: str, results: list[BoardResult]) -> None:
    took = [r.snapshot_at - r.started for r in results if r.snapshot_at is not None]
    ready = [r.ready_at - r.started for r in results if r.ready_at is not None]
    missing = [r.ended for r in results if r.snapshot_at is None]
    frames = [r.frame_bytes for r in results if r.snapshot_at is not None]
    wire = [r.wire_bytes for r in results if r.snapshot_at is not None]
    loading = sum(1 for r in results if r.loading)
    print(f"  {label}: {len(results)} boards, snapshot p50 {pct(took, .5):.2f} s, "
          f"p99 {pct(took, .99):.2f} s, max {max(took, default=float('nan')):.2f} s; "
          f"without one: {len(missing)}"
          + (f" ({', '.join(sorted(set(missing)))})" if missing else "")
          + f"; told 'loading': {loading}", flush=True)
    print(f"    of which connect + auth (to 'ready'): p50 {pct(ready, .5):.2f} s, p99 "
          f"{pct(ready, .99):.2f} s", flush=True)
    if frames:
        print(f"    first frame: {pct(frames, .5) / 1024:.0f} KiB uncompressed, "
              f"{pct(wire, .5) / 1024:.0f} KiB on the wire (median; max "
              f"{max(wire) / 1024:.0f} KiB)", flush=True)


async def storm(args: argparse.Namespace, base: str, pid: int, tokens: dict[str, str]) -> None:
    ws_url = base.replace("http://", "ws://") + "/ws"
    names = list(tokens)
    dispatchers = [n for n in names if n.startswith("storm-d")]
    marker = Marker()
    # Watching boards, connected before the storm: the relay's path while it lasts.
    watchers = [BoardResult() for _ in range(3)]
    watch_until = time.perf_counter() + args.timeout * 3
    ready = [asyncio.Event() for _ in watchers]
    watching = [asyncio.create_task(board(ws_url, tokens[dispatchers[i]], r, marker,
                                          watch_until, ready[i]))
                for i, r in enumerate(watchers)]
    await asyncio.wait_for(asyncio.gather(*(e.wait() for e in ready)), args.timeout)

    base_runs = []
    for i in range(3):  # baseline: one board alone (a fresh read each: no shared one to reuse)
        await asyncio.sleep(1.5)
        r = BoardResult()
        await board(ws_url, tokens[names[-1 - i]], r, None, time.perf_counter() + args.timeout)
        base_runs.append(r)
    summary("baseline, one board alone", base_runs)

    async with httpx.AsyncClient(base_url=base, timeout=args.timeout) as http:
        healthz = (await http.get("/healthz")).json()
        before = (healthz.get("live") or {}).get("snapshots")
        cpu0, own0 = cpu_seconds(pid), own_cpu_seconds()
        order = list(names)
        random.Random(7).shuffle(order)  # managers and dispatchers mixed, the same every run
        results = [BoardResult() for _ in order]
        until = time.perf_counter() + args.timeout
        t0 = time.perf_counter()
        # Store managers (of the first stores) cannot see the new job: they stop at the snapshot.
        tasks = [asyncio.create_task(board(ws_url, tokens[n], r,
                                           marker if n in dispatchers else None, until))
                 for n, r in zip(order, results, strict=True)]
        await asyncio.sleep(0.5)
        posted = time.perf_counter()
        created = await http.post("/api/work-orders", headers={
            "Authorization": f"Bearer {tokens[dispatchers[0]]}"}, json={
            "store_id": "store-0200", "priority": "normal", "description": marker.text,
            "location": {"lat": 32.78, "lon": -96.8}})
        marker.created_at = time.perf_counter()
        if created.status_code != 201:
            print(f"  the mid-storm work order was refused: {created.status_code}", flush=True)
        await asyncio.gather(*tasks)
        wall = time.perf_counter() - t0
        cpu, own = cpu_seconds(pid) - cpu0, own_cpu_seconds() - own0
        for task in watching:
            task.cancel()
        await asyncio.gather(*watching, return_exceptions=True)
        after = ((await http.get("/healthz")).json().get("live") or {}).get("snapshots")
    summary(f"storm, {len(names)} boards at once", results)
    load = loadavg()
    print(f"    CPU: server {cpu:.1f} s, these clients {own:.1f} s, over the storm's {wall:.1f} s "
          f"(2 cores shared; machine load {load})", flush=True)
    if before is not None and after is not None:
        print(f"    snapshots computed {after['computed'] - before['computed']}, sent "
              f"{after['sent'] - before['sent']}", flush=True)
    else:
        print("    snapshots computed / sent: not reported by this server", flush=True)
    created_in = (marker.created_at or posted) - posted
    watched = [r.event_at - posted for r in watchers if r.event_at is not None]
    print(f"    mid-storm work order: POST answered in {created_in * 1000:.0f} ms; its event at "
          f"the {len(watchers)} watching boards p50 {pct(watched, .5) * 1000:.0f} ms, max "
          f"{max(watched, default=float('nan')) * 1000:.0f} ms after the POST was sent "
          f"({len(watched)} of {len(watchers)} got it)", flush=True)
    mine = [r for n, r in zip(order, results, strict=True) if n in dispatchers]
    held = [r.event_at - posted for r in mine if r.event_at is not None]
    within = sum(1 for r in mine if r.event_at is None and r.snapshot_seq is not None
                 and marker.seq is not None and r.snapshot_seq >= marker.seq)
    print(f"    at the storm's {len(mine)} dispatcher boards: {len(held)} as an event (p50 "
          f"{pct(held, .5):.2f} s, max {max(held, default=float('nan')):.2f} s after the POST), "
          f"{within} in their snapshot, {len(mine) - len(held) - within} never", flush=True)


def start_server(args: argparse.Namespace, database_url: str, env: dict[str, str],
                 log: Any) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(args.source), database_url, str(port), args.deflate],
        env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    wait_until_up(server, base, seconds=60)
    return server, base


def run_backend(args: argparse.Namespace, backend: str) -> None:
    from storage.migrate import upgrade

    env = {**os.environ, "SECRET_KEY": secrets.token_urlsafe(48), "RUN_FEEDS": "false",
           "LOG_LEVEL": "warning"}
    name = f"dispatch_storm_{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        if backend == "sqlite":
            database_url = f"sqlite+aiosqlite:///{tmp}/storm.db"
            env.pop("REDIS_URL", None)
        else:
            asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
            database_url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
            env.update({"REDIS_URL": REDIS_URL, "REDIS_PREFIX": f"storm-{name}"})
        env["DATABASE_URL"] = database_url
        server = None
        log_path = Path(tmp) / "server.log"
        try:
            upgrade(database_url)
            names = asyncio.run(prepare(database_url, args.orders, args.boards, args.managers))
            with log_path.open("wb") as log:
                server, base = start_server(args, database_url, env, log)
                tokens = asyncio.run(login_all(base, names))
                print(f"{backend}: {args.orders} open jobs, {args.boards} boards "
                      f"({args.managers} store managers), permessage-deflate {args.deflate}, "
                      f"code of {args.source}", flush=True)
                asyncio.run(storm(args, base, server.pid, tokens))
        finally:
            if server is not None:
                server.terminate()
                try:
                    server.wait(20)
                except subprocess.TimeoutExpired:
                    server.kill()
            if backend == "postgres":
                asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        text = log_path.read_text(errors="replace") if log_path.exists() else ""
        timeouts = text.count("QueuePool limit") + text.count("TimeoutError")
        failed = text.count("websocket session failed")
        print(f"    server log: {failed} websocket sessions failed, {timeouts} pool timeouts",
              flush=True)


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def server_pids(engine: Any) -> list[int]:
    """The PostgreSQL backends serving this database (the pool's connections)."""
    from sqlalchemy import text

    async with engine.connect() as conn:
        return list((await conn.execute(text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND backend_type = 'client backend'"))).scalars())


def on_a_fresh_database(backend: str, prefix: str, run: Any) -> None:
    """``asyncio.run(run(url))`` on a database made for it (SQLite in a temporary folder, or a
    PostgreSQL database named ``<prefix>_<random>``), removed afterwards."""
    import tempfile
    import uuid

    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(run(f"sqlite+aiosqlite:///{tmp}/{prefix}.db"))
        return
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        asyncio.run(run(ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"))
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--boards", type=int, default=200)
    parser.add_argument("--managers", type=int, default=40,
                        help="how many of the boards are store managers' (two per store)")
    parser.add_argument("--orders", type=int, default=1200, help="open jobs in the demo")
    parser.add_argument("--deflate", choices=("off", "all", "large"), default="large",
                        help="permessage-deflate: off, on every message (uvicorn's), or on "
                             "large messages only (what dispatch serve runs)")
    parser.add_argument("--source", type=Path, default=ROOT,
                        help="checkout whose code the server runs")
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds a board waits at most")
    args = parser.parse_args()
    args.boards = max(4, min(args.boards, 2000))
    args.managers = max(0, min(args.managers, args.boards - 4))
    for backend in ("sqlite", "postgres") if args.backend == "both" else (args.backend,):
        run_backend(args, backend)


if __name__ == "__main__":
    main()
