"""The columns the reports read are written by the application, on SQLite and on PostgreSQL:
each way a job comes in sets its channel, the first assignment's time is kept, and a decline
leaves a row of history in the same transaction."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select
from starlette.testclient import TestClient

from realtime.intake.webhooks import Webhook
from storage import tables as t
from storage.engine import create_engine
from tests.web.api_helpers import app_now, auth, seeded_client
from web.intake_wiring import OrderIntake

SECRET = "whsec_" + base64.b64encode(b"report-columns-test-secret-01234").decode()
STORE = "store-0001"
PLACE = {"lat": 32.78, "lon": -96.8}


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    with seeded_client(database_url, intake_webhook_secret=SecretStr(SECRET)) as c:
        yield c


def rows(url: str, table: Any, **where: Any) -> list[dict[str, Any]]:
    async def read() -> list[dict[str, Any]]:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                query = select(table).where(*(table.c[k] == v for k, v in where.items()))
                return [dict(r) for r in (await conn.execute(query)).mappings().all()]
        finally:
            await engine.dispose()

    return asyncio.run(read())


def channel(url: str, work_order_id: str) -> str:
    [row] = rows(url, t.work_orders, id=work_order_id)
    return str(row["channel"])


def book(client: TestClient, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    body = {"store_id": STORE, "priority": "normal", "location": PLACE,
            "description": "Water heater leaking", **overrides}
    response = client.post("/api/work-orders", json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def partner_order(external_id: str) -> dict[str, Any]:
    return {"external_id": external_id, "store_id": STORE, "priority": "high",
            "location": PLACE, "description": "Walk-in freezer alarm",
            "customer_name": "Maria Lopez", "estimated_minutes": 90}


def test_each_way_in_sets_the_channel(client: TestClient, database_url: str) -> None:
    dispatcher = auth(client, "dispatcher")
    assert channel(database_url, book(client, dispatcher)["id"]) == "phone"
    assert channel(database_url, book(client, auth(client, "service"))["id"]) == "phone"
    urgent = book(client, dispatcher, priority="emergency")
    assert channel(database_url, urgent["id"]) == "emergency"
    job = client.post("/api/emergency/jobs", headers=auth(client, "coordinator"), json={
        "store_id": STORE, "location": PLACE, "description": "Gas smell", "k": 2})
    assert job.status_code == 201, job.text
    assert channel(database_url, job.json()["work_order"]["id"]) == "emergency"

    raw = json.dumps(partner_order("P-1")).encode()
    signed = Webhook(SECRET).headers("msg_report_1", raw)
    hooked = client.post("/api/intake/webhooks/orders", content=raw,
                         headers={"content-type": "application/json", **signed})
    assert hooked.status_code == 201, hooked.text
    assert channel(database_url, hooked.json()["id"]) == "webhook"

    async def poll() -> dict[str, int]:
        engine = create_engine(database_url)
        try:
            intake = OrderIntake(engine, source="partner", now=lambda: app_now(client))
            return await intake.take_feed([partner_order("P-2")])
        finally:
            await engine.dispose()

    assert asyncio.run(poll())["created"] == 1
    [claim] = rows(database_url, t.intake_orders, external_id="P-2")
    assert channel(database_url, claim["work_order_id"]) == "partner"


def test_the_first_assignment_is_kept_and_a_decline_is_recorded(
        client: TestClient, database_url: str) -> None:
    dispatcher = auth(client, "dispatcher")
    order = book(client, dispatcher)
    url = f"/api/work-orders/{order['id']}"
    [fresh] = rows(database_url, t.work_orders, id=order["id"])
    assert fresh["assigned_at"] is None
    first = client.post(f"{url}/assign", json={"technician_id": "tech-0001"}, headers=dispatcher)
    assert first.status_code == 200, first.text
    [assigned] = rows(database_url, t.work_orders, id=order["id"])
    assert assigned["assigned_at"] is not None
    assert abs((assigned["assigned_at"] - app_now(client)).total_seconds()) < 60
    declined = client.post(f"{url}/status", json={"step": "decline", "reason": "van broke down"},
                           headers=auth(client, "tech1"))
    assert declined.status_code == 200, declined.text
    again = client.post(f"{url}/assign", json={"technician_id": "tech-0002"}, headers=dispatcher)
    assert again.status_code == 200, again.text
    [after] = rows(database_url, t.work_orders, id=order["id"])
    assert after["assigned_at"] == assigned["assigned_at"]
    [decline] = rows(database_url, t.assignment_declines, work_order_id=order["id"])
    assert (decline["technician_id"], decline["store_id"], decline["reason"]) == (
        "tech-0001", STORE, "van broke down")
    assert assigned["assigned_at"] <= decline["declined_at"] <= app_now(client)
    refused = client.post(f"{url}/status", json={"step": "decline", "reason": ""},
                          headers=auth(client, "tech2"))
    assert refused.status_code == 422  # a refused decline leaves no row
    assert len(rows(database_url, t.assignment_declines, work_order_id=order["id"])) == 1


def test_a_follow_up_keeps_the_channel_of_the_failed_job(
        client: TestClient, database_url: str) -> None:
    dispatcher = auth(client, "dispatcher")
    order = book(client, dispatcher, priority="emergency")
    url = f"/api/work-orders/{order['id']}"
    assert client.post(f"{url}/assign", json={"technician_id": "tech-0001",
                                              "allow_missing_skills": True},
                       headers=dispatcher).status_code == 200
    tech = auth(client, "tech1")
    for step in ("accept", "en_route", "on_site"):
        assert client.post(f"{url}/status", json={"step": step}, headers=tech).status_code == 200
    failed = client.post(f"{url}/status", json={"step": "fail", "reason": "no part"}, headers=tech)
    assert failed.status_code == 200, failed.text
    [follow_id] = failed.json()["follow_ups"]
    assert channel(database_url, follow_id) == "emergency"


def test_the_demo_jobs_have_channels_and_first_assignments(
        client: TestClient, database_url: str) -> None:
    jobs = rows(database_url, t.work_orders)
    assert {j["channel"] for j in jobs} <= {"phone", "partner", "webhook", "emergency"}
    assert {j["channel"] for j in jobs if j["priority"] == "emergency"} == {"emergency"}
    assert any(j["channel"] == "partner" for j in jobs)
    # the day's jobs in hand (those the demo assigned, accepted or set off)
    assigned = [j for j in jobs if j["status"] in {"assigned", "accepted", "en_route"}]
    assert assigned and all(j["assigned_at"] is not None for j in assigned)
    assert all(j["assigned_at"] >= j["created_at"] for j in assigned)
