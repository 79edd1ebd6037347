"""A store's day so far: completions since local midnight and the on-time rate (arrival, the
on-site step, within the window)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from starlette.testclient import TestClient

from tests.web.api_helpers import assert_problem, auth, seeded_client

STORE = "store-0001"


def iso(**delta: float) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(**delta)).isoformat()


def finish(client: TestClient, window: dict[str, str], arrive: str) -> str:
    """A job of the store done by tech1 (steps sent by tech1 with device times)."""
    dispatcher, tech = auth(client, "dispatcher"), auth(client, "tech1")
    me = client.get("/api/auth/me", headers=tech).json()["technician_id"]
    made = client.post("/api/work-orders", headers=dispatcher, json={
        "store_id": STORE, "priority": "normal", "location": {"lat": 32.78, "lon": -96.8},
        "description": "Thermostat", "time_window": window})
    assert made.status_code == 201, made.text
    wo: dict[str, Any] = made.json()
    assigned = client.post(f"/api/work-orders/{wo['id']}/assign", headers=dispatcher, json={
        "technician_id": me, "version": wo["version"], "allow_missing_skills": True})
    assert assigned.status_code == 200, assigned.text
    for step, at in [("accept", iso(hours=-3)), ("en_route", iso(hours=-3)), ("on_site", arrive),
                     ("complete", iso(minutes=-1))]:
        r = client.post(f"/api/work-orders/{wo['id']}/status", headers=tech,
                        json={"step": step, "device_time": at})
        assert r.status_code == 200, r.text
    done = client.get(f"/api/work-orders/{wo['id']}", headers=dispatcher).json()
    steps = {k: dt.datetime.fromisoformat(done[k]) for k in ("on_site_at", "finished_at")}
    assert steps["on_site_at"] == dt.datetime.fromisoformat(arrive)  # the device's times, kept
    assert dt.datetime.fromisoformat(done["en_route_at"]) < steps["on_site_at"] \
        < steps["finished_at"]
    return str(wo["id"])


def test_the_on_time_rate_counts_arrivals_within_the_window(database_url: str) -> None:
    with seeded_client(database_url) as client:
        manager = auth(client, "manager")
        before = client.get(f"/api/stores/{STORE}/today", headers=manager)
        assert before.status_code == 200, before.text
        base = before.json()["completed"]
        window = {"start": iso(hours=-2), "end": iso(hours=-1)}
        finish(client, window, arrive=iso(hours=-1.5))  # within the window
        finish(client, window, arrive=iso(minutes=-30))  # after it ended
        day = client.get(f"/api/stores/{STORE}/today", headers=manager).json()
        assert day["completed"] == base + 2
        assert day["on_time"] - before.json()["on_time"] == 1
        assert day["on_time_rate"] == round(day["on_time"] / day["completed"], 4)
        assert dt.datetime.fromisoformat(day["since"]) <= dt.datetime.now(dt.UTC)
        done = client.get("/api/work-orders", headers=manager, params={
            "status": "completed", "changed_from": iso(minutes=-5)}).json()
        assert done["total"] == 2  # the list can ask for what finished since a time
        assert client.get("/api/work-orders", headers=manager, params={
            "status": "completed", "changed_from": iso(minutes=1)}).json()["total"] == 0
        assert_problem(client.get("/api/stores/store-0003/today", headers=manager), 404)
        assert_problem(client.get(f"/api/stores/{STORE}/today", headers=auth(client, "tech1")),
                       403)
