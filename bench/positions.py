"""Positions from the device to the board at 2,000 vans: adaptive GetFeed polling against the old
fixed 30 s polling, in the same run.

    .venv/bin/python bench/positions.py [--vans 2000] [--boards 5] [--seconds 60] [--warmup 10]
        [--backend sqlite|postgres] [--baseline fixed|none]

For each way of polling (``adaptive``: the defaults, 1.1 s while records come and up to 30 s
when idle; ``fixed``: ``GEOTAB_POLL_FAST_SECONDS=30 GEOTAB_POLL_SECONDS=30``, the old behaviour)
this starts, on free loopback ports:

* the MyGeotab simulator in a process of its own: ``--vans`` vans around Dallas-Fort Worth, each
  logging a LogRecord (and updating its DeviceStatusInfo) every second, driving or parked, with
  MyGeotab's published rate limits enforced (60 GetFeed calls a minute per feed);
* the app (uvicorn as ``dispatch serve`` runs it) on a copy of one seeded database (200 stores,
  ``--vans`` technicians with a van each; SQLite with the in-process bus, or PostgreSQL with
  Redis), reading the simulator with its production GeoTab client, ``/metrics`` on, the alert
  rules off (this measures the positions path).

Then ``--boards`` boards connect over the real path (log in, websocket auth, subscribe
``board``, wait for the snapshot) and, after ``--warmup`` seconds, read every positions frame for
``--seconds``. Printed per way (the simulator, the app and the boards share this machine's clock):
the lag from each device report to the board showing it (a van reports every second; the hub
sends only each van's newest fix, so the reports since the one shown before arrive with it, and
each counts from its own second), p50/p99/max; the same for the fixes the frames carry (what
the app's histogram measures: it cannot see the reports a slow poll coalesced); the vans seen;
the app's own histograms over the same window
(device -> ingestion, device -> frame handed to the sessions), the GetFeed calls and how many
MyGeotab would have refused, and the CPU of the app, the simulator and these clients beside the
machine's load average (2 cores shared).

Bounded: every wait has a deadline, the run is ``--warmup`` + ``--seconds`` per way plus
start-up; only 127.0.0.1 is contacted; every process started here is stopped and every database
made here dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from app_process import free_port, wait_until_up  # noqa: E402  (beside this script)
from positions_report import (  # noqa: E402
    BoardResult,
    Way,
    Window,
    histograms,
    report,
)
from storm import (  # noqa: E402
    ADMIN_URL,
    REDIS_URL,
    SERVER,
    _pg_admin,
    cpu_seconds,
    loadavg,
    login_all,
    own_cpu_seconds,
)

#: ``python -c SIMULATOR <source dir> <port> <vans>``: the MyGeotab simulator on 127.0.0.1 with
#: every van logging each second, the fleet advanced by a ticker (so no request pays for a
#: backlog); prints what it was asked, as JSON, when it stops.
SIMULATOR = """
import asyncio, json, signal, socket, sys, time
from datetime import timedelta
sys.path.insert(0, sys.argv[1])
import uvicorn
from realtime.geotab import Fleet, GeotabSimulator, WallClock
port, vans = int(sys.argv[2]), int(sys.argv[3])
fleet = Fleet(vans=vans, seed=5, clock=WallClock(), center=(32.85, -96.85), radius_km=35,
              stopped_interval=timedelta(seconds=1))
sim = GeotabSimulator(fleet, database="bench", users={"dispatch-service": "bench"},
                      enforce_rate_limits=True)
calls = []
class Stamped(list):  # when each call was answered, and how
    def append(self, request):
        calls.append((time.time(), request.method, request.type_name, request.outcome))
        super().append(request)
sim.requests = Stamped()
sock = socket.socket()
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
sock.bind(("127.0.0.1", port))
server = uvicorn.Server(uvicorn.Config(sim, lifespan="off", ws="none", log_level="warning",
                                       access_log=False))
async def main():
    async def tick():
        while True:
            fleet.advance()
            await asyncio.sleep(0.2)
    ticker = asyncio.create_task(tick())
    await server.serve(sockets=[sock])
    ticker.cancel()
