"""A job that could not be finished comes back: a follow-up in the queue, linked both ways, an
alert to the store's dispatchers and an event for the customer notifications (SQLite and
PostgreSQL)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from domain.services.alerts import PassResult, evaluate_alerts
from storage import tables as t
from storage.alerts import SqlAlertFacts
from storage.engine import create_engine
from storage.uow import SqlUnitOfWork
from tests.web.api_helpers import app_now, assert_problem, auth, seeded_client

MINE = "store-0001"  # the store manager holds store-0001 and store-0002


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    with seeded_client(database_url, alerts_enabled=False) as c:
        yield c


def evaluate(database_url: str, now: dt.datetime) -> PassResult:
    """One pass of the alert rules at the app's time (the app's own loop is off here)."""
    async def run() -> PassResult:
        engine = create_engine(database_url)
        try:
            return await evaluate_alerts(lambda: SqlUnitOfWork(engine),
                                         SqlAlertFacts(engine, lambda: []), now)
        finally:
            await engine.dispose()
    return asyncio.run(run())


def outbox_events(database_url: str, aggregate_id: str) -> list[dict[str, Any]]:
    async def run() -> list[dict[str, Any]]:
        engine = create_engine(database_url)
        try:
            async with engine.connect() as conn:
                rows = (await conn.execute(select(t.outbox.c.name, t.outbox.c.payload)
                        .where(t.outbox.c.aggregate_id == aggregate_id)
                        .order_by(t.outbox.c.id))).all()
            return [{"name": name, **payload} for name, payload in rows]
        finally:
            await engine.dispose()
    return asyncio.run(run())


def started_job(client: TestClient, dispatcher: dict[str, str]) -> tuple[dict[str, Any], str]:
    """A job for a walk-in customer, assigned to tech1, who is on site."""
    created = client.post("/api/work-orders", headers=dispatcher, json={
        "store_id": MINE, "priority": "high", "location": {"lat": 32.78, "lon": -96.8},
        "description": "Walk-in freezer alarm", "address": "1 Main St",
        "required_skills": ["refrigeration"], "estimated_minutes": 90,
        "customer_name": "Maria Lopez", "customer_phone": "+12145550100"})
    assert created.status_code == 201, created.text
    order = created.json()
    url = f"/api/work-orders/{order['id']}"
    assigned = client.post(f"{url}/assign", headers=dispatcher, json={
        "technician_id": "tech-0001", "allow_missing_skills": True})
    assert assigned.status_code == 200, assigned.text
    tech = auth(client, "tech1")
    for step in ("accept", "en_route", "on_site"):
        response = client.post(f"{url}/status", json={"step": step}, headers=tech)
        assert response.status_code == 200, response.text
    return order, url


def test_a_job_that_could_not_be_finished_comes_back_as_a_linked_follow_up_in_the_queue(
        client: TestClient, database_url: str) -> None:
    dispatcher = auth(client, "dispatcher")
    order, url = started_job(client, dispatcher)
    failed = client.post(f"{url}/status", headers=auth(client, "tech1"),
                         json={"step": "fail", "reason": "compressor part not in the van"})
    assert failed.status_code == 200, failed.text
    assert failed.json()["status"] == "failed"
    [follow_id] = failed.json()["follow_ups"]

    original = client.get(url, headers=dispatcher).json()
    follow = client.get(f"/api/work-orders/{follow_id}", headers=dispatcher).json()
    assert original["follow_ups"] == [follow_id] and original["status"] == "failed"
    assert follow["follow_up_of"] == order["id"] and follow["follow_ups"] == []
    assert follow["status"] == "new" and follow["technician_id"] is None
    for field in ("customer_id", "store_id", "location", "address", "required_skills",
                  "priority", "estimated_minutes"):
        assert follow[field] == order[field], field
    assert order["description"] in follow["description"]
    assert "compressor part not in the van" in follow["comments"][0]["text"]
    # in the queue: the unassigned open orders of the store
    queue = client.get("/api/work-orders", headers=dispatcher, params={
        "status": "new", "store_id": MINE, "unassigned": True, "limit": 200}).json()["items"]
    assert follow_id in {o["id"] for o in queue}
    listed = client.get("/api/work-orders", headers=dispatcher,
                        params={"status": "failed", "limit": 200}).json()["items"]
    assert {o["id"]: o["follow_ups"] for o in listed}[order["id"]] == [follow_id]

    # the alert, to the store's people (the manager of that store sees it too)
    alerts = client.get("/api/alerts", headers=dispatcher,
                        params={"kind": "job_failed"}).json()["items"]
    [alert] = [a for a in alerts if a["work_order_id"] == follow_id]
    assert alert["store_id"] == MINE and alert["status"] == "open"
    assert alert["technician_id"] == "tech-0001"
    assert "compressor part not in the van" in alert["message"]
    manager = client.get("/api/alerts", headers=auth(client, "manager"),
                         params={"kind": "job_failed"}).json()["items"]
    assert alert["id"] in {a["id"] for a in manager}

    # the event the customer notifications consume
    [event] = [e for e in outbox_events(database_url, follow_id) if e["name"] == "FollowUpCreated"]
    assert event["follow_up_of"] == order["id"]
    assert event["reason"] == "compressor part not in the van"
    assert event["customer_id"] == order["customer_id"] is not None
    assert [e["name"] for e in outbox_events(database_url, order["id"])][-1] == "WorkOrderFailed"


def test_the_alert_stays_while_the_follow_up_waits_and_clears_once_it_is_assigned(
        client: TestClient, database_url: str) -> None:
    dispatcher = auth(client, "dispatcher")
    _, url = started_job(client, dispatcher)
    failed = client.post(f"{url}/status", headers=auth(client, "tech1"),
                         json={"step": "fail", "reason": "no access to the roof"})
    [follow_id] = failed.json()["follow_ups"]
    evaluate(database_url, app_now(client))

    def alert() -> dict[str, Any]:
        items = client.get("/api/alerts", headers=dispatcher,
                           params={"kind": "job_failed"}).json()["items"]
        [found] = [a for a in items if a["work_order_id"] == follow_id]
        return dict(found)

    assert alert()["status"] == "open"
    assigned = client.post(f"/api/work-orders/{follow_id}/assign", headers=dispatcher,
                           json={"technician_id": "tech-0002", "allow_missing_skills": True})
    assert assigned.status_code == 200, assigned.text
    evaluate(database_url, app_now(client))
    assert alert()["status"] == "resolved"


def test_a_failure_without_a_reason_changes_nothing(client: TestClient) -> None:
    dispatcher = auth(client, "dispatcher")
    _, url = started_job(client, dispatcher)
    assert_problem(client.post(f"{url}/status", headers=auth(client, "tech1"),
                               json={"step": "fail", "reason": " "}), 422)
    assert client.get(url, headers=dispatcher).json()["status"] == "on_site"
    alerts = client.get("/api/alerts", headers=dispatcher,
                        params={"kind": "job_failed"}).json()["items"]
    assert alerts == []
