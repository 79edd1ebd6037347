"""Candidates through the API with 500 technicians x 10 jobs, and event-loop lag during a solve.

    python bench/planning_api.py [--queries 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from sqlalchemy import select, update

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from storage import tables as t
from storage.engine import create_engine
from storage.migrate import upgrade
from tests.conftest import free_port
from web.demo.seed import seed


async def prepare(url: str, techs: int, per_tech: int) -> tuple[int, list[str]]:
    engine = create_engine(url)
    now = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)  # tomorrow: every shift is ahead
    await seed(engine, stores=techs // 5, technicians=techs, orders=techs * per_tech + 1500,
               seed=3, now=now, progress=False)
    w = t.work_orders
    async with engine.begin() as conn:
        await conn.execute(update(w).values(status="new", technician_id=None, sequence=None))
        tech_rows = (await conn.execute(select(t.technicians.c.id, t.technicians.c.home_store_id,
                                               t.technicians.c.skills))).all()
        orders = (await conn.execute(select(w.c.id, w.c.store_id, w.c.required_skills,
                                            w.c.window_start))).all()
        by_store: dict[str, list[tuple[str, frozenset[str], dt.datetime]]] = {}
        for oid, store, skills, start in orders:
            by_store.setdefault(store, []).append((oid, frozenset(skills or ()), start))
        assigned = 0
        for tid, store, skills in tech_rows:
            pool = by_store.get(store, [])
            mine = [o for o in pool if o[1] <= set(skills)][:per_tech]
            for o in mine:
                pool.remove(o)
            mine.sort(key=lambda o: (o[2] is None, o[2] or dt.datetime.min.replace(tzinfo=dt.UTC)))
            for seq, (oid, _, _) in enumerate(mine):
                await conn.execute(update(w).where(w.c.id == oid).values(
                    status="assigned", technician_id=tid, sequence=seq))
                assigned += 1
        free = [r[0] for r in (await conn.execute(select(w.c.id).where(w.c.status == "new"))).all()]
    await engine.dispose()
    return assigned, free


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * q))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--technicians", type=int, default=500)
    ap.add_argument("--solve-seconds", type=float, default=5.0)
    args = ap.parse_args()
    path = tempfile.mktemp(suffix=".db")
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url)
    assigned, free = asyncio.run(prepare(url, args.technicians, 10))
    port = free_port()
    code = ("import uvicorn; from web.app import create_app; from web.settings import Settings; "
            f"uvicorn.run(create_app(Settings(database_url={url!r})), host='127.0.0.1', "
            f"port={port}, log_level='warning')")
    server = subprocess.Popen([sys.executable, "-c", code],
                              env={"SECRET_KEY": secrets.token_urlsafe(48), **os.environ})
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=60) as c:
            for _ in range(200):
                try:
                    c.get("/healthz")
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            tok = c.post("/api/auth/login", json={"username": "dispatcher", "password": "demo"}
                         ).json()["access_token"]
            h = {"Authorization": f"Bearer {tok}"}
            t0 = time.perf_counter()
            first = c.get(f"/api/work-orders/{free[0]}/candidates", headers=h)
            build_ms = (time.perf_counter() - t0) * 1000
            assert first.status_code == 200, first.text
            rng = random.Random(1)
            lat = []
            empty = 0
            for _ in range(args.queries):
                oid = rng.choice(free)
                t0 = time.perf_counter()
                r = c.get(f"/api/work-orders/{oid}/candidates", params={"k": 5}, headers=h)
                lat.append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 200, r.text
                empty += not r.json()["items"]
            # a solve while candidates keep coming
            region_lat: list[float] = []
            stop = threading.Event()

            def pound() -> None:
                with httpx.Client(base_url=base, timeout=60) as c2:
                    while not stop.is_set():
                        t1 = time.perf_counter()
                        c2.get(f"/api/work-orders/{rng.choice(free)}/candidates", headers=h)
                        region_lat.append((time.perf_counter() - t1) * 1000)
            r0 = c.post("/api/proposals", headers=h, json={
                "scope": {"region": "Dallas"}, "time_limit_seconds": args.solve_seconds})
            th = threading.Thread(target=pound)
            th.start()
            r = c.post("/api/proposals", headers=h, json={
                "scope": {"store_id": "store-0001"}, "time_limit_seconds": args.solve_seconds})
            r2 = c.post("/api/proposals", headers=h, json={
                "scope": {"region": "Dallas"}, "time_limit_seconds": args.solve_seconds})
            stop.set()
            th.join()
            out = {
                "technicians": args.technicians, "assigned_jobs": assigned,
                "unassigned_jobs": len(free), "first_call_build_ms": round(build_ms, 1),
                "candidates_api_ms": {"p50": round(statistics.median(lat), 2),
                                      "p99": round(pct(lat, 0.99), 2),
                                      "max": round(max(lat), 2), "n": len(lat),
                                      "empty_answers": empty},
                "candidates_during_solve_ms": {"p50": round(statistics.median(region_lat), 2),
                                               "p99": round(pct(region_lat, 0.99), 2),
                                               "n": len(region_lat)},
                "solve_region_quiet": r0.json().get("solve") if r0.status_code == 201 else r0.text,
                "solve_store": r.json().get("solve") if r.status_code == 201 else r.text,
                "solve_region": r2.json().get("solve") if r2.status_code == 201 else r2.text,
            }
            print(json.dumps(out, indent=2))
    finally:
        server.terminate()
        server.wait(timeout=20)
        os.unlink(path)


if __name__ == "__main__":
    main()
