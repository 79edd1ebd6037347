"""Billing records of the dispatch module: trip tickets, sales orders and invoices.

``domain/dispatch.py`` holds the dispatch that ties them together (and re-exports these names).
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from domain import events as ev
from domain.aggregate import Aggregate, new_id
from domain.errors import RuleViolation, ValidationFailed
from domain.geo import ensure_aware


class SalesOrderStatus(enum.StrEnum):
    OPEN = "open"
    CANCELLED = "cancelled"


class SalesOrder(Aggregate):
    def __init__(
        self,
        *,
        number: str,
        customer_id: str,
        store_id: str,
        created_at: dt.datetime,
        status: SalesOrderStatus = SalesOrderStatus.OPEN,
        total_cents: int = 0,
        id: str | None = None,
        version: int = 0,
    ) -> None:
        super().__init__(version=version)
        self.id = id or new_id()
        self.number = number
        self.customer_id = customer_id
        self.store_id = store_id
        self.created_at = ensure_aware(created_at, "created_at")
        self.status = status
        self.total_cents = total_cents

    @property
    def is_valid(self) -> bool:
        return self.status == SalesOrderStatus.OPEN

    def snapshot(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "number": self.number,
            "customer_id": self.customer_id,
            "store_id": self.store_id,
            "created_at": self.created_at.isoformat(),
            "status": self.status.value,
            "total_cents": self.total_cents,
            "version": self.version,
        }


class Invoice(Aggregate):
    def __init__(
        self,
        *,
        number: str,
        sales_order_id: str,
        store_id: str,
        amount_cents: int,
        created_at: dt.datetime,
        processed: bool = False,
        dispatch_id: str | None = None,
        id: str | None = None,
        version: int = 0,
    ) -> None:
        super().__init__(version=version)
        if amount_cents < 0:
            raise ValidationFailed("an invoice amount cannot be negative", field="amount_cents")
        self.id = id or new_id()
        self.number = number
        self.sales_order_id = sales_order_id
        self.store_id = store_id
        self.amount_cents = amount_cents
        self.created_at = ensure_aware(created_at, "created_at")
        self.processed = processed
        self.dispatch_id = dispatch_id

    @classmethod
    def for_sales_order(
        cls, order: SalesOrder, *, number: str, amount_cents: int, at: dt.datetime
    ) -> Invoice:
        """A new invoice; the sales order must be a valid (open) one."""
        if not order.is_valid:
            raise RuleViolation(
                f"sales order {order.number} is {order.status.value}; invoices need a valid one",
                field="sales_order_id",
            )
        invoice = cls(
            number=number,
            sales_order_id=order.id,
            store_id=order.store_id,
            amount_cents=amount_cents,
            created_at=at,
        )
        invoice.touch()
        invoice._record(ev.InvoiceCreated, store_id=invoice.store_id, data=invoice.snapshot())
        return invoice

    def mark_processed(self) -> None:
        if self.processed:
            return
        self.processed = True
        self.touch()
        self._record(ev.InvoiceProcessed, store_id=self.store_id, data=self.snapshot())

    def snapshot(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "number": self.number,
            "sales_order_id": self.sales_order_id,
            "store_id": self.store_id,
            "amount_cents": self.amount_cents,
            "created_at": self.created_at.isoformat(),
            "processed": self.processed,
            "dispatch_id": self.dispatch_id,
            "version": self.version,
        }


class TripTicket(Aggregate):
    def __init__(
        self,
        *,
        number: str,
        store_id: str,
        created_at: dt.datetime,
        description: str = "",
        work_order_id: str | None = None,
        customer_id: str | None = None,
        id: str | None = None,
        version: int = 0,
    ) -> None:
        super().__init__(version=version)
        if not number.strip():
            raise ValidationFailed("a trip ticket needs a number", field="number")
        self.id = id or new_id()
        self.number = number.strip()
        self.store_id = store_id
        self.created_at = ensure_aware(created_at, "created_at")
        self.description = description
        self.work_order_id = work_order_id
        self.customer_id = customer_id

    def snapshot(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "number": self.number,
            "store_id": self.store_id,
            "created_at": self.created_at.isoformat(),
            "description": self.description,
            "work_order_id": self.work_order_id,
            "customer_id": self.customer_id,
            "version": self.version,
        }
