"""The reports over two years of history on PostgreSQL, through the HTTP API of a running app.

    .venv/bin/python bench/reports.py [--quick] [--requests 20] [--timeout 60]
        [--now 2026-12-06T18:00:00Z] [--seed 1] [--postgres-url URL] [--keep | --reuse NAME]

Creates a database of its own on the (loopback) PostgreSQL server of ``--postgres-url``, migrates
it and seeds two years of history ending at ``--now`` (``bench/report_history.py``: 200 stores,
200 technicians, 50,000 customers, 1,000,000+ work orders, 300,000+ invoices; ``--quick``: 50,000
jobs), then starts the app in its own process on a free loopback port, signs in as an operations
manager and times each report over the last 30 days and the last 365 days: ``--requests`` requests
after two warm-ups, one at a time, p50 and p99 (nearest rank) of the whole round trip, and the
size of the answer. Beside each, the baseline timed the same way right after each request (under
the same moment's load): a plain ``SELECT count(*)`` over the rows the report reads (what just
reading them costs); and the round trip of ``GET /api/auth/me`` (what any authenticated call
costs). Each report's total is checked against that count. The machine's load average is printed
with the figures.

A request slower than ``--timeout`` seconds is an error (that report is not timed further; what it
left running in the database is ended when the app stops). Prints the seeding time, the rows and
the database's size. The database is dropped at the end (``--keep`` leaves it for ``EXPLAIN``;
``--reuse NAME`` times a kept one again without seeding). Exits non-zero on an error (a failed
request, a total that differs from the count), never because of a timing.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import math
import os
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import ip_address
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
# The project's packages, not the benchmarks beside this script, answer ``import realtime``.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))
from bench.app_process import SERVER, free_port, wait_until_up  # noqa: E402
from bench.report_history import FULL, HOME_ZONE, QUICK, History, seed_history  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from web.security import hash_password  # noqa: E402

TEST_SERVER = "postgresql://postgres@127.0.0.1:5432/test"
INVOICES = "SELECT count(*) FROM invoices WHERE processed AND processed_at >= $1 AND processed_at < $2"
BOOKED = "SELECT count(*) FROM work_orders WHERE created_at >= $1 AND created_at < $2"
KEPT = BOOKED + " AND status <> 'cancelled'"
FINISHED = ("SELECT count(*) FROM work_orders WHERE finished_at >= $1 AND finished_at < $2"
            " AND status IN ('completed', 'failed')")


def _sla_jobs(total: dict[str, Any]) -> Any:
    return total.get("jobs")


def _finished(total: dict[str, Any]) -> Any:
    return (total.get("jobs_completed") or 0) + (total.get("jobs_failed") or 0)


#: (kind, group, the baseline's count, how the report's total counts the same rows)
REPORTS: tuple[tuple[str, str, str, Callable[[dict[str, Any]], Any]], ...] = (
    ("revenue", "day", INVOICES, lambda t: t.get("invoices")),
    ("revenue", "month", INVOICES, lambda t: t.get("invoices")),
    ("revenue", "store", INVOICES, lambda t: t.get("invoices")),
    ("revenue", "customer", INVOICES, lambda t: t.get("invoices")),
    ("revenue", "service_line", INVOICES, lambda t: t.get("invoices")),
    ("sla", "day", KEPT, _sla_jobs),
    ("sla", "store", KEPT, _sla_jobs),
    ("volume", "hour", BOOKED, lambda t: t.get("total")),
    ("technicians", "technician", FINISHED, _finished),
)
RANGES = (("month", 30), ("year", 365))


@dataclass
class Timing:
    seconds: list[float] = field(default_factory=list)

    def p(self, q: float) -> float:
        ranked = sorted(self.seconds)
        return ranked[max(0, math.ceil(q * len(ranked)) - 1)] * 1000


def loopback(url: str) -> None:
    host = urlsplit(url).hostname or ""
    try:
        ok = host == "localhost" or ip_address(host).is_loopback
    except ValueError:
        ok = False
    if not ok:
        raise SystemExit(f"--postgres-url must name a loopback server, not {host!r}")


async def admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def seed(url: str, now: dt.datetime, quick: bool, random_seed: int) -> dict[str, int]:
    conn = await asyncpg.connect(url)
    try:
        return await seed_history(conn, History(QUICK if quick else FULL, now, random_seed),
                                  progress=sys.stderr.isatty())
    finally:
        await conn.close()


async def add_login(url: str, username: str, password: str) -> None:
    """An operations manager, written as the seeding of tests writes users."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "INSERT INTO users (id, username, password_hash, roles, store_ids, display_name, "
            "active, phone, token_version, version) VALUES ($1, $2, $3, $4, '[]', $5, true, '', "
            "0, 1)", str(uuid.uuid4()), username, hash_password(password),
            '["operations_manager"]', "Reports benchmark")
    finally:
        await conn.close()


