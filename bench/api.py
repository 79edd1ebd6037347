"""API latency and throughput on PostgreSQL with 100,000 dispatches and 200,000 work orders, with
one web worker and with two side by side.

    python bench/api.py [--workers 1,2] [--seconds 12] [--rounds 3] [--keep]
                        [--database-url postgresql://...] [--source OTHER_CHECKOUT]

Seeds a fresh database (dropped afterwards unless --keep; ``--database-url`` reuses one seeded
by an earlier ``--keep`` run), then starts ``dispatch serve`` once per worker count (PostgreSQL
and Redis, as the Procfile's web process; ``--source``: also another checkout's, one worker),
all at once on free loopback ports, and drives them in turn:

* one client: ``/healthz`` (one ``SELECT 1``, no authentication: the framework's floor) and the
  dispatch list with filters, p50 side by side (the goal: the list within 2x of ``/healthz``);
* 16 clients: the same two and a dispatch's detail: throughput, p50, p99.

Each run is split into ``--rounds`` that alternate between the servers, so the load of whatever
else runs on the machine falls on all of them alike. The load generator is ``wrk`` when it is
installed (a Lua script adds the token and varies the filters), else an async Python client.
Every run says how much CPU the generator, the server's workers and the whole machine used
meanwhile, and the server's CPU per request. Every run is bounded in time (``--seconds``) and in
requests (``--max-requests``).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.api_load import Run, cpu_seconds, machine_busy, python_load, wrk_load  # noqa: E402
from bench.api_seed import bulk_seed  # noqa: E402
from bench.app_process import free_port  # noqa: E402
from storage.migrate import upgrade  # noqa: E402

ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
START_LIMIT_S = 120.0


class Server:
    """``dispatch serve --workers N`` in a process of its own, as the Procfile runs it."""

    def __init__(self, url: str, workers: int, source: Path = ROOT) -> None:
        self.port = free_port()
        self.workers = workers
        self.log = Path(tempfile.mkdtemp(prefix="bench-api-")) / "server.log"
        env = {"SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(48),
               **os.environ, "DATABASE_URL": url, "REDIS_URL": REDIS_URL,
               "REDIS_PREFIX": f"bench-api-{os.getpid()}", "RUN_FEEDS": "false",
               "ALERTS_ENABLED": "false", "LOG_LEVEL": "info", "DEMO": "false"}
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "web.cli", "serve", "--port", str(self.port),
                 "--workers", str(workers)], cwd=source, env=env, stdout=subprocess.DEVNULL,
                stderr=log)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_until_up(self) -> None:
        """Until every worker has started and ``/healthz`` answers."""
        deadline = time.monotonic() + START_LIMIT_S
        path = self.log
        while path.read_text().count("Application startup complete") < self.workers:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the server did not start:\n{path.read_text()[-2000:]}")
            time.sleep(0.2)
        assert httpx.get(f"{self.base}/healthz", timeout=10).status_code == 200

    def pids(self) -> list[int]:
        """The process and its workers (whose CPU the runs count)."""
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        return [self.proc.pid, *(int(c) for c in children.split())]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        shutil.rmtree(self.log.parent, ignore_errors=True)


def paths(now: dt.datetime) -> dict[str, list[str]]:
    """What each measured request asks for; the list's filters vary over the 200 vans."""
    start = quote((now + dt.timedelta(days=2)).isoformat(), safe="")
    end = quote((now + dt.timedelta(days=4)).isoformat(), safe="")
    return {
        "baseline /healthz": ["/healthz"],
        "list with filters": [f"/api/dispatch?unit=unit-{n:04d}&date_from={start}"
                              f"&date_to={end}&limit=50" for n in range(1, 201)],
        "detail": [f"/api/dispatch/bd-{(n * 7919) % 100_000:07d}" for n in range(200)],
    }


