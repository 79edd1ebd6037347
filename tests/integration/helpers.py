"""Seed a small, known world into a database for the integration tests."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncEngine

from domain.dispatch import DispatchPolicy, SalesOrder, TripTicket
from domain.geo import Location
from domain.resources import Customer, OpeningHours, Store, Technician, TechnicianStatus, Unit
from domain.roles import Principal, Role
from domain.services.context import Context
from domain.work_orders import Priority, WorkOrder
from storage.uow import SqlUnitOfWork

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
TOMORROW = NOW + dt.timedelta(days=1)

DISPATCHER = Principal(user_id="user-d", username="dispatcher",
                       roles=frozenset({Role.DISPATCHER}))


def ctx(principal: Principal = DISPATCHER) -> Context:
    return Context(principal=principal, now=dt.datetime.now(dt.UTC), dispatch_policy=DispatchPolicy())


async def seed_world(engine: AsyncEngine, *, tickets: int = 60) -> None:
    async with SqlUnitOfWork(engine) as uow:
        for n in (1, 2):
            uow.stores.add(Store(
                id=f"store-{n}", code=f"S{n}", name=f"Store {n}", region="Dallas",
                location=Location(32.7 + n / 100, -96.8),
                hours=OpeningHours(dt.time(7), dt.time(19)),
            ))
        uow.customers.add(Customer(id="cust-1", name="Ana Reyes", home_store_id="store-1"))
        for n in (1, 2):
            uow.units.add(Unit(id=f"unit-{n}", name=f"VAN-{n}", home_store_id="store-1",
                               geotab_device_id=f"b{n}"))
        uow.technicians.add(Technician(id="tech-1", name="Maria Garcia", home_store_id="store-1",
                                       skills=frozenset({"hvac"}),
                                       status=TechnicianStatus.AVAILABLE, unit_id="unit-1"))
        uow.technicians.add(Technician(id="tech-2", name="Luis Lopez", home_store_id="store-1",
                                       skills=frozenset({"hvac", "gas"}),
                                       status=TechnicianStatus.AVAILABLE, unit_id="unit-2"))
        uow.sales_orders.add(SalesOrder(id="so-1", number="SO-1", customer_id="cust-1",
                                        store_id="store-1", created_at=NOW))
        for n in range(1, tickets + 1):
            uow.trip_tickets.add(TripTicket(id=f"tt-{n}", number=f"TT-{n}", store_id="store-1",
                                            created_at=NOW))
        order = WorkOrder(id="wo-1", store_id="store-1", priority=Priority.NORMAL,
                          location=Location(32.75, -96.8), description="No cooling",
                          created_at=NOW, created_by="user-d", customer_id="cust-1",
                          required_skills=frozenset({"hvac"}))
        order.record_created()
        uow.work_orders.add(order)
        await uow.commit()
