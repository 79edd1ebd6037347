"""API latency and throughput on PostgreSQL with 100,000 dispatches and 200,000 work orders, with
one web worker and with two side by side.

    python bench/api.py [--workers 1,2] [--seconds 10] [--database-url postgresql://...] [--keep]
                        [--source OTHER_CHECKOUT]

Seeds a fresh database (dropped afterwards unless --keep; ``--database-url`` reuses one seeded
by an earlier ``--keep`` run), then for each worker count starts ``dispatch serve`` (PostgreSQL
and Redis, as the Procfile's web process) on a free loopback port and drives it:

* one client: ``/healthz`` (no database work: the framework's floor) and the dispatch list with
  filters, p50 side by side (the goal: the list within 2x of ``/healthz``);
* 16 clients: the same two and a dispatch's detail: throughput, p50, p99.

The load generator is ``wrk`` when it is installed (a Lua script adds the token and varies the
filters), else an async Python client. Every run says how much CPU the generator, the server's
workers and the whole machine used meanwhile, so a figure bent by the generator shows it. Every
run is bounded in time (``--seconds``) and in requests (``--max-requests``).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import secrets
import shutil
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
            args: argparse.Namespace, label: str = "") -> Run:
    pids = server.pids()
    cpu_before, busy_before = cpu_seconds(pids), machine_busy()
    if args.generator == "wrk":
        run = wrk_load(server.base, targets, token, clients=clients, seconds=args.seconds,
                       max_requests=args.max_requests)
    else:
        run = asyncio.run(python_load(server.base, targets, token, clients=clients,
                                      seconds=args.seconds, max_requests=args.max_requests))
    run.server_cpu = cpu_seconds(pids) - cpu_before
    run.machine_cpu = machine_busy() - busy_before
    print(f"{label}{server.workers} worker{'s' if server.workers > 1 else ' '} {name:<18} "
          f"{run.line()}", flush=True)
    return run


def bench(url: str, args: argparse.Namespace) -> None:
    now = dt.datetime.now(dt.UTC)
    targets = paths(now)
    results: dict[tuple[int, str, int], Run] = {}
    for workers in args.workers:
        plan = [(1, "baseline /healthz"), (1, "list with filters")] if workers == 1 else []
        plan += [(16, "baseline /healthz"), (16, "list with filters"), (16, "detail")]
        results.update(serve_and_measure(url, workers, ROOT, plan, targets, args))
    if args.source:  # the same runs of one worker, served by another checkout
        plan = [(1, "baseline /healthz"), (1, "list with filters"), (16, "list with filters")]
        before = serve_and_measure(url, 1, args.source, plan, targets, args, label="source: ")
        for (workers, name, clients), run in before.items():
            ours = results.get((workers, name, clients))
            if ours and "list" in name:
                print(f"{name}, {clients} client{'s' if clients > 1 else ''}: server CPU "
                      f"{run.server_cpu_per_request:.2f} ms/req with --source, "
                      f"{ours.server_cpu_per_request:.2f} here")
    summary(results, args)


def serve_and_measure(url: str, workers: int, source: Path, plan: list[tuple[int, str]],
                      targets: dict[str, list[str]], args: argparse.Namespace, label: str = ""
                      ) -> dict[tuple[int, str, int], Run]:
    results = {}
    server = Server(url, workers, source)
    try:
        server.wait_until_up()
        login = httpx.post(f"{server.base}/api/auth/login", timeout=30,
                           json={"username": "dispatcher", "password": "demo"})
        token = login.json()["access_token"]
        with httpx.Client(base_url=server.base, timeout=30,
                          headers={"Authorization": f"Bearer {token}"}) as warm:
            for path in targets["list with filters"][:20] + targets["detail"][:20]:
                warm.get(path)  # each worker's pool and statement cache, not measured
        for clients, name in plan:
            results[workers, name, clients] = measure(server, token, name, targets[name],
                                                      clients, args, label)
    finally:
        server.stop()
    return results


def summary(results: dict[tuple[int, str, int], Run], args: argparse.Namespace) -> None:
    print(f"\nload average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"generator: {args.generator}; {os.cpu_count()} cores", flush=True)
    floor, listing = results.get((1, "baseline /healthz", 1)), results.get(
        (1, "list with filters", 1))
    if floor and listing:
        print(f"one client: list p50 {listing.p50:.2f} ms vs /healthz p50 {floor.p50:.2f} ms "
              f"= {listing.p50 / floor.p50:.2f}x (goal: within 2x)")
    for name in ("list with filters", "detail"):
        one, two = results.get((1, name, 16)), results.get((2, name, 16))
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
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each run")
    parser.add_argument("--max-requests", type=int, default=100_000,
                        help="most requests of each run")
    parser.add_argument("--generator", choices=("wrk", "python"),
                        default="wrk" if shutil.which("wrk") else "python",
                        help="the load generator (default: wrk when installed)")
    parser.add_argument("--database-url", help="a database seeded by an earlier --keep run")
    parser.add_argument("--source", type=Path,
                        help="another checkout (e.g. an older commit's) to serve the same "
                             "one-worker runs with, after this one's")
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
