"""A customer's consent to texts changed through the customer's record (``PATCH
/api/customers/{id}`` with ``sms_opt_in``) is consent like any other: it lands in the consent
history with who changed it, when and how (``customer_update``), in the same transaction as the
rest of the change; a refusal (no number that takes texts) changes nothing at all. SQLite and
PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.web.api_helpers import app_now, assert_problem, auth, seeded_client


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    with seeded_client(database_url) as c:
        yield c


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def unconsented(client: TestClient, headers: dict[str, str], skip: int = 0) -> dict[str, Any]:
    """A customer with a number that takes texts who has not opted in (the demo has some)."""
    items = ok(client.get("/api/customers", params={"limit": 100}, headers=headers))["items"]
    found: dict[str, Any] = [c for c in items
                             if c["phone"].startswith("+1") and not c["sms_opt_in"]][skip]
    return found


def history(client: TestClient, headers: dict[str, str], customer_id: str) -> dict[str, Any]:
    found: dict[str, Any] = ok(client.get(f"/api/customers/{customer_id}/consents",
                                          headers=headers))
    return found


def test_opting_in_and_out_on_the_customers_record_is_recorded_as_consent(
        client: TestClient) -> None:
    service = auth(client, "service")
    customer = unconsented(client, service)
    url = f"/api/customers/{customer['id']}"

    changed = ok(client.patch(url, headers={**service, "If-Match": f'"{customer["version"]}"'},
                              json={"sms_opt_in": True, "email": "new@example.com"}))
    assert changed["sms_opt_in"] is True and changed["email"] == "new@example.com"
    after_in = history(client, service, customer["id"])
    assert after_in["sms_opt_in"] is True
    [record] = after_in["items"]
    assert (record["granted"], record["source"], record["recorded_by"]) == (
        True, "customer_update", "service")
    assert abs((app_now(client) - dt.datetime.fromisoformat(record["at"])).total_seconds()) < 120

    # the same value again is no new consent; a change back is
    ok(client.patch(url, headers=service, json={"sms_opt_in": True, "name": customer["name"]}))
    assert len(history(client, service, customer["id"])["items"]) == 1
    ok(client.patch(url, headers=service, json={"sms_opt_in": False}))
    after_out = history(client, service, customer["id"])
    assert after_out["sms_opt_in"] is False
    assert [(r["granted"], r["source"]) for r in after_out["items"]] == [
        (True, "customer_update"), (False, "customer_update")]

    # both show in the audit log, the consent with its record
    audit = ok(client.get("/api/audit", headers=auth(client, "admin"),
                          params={"entity_id": customer["id"], "limit": 50}))["items"]
    assert {"customer.update", "customer.consent"} <= {a["action"] for a in audit}


def test_opting_in_without_a_number_that_takes_texts_changes_nothing(
        client: TestClient) -> None:
    service = auth(client, "service")
    customer = unconsented(client, service, 1)
    url = f"/api/customers/{customer['id']}"
    refused = client.patch(url, headers=service,
                           json={"phone": "not a phone", "sms_opt_in": True})
    assert_problem(refused, 422, "no_sms_number")
    after = ok(client.get(url, headers=service))
    assert (after["phone"], after["sms_opt_in"], after["version"]) == (
        customer["phone"], customer["sms_opt_in"], customer["version"])
    assert history(client, service, customer["id"])["items"] == []

    # a new number and the consent in one change: the number first, then the consent
    ok(client.patch(url, headers=service, json={"phone": "+1 (214) 555-0199", "sms_opt_in": True}))
    assert history(client, service, customer["id"])["sms_opt_in"] is True


def test_the_consent_form_keeps_naming_how_the_customer_said_it(client: TestClient) -> None:
    """``customer_update`` is what a record change writes; a person recording consent says how
    the customer gave it."""
    service = auth(client, "service")
    customer = unconsented(client, service)
    assert_problem(client.post(f"/api/customers/{customer['id']}/consents", headers=service,
                               json={"granted": True, "source": "customer_update"}), 422)
    assert history(client, service, customer["id"])["items"] == []
