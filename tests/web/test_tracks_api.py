"""A technician's track: the van's recent trail, thinned, and the open jobs in route order."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import select, update
from starlette.testclient import TestClient

from storage import tables as t
from storage.engine import create_engine, write_transaction
from tests.web.api_helpers import assert_problem, auth, seed_small
from web.app import create_app
from web.settings import Settings


def prepare(database_url: str) -> tuple[str, str, list[str]]:
    """A technician of store 1 whose van reported 300 fixes over the last 50 minutes (and one
    older one), with three open jobs: one en route, two assigned in sequence 2 then 1."""
    async def run() -> tuple[str, str, list[str]]:
        engine = create_engine(database_url)
        try:
            async with write_transaction(engine) as conn:
                tc, w = t.technicians, t.work_orders
                tech, unit = (await conn.execute(
                    select(tc.c.id, tc.c.unit_id).where(tc.c.home_store_id == "store-0001",
                                                        tc.c.unit_id.is_not(None))
                    .order_by(tc.c.id))).first()
                now = dt.datetime.now(dt.UTC)
                rows = [{"unit_id": unit, "lat": 32.7 + i / 10_000, "lon": -96.8,
                         "speed_kmh": 40.0, "bearing": 90.0, "record_id": f"r{i}",
                         "device_time": now - dt.timedelta(seconds=10 * (300 - i)),
                         "source": "geotab"} for i in range(300)]
                rows.append({**rows[0], "record_id": "old",
                             "device_time": now - dt.timedelta(hours=5)})
                await conn.execute(t.position_history.insert(), rows)
                await conn.execute(update(w).where(w.c.technician_id == tech).values(
                    technician_id=None, status="new", sequence=None))  # only ours below
                orders = (await conn.execute(select(w.c.id).where(
                    w.c.store_id == "store-0001").order_by(w.c.id).limit(3))).scalars().all()
                for oid, status, seq in zip(orders, ["assigned", "en_route", "assigned"],
                                            [2, None, 1], strict=True):
                    await conn.execute(update(w).where(w.c.id == oid).values(
                        technician_id=tech, status=status, sequence=seq))
            return tech, unit, list(orders)
        finally:
            await engine.dispose()
    return asyncio.run(run())


@pytest.fixture
def world(database_url: str) -> Iterator[tuple[TestClient, tuple[str, str, list[str]]]]:
    seed_small(database_url)
    prepared = prepare(database_url)  # before the app's background writers start
    with TestClient(create_app(Settings(database_url=database_url))) as client:
        yield client, prepared


def test_the_track_is_the_recent_trail_thinned_and_the_route_in_order(
    world: tuple[TestClient, tuple[str, str, list[str]]]) -> None:
    client, (tech, unit, (second, started, first)) = world
    answer = client.get(f"/api/technicians/{tech}/track", headers=auth(client, "dispatcher"),
                        params={"minutes": 60, "points": 50})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["unit_id"] == unit and len(body["trail"]) == 50
    times = [p["at"] for p in body["trail"]]
    assert times == sorted(times)  # oldest first
    lats = [p["lat"] for p in body["trail"]]
    assert lats[0] == 32.7 and abs(lats[-1] - 32.7299) < 1e-9  # the first and the newest kept
    assert [s["work_order_id"] for s in body["route"]] == [started, first, second]
    assert body["route"][0]["status"] == "en_route"
    short = client.get(f"/api/technicians/{tech}/track", headers=auth(client, "dispatcher"),
                       params={"minutes": 5}).json()
    assert 25 <= len(short["trail"]) <= 31  # five minutes of fixes every 10 s


def test_the_track_respects_store_scope_and_refuses_bad_input(
    world: tuple[TestClient, tuple[str, str, list[str]]]) -> None:
    client, (tech, _, _) = world
    assert client.get(f"/api/technicians/{tech}/track",
                      headers=auth(client, "manager")).status_code == 200  # store 1 is theirs
    assert_problem(client.get("/api/technicians/tech-nobody/track",
                              headers=auth(client, "dispatcher")), 404)
    assert_problem(client.get(f"/api/technicians/{tech}/track", headers=auth(client, "tech1")),
                   403)
    assert_problem(client.get(f"/api/technicians/{tech}/track", params={"minutes": 0},
                              headers=auth(client, "dispatcher")), 422)
    assert_problem(client.get(f"/api/technicians/{tech}/track", params={"points": 1},
                              headers=auth(client, "dispatcher")), 422)