def measure(server: Server, token: str, name: str, targets: list[str], clients: int,
            args: argparse.Namespace) -> Run:
    pids = server.pids()
    cpu_before, busy_before = cpu_seconds(pids), machine_busy()
    seconds = args.seconds / args.rounds
    if args.generator == "wrk":
        run = wrk_load(server.base, targets, token, clients=clients, seconds=seconds,
                       max_requests=args.max_requests // args.rounds)
    else:
        run = asyncio.run(python_load(server.base, targets, token, clients=clients,
                                      seconds=seconds,
                                      max_requests=args.max_requests // args.rounds))
    run.server_cpu = cpu_seconds(pids) - cpu_before
    run.machine_cpu = machine_busy() - busy_before
    return run


Key = tuple[str, int, str, int]  # (server, workers, run, clients)


def bench(url: str, args: argparse.Namespace) -> None:
    """Every server runs at once (idle but for the one measured), and the rounds of each run
    alternate between them, so the neighbours' load falls on all of them alike."""
    now = dt.datetime.now(dt.UTC)
    targets = paths(now)
    servers = [("", Server(url, workers)) for workers in args.workers]
    if args.source:
        servers.append(("before ", Server(url, 1, args.source)))
    runs: dict[Key, list[Run]] = {}
    try:
        tokens = [start(server, targets) for _, server in servers]
        plan = [(1, "baseline /healthz"), (1, "list with filters"), (16, "baseline /healthz"),
                (16, "list with filters"), (16, "detail")]
        for clients, name in plan:
            for _ in range(args.rounds):
                for (label, server), token in zip(servers, tokens, strict=True):
                    if clients == 1 and server.workers > 1:
                        continue  # one client keeps one worker busy: nothing to compare
                    key = (label, server.workers, name, clients)
                    runs.setdefault(key, []).append(
                        measure(server, token, name, targets[name], clients, args))
            for key in [k for k in runs if k[2] == name and k[3] == clients]:
                label, workers, _, _ = key
                print(f"{label}{workers} worker{'s' if workers > 1 else ' '} c={clients:<2} "
                      f"{name:<18} {combined(runs[key]).line()}", flush=True)
    finally:
        for _, server in servers:
            server.stop()
    summary({key: combined(parts) for key, parts in runs.items()}, args)


def start(server: Server, targets: dict[str, list[str]]) -> str:
    """Wait for the server, log in, warm each worker's pool and statement cache; the token."""
    server.wait_until_up()
    login = httpx.post(f"{server.base}/api/auth/login", timeout=30,
                       json={"username": "dispatcher", "password": "demo"})
    token = str(login.json()["access_token"])
    with httpx.Client(base_url=server.base, timeout=30,
                      headers={"Authorization": f"Bearer {token}"}) as warm:
        for path in targets["list with filters"][:40] + targets["detail"][:40]:
            warm.get(path)
    return token


def combined(parts: list[Run]) -> Run:
    """The rounds of one run as one: counts and CPU added up, p50 and p99 the median of the
    rounds' (the generator reports percentiles, not each request)."""
    return Run(requests=sum(r.requests for r in parts), errors=sum(r.errors for r in parts),
               seconds=sum(r.seconds for r in parts),
               p50=statistics.median(r.p50 for r in parts),
               p99=statistics.median(r.p99 for r in parts),
               generator_cpu=sum(r.generator_cpu for r in parts),
               server_cpu=sum(r.server_cpu for r in parts),
               machine_cpu=sum(r.machine_cpu for r in parts))


def summary(results: dict[Key, Run], args: argparse.Namespace) -> None:
    print(f"\nload average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"generator: {args.generator}; {os.cpu_count()} cores; {args.rounds} alternating "
          f"rounds of {args.seconds / args.rounds:g} s per run", flush=True)
    for label in ("", "before ") if args.source else ("",):
        floor = results.get((label, 1, "baseline /healthz", 1))
        listing = results.get((label, 1, "list with filters", 1))
        if floor and listing:
            print(f"{label or 'this '}checkout, one client: list p50 {listing.p50:.2f} ms vs "
                  f"/healthz p50 {floor.p50:.2f} ms = {listing.p50 / floor.p50:.2f}x (goal: "
                  f"within 2x); server CPU {listing.server_cpu_per_request:.2f} vs "
                  f"{floor.server_cpu_per_request:.2f} ms per request")
    for name in ("list with filters", "detail"):
        one, two = results.get(("", 1, name, 16)), results.get(("", 2, name, 16))
        if one and two:
            print(f"16 clients, {name}: 1 worker {one.rate:.0f} req/s p99 {one.p99:.1f} ms; "
                  f"2 workers {two.rate:.0f} req/s p99 {two.p99:.1f} ms "
                  f"({two.rate / one.rate:.2f}x the throughput)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", default="1,2",
                        type=lambda s: [int(n) for n in s.split(",")],
                        help="web worker counts to measure, one after the other")
    parser.add_argument("--seconds", type=float, default=12.0,
                        help="length of each run (its rounds together)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds each run is split into, alternating between the servers")
    parser.add_argument("--max-requests", type=int, default=100_000,
                        help="most requests of each run")
    parser.add_argument("--generator", choices=("wrk", "python"),
                        default="wrk" if shutil.which("wrk") else "python",
                        help="the load generator (default: wrk when installed)")
    parser.add_argument("--database-url", help="a database seeded by an earlier --keep run")
    parser.add_argument("--source", type=Path,
                        help="another checkout (e.g. an older commit's) served with one worker "
                             "beside this one's, measured in the same alternating rounds")
    parser.add_argument("--dispatches", type=int, default=100_000)
    parser.add_argument("--work-orders", type=int, default=200_000)
    parser.add_argument("--keep", action="store_true", help="keep the seeded database")
    args = parser.parse_args()
    if args.database_url:
        bench(args.database_url, args)
        return 0
    name = f"dispatch_bench_{os.getpid()}"
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(ADMIN_URL)
        await conn.execute(sql)
        await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        upgrade(url)
        seconds = asyncio.run(bulk_seed(url, args.dispatches, args.work_orders))
        print(f"seeded {args.dispatches} dispatches and {args.work_orders} work orders "
              f"in {seconds:.1f} s ({url if args.keep else 'dropped at the end'})", flush=True)
        bench(url, args)
    finally:
        if not args.keep:
            asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
