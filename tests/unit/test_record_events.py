"""Every change records its event, creation included, and a change has one shape: the version the
client saw is checked first, the audit row and the commit come after the change, and a refused
change writes nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from domain import events as ev
from domain.billing import SalesOrder, SalesOrderStatus, TripTicket
from domain.errors import RuleViolation, StaleVersion
from domain.geo import Location
from domain.resources import Customer, OpeningHours, Store, Unit
from domain.services.context import audited_change
from tests.unit.factories import NOW, technician


def _store() -> Store:
    return Store(code="DAL-1", name="Dallas #1", location=Location(32.78, -96.8), region="Dallas",
                 hours=OpeningHours(dt.time(7), dt.time(19)))


@pytest.mark.parametrize(("build", "event", "key"), [
    (_store, ev.StoreCreated, "store"),
    (lambda: technician(), ev.TechnicianCreated, "technician"),
    (lambda: Unit(name="Van 7", home_store_id="store-1"), ev.UnitCreated, "unit"),
    (lambda: Customer(name="Ana Reyes", home_store_id="store-1"), ev.CustomerCreated, "customer"),
])
def test_a_new_resource_records_that_it_was_created_with_its_whole_record(
        build: Any, event: type[ev.Event], key: str) -> None:
    item = build()
    assert item.events == []
    item.record_created()
    [recorded] = item.events
    assert type(recorded) is event
    assert recorded.aggregate_id == item.id
    assert recorded.data[key] == item.snapshot()
    assert item.version == 1 and recorded.data[key]["version"] == 1


def test_a_new_technician_is_announced_to_their_store_and_as_themselves() -> None:
    tech = technician(home_store_id="store-9")
    tech.record_created()
    assert (tech.events[0].store_id, tech.events[0].technician_id) == ("store-9", tech.id)


def test_a_trip_ticket_opened_records_its_creation() -> None:
    ticket = TripTicket.open(number="TT-9", store_id="store-1", at=NOW, work_order_id="wo-1")
    [recorded] = ticket.events
    assert isinstance(recorded, ev.TripTicketCreated)
    assert recorded.payload()["number"] == "TT-9" and recorded.store_id == "store-1"
    assert recorded.payload()["version"] == ticket.version == 1


def test_a_sales_order_opened_then_cancelled_records_both_and_cancels_once() -> None:
    order = SalesOrder.open(number="SO-9", customer_id="c-1", store_id="store-1", at=NOW)
    assert [type(e) for e in order.events] == [ev.SalesOrderCreated]
    order.mark_persisted()
    assert order.cancel() is True
    assert order.status == SalesOrderStatus.CANCELLED and not order.is_valid
    assert [type(e) for e in order.events] == [ev.SalesOrderCancelled]
    assert order.events[0].payload()["status"] == "cancelled"
    order.mark_persisted()
    assert order.cancel() is False and order.events == []


class _Uow:
    def __init__(self) -> None:
        self.audits: list[dict[str, Any]] = []
        self.commits = 0

    def audit(self, **row: Any) -> None:
        self.audits.append(row)

    async def commit(self) -> None:
        self.commits += 1


async def test_a_change_is_audited_before_and_after_then_committed() -> None:
    uow, unit = _Uow(), Unit(name="Van 7", home_store_id="store-1", version=3)
    async with audited_change(uow, unit, entity_type="unit", action="unit.update",  # type: ignore[arg-type]
                              expected_version=3) as before:
        unit.update(name="Van 8")
    assert before["name"] == "Van 7" and uow.commits == 1
    [row] = uow.audits
    assert (row["action"], row["entity_id"]) == ("unit.update", unit.id)
    assert (row["before"]["name"], row["after"]["name"]) == ("Van 7", "Van 8")
    assert row["after"]["version"] == 4


async def test_a_change_on_a_version_the_client_no_longer_sees_writes_nothing() -> None:
    uow, unit = _Uow(), Unit(name="Van 7", home_store_id="store-1", version=3)
    with pytest.raises(StaleVersion):
        async with audited_change(uow, unit, entity_type="unit", action="unit.update",  # type: ignore[arg-type]
                                  expected_version=2):
            unit.update(name="Van 8")
    assert unit.name == "Van 7" and uow.audits == [] and uow.commits == 0


async def test_a_change_its_rules_refuse_writes_nothing() -> None:
    uow, order = _Uow(), SalesOrder(number="SO-1", customer_id="c", store_id="s", created_at=NOW)
    with pytest.raises(RuleViolation):
        async with audited_change(uow, order, entity_type="sales_order",  # type: ignore[arg-type]
                                  action="sales_order.cancel"):
            raise RuleViolation("refused", field="status")
    assert uow.audits == [] and uow.commits == 0
