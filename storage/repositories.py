"""Repositories: load aggregates by id into an identity map, and write the changed ones back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from sqlalchemy import Table, and_, bindparam, exists, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from domain import events as ev
from domain.aggregate import Aggregate
from domain.dispatch import Dispatch, Invoice
from domain.errors import ConcurrencyConflict
from domain.payments import Payment
from domain.users import User
from domain.work_orders import WorkOrder
from storage import mapping as m
from storage import tables as t

A = TypeVar("A", bound=Aggregate)


class SqlRepository(Generic[A]):
    """One table, one aggregate type. Writes compare versions (optimistic locking)."""

    def __init__(
        self,
        conn: AsyncConnection,
        table: Table,
        from_row: Callable[[Any], A],
        to_row: Callable[[A], dict[str, Any]],
    ) -> None:
        self.conn = conn
        self.table = table
        self._from_row = from_row
        self._to_row = to_row
        self.seen: dict[str, A] = {}

    def add(self, item: A) -> None:
        self.seen[item.id] = item

    async def get(self, id: str) -> A | None:
        if id in self.seen:
            return self.seen[id]
        row = (await self.conn.execute(select(self.table).where(self.table.c.id == id))).first()
        if row is None:
            return None
        return await self._remember(row._mapping)

    async def _remember(self, row: Any) -> A:
        """The aggregate for a row, from the identity map when this unit of work has it already."""
        item = self.seen.get(row["id"])
        if item is None:
            item = await self._load(row)
            self.seen[item.id] = item
        return item

    async def _load(self, row: Any) -> A:
        return self._from_row(row)

    async def flush(self) -> None:
        """Write every new or changed aggregate seen in this unit of work."""
        for item in self.seen.values():
            if not item.is_dirty:
                continue
            values = self._to_row(item)
            if item.is_new:
                values["version"] = max(item.version, 1)
                item.version = values["version"]
                # the values as parameters, not in the statement: SQLAlchemy compiles (and keys
                # its cache on) the statement once per table and set of columns
                await self.conn.execute(insert(self.table), values)
                continue
            values["version"] = item.version
            result = await self.conn.execute(
                update(self.table).where(and_(self.table.c.id == bindparam("row_id"),
                                              self.table.c.version == bindparam("row_version"))),
                {**values, "row_id": item.id, "row_version": item.loaded_version},
            )
            if result.rowcount != 1:
                raise ConcurrencyConflict(
                    f"{self.table.name[:-1].replace('_', ' ')} {item.id} was changed by someone "
                    f"else (version {item.loaded_version} is no longer current)",
                    entity=self.table.name, id=item.id,
                )

    def all_seen(self) -> list[A]:
        return list(self.seen.values())


class DispatchRepository(SqlRepository[Dispatch]):
    def __init__(self, conn: AsyncConnection) -> None:
        super().__init__(conn, t.dispatches, _no_plain_load, m.dispatch_to_row)

    async def _load(self, row: Any) -> Dispatch:
        invoice_ids = (await self.conn.execute(
            select(t.invoices.c.id).where(t.invoices.c.dispatch_id == row["id"])
            .order_by(t.invoices.c.created_at, t.invoices.c.id)
        )).scalars().all()
        return m.dispatch_from_row(row, tuple(invoice_ids))

    async def unit_busy(self, unit: str, when: dt.datetime, *, exclude_id: str | None) -> bool:
        d = t.dispatches
        cond = and_(d.c.unit == unit, d.c.datetime == when, d.c.deleted_at.is_(None))
        if exclude_id is not None:
            cond = and_(cond, d.c.id != exclude_id)
        return bool((await self.conn.execute(select(exists().where(cond)))).scalar())

    async def trip_ticket_in_use(self, trip_ticket_id: str, *, exclude_id: str | None) -> bool:
        d = t.dispatches
        cond = and_(d.c.trip_ticket_id == trip_ticket_id, d.c.deleted_at.is_(None))
        if exclude_id is not None:
            cond = and_(cond, d.c.id != exclude_id)
        return bool((await self.conn.execute(select(exists().where(cond)))).scalar())


def _no_plain_load(row: Any) -> Dispatch:
    raise TypeError("dispatches load with their invoice ids")


class InvoiceRepository(SqlRepository[Invoice]):
    def __init__(self, conn: AsyncConnection) -> None:
        super().__init__(conn, t.invoices, m.invoice_from_row, m.invoice_to_row)

    async def for_dispatch(self, dispatch_id: str) -> list[Invoice]:
        rows = (await self.conn.execute(
            select(t.invoices).where(t.invoices.c.dispatch_id == dispatch_id)
        )).all()
        return [await self._remember(row._mapping) for row in rows]


class PaymentRepository(SqlRepository[Payment]):
    def __init__(self, conn: AsyncConnection) -> None:
        super().__init__(conn, t.payments, m.payment_from_row, m.payment_to_row)

    async def paid_cents(self, invoice_id: str) -> int:
        """The stored payments of the invoice plus those added in this unit of work."""
        p = t.payments
        stored = (await self.conn.execute(
            select(func.coalesce(func.sum(p.c.amount_cents), 0)).where(p.c.invoice_id == invoice_id)
        )).scalar()
        new = sum(x.amount_cents for x in self.seen.values()
                  if x.is_new and x.invoice_id == invoice_id)
        return int(stored or 0) + new


class WorkOrderRepository(SqlRepository[WorkOrder]):
    def __init__(self, conn: AsyncConnection) -> None:
        super().__init__(conn, t.work_orders, m.work_order_from_row, m.work_order_to_row)

    async def flush(self) -> None:
        """Write the changed work orders, and a row of history for each decline among their
        events (the technician report counts them; the event log itself is pruned)."""
        await super().flush()
        declines = [decline_row(event) for order in self.seen.values() for event in order.events
                    if isinstance(event, ev.WorkOrderDeclined)]
        if declines:
            await self.conn.execute(insert(t.assignment_declines), declines)


def decline_row(event: ev.WorkOrderDeclined) -> dict[str, Any]:
    """The ``assignment_declines`` row of a decline: who said no to which job, when (the time
    the technician gave) and why."""
    order = event.data["work_order"]
    return {
        "work_order_id": event.aggregate_id, "technician_id": event.technician_id,
        "store_id": event.store_id, "reason": order["status_reason"],
        "declined_at": dt.datetime.fromisoformat(order["status_changed_at"]),
    }


class UserRepository(SqlRepository[User]):
    def __init__(self, conn: AsyncConnection) -> None:
        super().__init__(conn, t.users, m.user_from_row, m.user_to_row)

    async def by_username(self, username: str) -> User | None:
        row = (await self.conn.execute(
            select(t.users).where(t.users.c.username == username.strip().lower())
        )).first()
        if row is None:
            return None
        return await self._remember(row._mapping)
