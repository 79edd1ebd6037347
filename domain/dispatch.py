"""The dispatch module: dispatch records, trip tickets, sales orders and invoices.

A dispatch puts a unit (van) on a trip ticket at a datetime and collects the invoices that bill
for it (those billing records live in ``domain/billing.py``). Rules (from the module's
specification):

- exactly one trip ticket per dispatch; a trip ticket is used by at most one live dispatch;
- at least one invoice before completion; while it has none, the dispatch shows as *pending*;
- a unit is never double-booked at the same datetime (among live dispatches);
- an invoice belongs to a valid sales order and is linked to at most one dispatch;
- a rule broken by the current state of other records (a booked unit, a used trip ticket, a
  linked invoice) is a ``Conflict`` (409), the same code whether this model or a database
  constraint notices it first;
- the datetime may not be in the past (unless the policy allows it);
- only ``datetime`` and ``unit`` are editable; deletion is soft and refused while any linked
  invoice is processed.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any

from domain import events as ev
from domain.aggregate import Aggregate, new_id
from domain.billing import Invoice, SalesOrder, SalesOrderStatus, TripTicket
from domain.errors import Conflict, InvalidTransition, RuleViolation, ValidationFailed
from domain.geo import ensure_aware

__all__ = [
    "DISPATCH_TRANSITIONS", "EDITABLE_FIELDS", "EDITABLE_STATUSES", "PENDING", "Dispatch",
    "DispatchPolicy", "DispatchStatus", "Invoice", "SalesOrder", "SalesOrderStatus", "TripTicket",
    "unit_double_booked",
]


def unit_double_booked() -> Conflict:
    """The unit has a live dispatch at that datetime. The same 409 and code whether the use case
    sees it or the database's unique index catches a concurrent booking (``storage/uow.py``)."""
    return Conflict("the unit is already booked at that datetime", field="unit",
                    code="unit_double_booked")


