"""Partner orders both ways: what a partner's update, priority change or cancellation of an order
it created does to the work order, and what a job's status change tells the partner.

A change carries the partner's ``version`` of the order (an integer that grows with each change):
each version is handled once, and a version at or below the last one handled changes nothing (an
old message that arrives late cannot undo a newer one). A change applies only while nobody works
on the job (``new``); once it is under way (assigned, accepted, en route, on site) the change is
not applied but raises a ``partner_change_blocked`` alert, so a person settles it with the
partner; a closed job (completed, cancelled, failed) stays as it is.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import Any

from domain.alert_catalogue import AlertRule
from domain.alert_fields import job_text
from domain.alerts import AlertCandidate
from domain.errors import Conflict
from domain.work_orders import WorkOrder, WorkOrderStatus

_W = WorkOrderStatus
#: A job someone works on: a partner's change must not move it silently.
UNDER_WAY = frozenset({_W.ASSIGNED, _W.ACCEPTED, _W.EN_ROUTE, _W.ON_SITE})
#: What a partner's update may change (the fields of its order, less its id and store).
PARTNER_FIELDS = frozenset({"priority", "location", "address", "description", "time_window",
                            "required_skills", "estimated_minutes"})


class ChangeKind(enum.StrEnum):
    UPDATE = "update"
    CANCEL = "cancel"


class ChangeOutcome(enum.StrEnum):
    UPDATED = "updated"
    CANCELLED = "cancelled"
    BLOCKED = "blocked"        # under way: an alert instead of the change
    CLOSED = "closed"          # the job is over: nothing to change
    DUPLICATE = "duplicate"    # this version was handled before
    STALE = "stale"            # a newer version was handled before


@dataclass(frozen=True, slots=True)
class PartnerChange:
    external_id: str
    version: int
    kind: ChangeKind
    #: For an update: field -> domain value (``PARTNER_FIELDS`` only).
    changes: dict[str, Any] = field(default_factory=dict)
    reason: str = ""

    def __post_init__(self) -> None:
        if self.version < 1:
            raise ValueError("a partner change's version starts at 1")
        unknown = set(self.changes) - PARTNER_FIELDS
        if unknown:
            raise ValueError(f"a partner may not change {sorted(unknown)}")
        if self.kind == ChangeKind.UPDATE and not self.changes:
            raise ValueError("an update changes at least one field")

    def describe(self) -> str:
        if self.kind == ChangeKind.CANCEL:
            return f"cancel it ({self.reason})" if self.reason else "cancel it"
        return "change its " + ", ".join(sorted(f.replace("_", " ") for f in self.changes))


# -- the partner's ledger: which order became which work order, which change was handled --------


class AlreadyTaken(Conflict):
    """Another transaction took this order (or this version of a change, or this webhook
    message) first."""

    code = "already_taken"


class StaleChange(Conflict):
    """A newer version of the order was handled while this one was being applied."""

    code = "stale_change"


@dataclass(frozen=True, slots=True)
class IntakeClaim:
    """What the unit of work creating an order's work order records with it."""

    source: str
    external_id: str
    webhook_id: str | None = None
    #: The partner's version of the order as created (its later changes must be newer).
    version: int = 0


@dataclass(frozen=True, slots=True)
class IntakeRecord:
    source: str
    external_id: str
    work_order_id: str
    webhook_id: str | None
    partner_version: int = 0


@dataclass(frozen=True, slots=True)
class ChangeClaim:
    """What the unit of work applying a change records with what it did."""

    source: str
    external_id: str
    version: int
    kind: str
    work_order_id: str
    webhook_id: str | None = None


@dataclass(frozen=True, slots=True)
class ChangeRecord:
    source: str
    external_id: str
    version: int
    outcome: str
    work_order_id: str
    webhook_id: str | None


def outcome_for(status: WorkOrderStatus, change: PartnerChange) -> ChangeOutcome:
    """What a (new, in order) partner change does to a work order in ``status``."""
    if status in UNDER_WAY:
        return ChangeOutcome.BLOCKED
    if status != _W.NEW:
        return ChangeOutcome.CLOSED
    return ChangeOutcome.CANCELLED if change.kind == ChangeKind.CANCEL else ChangeOutcome.UPDATED


def already_handled(change_version: int, last_version: int, seen: bool) -> ChangeOutcome | None:
    """Duplicate (this version was handled) or stale (a newer one was); None: handle it."""
    if seen:
        return ChangeOutcome.DUPLICATE
    if change_version <= last_version:
        return ChangeOutcome.STALE
    return None


def blocked_change_alert(order: WorkOrder, change: PartnerChange, partner: str, rule: AlertRule,
                         technician_name: str | None = None,
                         store_name: str | None = None) -> AlertCandidate:
    """The alert to the store's dispatchers: the partner wants to change a job under way (the
    text from the catalogue's ``partner_change_blocked`` rule)."""
    fields = {
        "order_id": order.id, "job": job_text(order.description, order.address),
        "description": order.description, "address": order.address or "—",
        "priority": order.priority.value, "status": order.status.value.replace("_", " "),
        "store": store_name or order.store_id, "store_id": order.store_id,
        "technician": technician_name or "a technician", "partner": partner,
        "change": change.describe(), "external_id": change.external_id,
        "version": str(change.version),
    }
    return rule.candidate(f"{order.id}:v{change.version}", fields, store_id=order.store_id,
                          technician_id=order.technician_id, work_order_id=order.id)


# -- the other direction: status changes that go back to the partner ------------------------------

#: Work-order events that change its status, and so are told to the partner.
STATUS_EVENTS = frozenset({"WorkOrderAssigned", "WorkOrderUnassigned", "WorkOrderAccepted",
                           "WorkOrderDeclined", "WorkOrderStatusChanged", "WorkOrderCompleted",
                           "WorkOrderFailed", "WorkOrderCancelled"})
STATUS_CHANGED = "order.status_changed"


def status_message(*, event_name: str, payload: dict[str, Any], external_id: str,
                   at: dt.datetime) -> dict[str, Any] | None:
    """The Standard Webhooks body telling the partner a work order's status changed, or None
    when the event did not change the status (a reassignment keeps it ``assigned``)."""
    if event_name not in STATUS_EVENTS:
        return None
    order = payload.get("work_order") or {}
    status, previous = order.get("status"), payload.get("previous_status")
    if status is None or status == previous:
        return None
    return {
        "type": STATUS_CHANGED,
        "timestamp": at.isoformat(),
        "data": {
            "external_id": external_id,
            "work_order_id": order.get("id"),
            "status": status,
            "previous_status": previous,
            "reason": order.get("status_reason", ""),
            "changed_at": order.get("status_changed_at"),
            "planned_arrival": order.get("planned_arrival"),
            "version": order.get("version"),
        },
    }
