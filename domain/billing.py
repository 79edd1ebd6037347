"""Billing records of the dispatch module: trip tickets, sales orders and invoices.

``domain/dispatch.py`` holds the dispatch that ties them together (and re-exports these names);
``domain/payments.py`` the money received against an invoice.

An invoice is *processed* when billing has checked it and billed the customer: from then on it is
revenue (counted on the day it was processed, ``processed_at``), it may take payments, and it keeps
its dispatch from deletion. Its ``service_line`` is what the revenue report groups by: the main
skill of the job it bills (the first of the job's sorted required skills), else ``general``.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from typing import Any

from domain import events as ev
from domain.aggregate import Aggregate, new_id
from domain.errors import RuleViolation, ValidationFailed
from domain.geo import ensure_aware

GENERAL = "general"
SERVICE_LINE_MAX = 32
#: A service line: printable text without control characters, 1 to 32 characters.
SERVICE_LINE = re.compile(r"[^\x00-\x1f\x7f]{1," + str(SERVICE_LINE_MAX) + "}")


def clean_service_line(value: str | None) -> str:
    """The service line as stored: trimmed and lower-case; ``general`` when none is given."""
    text = (value or "").strip().lower()
    if not text:
        return GENERAL
    if not SERVICE_LINE.fullmatch(text):
        raise ValidationFailed(
            f"a service line is 1 to {SERVICE_LINE_MAX} characters of text", field="service_line")
    return text


def main_skill(required_skills: frozenset[str] | set[str] | list[str]) -> str:
    """A job's service line: the first of its sorted required skills (lower-case, cut to 32
    characters), else ``general``."""
    skills = sorted(s.strip().lower() for s in required_skills if s.strip())
    if not skills:
        return GENERAL
    return clean_service_line(skills[0][:SERVICE_LINE_MAX].rstrip())


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

    @classmethod
    def open(cls, *, number: str, customer_id: str, store_id: str, at: dt.datetime,
             total_cents: int = 0, id: str | None = None) -> SalesOrder:
        """A new, open sales order (recorded as created)."""
        order = cls(id=id, number=number, customer_id=customer_id, store_id=store_id,
                    created_at=at, total_cents=total_cents)
        order.touch()
        order._record(ev.SalesOrderCreated, store_id=order.store_id, data=order.snapshot())
        return order

    @property
    def is_valid(self) -> bool:
        return self.status == SalesOrderStatus.OPEN

    def cancel(self) -> bool:
        """Cancelling is the sales order's soft delete: it can no longer be invoiced. False when
        it already was (nothing changes)."""
        if self.status == SalesOrderStatus.CANCELLED:
            return False
        self.status = SalesOrderStatus.CANCELLED
        self.touch()
        self._record(ev.SalesOrderCancelled, store_id=self.store_id, data=self.snapshot())
        return True

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
        processed_at: dt.datetime | None = None,
        processed_by: str | None = None,
        service_line: str = GENERAL,
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
        #: When and by whom (user id) it was processed; None before (and for invoices processed
        #: before these were kept, which count as processed when they were created).
        self.processed_at = ensure_aware(processed_at, "processed_at") if processed_at else None
        self.processed_by = processed_by
        self.service_line = clean_service_line(service_line)
        self.dispatch_id = dispatch_id

    @classmethod
    def for_sales_order(
        cls, order: SalesOrder, *, number: str, amount_cents: int, at: dt.datetime,
        service_line: str | None = None,
    ) -> Invoice:
        """A new invoice; the sales order must be a valid (open) one. ``service_line`` defaults to
        ``general`` (the use case that bills a job passes the job's main skill)."""
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
            service_line=service_line or GENERAL,
        )
        invoice.touch()
        invoice._record(ev.InvoiceCreated, store_id=invoice.store_id, data=invoice.snapshot())
        return invoice

    def mark_processed(self, at: dt.datetime, by: str) -> None:
        """Processed at ``at`` by the user ``by``; processing again changes nothing (the first
        time and person are kept)."""
        if self.processed:
            return
        if not by:
            raise ValidationFailed("processing needs the user who processes", field="processed_by")
        self.processed = True
        self.processed_at = ensure_aware(at, "at")
        self.processed_by = by
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
            "processed_at": self.processed_at.isoformat() if self.processed_at else None,
            "processed_by": self.processed_by,
            "service_line": self.service_line,
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

    @classmethod
    def open(cls, *, number: str, store_id: str, at: dt.datetime, description: str = "",
             work_order_id: str | None = None, customer_id: str | None = None,
             id: str | None = None) -> TripTicket:
        """A new trip ticket (recorded as created)."""
        ticket = cls(id=id, number=number, store_id=store_id, created_at=at,
                     description=description, work_order_id=work_order_id,
                     customer_id=customer_id)
        ticket.touch()
        ticket._record(ev.TripTicketCreated, store_id=ticket.store_id, data=ticket.snapshot())
        return ticket

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