signal.signal(signal.SIGTERM, lambda *_: None)  # uvicorn raises it again once it stopped
asyncio.run(main())
print(json.dumps({"calls": calls, "records": fleet.log_records.appended}), flush=True)
"""

#: Who watches the boards: users who see the whole company (ten sessions each at most).
BOARD_USERS = ("dispatcher", "coordinator", "operations", "admin")



async def board(url: str, token: str, result: BoardResult, window: Window, until: float,
                snapped: asyncio.Event) -> None:
    """One board on the real path; records each positions item's lag inside the window."""
    stamps: dict[str, float] = {}  # device times repeat across items: parse each once
    try:
        async with asyncio.timeout(max(0.1, until - time.monotonic())):
            async with connect(url, max_size=None, open_timeout=None, ping_interval=None) as ws:
                await ws.send(json.dumps({"type": "auth", "token": token}))
                ready = json.loads(await ws.recv())
                if ready.get("type") != "ready":
                    result.ended = f"not ready: {ready.get('type')}"
                    return
                await ws.send(json.dumps({"type": "subscribe", "topics": ["board"],
                                          "since": None}))
                while (remaining := window.end - time.time()) > 0:
                    try:  # the window may end while no frame comes (a fixed 30 s poll)
                        text = await asyncio.wait_for(ws.recv(), min(remaining, 1.0))
                    except TimeoutError:
                        continue
                    now = time.time()
                    assert isinstance(text, str)
                    if text.startswith('{"type":"snapshot"'):
                        snapshot = json.loads(text)
                        for tech in snapshot.get("technicians") or []:
                            if position := tech.get("position"):
                                result.shown[position["unit_id"]] = dt.datetime.fromisoformat(
                                    position["at"]).timestamp()
                        result.snapshot = True
                        snapped.set()
                    elif text.startswith('{"type":"positions"'):
                        measured = now >= window.start
                        result.frames += measured
                        for item in json.loads(text)["items"]:
                            at = item["at"]
                            if (stamp := stamps.get(at)) is None:
                                stamp = stamps[at] = dt.datetime.fromisoformat(at).timestamp()
                            # The van reported every second since the fix shown before: those
                            # reports reach the board now, with this newest one.
                            before = result.shown.get(item["unit_id"], stamp - 1.0)
                            result.shown[item["unit_id"]] = stamp
                            if measured:
                                result.lags.append(now - stamp)
                                result.seen.add(item["unit_id"])
                                reports = max(1, round(stamp - before))
                                result.report_lags.extend(now - stamp + k for k in range(reports))
                        if len(stamps) > 10_000:
                            stamps.clear()
                result.ended = "ok"
    except TimeoutError:
        result.ended = "timed out"
    except ConnectionClosed as closed:
        result.ended = f"closed {closed.rcvd.code if closed.rcvd else None}"
    except OSError as error:
        result.ended = f"connect failed: {error.__class__.__name__}"


async def watch(args: argparse.Namespace, base: str, pids: dict[str, int]) -> dict[str, Any]:
    names = [BOARD_USERS[i // 10 % len(BOARD_USERS)] for i in range(args.boards)]
    tokens = await login_all(base, sorted(set(names)))
    ws_url = base.replace("http://", "ws://") + "/ws"
    window = Window()
    results = [BoardResult() for _ in names]
    snapped = [asyncio.Event() for _ in names]
    until = time.monotonic() + args.warmup + args.seconds + 90
    tasks = [asyncio.create_task(board(ws_url, tokens[n], r, window, until, e))
             for n, r, e in zip(names, results, snapped, strict=True)]
    try:
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in snapped)), 60)
    except TimeoutError:
        print("    not every board had its snapshot within 60 s", flush=True)
    await asyncio.sleep(args.warmup)
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        before = histograms((await http.get("/metrics")).text)
        cpu0 = {name: cpu_seconds(pid) for name, pid in pids.items()}
        own0 = own_cpu_seconds()
        window.start = time.time()
        window.end = window.start + args.seconds
        await asyncio.gather(*tasks)
        cpu = {name: cpu_seconds(pid) - cpu0[name] for name, pid in pids.items()}
        own = own_cpu_seconds() - own0
        after = histograms((await http.get("/metrics")).text)
    return {"results": results, "before": before, "after": after, "cpu": cpu, "own": own,
            "load": loadavg(), "window": (window.start, window.end)}


def stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def run_way(args: argparse.Namespace, way: Way, database_url: str, env: dict[str, str],
            tmp: Path) -> float:
    sim_port, app_port = free_port(), free_port()
    env = {**env, "DATABASE_URL": database_url,
           "GEOTAB_SERVER": f"http://127.0.0.1:{sim_port}", "GEOTAB_DATABASE": "bench",
           "GEOTAB_USERNAME": "dispatch-service", "GEOTAB_PASSWORD": "bench",
           "GEOTAB_POLL_FAST_SECONDS": str(way.fast), "GEOTAB_POLL_SECONDS": str(way.idle)}
    simulator = app = None
    log_path = tmp / f"{way.name}.log"
    try:
        with log_path.open("wb") as log:
            simulator = subprocess.Popen(
                [sys.executable, "-c", SIMULATOR, str(ROOT), str(sim_port), str(args.vans)],
                stdout=subprocess.PIPE, stderr=log)
            app = subprocess.Popen(
                [sys.executable, "-c", SERVER, str(ROOT), database_url, str(app_port), "large"],
                env=env, stdout=log, stderr=log)
            base = f"http://127.0.0.1:{app_port}"
            wait_until_up(app, base, seconds=60)
            run = asyncio.run(watch(args, base, {"app": app.pid, "simulator": simulator.pid}))
            stop(app)
            stop(simulator)
            out = simulator.stdout.read().decode() if simulator.stdout else ""
            sim = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
            return report(args, way, run, sim)
    finally:
        stop(app)
        stop(simulator)
        text = log_path.read_text(errors="replace") if log_path.exists() else ""
        if "Traceback" in text or "ERROR" in text:
            print(f"    the app or simulator logged errors: see the first of them:\n"
                  f"{text[text.find('Traceback') if 'Traceback' in text else text.find('ERROR'):][:1500]}",
                  flush=True)


async def seed_company(database_url: str, vans: int) -> None:
    from storage.engine import create_engine
    from web.demo.seed import seed

    engine = create_engine(database_url)
    try:
        await seed(engine, stores=200, technicians=vans, orders=300, progress=False,
                   history=False)
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vans", type=int, default=2000)
    parser.add_argument("--boards", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=60.0, help="measured, per way")
    parser.add_argument("--warmup", type=float, default=10.0,
                        help="seconds between the boards' snapshots and the measurement")
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--baseline", choices=("fixed", "none"), default="fixed",
                        help="fixed: also the old fixed 30 s polling, for comparison")
    args = parser.parse_args()
    args.vans = max(1, min(args.vans, 10_000))
    args.boards = max(1, min(args.boards, 10 * len(BOARD_USERS)))
    args.seconds = max(5.0, min(args.seconds, 600.0))
    args.warmup = max(0.0, min(args.warmup, 120.0))
    ways = [Way("adaptive", 1.1, 30.0)]
    if args.baseline == "fixed":
        ways.append(Way("fixed 30 s", 30.0, 30.0))

    from storage.migrate import upgrade

    env = {**os.environ, "SECRET_KEY": secrets.token_urlsafe(48), "LOG_LEVEL": "warning",
           "METRICS_ENABLED": "true", "RUN_FEEDS": "true", "ALERTS_ENABLED": "false"}
    env.pop("REDIS_URL", None)
    made: list[str] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        try:
            if args.backend == "sqlite":
                seeded = f"sqlite+aiosqlite:///{tmp}/seeded.db"
            else:
                made.append(f"dispatch_positions_{uuid.uuid4().hex[:8]}")
                asyncio.run(_pg_admin(f'CREATE DATABASE "{made[0]}"'))
                seeded = ADMIN_URL.rsplit("/", 1)[0] + f"/{made[0]}"
            upgrade(seeded)
            asyncio.run(seed_company(seeded, args.vans))
            print(f"{args.backend}: {args.vans} vans each logging every second, {args.boards} "
                  f"boards, {args.seconds:.0f} s measured per way (a fixed pace: two polls at least) after "
                  f"{args.warmup:.0f} s",
                  flush=True)
            p99s = {}
            for way in ways:
                if args.backend == "sqlite":
                    copy = tmp / f"{way.name.replace(' ', '-')}.db"
                    shutil.copyfile(tmp / "seeded.db", copy)
                    database_url = f"sqlite+aiosqlite:///{copy}"
                    way_env = env
                else:
                    made.append(f"{made[0]}_{len(made)}")
                    asyncio.run(_pg_admin(f'CREATE DATABASE "{made[-1]}" TEMPLATE "{made[0]}"'))
                    database_url = ADMIN_URL.rsplit("/", 1)[0] + f"/{made[-1]}"
                    way_env = {**env, "REDIS_URL": REDIS_URL,
                               "REDIS_PREFIX": f"positions-{made[-1]}"}
                # fixed pace: two polls at least in the window (one alone hid the wait: 1.4 s)
                way_args = (argparse.Namespace(**{**vars(args), "seconds": 2 * way.idle})
                            if way.fast == way.idle and args.seconds < 2 * way.idle else args)
                p99s[way.name] = run_way(way_args, way, database_url, way_env, tmp)
            if len(p99s) == 2:
                adaptive, fixed = p99s.values()
                print(f"  p99 device -> board: adaptive {adaptive:.2f} s against fixed 30 s "
                      f"{fixed:.2f} s ({fixed / adaptive:.1f}x shorter); goal: under 5 s",
                      flush=True)
        finally:
            for name in reversed(made):
                asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
