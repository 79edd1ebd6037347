"""Domain events: past-tense facts recorded by aggregates and written to the outbox.

Every event names the aggregate it belongs to and, where it has one, the store and technician it
concerns; the live stream uses those two to decide which sessions may see it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import Any


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, frozenset | set):
        return sorted(_plain(v) for v in value)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base of every domain event."""

    aggregate_id: str
    store_id: str | None = None
    technician_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    aggregate_type = "unknown"

    @property
    def name(self) -> str:
        return type(self).__name__

    def payload(self) -> dict[str, Any]:
        """JSON-ready fields of the event (datetimes as ISO strings, enums as values)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "data":
                out.update(_plain(value))
            else:
                out[f.name] = _plain(value)
        return out


# --- work orders -------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class WorkOrderEvent(Event):
    aggregate_type = "work_order"


class WorkOrderCreated(WorkOrderEvent):
    pass


class WorkOrderUpdated(WorkOrderEvent):
    pass


class WorkOrderAssigned(WorkOrderEvent):
    pass


class WorkOrderUnassigned(WorkOrderEvent):
    pass


class WorkOrderAccepted(WorkOrderEvent):
    pass


class WorkOrderDeclined(WorkOrderEvent):
    pass


class WorkOrderStatusChanged(WorkOrderEvent):
    pass


class WorkOrderCompleted(WorkOrderEvent):
    pass


class WorkOrderFailed(WorkOrderEvent):
    pass


class WorkOrderCancelled(WorkOrderEvent):
    pass


class WorkOrderCommented(WorkOrderEvent):
    pass


class FollowUpCreated(WorkOrderEvent):
    """A job that could not be finished came back as a new work order (the event's aggregate);
    ``follow_up_of``, ``reason`` and ``customer_id`` say which, why and for whom."""


# --- technicians, units, stores, customers -----------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class TechnicianEvent(Event):
    aggregate_type = "technician"


class TechnicianCreated(TechnicianEvent):
    pass


class TechnicianStatusChanged(TechnicianEvent):
    pass


class TechnicianUpdated(TechnicianEvent):
    pass


@dataclass(frozen=True, kw_only=True)
class ResourceEvent(Event):
    aggregate_type = "resource"


class StoreCreated(ResourceEvent):
    pass


class StoreUpdated(ResourceEvent):
    pass


class UnitCreated(ResourceEvent):
    pass


class UnitUpdated(ResourceEvent):
    pass


class CustomerCreated(ResourceEvent):
    pass


class CustomerUpdated(ResourceEvent):
    pass


# --- dispatch module ---------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class DispatchEvent(Event):
    aggregate_type = "dispatch"


class DispatchCreated(DispatchEvent):
    pass


class DispatchUpdated(DispatchEvent):
    pass


class DispatchStatusChanged(DispatchEvent):
    pass


class DispatchDeleted(DispatchEvent):
    pass


class InvoiceAttached(DispatchEvent):
    pass


class InvoiceDetached(DispatchEvent):
    pass


@dataclass(frozen=True, kw_only=True)
class BillingEvent(Event):
    aggregate_type = "billing"


class InvoiceCreated(BillingEvent):
    pass


class InvoiceProcessed(BillingEvent):
    pass


class TripTicketCreated(BillingEvent):
    pass


class SalesOrderCreated(BillingEvent):
    pass


class SalesOrderCancelled(BillingEvent):
    pass


# --- planning ----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ProposalEvent(Event):
    aggregate_type = "proposal"


class ProposalCreated(ProposalEvent):
    pass


class ProposalConfirmed(ProposalEvent):
    pass


class ProposalRejected(ProposalEvent):
    pass


class ProposalExpired(ProposalEvent):
    pass


# --- alerts ------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class AlertEvent(Event):
    aggregate_type = "alert"


class AlertRaised(AlertEvent):
    pass


class AlertAcknowledged(AlertEvent):
    pass


class AlertEscalated(AlertEvent):
    pass


class AlertResolved(AlertEvent):
    pass