async def end_queries(url: str) -> None:
    """End what the stopped app left running in our database (a query past the client's time
    limit goes on in the server until it finishes)."""
    await admin(url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE datname = current_database() AND pid <> pg_backend_pid()")


async def describe(url: str) -> list[str]:
    conn = await asyncpg.connect(url)
    try:
        size = await conn.fetchval("SELECT pg_size_pretty(pg_database_size(current_database()))")
        lines = [f"database size {size}"]
        for table in ("work_orders", "invoices", "sales_orders", "assignment_declines",
                      "customers"):
            rows, heap, indexes = await conn.fetchrow(
                f"SELECT (SELECT count(*) FROM {table}), pg_size_pretty(pg_table_size('{table}')),"
                f" pg_size_pretty(pg_indexes_size('{table}'))")
            lines.append(f"  {table:20} {rows:>10,} rows  table {heap:>8}  indexes {indexes:>8}")
        return lines
    finally:
        await conn.close()


class Baseline:
    """The plain count beside each report, on a connection of its own, timed right after each
    request (the same moment's load)."""

    def __init__(self, url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.conn = self.loop.run_until_complete(asyncpg.connect(url))
        self.rows = 0

    def count(self, sql: str, start: dt.datetime, end: dt.datetime) -> float:
        began = time.perf_counter()
        self.rows = int(self.loop.run_until_complete(self.conn.fetchval(sql, start, end)))
        return time.perf_counter() - began

    def close(self) -> None:
        self.loop.run_until_complete(self.conn.close())
        self.loop.close()


def start_app(url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "SECRET_KEY": secrets.token_urlsafe(48)}
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(ROOT), url, str(port)], env=env)
    base = f"http://127.0.0.1:{port}"
    wait_until_up(server, base, seconds=90)
    return server, base


@dataclass
class Result:
    timing: Timing = field(default_factory=Timing)
    baseline: Timing = field(default_factory=Timing)
    body: dict[str, Any] | None = None
    size: int = 0


def timed(http: httpx.Client, path: str, params: dict[str, str], requests: int,
          errors: list[str], beside: Callable[[], float] = lambda: 0.0) -> Result:
    """Two warm-ups, then ``requests`` timed requests, each followed by ``beside()``."""
    result = Result()
    for i in range(2 + requests):
        began = time.perf_counter()
        try:
            answer = http.get(path, params=params)
        except httpx.HTTPError as error:
            errors.append(f"{path} {params}: {type(error).__name__}")
            result.body = None
            return result
        took = time.perf_counter() - began
        if answer.status_code != 200:
            errors.append(f"{path} {params}: {answer.status_code} {answer.text[:200]}")
            result.body = None
            return result
        counted = beside()
        if i >= 2:
            result.timing.seconds.append(took)
            result.baseline.seconds.append(counted)
        result.body, result.size = answer.json(), len(answer.content)
    return result


def _kb(size: int) -> str:
    return f"{size / 1024:.0f} kB" if size < 1024 * 1024 else f"{size / 1024 / 1024:.1f} MB"


