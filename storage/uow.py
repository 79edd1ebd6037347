"""The unit of work: one transaction in which changes, their events (outbox) and audit rows commit."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from types import TracebackType
from typing import Any

from sqlalchemy import insert
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.aggregate import Aggregate
from domain.errors import ConcurrencyConflict, Conflict
from domain.roles import Principal
from storage import mapping as m
from storage import tables as t
from storage.alerts import AlertRepository
from storage.engine import SQLITE_WRITE
from storage.repositories import (
    DispatchRepository,
    InvoiceRepository,
    PaymentRepository,
    SqlRepository,
    UserRepository,
    WorkOrderRepository,
)
from storage.webhook_deliveries import queue_partner_webhooks

#: Unique constraints that stand for business rules: (PostgreSQL name, SQLite column list, error).
_UNIQUE_RULES: tuple[tuple[str, str, str, str], ...] = (
    ("uq_dispatches_unit_datetime_live", "dispatches.unit, dispatches.datetime",
     "unit_double_booked", "the unit is already booked at that datetime"),
    ("uq_dispatches_trip_ticket_live", "dispatches.trip_ticket_id",
     "trip_ticket_in_use", "the trip ticket is already used by another dispatch"),
    ("uq_users_username", "users.username", "duplicate_username", "that username is taken"),
    ("uq_stores_code", "stores.code", "duplicate_code", "a store with that code exists"),
    ("uq_units_name", "units.name", "duplicate_name", "a unit with that name exists"),
    ("uq_units_geotab_device_id", "units.geotab_device_id", "duplicate_device",
     "another unit has that GeoTab device"),
    ("uq_trip_tickets_number", "trip_tickets.number", "duplicate_number",
     "a trip ticket with that number exists"),
    ("uq_invoices_number", "invoices.number", "duplicate_number",
     "an invoice with that number exists"),
    ("uq_sales_orders_number", "sales_orders.number", "duplicate_number",
     "a sales order with that number exists"),
    ("uq_technicians_unit_id", "technicians.unit_id", "unit_taken",
     "another technician drives that unit"),
    ("uq_alerts_dedup_live", "alerts.dedup_key", "alert_exists",
     "a live alert for that rule and subject exists"),
)


def translate_integrity_error(error: IntegrityError) -> Conflict:
    text = str(error.orig)
    for pg_name, sqlite_cols, code, message in _UNIQUE_RULES:
        if pg_name in text or f"UNIQUE constraint failed: {sqlite_cols}" in text:
            return Conflict(message, code=code)
    if "foreign key" in text.lower():
        return Conflict("a referenced record does not exist", code="missing_reference")
    return Conflict("the change conflicts with existing data", code="integrity")


class SqlUnitOfWork:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        actor: Principal | None = None,
        correlation_id: str | None = None,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        after_commit: Callable[[], None] | None = None,
    ) -> None:
        self.engine = engine
        self.actor = actor
        self.correlation_id = correlation_id
        self.clock = clock
        self.after_commit = after_commit
        self._conn: AsyncConnection | None = None
        self._audit: list[dict[str, Any]] = []
        self._repos: list[SqlRepository[Any]] = []

    async def __aenter__(self) -> SqlUnitOfWork:
        conn = await self.engine.connect()
        if self.engine.dialect.name == "sqlite":
            conn = await conn.execution_options(**{SQLITE_WRITE: True})
        await conn.begin()
        self._conn = conn
        self._audit = []
        # Flush order follows the foreign keys.
        self.stores = SqlRepository(conn, t.stores, m.store_from_row, m.store_to_row)
        self.customers = SqlRepository(conn, t.customers, m.customer_from_row, m.customer_to_row)
        self.units = SqlRepository(conn, t.units, m.unit_from_row, m.unit_to_row)
        self.technicians = SqlRepository(
            conn, t.technicians, m.technician_from_row, m.technician_to_row
        )
        self.users = UserRepository(conn)
        self.work_orders = WorkOrderRepository(conn)
        self.trip_tickets = SqlRepository(
            conn, t.trip_tickets, m.trip_ticket_from_row, m.trip_ticket_to_row
        )
        self.sales_orders = SqlRepository(
            conn, t.sales_orders, m.sales_order_from_row, m.sales_order_to_row
        )
        self.dispatches = DispatchRepository(conn)
        self.invoices = InvoiceRepository(conn)
        self.payments = PaymentRepository(conn)
        self.proposals = SqlRepository(conn, t.proposals, m.proposal_from_row, m.proposal_to_row)
        self.alerts = AlertRepository(conn)
        self._repos = [
            self.stores, self.customers, self.units, self.technicians, self.users,
            self.work_orders, self.trip_tickets, self.sales_orders, self.dispatches,
            self.invoices, self.payments, self.proposals, self.alerts,
        ]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if conn.in_transaction():
                await conn.rollback()
        finally:
            await conn.close()

    @property
    def connection(self) -> AsyncConnection:
        if self._conn is None:
            raise RuntimeError("the unit of work is not open")
        return self._conn

    def audit(
        self,
        *,
        action: str,
        entity_type: str,
        entity_id: str,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> None:
        self._audit.append({
            "at": self.clock(),
            "actor_id": self.actor.user_id if self.actor else None,
            "actor": self.actor.username if self.actor else "system",
            "action": action,
            "entity_type": entity_type,
            "entity_id": entity_id,
            "before": before,
            "after": after,
            "correlation_id": self.correlation_id,
        })

    async def commit(self) -> None:
        conn = self.connection
        changed: list[Aggregate] = []
        try:
            for repo in self._repos:
                await repo.flush()
                changed.extend(a for a in repo.all_seen() if a.is_dirty)
            now = self.clock()
            rows = [
                {
                    "event_id": str(uuid.uuid4()),
                    "name": event.name,
                    "aggregate_type": event.aggregate_type,
                    "aggregate_id": event.aggregate_id,
                    "store_id": event.store_id,
                    "technician_id": event.technician_id,
                    "payload": event.payload(),
                    "occurred_at": now,
                    "correlation_id": self.correlation_id,
                }
                for aggregate in changed
                for event in aggregate.events
            ]
            if rows:
                await conn.execute(insert(t.outbox), rows)
                # a partner's job whose status changed is told to the partner (this transaction)
                await queue_partner_webhooks(conn, rows, now)
            if self._audit:
                await conn.execute(insert(t.audit_log), self._audit)
            await conn.commit()
        except IntegrityError as error:
            await conn.rollback()
            raise translate_integrity_error(error) from error
        except DBAPIError as error:
            await conn.rollback()
            if "locked" in str(error.orig) or "deadlock" in str(error.orig).lower():
                raise ConcurrencyConflict("the record is busy; try again") from error
            raise
        for aggregate in changed:
            aggregate.mark_persisted()
        self._audit = []
        if rows and self.after_commit is not None:
            self.after_commit()

    async def rollback(self) -> None:
        await self.connection.rollback()
