"""The alert endpoints over HTTP on SQLite and PostgreSQL: scope, filters, acknowledge, resolve."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from domain.alert_rules import IntegrationHealth
from domain.services.alerts import PassResult, evaluate_alerts
from storage import tables as t
from storage.alerts import SqlAlertFacts
from storage.engine import create_engine
from storage.uow import SqlUnitOfWork
from tests.web.api_helpers import assert_problem, auth, seeded_client
from web.runtime import build_runtime
from web.settings import Settings

MINE, OTHER = "store-0001", "store-0003"  # the store manager holds store-0001 and store-0002


def evaluate(database_url: str, failing: bool = False) -> PassResult:
    """One pass of the rules, as the loop would run it (the app's own loop is off here)."""
    health = [IntegrationHealth("geotab", 5, "ReadTimeout")] if failing else []

    async def run() -> PassResult:
        engine = create_engine(database_url)
        try:
            return await evaluate_alerts(lambda: SqlUnitOfWork(engine),
                                         SqlAlertFacts(engine, lambda: health),
                                         dt.datetime.now(dt.UTC))
        finally:
            await engine.dispose()

    return asyncio.run(run())


def emergency(client: TestClient, store_id: str) -> str:
    response = client.post("/api/work-orders", headers=auth(client, "dispatcher"), json={
        "store_id": store_id, "priority": "emergency", "location": {"lat": 32.78, "lon": -96.8},
        "description": "Gas smell in the basement"})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def alert_for(client: TestClient, user: str, work_order_id: str) -> dict[str, Any]:
    items = client.get("/api/alerts", headers=auth(client, user),
                       params={"kind": "emergency_order", "limit": 500}).json()["items"]
    [found] = [a for a in items if a["work_order_id"] == work_order_id]
    return dict(found)


@pytest.fixture
def world(database_url: str) -> Iterator[tuple[TestClient, dict[str, str]]]:
    with seeded_client(database_url, alerts_enabled=False) as client:
        mine, other = emergency(client, MINE), emergency(client, OTHER)
        evaluate(database_url, failing=True)
        yield client, {"mine": mine, "other": other}


def test_each_user_sees_the_alerts_of_their_scope(
        world: tuple[TestClient, dict[str, str]]) -> None:
    client, orders = world
    admin = client.get("/api/alerts", headers=auth(client, "admin"), params={"limit": 500}).json()
    dispatcher = client.get("/api/alerts", headers=auth(client, "dispatcher"),
                            params={"limit": 500}).json()
    manager = client.get("/api/alerts", headers=auth(client, "manager"),
                         params={"limit": 500}).json()
    system = [a for a in admin["items"] if a["category"] == "system"]
    assert [a["kind"] for a in system] == ["integration_failing"]
    assert admin["total"] == dispatcher["total"] + 1  # system alerts: admins only
    assert all(a["store_id"] is not None for a in dispatcher["items"])
    assert manager["items"] and {a["store_id"] for a in manager["items"]} <= {MINE, "store-0002"}
    assert {orders["mine"], orders["other"]} <= {a["work_order_id"] for a in dispatcher["items"]}
    other = alert_for(client, "dispatcher", orders["other"])
    assert_problem(client.get(f"/api/alerts/{other['id']}", headers=auth(client, "manager")), 404)
    assert_problem(client.get(f"/api/alerts/{system[0]['id']}",
                              headers=auth(client, "dispatcher")), 404)
    assert client.get(f"/api/alerts/{system[0]['id']}",
                      headers=auth(client, "admin")).json()["kind"] == "integration_failing"
    assert_problem(client.get("/api/alerts", headers=auth(client, "tech1")), 403)


def test_the_list_filters_and_pages_newest_first(world: tuple[TestClient, dict[str, str]]) -> None:
    client, _ = world
    h = auth(client, "admin")
    everything = client.get("/api/alerts", headers=h, params={"limit": 500}).json()
    raised = [a["raised_at"] for a in everything["items"]]
    assert raised == sorted(raised, reverse=True)
    critical = client.get("/api/alerts", headers=h, params={"severity": "critical"}).json()
    assert critical["total"] >= 3 and {a["severity"] for a in critical["items"]} == {"critical"}
    both = client.get("/api/alerts", headers=h,
                      params={"kind": "emergency_order,integration_failing", "limit": 500}).json()
    assert {a["kind"] for a in both["items"]} == {"emergency_order", "integration_failing"}
    store = client.get("/api/alerts", headers=h, params={"store_id": OTHER, "limit": 500}).json()
    assert store["total"] >= 1 and {a["store_id"] for a in store["items"]} == {OTHER}
    first = client.get("/api/alerts", headers=h, params={"limit": 1, "offset": 1}).json()
    assert first["items"][0]["id"] == everything["items"][1]["id"] and first["limit"] == 1
    none = client.get("/api/alerts", headers=h, params={"status": "resolved"}).json()
    assert none == {"items": [], "total": 0, "limit": 50, "offset": 0}
    assert_problem(client.get("/api/alerts", headers=h, params={"status": "sleeping"}), 422,
                   "validation_failed")
    assert_problem(client.get("/api/alerts", headers=h, params={"limit": 0}), 422)


def test_acknowledge_once_then_409_with_the_current_alert(
        world: tuple[TestClient, dict[str, str]]) -> None:
    client, orders = world
    alert = alert_for(client, "dispatcher", orders["mine"])
    url = f"/api/alerts/{alert['id']}/acknowledge"
    assert_problem(client.post(url, headers={**auth(client, "manager"), "If-Match": '"99"'},
                               json={}), 409, "stale_version")
    assert_problem(client.post(url, headers={**auth(client, "manager"), "If-Match": "x"},
                               json={}), 400, "bad_if_match")
    response = client.post(url, headers={**auth(client, "manager"),
                                         "If-Match": f'"{alert["version"]}"'}, json={})
    assert response.status_code == 200, response.text
    acked = response.json()
    assert acked["status"] == "acknowledged" and acked["version"] == alert["version"] + 1
    assert acked["next_escalation_at"] is None and acked["acknowledged_at"]
    again = assert_problem(client.post(url, headers=auth(client, "dispatcher"), json={}), 409,
                           "already_acknowledged")
    assert again["current"]["acknowledged_by"] == acked["acknowledged_by"]
    audit = client.get("/api/audit", headers=auth(client, "admin"),
                       params={"entity_type": "alert", "entity_id": alert["id"]}).json()
    assert [e["action"] for e in audit["items"]] == ["alert.acknowledge"]
    assert audit["items"][0]["actor"] == "manager"


def test_who_may_acknowledge_and_what_they_may_reach(
        world: tuple[TestClient, dict[str, str]]) -> None:
    client, orders = world
    other = alert_for(client, "dispatcher", orders["other"])
    url = f"/api/alerts/{other['id']}/acknowledge"
    assert_problem(client.post(url, headers=auth(client, "fleet"), json={}), 403)  # view only
    assert_problem(client.post(url, headers=auth(client, "tech1"), json={}), 403)
    assert_problem(client.post(url, headers=auth(client, "manager"), json={}), 404)  # not theirs
    assert_problem(client.post("/api/alerts/nope/acknowledge", headers=auth(client, "admin"),
                               json={}), 404, "not_found")
    assert_problem(client.post(url, headers=auth(client, "admin"), json={"versio": 1}), 422)
    assert client.post(url, headers=auth(client, "coordinator"), json={}).status_code == 200


def test_resolve_by_hand_closes_it_once(world: tuple[TestClient, dict[str, str]]) -> None:
    client, orders = world
    alert = alert_for(client, "dispatcher", orders["mine"])
    h = auth(client, "dispatcher")
    response = client.post(f"/api/alerts/{alert['id']}/resolve", headers=h,
                           json={"note": "customer called back", "version": alert["version"]})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "resolved" and response.json()["resolved_by"]
    assert_problem(client.post(f"/api/alerts/{alert['id']}/resolve", headers=h, json={}), 409,
                   "already_resolved")
    assert_problem(client.post(f"/api/alerts/{alert['id']}/acknowledge", headers=h, json={}), 409,
                   "invalid_transition")
    live = client.get("/api/alerts", headers=h, params={"status": "open,acknowledged",
                                                         "limit": 500}).json()
    assert alert["id"] not in {a["id"] for a in live["items"]}


def test_in_production_the_worker_process_runs_the_alert_rules(database_url: str) -> None:
    """Web processes run with RUN_FEEDS=false; `dispatch worker` (runtime started without HTTP)
    must raise the alert for an order a web process took."""
    async def worker_raises(work_order_id: str) -> bool:
        runtime = build_runtime(Settings(database_url=database_url, run_feeds=True,
                                           alerts_interval_seconds=0.2))
        await runtime.start()
        try:
            assert runtime.alerts is not None
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                async with runtime.engine.connect() as conn:
                    found = (await conn.execute(
                        select(t.alerts.c.id).where(t.alerts.c.work_order_id == work_order_id)
                    )).first()
                if found:
                    return True
                await asyncio.sleep(0.1)
            return False
        finally:
            await runtime.stop()

    with seeded_client(database_url, run_feeds=False) as web:
        order = emergency(web, MINE)
        assert asyncio.run(worker_raises(order))
        assert alert_for(web, "dispatcher", order)["severity"] == "critical"


def test_many_alerts_are_acknowledged_in_one_call_and_the_rest_skipped_with_reasons(
        world: tuple[TestClient, dict[str, str]]) -> None:
    client, orders = world
    manager, dispatcher = auth(client, "manager"), auth(client, "dispatcher")
    mine = alert_for(client, "dispatcher", orders["mine"])
    other = alert_for(client, "dispatcher", orders["other"])
    open_before = client.get("/api/alerts", headers=dispatcher,
                             params={"status": "open", "limit": 500}).json()["total"]
    answer = client.post("/api/alerts/acknowledge", headers=manager, json={"items": [
        {"id": mine["id"], "version": mine["version"]},
        {"id": other["id"]},  # another store's: not visible to this manager
        {"id": mine["id"], "version": mine["version"]},  # repeated: counted once
        {"id": "no-such-alert"}]})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [a["id"] for a in body["acknowledged"]] == [mine["id"]]
    assert body["acknowledged"][0]["status"] == "acknowledged"
    assert sorted((s["id"], s["code"]) for s in body["skipped"]) == sorted(
        [(other["id"], "not_found"), ("no-such-alert", "not_found")])
    again = client.post("/api/alerts/acknowledge", headers=dispatcher, json={"items": [
        {"id": mine["id"]}, {"id": other["id"], "version": other["version"] + 5}]}).json()
    assert again["acknowledged"] == []
    assert sorted(s["code"] for s in again["skipped"]) == ["already_acknowledged", "stale_version"]
    assert client.get("/api/alerts", headers=dispatcher, params={
        "status": "open", "limit": 500}).json()["total"] == open_before - 1
    trail = client.get("/api/audit", headers=auth(client, "admin"),
                       params={"entity_type": "alert", "entity_id": mine["id"]}).json()
    assert [e["action"] for e in trail["items"]] == ["alert.acknowledge"]
    assert_problem(client.post("/api/alerts/acknowledge", headers=dispatcher,
                               json={"items": []}), 422)
    assert_problem(client.post("/api/alerts/acknowledge", headers=auth(client, "billing"),
                               json={"items": [{"id": mine["id"]}]}), 403)
