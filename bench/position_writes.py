"""The position store's writes at 2,000 vans: each second's batch (a breadcrumb row and a latest
row per van) written the way it was first written against the way it is written now, in the
same run, on the same database.

    .venv/bin/python bench/position_writes.py [--backend sqlite|postgres] [--vans 2000]
        [--batches 30] [--profile]

``before``: the first ``SqlPositionStore.save``, kept here as it was: a dict per row and SQLAlchemy
``executemany`` of an ``INSERT ... ON CONFLICT`` for the history and another for the latest rows,
each row's parameters processed by SQLAlchemy (``UTCDateTime`` among them). ``after``:
``storage.positions.SqlPositionStore`` as it is. The two alternate batch by batch (so a busy
moment on this shared machine falls on both), each batch a second later than the one before,
every van moving: each save appends ``--vans`` breadcrumbs and moves ``--vans`` latest rows.

Printed per way: rows a second (history + latest, wall time of ``save`` including the
database), CPU seconds per 1,000 rows of this process (the parameters, the driver, and on SQLite
the database engine itself, which runs in a thread of this process), of its event loop's thread
alone (what holds the app's other work back) and, on PostgreSQL, of the server's
backends for this database (read from ``/proc``: a local server), and the load average. With
``--profile``, cProfile's top functions of each way (the event loop's thread: on SQLite the
database engine's own thread is not in it).

Bounded: ``--batches`` per way (at most 500); only 127.0.0.1 is contacted; the database made
here is removed.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime as dt
import io
import pstats
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
# The project's packages first (a script beside this one is named ``realtime``), imported
# before the scripts beside this one, which put their folder first again.
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != BENCH), str(BENCH)]
from realtime.events import StoredFix  # noqa: E402
from storage import tables as t  # noqa: E402
from storage.engine import create_event_engine  # noqa: E402
from storage.positions import SqlPositionStore  # noqa: E402


class BeforeStore:
    """``SqlPositionStore.save`` as first written (the baseline)."""

    def __init__(self, engine: Any) -> None:
        from sqlalchemy.dialects import postgresql, sqlite

        self.engine = engine
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    async def save(self, updates: list[Any]) -> None:
        rows = [{
            "unit_id": u.unit_id, "lat": u.lat, "lon": u.lon, "speed_kmh": u.speed_kmh,
            "bearing": u.bearing, "device_time": u.at,
            "record_id": getattr(u, "record_id", None) or f"{u.unit_id}@{u.at.isoformat()}",
            "source": getattr(u, "source", "geotab"),
        } for u in updates]
        latest = self._insert(t.positions_latest)
        upsert = latest.on_conflict_do_update(
            index_elements=[t.positions_latest.c.unit_id],
            set_={c: latest.excluded[c] for c in ("lat", "lon", "speed_kmh", "bearing",
                                                  "device_time", "record_id", "source")},
            where=t.positions_latest.c.device_time < latest.excluded.device_time,
        )
        history = self._insert(t.position_history).on_conflict_do_nothing(
            index_elements=["source", "record_id"])
        newest: dict[str, dict[str, Any]] = {}
        for row in rows:
            if row["unit_id"] not in newest or row["device_time"] > newest[row["unit_id"]][
                    "device_time"]:
                newest[row["unit_id"]] = row
        async with self.engine.begin() as conn:
            await conn.execute(history, rows)
            await conn.execute(upsert, list(newest.values()))


async def make_units(engine: Any, vans: int) -> list[str]:
    async with engine.begin() as conn:
        await conn.execute(t.stores.insert(), [{
            "id": "store-bench", "code": "B1", "name": "Bench", "lat": 32.8, "lon": -96.8,
            "region": "bench", "opens": "07:00", "closes": "19:00",
            "timezone": "America/Chicago"}])
        units = [f"unit-{n:05d}" for n in range(vans)]
        await conn.execute(t.units.insert(), [
            {"id": u, "name": u, "home_store_id": "store-bench"} for u in units])
    return units


def batch(units: list[str], second: int, way: str, start: dt.datetime) -> list[StoredFix]:
    at = start + dt.timedelta(seconds=second)
    return [StoredFix(u, 32.8 + n * 1e-4 + second * 1e-5, -96.8 - second * 1e-5, 42.0,
                      None if n % 3 else 90.0, at, f"{way}-{second}-{n}", "geotab")
            for n, u in enumerate(units)]


@dataclass
class Figures:
    walls: list[float] = field(default_factory=list)  # seconds per save
    cpus: list[float] = field(default_factory=list)  # this process's CPU seconds per save
    loop: float = 0.0  # the event loop thread's CPU seconds over all saves
    server: float = 0.0  # the database server's CPU seconds over all saves (PostgreSQL)
    profile: cProfile.Profile | None = None


async def run(args: argparse.Namespace, url: str) -> None:
    from storm import cpu_seconds, loadavg, server_pids

    from storage.migrate import upgrade

    await asyncio.to_thread(upgrade, url)
    engine = create_event_engine(url)
    try:
        units = await make_units(engine, args.vans)
        ways: dict[str, Any] = {"before": BeforeStore(engine), "after": SqlPositionStore(engine)}
        figures = {w: Figures(profile=cProfile.Profile() if args.profile else None) for w in ways}
        start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=2)
        for name, store in ways.items():  # warm-up: connections, statement caches
            await store.save(batch(units, 0 if name == "before" else 1, f"warm-{name}", start))
        pids = await server_pids(engine) if engine.dialect.name == "postgresql" else []
        load0 = loadavg()
        for round_ in range(args.batches):
            for index, (name, store) in enumerate(ways.items()):
                fixes, way = batch(units, 2 + 2 * round_ + index, name, start), figures[name]
                server0 = sum(cpu_seconds(pid) for pid in pids)
                cpu0, loop0, wall0 = time.process_time(), time.thread_time(), time.perf_counter()
                if way.profile is not None:
                    way.profile.enable()
                await store.save(fixes)
                if way.profile is not None:
                    way.profile.disable()
                way.walls.append(time.perf_counter() - wall0)
                way.cpus.append(time.process_time() - cpu0)
                way.loop += time.thread_time() - loop0
                way.server += sum(cpu_seconds(pid) for pid in pids) - server0
        await check_stored(engine, units, start, args.batches)
        print(f"{engine.dialect.name}: {args.vans} vans, {args.batches} batches per way "
              f"({2 * args.vans} rows each: {args.vans} breadcrumbs + {args.vans} latest), "
              f"alternating; load {load0} -> {loadavg()} (2 cores shared)", flush=True)
        report(figures, rows=2 * args.vans, server=bool(pids), top=args.top)
    finally:
        await engine.dispose()


def report(figures: dict[str, Figures], *, rows: int, server: bool, top: int) -> None:
    for name, way in figures.items():
        wall, cpu, written = sum(way.walls), sum(way.cpus), rows * len(way.walls)
        print(f"  {name:>6}: {written / wall:>8,.0f} rows/s (batch p50 "
              f"{1000 * statistics.median(way.walls):.0f} ms, max {1000 * max(way.walls):.0f} "
              f"ms); CPU per 1,000 rows: this process {1000 * cpu / written:.4f} s (its event "
              f"loop {1000 * way.loop / written:.4f} s)"
              + (f", database server {1000 * way.server / written:.4f} s" if server else ""),
              flush=True)
    before, after = figures["before"], figures["after"]
    print(f"  after against before: CPU per row {sum(after.cpus) / sum(before.cpus):.2f}x"
          + (f" (server {after.server / before.server:.2f}x)" if server and before.server
             else "")
          + f", time per batch {sum(after.walls) / sum(before.walls):.2f}x", flush=True)
    for name, way in figures.items():
        if way.profile is not None:
            out = io.StringIO()
            pstats.Stats(way.profile, stream=out).sort_stats("tottime").print_stats(top)
            print(f"\n--- profile: {name} (event loop thread, by own time) ---\n"
                  + trim(out.getvalue()), flush=True)


async def check_stored(engine: Any, units: list[str], start: dt.datetime, batches: int) -> None:
    """Both ways stored every breadcrumb once, and the latest rows hold the newest batch."""
    from sqlalchemy import func, select

    async with engine.connect() as conn:
        history = (await conn.execute(select(func.count()).select_from(t.position_history))
                   ).scalar()
        newest = (await conn.execute(select(func.min(t.positions_latest.c.device_time)))
                  ).scalar()
    expected = len(units) * (2 + 2 * batches)
    last = start + dt.timedelta(seconds=2 * batches + 1)
    if history != expected or newest != last:
        raise SystemExit(f"stored {history} breadcrumbs (expected {expected}), oldest latest "
                         f"row {newest} (expected {last})")


def trim(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return "\n".join(line.replace(str(ROOT) + "/", "").replace(sys.prefix, "<venv>")
                     for line in lines if not line.lstrip().startswith(("Ordered", "List")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--vans", type=int, default=2000)
    parser.add_argument("--batches", type=int, default=30, help="per way")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=18, help="functions per profile")
    args = parser.parse_args()
    args.vans = max(1, min(args.vans, 10_000))
    args.batches = max(1, min(args.batches, 500))
    from storm import on_a_fresh_database  # beside this script

    on_a_fresh_database(args.backend, "dispatch_position_writes", lambda url: run(args, url))

if __name__ == "__main__":
    main()
