"""A change that collides with the current state is 409, with the same ``code``, whether the use
case sees the collision or the database's unique index catches a race."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from domain.dispatch import Dispatch, DispatchPolicy
from domain.errors import Conflict, DomainError
from storage.engine import create_engine
from storage.uow import SqlUnitOfWork
from tests.web.api_helpers import assert_problem, auth, seeded_client
from web.api.problems import status_for

WHEN = dt.datetime(2031, 5, 6, 9, 0, tzinfo=dt.UTC)
BEFORE = WHEN - dt.timedelta(days=1)


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    with seeded_client(database_url) as client:
        yield client


def unused_tickets(client: TestClient, headers: dict[str, str], n: int) -> list[str]:
    items = client.get("/api/trip-tickets", params={"unused": True, "limit": n},
                       headers=headers).json()["items"]
    assert len(items) == n
    return [str(i["id"]) for i in items]


def book_past_the_check(database_url: str, ticket: str, unit: str) -> DomainError:
    """Write a dispatch as a racing request would: its check saw the unit free."""
    async def run() -> DomainError:
        engine = create_engine(database_url)
        try:
            async with SqlUnitOfWork(engine) as uow:
                found = await uow.trip_tickets.get(ticket)
                assert found is not None
                uow.dispatches.add(Dispatch.create(
                    trip_ticket=found, datetime=WHEN, unit=unit, created_by="racer", now=BEFORE,
                    policy=DispatchPolicy(), unit_busy=False, trip_ticket_in_use=False))
                try:
                    await uow.commit()
                except DomainError as error:
                    return error
            raise AssertionError("the database let the unit be booked twice")
        finally:
            await engine.dispose()
    return asyncio.run(run())


def test_a_double_booked_unit_is_409_whether_the_use_case_or_the_database_sees_it(
        client: TestClient, database_url: str) -> None:
    h = auth(client, "operations")
    first, second, third = unused_tickets(client, h, 3)
    body = {"datetime": WHEN.isoformat(), "unit": "unit-0001"}
    assert client.post("/api/dispatch", headers=h,
                       json={**body, "trip_ticket_id": first}).status_code == 201
    seen = assert_problem(client.post("/api/dispatch", headers=h,
                                      json={**body, "trip_ticket_id": second}),
                          409, "unit_double_booked")
    caught = book_past_the_check(database_url, third, "unit-0001")
    assert isinstance(caught, Conflict)
    assert (status_for(caught), caught.code) == (seen["status"], seen["code"])

    other = client.post("/api/dispatch", headers=h, json={
        "trip_ticket_id": second, "datetime": WHEN.isoformat(), "unit": "unit-0002"})
    assert other.status_code == 201, other.text
    moved = client.patch(f"/api/dispatch/{other.json()['id']}", headers=h,
                         json={"unit": "unit-0001"})
    assert_problem(moved, 409, "unit_double_booked")


def test_a_used_trip_ticket_and_a_linked_invoice_are_409_conflicts(client: TestClient) -> None:
    h = auth(client, "operations")
    first, second = unused_tickets(client, h, 2)
    one = client.post("/api/dispatch", headers=h, json={
        "trip_ticket_id": first, "datetime": WHEN.isoformat(), "unit": "unit-0001"}).json()
    again = client.post("/api/dispatch", headers=h, json={
        "trip_ticket_id": first, "datetime": WHEN.isoformat(), "unit": "unit-0002"})
    assert_problem(again, 409, "trip_ticket_in_use")
    two = client.post("/api/dispatch", headers=h, json={
        "trip_ticket_id": second, "datetime": WHEN.isoformat(), "unit": "unit-0002"}).json()
    invoice = client.post(f"/api/dispatch/{one['id']}/invoices", headers=h,
                          json={"sales_order_id": "so-000005", "amount_cents": 900})
    assert invoice.status_code == 201, invoice.text
    link = {"invoice_id": invoice.json()["id"]}
    assert_problem(client.post(f"/api/dispatch/{two['id']}/invoices", headers=h, json=link),
                   409, "invoice_already_linked")
    assert_problem(client.post(f"/api/dispatch/{one['id']}/invoices", headers=h, json=link),
                   409, "invoice_already_attached")


def test_the_api_document_declares_409_where_these_conflicts_answer(client: TestClient) -> None:
    paths = client.get("/api/openapi.json").json()["paths"]
    for path, method in [("/api/dispatch", "post"), ("/api/dispatch/{id}", "patch"),
                         ("/api/dispatch/{id}/invoices", "post"),
                         ("/api/work-orders/{id}/comments", "post")]:
        assert "409" in paths[path][method]["responses"], (path, method)