class DispatchStatus(enum.StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    DISPATCHED = "dispatched"
    COMPLETED = "completed"
    CLOSED = "closed"


_D = DispatchStatus
DISPATCH_TRANSITIONS: dict[DispatchStatus, frozenset[DispatchStatus]] = {
    _D.DRAFT: frozenset({_D.SCHEDULED}),
    _D.SCHEDULED: frozenset({_D.DRAFT, _D.DISPATCHED}),
    _D.DISPATCHED: frozenset({_D.COMPLETED}),
    _D.COMPLETED: frozenset({_D.CLOSED}),
    _D.CLOSED: frozenset(),
}
EDITABLE_STATUSES = frozenset({_D.DRAFT, _D.SCHEDULED, _D.DISPATCHED})
EDITABLE_FIELDS = frozenset({"datetime", "unit"})
PENDING = "pending"


@dataclass(frozen=True, slots=True)
class DispatchPolicy:
    """Settings that the specification leaves to operations."""

    allow_past_datetime: bool = False
    #: How far in the past a datetime may still be (clock skew between a browser and the server).
    past_tolerance: dt.timedelta = dt.timedelta(minutes=5)

    def check_datetime(self, when: dt.datetime, now: dt.datetime) -> dt.datetime:
        when = ensure_aware(when, "datetime")
        if not self.allow_past_datetime and when < now - self.past_tolerance:
            raise RuleViolation("the dispatch datetime may not be in the past", field="datetime")
        return when


class Dispatch(Aggregate):
    def __init__(
        self,
        *,
        trip_ticket_id: str,
        datetime: dt.datetime,
        unit: str,
        store_id: str,
        date_created: dt.datetime,
        created_by: str,
        status: DispatchStatus = DispatchStatus.DRAFT,
        invoice_ids: tuple[str, ...] = (),
        deleted_at: dt.datetime | None = None,
        id: str | None = None,
        version: int = 0,
    ) -> None:
        super().__init__(version=version)
        if not trip_ticket_id:
            raise ValidationFailed("a dispatch needs exactly one trip ticket", field="trip_ticket_id")
        if not unit:
            raise ValidationFailed("a dispatch needs a unit", field="unit")
        self.id = id or new_id()
        self.trip_ticket_id = trip_ticket_id
        self.datetime = ensure_aware(datetime, "datetime")
        self.unit = unit
        self.store_id = store_id
        self.date_created = ensure_aware(date_created, "date_created")
        self.created_by = created_by
        self.status = status
        self.invoice_ids = list(invoice_ids)
        self.deleted_at = deleted_at

    @classmethod
    def create(
        cls,
        *,
        trip_ticket: TripTicket,
        datetime: dt.datetime,
        unit: str,
        created_by: str,
        now: dt.datetime,
        policy: DispatchPolicy,
        unit_busy: bool,
        trip_ticket_in_use: bool,
    ) -> Dispatch:
        """Create a dispatch; the caller looks up the two facts that need other records."""
        if trip_ticket_in_use:
            raise Conflict(
                f"trip ticket {trip_ticket.number} is already used by another dispatch",
                field="trip_ticket_id", code="trip_ticket_in_use",
            )
        when = policy.check_datetime(datetime, now)
        if unit_busy:
            raise unit_double_booked()
        dispatch = cls(
            trip_ticket_id=trip_ticket.id,
            datetime=when,
            unit=unit,
            store_id=trip_ticket.store_id,
            date_created=now,
            created_by=created_by,
        )
        dispatch.touch()
        dispatch._record(ev.DispatchCreated, store_id=dispatch.store_id, data=dispatch.snapshot())
        return dispatch

    # -- queries ---------------------------------------------------------------------------------

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def display_status(self) -> str:
        """The lifecycle status, shown as *pending* while an open dispatch has no invoice."""
        if not self.invoice_ids and self.status in EDITABLE_STATUSES:
            return PENDING
        return self.status.value

    def snapshot(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "dispatch_id": self.id,
            "trip_ticket_id": self.trip_ticket_id,
            "datetime": self.datetime.isoformat(),
            "unit": self.unit,
            "store_id": self.store_id,
            "date_created": self.date_created.isoformat(),
            "created_by": self.created_by,
            "status": self.status.value,
            "display_status": self.display_status,
            "invoice_ids": list(self.invoice_ids),
            "invoice_count": len(self.invoice_ids),
            "deleted_at": self.deleted_at.isoformat() if self.deleted_at else None,
            "version": self.version,
        }

    # -- changes ---------------------------------------------------------------------------------

    def edit(
        self,
        *,
        changes: dict[str, Any],
        now: dt.datetime,
        policy: DispatchPolicy,
        unit_busy: bool,
    ) -> None:
        """Change the datetime and/or the unit: the only editable fields."""
        self._require_live()
        unknown = set(changes) - EDITABLE_FIELDS
        if unknown:
            raise ValidationFailed(
                f"only datetime and unit are editable, not {', '.join(sorted(unknown))}",
                field=sorted(unknown)[0],
            )
        if self.status not in EDITABLE_STATUSES:
            raise RuleViolation(f"a {self.status.value} dispatch can no longer be edited")
        if "datetime" in changes:
            self.datetime = policy.check_datetime(changes["datetime"], now)
        if "unit" in changes:
            if not changes["unit"]:
                raise ValidationFailed("a dispatch needs a unit", field="unit")
            self.unit = changes["unit"]
        if unit_busy:
            raise unit_double_booked()
        self.touch()
        self._record(
            ev.DispatchUpdated,
            store_id=self.store_id,
            data={"changed": sorted(changes), **self.snapshot()},
        )

    def change_status(self, target: DispatchStatus) -> None:
        self._require_live()
        if target not in DISPATCH_TRANSITIONS[self.status]:
            raise InvalidTransition("dispatch", self.status.value, target.value)
        if target == _D.COMPLETED and not self.invoice_ids:
            raise RuleViolation("a dispatch needs at least one invoice before completion")
        previous = self.status
        self.status = target
        self.touch()
        self._record(
            ev.DispatchStatusChanged,
            store_id=self.store_id,
            data={"previous_status": previous.value, **self.snapshot()},
        )

    def attach_invoice(self, invoice: Invoice) -> None:
        self._require_live()
        if self.status == _D.CLOSED:
            raise RuleViolation("a closed dispatch takes no more invoices")
        if invoice.dispatch_id is not None:
            if invoice.dispatch_id == self.id:
                raise Conflict(f"invoice {invoice.number} is already on this dispatch",
                               field="invoice_id", code="invoice_already_attached")
            raise Conflict(
                f"invoice {invoice.number} is already linked to another dispatch",
                field="invoice_id",
                code="invoice_already_linked",
            )
        invoice.dispatch_id = self.id
        invoice.touch()
        invoice._record(ev.InvoiceAttached, store_id=invoice.store_id, data=invoice.snapshot())
        self.invoice_ids.append(invoice.id)
        self.touch()
        self._record(
            ev.InvoiceAttached,
            store_id=self.store_id,
            data={"invoice": invoice.snapshot(), **self.snapshot()},
        )

    def detach_invoice(self, invoice: Invoice) -> None:
        self._require_live()
        if invoice.id not in self.invoice_ids or invoice.dispatch_id != self.id:
            raise RuleViolation(f"invoice {invoice.number} is not on this dispatch")
        if invoice.processed:
            raise RuleViolation(f"invoice {invoice.number} is processed and cannot be removed")
        if self.status in {_D.COMPLETED, _D.CLOSED} and len(self.invoice_ids) == 1:
            raise RuleViolation("a completed dispatch must keep at least one invoice")
        invoice.dispatch_id = None
        invoice.touch()
        invoice._record(ev.InvoiceDetached, store_id=invoice.store_id, data=invoice.snapshot())
        self.invoice_ids.remove(invoice.id)
        self.touch()
        self._record(
            ev.InvoiceDetached,
            store_id=self.store_id,
            data={"invoice": invoice.snapshot(), **self.snapshot()},
        )

    def delete(self, *, invoices: list[Invoice], now: dt.datetime) -> None:
        """Soft delete; refused while any linked invoice is processed."""
        self._require_live()
        processed = [i.number for i in invoices if i.processed and i.dispatch_id == self.id]
        if processed:
            raise RuleViolation(
                f"cannot delete: invoice(s) {', '.join(processed)} already processed",
                code="invoice_processed",
            )
        self.deleted_at = ensure_aware(now, "now")
        # Release the (unprocessed) invoices so they can be billed through another dispatch.
        for invoice in invoices:
            if invoice.dispatch_id == self.id:
                invoice.dispatch_id = None
                invoice.touch()
                invoice._record(
                    ev.InvoiceDetached, store_id=invoice.store_id, data=invoice.snapshot()
                )
        self.invoice_ids.clear()
        self.touch()
        self._record(ev.DispatchDeleted, store_id=self.store_id, data=self.snapshot())

    def _require_live(self) -> None:
        if self.is_deleted:
            raise RuleViolation("the dispatch has been deleted")
