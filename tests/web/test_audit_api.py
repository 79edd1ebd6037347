"""The audit trail over HTTP, and role delegation (which is audited too)."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.web.api_helpers import app_now, assert_problem, auth, seeded_client, token
from web.app import create_app
from web.settings import Settings


def audit(client: TestClient, headers: dict[str, str], **params: Any) -> Any:
    response = client.get("/api/audit", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def soon(**delta: float) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(**delta)).isoformat()


def test_every_change_an_administrator_makes_is_audited_with_before_and_after(
    database_url: str,
) -> None:
    with seeded_client(database_url) as client:
        admin = auth(client, "admin")
        unit = client.post("/api/units", headers={**admin, "X-Request-ID": "req-create-1"},
                           json={"name": "VAN-7001", "home_store_id": "store-0001"}).json()
        client.patch(f"/api/units/{unit['id']}", json={"plate": "TX-1"}, headers=admin)
        client.delete(f"/api/units/{unit['id']}", headers=admin)
        trail = audit(client, admin, entity_type="unit", entity_id=unit["id"])
        assert trail["total"] == 3
        deactivated, updated, created = trail["items"]  # newest first
        assert [e["action"] for e in trail["items"]] == [
            "unit.deactivate", "unit.update", "unit.create"]
        assert {e["actor"] for e in trail["items"]} == {"admin"}
        assert {e["actor_id"] for e in trail["items"]} == {"user-admin"}
        assert created["before"] is None and created["after"]["name"] == "VAN-7001"
        assert created["correlation_id"] == "req-create-1"
        assert (updated["before"]["plate"], updated["after"]["plate"]) == ("", "TX-1")
        assert (deactivated["before"]["in_service"], deactivated["after"]["in_service"]) == (
            True, False)
        assert created["at"] <= updated["at"] <= deactivated["at"]


def test_billing_changes_are_audited_too(database_url: str) -> None:
    with seeded_client(database_url) as client:
        billing, admin = auth(client, "billing"), auth(client, "admin")
        invoice = client.post("/api/invoices", headers=billing,
                              json={"sales_order_id": "so-000002", "amount_cents": 900}).json()
        client.post(f"/api/invoices/{invoice['id']}/process", headers=billing)
        client.delete("/api/sales-orders/so-000003", headers=billing)
        actions = [e["action"] for e in audit(client, admin, actor="billing")["items"]]
        assert actions == ["sales_order.cancel", "invoice.process", "invoice.create"]


def test_the_audit_trail_filters_by_actor_action_and_date_and_pages_newest_first(
    database_url: str,
) -> None:
    with seeded_client(database_url) as client:
        admin, service = auth(client, "admin"), auth(client, "service")
        start = app_now(client) - dt.timedelta(seconds=1)
        for i in range(5):
            client.post("/api/customers", headers=service,
                        json={"name": f"Walk-in {i}", "home_store_id": "store-0002"})
        client.post("/api/stores", headers=admin, json={
            "code": "S8001", "name": "Frisco", "location": {"lat": 33.1, "lon": -96.8},
            "region": "north", "hours": {"opens": "08:00", "closes": "18:00"}})
        everything = audit(client, admin)
        assert everything["total"] == 6
        by_service = audit(client, admin, actor="service", action="customer.create", limit=2)
        assert (by_service["total"], len(by_service["items"])) == (5, 2)
        assert [e["after"]["name"] for e in by_service["items"]] == ["Walk-in 4", "Walk-in 3"]
        second = audit(client, admin, actor="service", limit=2, offset=2)
        assert [e["after"]["name"] for e in second["items"]] == ["Walk-in 2", "Walk-in 1"]
        assert audit(client, admin, entity_type="store")["items"][0]["after"]["code"] == "S8001"
        assert audit(client, admin, date_from=start.isoformat())["total"] == 6
        assert audit(client, admin, date_to=start.isoformat())["total"] == 0
        assert_problem(client.get("/api/audit?date_from=yesterday", headers=admin), 422)
        assert_problem(client.get("/api/audit?date_from=2030-01-01T00:00:00", headers=admin), 422)


@pytest.mark.parametrize(("user", "status"), [
    ("admin", 200), ("operations", 200), ("dispatcher", 403), ("manager", 403),
    ("billing", 403), ("tech1", 403),
])
def test_only_administrators_and_operations_managers_read_the_audit_trail(
    database_url: str, user: str, status: int,
) -> None:
    with seeded_client(database_url) as client:
        response = client.get("/api/audit", headers=auth(client, user))
        assert response.status_code == status, response.text


def test_a_delegated_role_is_granted_at_next_login_and_gone_after_revocation(
    database_url: str,
) -> None:
    with seeded_client(database_url) as client:
        operations, admin = auth(client, "operations"), auth(client, "admin")
        assert client.get("/api/audit", headers=auth(client, "dispatcher")).status_code == 403
        made = client.post("/api/delegations", headers=operations, json={
            "to_username": "dispatcher", "role": "operations_manager", "ends_at": soon(hours=1)})
        assert made.status_code == 201, made.text
        d = made.json()
        assert (d["from_username"], d["to_username"], d["active"]) == (
            "operations", "dispatcher", True)
        dispatcher = auth(client, "dispatcher")
        me = client.get("/api/auth/me", headers=dispatcher).json()
        assert "operations_manager" in me["roles"]
        assert client.get("/api/audit", headers=dispatcher).status_code == 200
        listed = client.get("/api/delegations", headers=dispatcher).json()
        assert [x["id"] for x in listed["items"]] == [d["id"]]
        assert client.delete(f"/api/delegations/{d['id']}", headers=operations).status_code == 204
        # the token issued while the delegation was in force loses the role at once
        assert client.get("/api/audit", headers=dispatcher).status_code == 403
        assert "operations_manager" not in client.get(
            "/api/auth/me", headers=dispatcher).json()["roles"]
        assert client.get("/api/work-orders", headers=dispatcher).status_code == 200  # own role
        again = auth(client, "dispatcher")
        assert "operations_manager" not in client.get("/api/auth/me", headers=again).json()["roles"]
        assert client.get("/api/audit", headers=again).status_code == 403
        gone = client.get("/api/delegations", headers=admin).json()["items"][0]
        assert gone["active"] is False
        actions = [e["action"] for e in audit(client, admin, entity_type="delegation")["items"]]
        assert actions == ["delegation.revoke", "delegation.create"]


def test_a_delegation_lapses_by_itself_when_its_window_ends(database_url: str) -> None:
    with seeded_client(database_url) as client:
        operations = auth(client, "operations")
        ends = app_now(client) + dt.timedelta(seconds=3)
        made = client.post("/api/delegations", headers=operations, json={
            "to_username": "dispatcher", "role": "operations_manager",
            "ends_at": ends.isoformat()})
        assert made.status_code == 201, made.text
        login = client.post("/api/auth/login",
                            json={"username": "dispatcher", "password": "demo"}).json()
        assert login["expires_in"] <= 3  # the token does not outlive the window
        time.sleep(max(0.0, (ends - app_now(client)).total_seconds()) + 0.5)
        later = {"Authorization": f"Bearer {token(client, 'dispatcher')}"}
        assert client.get("/api/audit", headers=later).status_code == 403
        expired = {"Authorization": f"Bearer {login['access_token']}"}
        assert_problem(client.get("/api/audit", headers=expired), 401)


@pytest.mark.parametrize(("user", "body", "status"), [
    ("operations", {"to_username": "dispatcher", "role": "admin"}, 403),
    ("dispatcher", {"to_username": "billing", "role": "dispatcher"}, 403),
    ("operations", {"to_username": "dispatcher", "role": "operations_manager",
                    "ends_at": "LATER"}, 422),
    ("operations", {"to_username": "dispatcher", "role": "operations_manager",
                    "ends_at": "PAST"}, 422),
    ("operations", {"to_username": "dispatcher", "role": "operations_manager",
                    "ends_at": "NAIVE"}, 422),
    ("operations", {"to_username": "nobody-here", "role": "operations_manager"}, 422),
    ("operations", {"to_username": "operations", "role": "operations_manager"}, 422),
    ("operations", {"to_username": "dispatcher", "role": "wizard"}, 422),
    ("manager", {"to_username": "dispatcher", "role": "store_manager"}, 422),
])
def test_delegation_refuses_roles_not_held_long_or_past_windows_and_unknown_users(
    database_url: str, user: str, body: dict[str, Any], status: int,
) -> None:
    ends = {"LATER": soon(days=31), "PAST": soon(minutes=-1),
            "NAIVE": (dt.datetime.now() + dt.timedelta(hours=1)).isoformat()}
    payload = {"ends_at": soon(hours=2), **body}
    payload["ends_at"] = ends.get(payload["ends_at"], payload["ends_at"])
    with seeded_client(database_url) as client:
        response = client.post("/api/delegations", headers=auth(client, user), json=payload)
        assert_problem(response, status)
        admin = auth(client, "admin")
        assert client.get("/api/delegations", headers=admin).json()["total"] == 0
        assert audit(client, admin, entity_type="delegation")["total"] == 0


def test_only_the_giver_the_receiver_or_an_administrator_may_revoke(database_url: str) -> None:
    with seeded_client(database_url) as client:
        operations = auth(client, "operations")
        made = client.post("/api/delegations", headers=operations, json={
            "to_username": "dispatcher", "role": "operations_manager",
            "ends_at": soon(days=2)}).json()
        manager = auth(client, "manager")
        assert_problem(client.delete(f"/api/delegations/{made['id']}", headers=manager), 404)
        assert client.get("/api/delegations", headers=manager).json()["total"] == 0
        admin = auth(client, "admin")
        assert client.delete(f"/api/delegations/{made['id']}", headers=admin).status_code == 204
        assert_problem(client.delete("/api/delegations/no-such-id", headers=admin), 404)


def test_another_process_cuts_a_revoked_delegation_from_tokens_within_its_refresh(
    database_url: str,
) -> None:
    """Two app instances on one database stand for two web processes."""
    other = create_app(Settings(database_url=database_url, delegation_refresh_seconds=0.2))
    with seeded_client(database_url) as first, TestClient(other) as second:
        operations = auth(first, "operations")
        made = first.post("/api/delegations", headers=operations, json={
            "to_username": "dispatcher", "role": "operations_manager", "ends_at": soon(hours=1)})
        assert made.status_code == 201, made.text
        dispatcher = auth(first, "dispatcher")
        assert second.get("/api/audit", headers=dispatcher).status_code == 200
        assert first.delete(f"/api/delegations/{made.json()['id']}",
                            headers=operations).status_code == 204
        deadline = time.monotonic() + 10
        while second.get("/api/audit", headers=dispatcher).status_code == 200:
            assert time.monotonic() < deadline, "the other process never dropped the role"
            time.sleep(0.1)
        assert second.get("/api/audit", headers=dispatcher).status_code == 403
