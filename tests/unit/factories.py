"""Small builders for domain objects used by the unit tests."""

from __future__ import annotations

import datetime as dt

from domain.dispatch import Dispatch, DispatchPolicy, Invoice, SalesOrder, TripTicket
from domain.geo import Location
from domain.resources import Technician, TechnicianStatus
from domain.work_orders import Priority, WorkOrder

NOW = dt.datetime(2026, 11, 22, 15, 0, tzinfo=dt.UTC)
DALLAS = Location(32.7767, -96.797)


def work_order(**overrides: object) -> WorkOrder:
    fields: dict[str, object] = {
        "store_id": "store-1", "priority": Priority.NORMAL, "location": DALLAS,
        "description": "No cooling", "created_at": NOW, "created_by": "user-1",
    }
    fields.update(overrides)
    return WorkOrder(**fields)  # type: ignore[arg-type]


def technician(**overrides: object) -> Technician:
    fields: dict[str, object] = {
        "name": "Maria Garcia", "home_store_id": "store-1", "skills": frozenset({"hvac"}),
        "status": TechnicianStatus.AVAILABLE,
    }
    fields.update(overrides)
    return Technician(**fields)  # type: ignore[arg-type]


def trip_ticket(number: str = "TT-1") -> TripTicket:
    return TripTicket(number=number, store_id="store-1", created_at=NOW)


def sales_order() -> SalesOrder:
    return SalesOrder(number="SO-1", customer_id="cust-1", store_id="store-1", created_at=NOW)


def invoice(order: SalesOrder | None = None, number: str = "INV-1") -> Invoice:
    return Invoice.for_sales_order(order or sales_order(), number=number, amount_cents=12_000,
                                   at=NOW)


def dispatch(
    *, when: dt.datetime | None = None, policy: DispatchPolicy | None = None,
    unit_busy: bool = False, trip_ticket_in_use: bool = False,
) -> Dispatch:
    return Dispatch.create(
        trip_ticket=trip_ticket(), datetime=when or NOW + dt.timedelta(hours=2), unit="unit-1",
        created_by="user-1", now=NOW, policy=policy or DispatchPolicy(), unit_busy=unit_busy,
        trip_ticket_in_use=trip_ticket_in_use,
    )
