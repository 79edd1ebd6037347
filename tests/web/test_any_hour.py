"""The time-sensitive paths at instants across the day and across the stores' clock changes.

Each case seeds the demo company for one instant and starts the app on a clock that begins at that
same instant; then, over HTTP as the users would: technicians are on shift, windows lie ahead,
an unassigned job has candidates, a plan assigns jobs, the late-job rule agrees with a count by
hand, and the store's day counts a job finished now (since the store's local midnight).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from domain.alerts import AlertKind
from domain.services.alerts import evaluate_alerts
from storage import tables as t
from storage.alerts import SqlAlertFacts
from storage.engine import create_engine
from storage.uow import SqlUnitOfWork
from tests.web.api_helpers import app_now, auth, seeded_client
from web.demo.scenario import TIMEZONE

STORE = "store-0001"
L = TIMEZONE
INSTANTS = {
    "02:00": dt.datetime(2026, 6, 10, 2, 0, tzinfo=L),
    "07:59": dt.datetime(2026, 6, 10, 7, 59, tzinfo=L),
    "08:00": dt.datetime(2026, 6, 10, 8, 0, tzinfo=L),
    "14:59": dt.datetime(2026, 6, 10, 14, 59, tzinfo=L),
    "15:00": dt.datetime(2026, 6, 10, 15, 0, tzinfo=L),
    "23:30": dt.datetime(2026, 6, 10, 23, 30, tzinfo=L),
    "spring 01:30": dt.datetime(2026, 3, 8, 1, 30, tzinfo=L),
    "spring 03:30": dt.datetime(2026, 3, 8, 3, 30, tzinfo=L),
    "fall second 01:30": dt.datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=L),
    "new year's eve 23:30": dt.datetime(2026, 12, 31, 23, 30, tzinfo=L),
}


def _t(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def _items(client: TestClient, path: str, headers: dict[str, str],
           **params: Any) -> list[dict[str, Any]]:
    response = client.get(path, headers=headers, params={"limit": 200, **params})
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def _late_alerts(database_url: str, now: dt.datetime) -> set[str]:
    async def run() -> set[str]:
        engine = create_engine(database_url)
        try:
            await evaluate_alerts(lambda: SqlUnitOfWork(engine, clock=lambda: now),
                                  SqlAlertFacts(engine, lambda: []), now)
            async with engine.connect() as conn:
                rows = await conn.execute(select(t.alerts.c.work_order_id).where(
                    t.alerts.c.kind == AlertKind.JOB_LATE.value))
                return {r[0] for r in rows}
        finally:
            await engine.dispose()

    return asyncio.run(run())


@pytest.mark.parametrize("local", INSTANTS.values(), ids=list(INSTANTS))
def test_the_day_works_at_any_hour(local: dt.datetime, tmp_path: Path,
                                   sqlite_template: Path) -> None:
    path = tmp_path / "dispatch.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite+aiosqlite:///{path}"
    start = local.astimezone(dt.UTC)
    with seeded_client(url, now=start, alerts_enabled=False) as client:
        now = app_now(client)
        assert dt.timedelta(0) <= now - start < dt.timedelta(minutes=5)
        h = auth(client, "dispatcher")

        technicians = _items(client, "/api/technicians", h)
        assert technicians
        for tech in technicians:
            assert _t(tech["shift"]["start"]) <= now < _t(tech["shift"]["end"]), tech

        orders = _items(client, "/api/work-orders", h, status="new")
        ahead = [o for o in orders if o["time_window"]
                 and _t(o["time_window"]["end"]) > now + dt.timedelta(hours=2)]
        assert ahead, "unassigned jobs with windows still ahead"
        skills = [set(tech["skills"]) for tech in technicians]
        target = next(o for o in ahead if any(set(o["required_skills"]) <= s for s in skills))
        response = client.get(f"/api/work-orders/{target['id']}/candidates", headers=h,
                              params={"k": 3})
        assert response.status_code == 200, response.text
        candidates = response.json()["items"]
        assert candidates, "some technician can take the job"
        assert all(_t(c["eta"]) >= start for c in candidates)

        planned = client.post("/api/proposals", headers=h,
                              json={"scope": {"all": True}, "time_limit_seconds": 1})
        assert planned.status_code == 201, planned.text
        assert [m for m in planned.json()["moves"] if m["to_technician_id"]]

        everything = _items(client, "/api/work-orders", h)
        late_by_hand = {o["id"] for o in everything
                        if o["status"] in {"assigned", "accepted"} and o["time_window"]
                        and _t(o["time_window"]["end"]) < now}
        assigned = [o for o in everything if o["status"] in {"assigned", "accepted"}]
        assert len(late_by_hand) < len(assigned)  # not every job late
        assert _late_alerts(url, app_now(client)) == late_by_hand

        manager = auth(client, "manager")
        before = client.get(f"/api/stores/{STORE}/today", headers=manager).json()
        since = _t(before["since"])
        assert since <= now < since + dt.timedelta(hours=25)
        local_since = since.astimezone(L)
        assert (local_since.hour, local_since.minute) == (0, 0)
        assert local_since.date() == now.astimezone(L).date()
        _finish_now(client, app_now(client))
        after = client.get(f"/api/stores/{STORE}/today", headers=manager).json()
        assert after["completed"] == before["completed"] + 1
        assert after["on_time"] == before["on_time"] + 1


def _finish_now(client: TestClient, now: dt.datetime) -> None:
    """A job of the store, within its window, done by tech1 now (device times from the clock)."""
    dispatcher, tech = auth(client, "dispatcher"), auth(client, "tech1")
    me = client.get("/api/auth/me", headers=tech).json()["technician_id"]
    window = {"start": (now - dt.timedelta(hours=1)).isoformat(),
              "end": (now + dt.timedelta(hours=1)).isoformat()}
    made = client.post("/api/work-orders", headers=dispatcher, json={
        "store_id": STORE, "priority": "normal", "location": {"lat": 32.78, "lon": -96.8},
        "description": "Thermostat", "time_window": window})
    assert made.status_code == 201, made.text
    wo = made.json()
    assigned = client.post(f"/api/work-orders/{wo['id']}/assign", headers=dispatcher, json={
        "technician_id": me, "version": wo["version"], "allow_missing_skills": True})
    assert assigned.status_code == 200, assigned.text
    for step, minutes in (("accept", -30), ("en_route", -20), ("on_site", -10), ("complete", 0)):
        at = now + dt.timedelta(minutes=minutes)
        r = client.post(f"/api/work-orders/{wo['id']}/status", headers=tech,
                        json={"step": step, "device_time": at.isoformat()})
        assert r.status_code == 200, r.text
