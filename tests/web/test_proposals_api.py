"""Proposals, candidates and emergency tools over HTTP, on SQLite and on PostgreSQL.

The demo company is seeded for one instant and the app's clock starts at that same instant, so
shifts are on and windows ahead whatever the hour the tests run (the demo's working day is placed
around its ``now``). Every plan is re-checked by the independent validator.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from routing.matrix import GreatCircleProvider
from routing.validator import check_plan
from storage import tables as t
from storage.engine import create_engine
from tests.web.api_helpers import app_now, assert_problem, clock_start, seeded_client
from tests.web.api_helpers import auth as real_auth

PLAN = {"scope": {"all": True}, "time_limit_seconds": 1}


USERS = ("dispatcher", "coordinator", "manager", "billing")
_tokens: dict[int, dict[str, dict[str, str]]] = {}


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    with seeded_client(database_url) as c:
        _tokens[id(c)] = {u: real_auth(c, u) for u in USERS}
        yield c
        _tokens.pop(id(c), None)


def auth(client: TestClient, username: str) -> dict[str, str]:
    return _tokens[id(client)][username]


def outbox(database_url: str, aggregate_id: str) -> list[str]:
    async def run() -> list[str]:
        engine = create_engine(database_url)
        try:
            async with engine.connect() as conn:
                rows = await conn.execute(select(t.outbox.c.name).where(
                    t.outbox.c.aggregate_id == aggregate_id).order_by(t.outbox.c.id))
                return [r[0] for r in rows]
        finally:
            await engine.dispose()
    return asyncio.run(run())


def checked(client: TestClient, proposal: dict[str, Any]) -> dict[str, Any]:
    """Re-check the plan behind a proposal with the independent validator."""
    problem, solution = client.app.state.runtime.planning.solutions[  # type: ignore[attr-defined]
        proposal["id"]]
    assert check_plan(problem, solution.plan, GreatCircleProvider()) == []
    return proposal


def plan(client: TestClient, headers: dict[str, str], body: dict[str, Any] = PLAN
         ) -> dict[str, Any]:
    response = client.post("/api/proposals", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return checked(client, response.json())


def order(client: TestClient, headers: dict[str, str], work_order_id: str) -> dict[str, Any]:
    response = client.get(f"/api/work-orders/{work_order_id}", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_candidates_are_ranked_and_hold_the_skills(client: TestClient) -> None:
    h = auth(client, "dispatcher")
    listed = client.get("/api/work-orders", params={"unassigned": "true", "limit": 100},
                        headers=h)
    assert listed.status_code == 200, listed.text
    orders = listed.json()["items"]
    target = next(o for o in orders if o["required_skills"])
    response = client.get(f"/api/work-orders/{target['id']}/candidates", params={"k": 5},
                          headers=h)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert items, "some technician can take the job"
    drives = [c["added_drive_seconds"] + c["lateness_seconds"] for c in items]
    assert drives == sorted(drives)
    for c in items:
        tech = client.get(f"/api/technicians/{c['technician_id']}", headers=h).json()
        assert set(target["required_skills"]) <= set(tech["skills"])
        assert c["lateness_risk"] in {"low", "medium", "high", "late"}
        assert dt.datetime.fromisoformat(c["eta"]) >= clock_start(client)
    assert_problem(client.get("/api/work-orders/nope/candidates", headers=h), 404)


def test_plan_then_confirm_a_subset_in_one_transaction(client: TestClient,
                                                       database_url: str) -> None:
    h = auth(client, "dispatcher")
    proposal = plan(client, h)
    assert proposal["status"] == "proposed" and proposal["solve"]["loop_lag_samples"] >= 0
    assert set(proposal["kpis_before"]) == {"drive_km", "lateness_minutes", "jobs_served",
                                            "jobs_moved"}
    expires = dt.datetime.fromisoformat(proposal["expires_at"])
    created = dt.datetime.fromisoformat(proposal["created_at"])
    assert clock_start(client) <= created <= app_now(client)
    assert expires == created + dt.timedelta(minutes=10)
    assigned = [m for m in proposal["moves"] if m["to_technician_id"]]
    assert len(assigned) >= 2, proposal
    for m in proposal["moves"]:
        assert m["reasons"] and isinstance(m["work_order_version"], int)
    for u in proposal["unassigned"]:
        assert u["reason_code"] and u["reason"]
    listed = client.get("/api/proposals", headers=h).json()["items"]
    assert proposal["id"] in [p["id"] for p in listed]

    chosen = [m["work_order_id"] for m in assigned[:2]]
    response = client.post(f"/api/proposals/{proposal['id']}/confirm",
                           json={"work_order_ids": chosen}, headers=h)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "partially_confirmed"
    for move in assigned[:2]:
        wo = order(client, h, move["work_order_id"])
        assert wo["status"] == "assigned"
        assert wo["technician_id"] == move["to_technician_id"]
        assert wo["sequence"] == move["position"]
        assert dt.datetime.fromisoformat(wo["planned_arrival"]) == dt.datetime.fromisoformat(
            move["eta"])
        assert "WorkOrderAssigned" in outbox(database_url, move["work_order_id"])
    assert outbox(database_url, proposal["id"]) == ["ProposalCreated", "ProposalConfirmed"]
    untouched = assigned[2:] if len(assigned) > 2 else []
    for move in untouched:
        assert order(client, h, move["work_order_id"])["version"] == move["work_order_version"]
    # confirmed once: a second confirmation is refused
    assert_problem(client.post(f"/api/proposals/{proposal['id']}/confirm", json={},
                               headers=h), 409)


def test_a_stale_proposal_expires_with_409(client: TestClient) -> None:
    h = auth(client, "dispatcher")
    proposal = plan(client, h)
    victim = next(m for m in proposal["moves"] if m["to_technician_id"])["work_order_id"]
    edit = client.patch(f"/api/work-orders/{victim}", json={"description": "Changed meanwhile"},
                        headers=h)
    assert edit.status_code == 200, edit.text
    body = assert_problem(client.post(f"/api/proposals/{proposal['id']}/confirm", json={},
                                      headers=h), 409, "proposal_stale")
    assert victim in body["detail"] and body["work_order_ids"] == [victim]
    again = client.get(f"/api/proposals/{proposal['id']}", headers=h).json()
    assert again["status"] == "expired" and victim in again["status_reason"]
    assert order(client, h, victim)["description"] == "Changed meanwhile"


def test_reject_and_permissions(client: TestClient) -> None:
    h = auth(client, "dispatcher")
    proposal = plan(client, h, {"scope": {"store_id": "store-0001"}, "time_limit_seconds": 1})
    response = client.post(f"/api/proposals/{proposal['id']}/reject",
                           json={"reason": "not today"}, headers=h)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "rejected"
    assert proposal["id"] not in [p["id"] for p in
                                  client.get("/api/proposals", headers=h).json()["items"]]
    billing = auth(client, "billing")
    assert_problem(client.post("/api/proposals", json=PLAN, headers=billing), 403)
    assert_problem(client.get("/api/proposals", headers=billing), 403)
    assert_problem(client.get("/api/work-orders/wo-000001/candidates", headers=billing), 403)
    assert_problem(client.post("/api/emergency/unavailable",
                               json={"technician_ids": ["tech-0001"]}, headers=billing), 403)
    assert_problem(client.post("/api/emergency/unavailable",
                               json={"technician_ids": ["tech-0001"]}, headers=h), 403)
    assert_problem(client.post("/api/proposals", json={"scope": {}}, headers=h), 422)
    assert_problem(client.post(f"/api/proposals/{proposal['id']}/confirm", json={},
                               headers=auth(client, "manager")), 403)


def test_emergency_unavailable_plan_confirm_undo(client: TestClient) -> None:
    coord = auth(client, "coordinator")
    orders = client.get("/api/work-orders", params={"limit": 200, "status": "assigned,accepted"},
                        headers=coord).json()["items"]
    by_tech: dict[str, list[dict[str, Any]]] = {}
    for o in orders:
        by_tech.setdefault(o["technician_id"], []).append(o)
    tech_id, jobs = max(by_tech.items(), key=lambda kv: len(kv[1]))
    response = client.post("/api/emergency/unavailable",
                           json={"technician_ids": [tech_id], "time_limit_seconds": 1},
                           headers=coord)
    assert response.status_code == 201, response.text
    proposal = checked(client, response.json())
    assert proposal["marked_unavailable"] == [tech_id]
    tech = client.get(f"/api/technicians/{tech_id}", headers=coord).json()
    assert tech["status"] == "unavailable"
    moved = {m["work_order_id"]: m for m in proposal["moves"]}
    for job in jobs:
        assert job["id"] in moved or job["id"] in {u["work_order_id"]
                                                   for u in proposal["unassigned"]}
        if job["id"] in moved:
            assert moved[job["id"]]["from_technician_id"] == tech_id
            assert moved[job["id"]]["to_technician_id"] != tech_id

    response = client.post(f"/api/proposals/{proposal['id']}/confirm", json={}, headers=coord)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "confirmed"
    for job in jobs:
        assert order(client, coord, job["id"])["technician_id"] != tech_id

    response = client.post(f"/api/proposals/{proposal['id']}/undo", headers=coord)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "undone"
    for job in jobs:
        back = order(client, coord, job["id"])
        assert back["technician_id"] == tech_id and back["sequence"] == job["sequence"]
    assert client.get(f"/api/technicians/{tech_id}", headers=coord).json()["status"] == "available"
    assert_problem(client.post(f"/api/proposals/{proposal['id']}/undo", headers=coord), 409)


def test_emergency_job_comes_with_candidates(client: TestClient) -> None:
    coord = auth(client, "coordinator")
    response = client.post("/api/emergency/jobs", headers=coord, json={
        "store_id": "store-0001", "location": {"lat": 32.78, "lon": -96.8},
        "description": "Gas smell", "k": 3})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["work_order"]["priority"] == "emergency"
    assert 1 <= len(body["candidates"]) <= 3
    by_area = client.post("/api/emergency/unavailable", headers=coord, json={
        "area": {"south": 10, "west": 10, "north": 11, "east": 11}, "time_limit_seconds": 1})
    assert by_area.status_code == 201, by_area.text
    assert by_area.json()["marked_unavailable"] == [] and by_area.json()["moves"] == []