def measure(url: str, now: dt.datetime, requests: int, timeout: float) -> int:
    zone = ZoneInfo(HOME_ZONE)
    today = now.astimezone(zone).date()
    dates: dict[str, tuple[dt.date, dt.date]] = {
        name: (today - dt.timedelta(days=days - 1), today) for name, days in RANGES}
    bounds = {name: (dt.datetime.combine(a, dt.time(), zone).astimezone(dt.UTC),
                     dt.datetime.combine(b + dt.timedelta(days=1), dt.time(), zone)
                     .astimezone(dt.UTC)) for name, (a, b) in dates.items()}
    password = secrets.token_urlsafe(16)
    username = f"reports-bench-{secrets.token_hex(3)}"
    asyncio.run(add_login(url, username, password))
    errors: list[str] = []
    server, base = start_app(url)
    baseline = Baseline(url)
    results = []
    try:
        login = httpx.post(f"{base}/api/auth/login", timeout=60,
                           json={"username": username, "password": password})
        login.raise_for_status()
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        with httpx.Client(base_url=base, headers=headers, timeout=timeout) as http:
            floor = timed(http, "/api/auth/me", {}, requests, errors)
            for kind, group, sql, counted in REPORTS:
                for name, (first, last) in dates.items():
                    params = {"from": first.isoformat(), "to": last.isoformat(), "group": group}
                    result = timed(http, f"/api/reports/{kind}", params, requests, errors,
                                   lambda sql=sql, b=bounds[name]: baseline.count(sql, *b))
                    results.append((kind, group, counted, name, result, baseline.rows))
    finally:
        baseline.close()
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=30)
        asyncio.run(end_queries(url))
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else []
    print(f"\n{requests} requests each after 2 warm-ups, one at a time, each followed by its "
          f"baseline count; ms (p99: nearest rank); load average {' '.join(load) or '?'} on "
          f"{os.cpu_count()} cores")
    print(f"{'report':26} {'range':6} {'items':>6} {'answer':>7} {'rows':>9} {'p50':>8} "
          f"{'p99':>8}   {'count(*) p50':>12} {'p99':>7}")
    if floor.timing.seconds:
        print(f"{'GET /api/auth/me (floor)':26} {'':6} {'':>6} {'':>7} {'':>9} "
              f"{floor.timing.p(0.5):8.1f} {floor.timing.p(0.99):8.1f}")
    slow = []
    for kind, group, counted, name, result, rows in results:
        body = result.body
        if body is None:
            print(f"{kind + ' by ' + group:26} {name:6} {'error':>6}")
            continue
        total = counted(body.get("total") or {})
        mark = "" if total == rows else f"  MISMATCH: the report counts {total}"
        if mark:
            errors.append(f"{kind} by {group} over the {name}: total {total}, count(*) {rows}")
        if name == "year" and result.timing.p(0.99) >= 1000:
            slow.append(f"{kind} by {group}")
        print(f"{kind + ' by ' + group:26} {name:6} {len(body.get('items', [])):6} "
              f"{_kb(result.size):>7} {rows:9,} {result.timing.p(0.5):8.1f} "
              f"{result.timing.p(0.99):8.1f}   {result.baseline.p(0.5):12.1f} "
              f"{result.baseline.p(0.99):7.1f}{mark}")
    timed_all = all(r[4].body is not None for r in results)
    print("over a year, p99 under 1 s: " + (f"not {', '.join(slow)}" if slow else
                                           "every report" if timed_all else "every report timed"))
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    return 1 if errors else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres-url", default=TEST_SERVER,
                        help="a loopback server (its database is only used to create ours)")
    parser.add_argument("--now", type=dt.datetime.fromisoformat,
                        help="the end of the history, ISO with a zone (default: now)")
    parser.add_argument("--quick", action="store_true", help="50,000 jobs: a smoke run")
    parser.add_argument("--requests", type=int, help="timed requests per report and range "
                        "(default 20, 5 with --quick)")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the history")
    parser.add_argument("--timeout", type=float, default=60,
                        help="seconds a request may take before it counts as an error")
    keep = parser.add_mutually_exclusive_group()
    keep.add_argument("--keep", action="store_true", help="leave the database (for EXPLAIN)")
    keep.add_argument("--reuse", metavar="NAME", help="time a database a --keep run left")
    args = parser.parse_args()
    loopback(args.postgres_url)
    now = (args.now or dt.datetime.now(dt.UTC))
    if now.tzinfo is None:
        raise SystemExit("--now needs a zone (for example 2026-12-06T18:00:00Z)")
    requests = args.requests or (5 if args.quick else 20)
    name = args.reuse or f"reports_bench_{uuid.uuid4().hex[:8]}"
    url = args.postgres_url.rsplit("/", 1)[0] + f"/{name}"
    created = False
    try:
        if not args.reuse:
            asyncio.run(admin(args.postgres_url, f'CREATE DATABASE "{name}"'))
            created = True
            upgrade(url)
            began = time.perf_counter()
            counts = asyncio.run(seed(url, now, args.quick, args.seed))
            print(f"seeded two years ending {now.isoformat()} in "
                  f"{time.perf_counter() - began:.0f} s (COPY, then VACUUM ANALYZE): "
                  + ", ".join(f"{n:,} {table}" for table, n in counts.items()))
        else:
            print(f"database {name}, seeded by an earlier run (--now must be that run's)")
        print("\n".join(asyncio.run(describe(url))))
        status = measure(url, now, requests, args.timeout)
    finally:
        if created and args.keep:
            print(f"kept database {name} (drop it when done)")
        elif created:
            asyncio.run(admin(args.postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    raise SystemExit(status)


if __name__ == "__main__":
    main()
