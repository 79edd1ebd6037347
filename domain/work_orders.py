"""Work orders: the jobs technicians do, with their status machine."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any

from domain import events as ev
from domain.aggregate import Aggregate, new_id
from domain.comments import COMMENTS_PER_ORDER as COMMENTS_PER_ORDER  # its old home
from domain.comments import Comment, CommentVisibility, new_comment
from domain.errors import InvalidTransition, RuleViolation, ValidationFailed
from domain.geo import Location, TimeWindow, ensure_aware


class Priority(enum.StrEnum):
    EMERGENCY = "emergency"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"

    @property
    def rank(self) -> int:
        """0 is the most urgent; sorting by rank puts emergencies first."""
        return _PRIORITY_RANK[self]


_PRIORITY_RANK = {Priority.EMERGENCY: 0, Priority.HIGH: 1, Priority.NORMAL: 2, Priority.LOW: 3}


class Channel(enum.StrEnum):
    """How a job reached us (the volume report counts by it): booked by a person on the phone
    (customer service, a dispatcher, the board), the partner feed, a signed partner webhook, or
    created as an emergency. A follow-up keeps its original's channel."""

    PHONE = "phone"
    PARTNER = "partner"
    WEBHOOK = "webhook"
    EMERGENCY = "emergency"


class WorkOrderStatus(enum.StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    ACCEPTED = "accepted"
    EN_ROUTE = "en_route"
    ON_SITE = "on_site"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"


_W = WorkOrderStatus
#: Every move the status machine allows. ASSIGNED -> ASSIGNED is a reassignment; going back to
#: NEW is an unassignment (by a dispatcher) or a decline (by the technician).
WORK_ORDER_TRANSITIONS: dict[WorkOrderStatus, frozenset[WorkOrderStatus]] = {
    _W.NEW: frozenset({_W.ASSIGNED, _W.CANCELLED}),
    _W.ASSIGNED: frozenset({_W.ASSIGNED, _W.ACCEPTED, _W.NEW, _W.CANCELLED}),
    _W.ACCEPTED: frozenset({_W.ASSIGNED, _W.EN_ROUTE, _W.NEW, _W.CANCELLED}),
    _W.EN_ROUTE: frozenset({_W.ON_SITE, _W.FAILED, _W.CANCELLED}),
    _W.ON_SITE: frozenset({_W.COMPLETED, _W.FAILED}),
    _W.COMPLETED: frozenset(),
    _W.CANCELLED: frozenset(),
    _W.FAILED: frozenset(),
}

OPEN_STATUSES = frozenset({_W.NEW, _W.ASSIGNED, _W.ACCEPTED, _W.EN_ROUTE, _W.ON_SITE})
#: Once a technician has started the job it stays with them (the optimizer may not move it).
STARTED_STATUSES = frozenset({_W.EN_ROUTE, _W.ON_SITE})


@dataclass(frozen=True, slots=True)
class ProofOfWork:
    """What a technician captured on completion: GPS stamp and device time, photo and signature refs."""

    device_time: dt.datetime
    location: Location | None = None
    signature_ref: str | None = None
    photo_refs: tuple[str, ...] = ()
    notes: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "device_time": self.device_time.isoformat(),
            "location": self.location.as_dict() if self.location else None,
            "signature_ref": self.signature_ref,
            "photo_refs": list(self.photo_refs),
            "notes": self.notes,
        }


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


class WorkOrder(Aggregate):
    def __init__(
        self,
        *,
        store_id: str,
        priority: Priority,
        location: Location,
        description: str,
        created_at: dt.datetime,
        created_by: str,
        customer_id: str | None = None,
        address: str = "",
        time_window: TimeWindow | None = None,
        required_skills: frozenset[str] = frozenset(),
        estimated_minutes: int = 60,
        status: WorkOrderStatus = WorkOrderStatus.NEW,
        technician_id: str | None = None,
        sequence: int | None = None,
        planned_arrival: dt.datetime | None = None,
        pinned: bool = False,
        comments: tuple[Comment, ...] = (),
        proof: ProofOfWork | None = None,
        follow_up_of: str | None = None,
        status_reason: str = "",
        status_changed_at: dt.datetime | None = None,
        en_route_at: dt.datetime | None = None,
        on_site_at: dt.datetime | None = None,
        finished_at: dt.datetime | None = None,
        channel: Channel = Channel.PHONE,
        assigned_at: dt.datetime | None = None,
        id: str | None = None,
        version: int = 0,
    ) -> None:
        super().__init__(version=version)
        description = description.strip()
        if not description:
            raise ValidationFailed("description must not be empty", field="description")
        if not 1 <= estimated_minutes <= 24 * 60:
            raise ValidationFailed(
                "estimated_minutes must be between 1 and 1440", field="estimated_minutes"
            )
        self.id = id or new_id()
        self.store_id = store_id
        self.priority = priority
        self.location = location
        self.description = description
        self.created_at = ensure_aware(created_at, "created_at")
        self.created_by = created_by
        self.customer_id = customer_id
        self.address = address
        self.time_window = time_window
        self.required_skills = frozenset(s.strip().lower() for s in required_skills if s.strip())
        self.estimated_minutes = estimated_minutes
        self.status = status
        self.technician_id = technician_id
        self.sequence = sequence
        self.planned_arrival = planned_arrival
        self.pinned = pinned
        self.comments = list(comments)
        self.proof = proof
        self.follow_up_of = follow_up_of
        self.status_reason = status_reason
        self.status_changed_at = status_changed_at or self.created_at
        # When the technician said so (device time): what actually happened, for the timeline and
        # the on-time rate. Set once, never cleared: a started job cannot go back.
        self.en_route_at = en_route_at
        self.on_site_at = on_site_at
        self.finished_at = finished_at
        self.channel = Channel(channel)
        # The first assignment (set once, kept through reassignments, unassignments and declines):
        # booking -> assignment in the SLA report.
        self.assigned_at = assigned_at

    # -- queries ---------------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_started(self) -> bool:
        return self.status in STARTED_STATUSES

    def snapshot(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "store_id": self.store_id,
            "customer_id": self.customer_id,
            "priority": self.priority.value,
            "location": self.location.as_dict(),
            "address": self.address,
            "description": self.description,
            "time_window": self.time_window.as_dict() if self.time_window else None,
            "required_skills": sorted(self.required_skills),
            "estimated_minutes": self.estimated_minutes,
            "status": self.status.value,
            "status_reason": self.status_reason,
            "status_changed_at": self.status_changed_at.isoformat(),
            "en_route_at": _iso(self.en_route_at),
            "on_site_at": _iso(self.on_site_at),
            "finished_at": _iso(self.finished_at),
            "channel": self.channel.value,
            "assigned_at": _iso(self.assigned_at),
            "technician_id": self.technician_id,
            "sequence": self.sequence,
            "planned_arrival": self.planned_arrival.isoformat() if self.planned_arrival else None,
            "pinned": self.pinned,
            "follow_up_of": self.follow_up_of,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "comments": [c.as_dict() for c in self.comments],
            "proof": self.proof.as_dict() if self.proof else None,
            "version": self.version,
        }

    # -- state machine ---------------------------------------------------------------------------

    def _allow(self, target: WorkOrderStatus) -> None:
        if target not in WORK_ORDER_TRANSITIONS[self.status]:
            raise InvalidTransition("work order", self.status.value, target.value)

    def _move(
        self,
        target: WorkOrderStatus,
        event: type[ev.Event],
        at: dt.datetime,
        *,
        reason: str = "",
        previous_technician: str | None = None,
    ) -> None:
        self._allow(target)
        previous = self.status
        self.status = target
        self.status_reason = reason
        self.status_changed_at = ensure_aware(at, "at")
        self.touch()
        self._record(
            event,
            store_id=self.store_id,
            technician_id=self.technician_id or previous_technician,
            data={
                "previous_status": previous.value,
                "previous_technician_id": previous_technician,
                "work_order": self.snapshot(),
            },
        )

    def record_created(self) -> None:
        self.touch()
        self._record(
            ev.WorkOrderCreated,
            store_id=self.store_id,
            technician_id=self.technician_id,
            data={"work_order": self.snapshot()},
        )

    def assign(
        self,
        technician_id: str,
        at: dt.datetime,
        *,
        sequence: int | None = None,
        planned_arrival: dt.datetime | None = None,
        pinned: bool | None = None,
    ) -> None:
        """Assign to a technician, or reassign to another one (before the job has started)."""
        if _W.ASSIGNED not in WORK_ORDER_TRANSITIONS[self.status]:
            raise InvalidTransition("work order", self.status.value, _W.ASSIGNED.value)
        if self.status == _W.ASSIGNED and self.technician_id == technician_id:
            raise RuleViolation("the work order is already assigned to this technician")
        previous = self.technician_id
        self.technician_id = technician_id
        self.sequence = sequence
        self.planned_arrival = planned_arrival
        if pinned is not None:
            self.pinned = pinned
        if self.assigned_at is None:
            self.assigned_at = ensure_aware(at, "at")
        self._move(_W.ASSIGNED, ev.WorkOrderAssigned, at, previous_technician=previous)

    def unassign(self, at: dt.datetime, *, reason: str = "") -> None:
        if self.status not in {_W.ASSIGNED, _W.ACCEPTED}:
            raise InvalidTransition("work order", self.status.value, _W.NEW.value)
        previous = self.technician_id
        self.technician_id = None
        self.sequence = None
        self.planned_arrival = None
        self.pinned = False
        self._move(_W.NEW, ev.WorkOrderUnassigned, at, reason=reason, previous_technician=previous)

    def accept(self, technician_id: str, at: dt.datetime) -> None:
        self._require_technician(technician_id)
        self._move(_W.ACCEPTED, ev.WorkOrderAccepted, at)

    def decline(self, technician_id: str, at: dt.datetime, *, reason: str) -> None:
        self._require_technician(technician_id)
        if not reason.strip():
            raise ValidationFailed("a decline needs a reason", field="reason")
        if self.status not in {_W.ASSIGNED, _W.ACCEPTED}:
            raise InvalidTransition("work order", self.status.value, _W.NEW.value)
        self.technician_id = None
        self.sequence = None
        self.planned_arrival = None
        self.pinned = False
        self._move(
            _W.NEW, ev.WorkOrderDeclined, at, reason=reason, previous_technician=technician_id
        )

    def start_travel(self, technician_id: str, at: dt.datetime) -> None:
        self._require_technician(technician_id)
        self._allow(_W.EN_ROUTE)
        self.en_route_at = ensure_aware(at, "at")
        self._move(_W.EN_ROUTE, ev.WorkOrderStatusChanged, at)

    def arrive(self, technician_id: str, at: dt.datetime) -> None:
        self._require_technician(technician_id)
        self._allow(_W.ON_SITE)
        self.on_site_at = ensure_aware(at, "at")
        self._move(_W.ON_SITE, ev.WorkOrderStatusChanged, at)

    def complete(self, technician_id: str, at: dt.datetime, proof: ProofOfWork | None) -> None:
        self._require_technician(technician_id)
        self._allow(_W.COMPLETED)
        self.proof = proof
        self.finished_at = ensure_aware(at, "at")
        self._move(_W.COMPLETED, ev.WorkOrderCompleted, at)

    def fail(self, technician_id: str, at: dt.datetime, *, reason: str) -> None:
        self._require_technician(technician_id)
        if not reason.strip():
            raise ValidationFailed("a failure needs a reason", field="reason")
        self._allow(_W.FAILED)
        self.finished_at = ensure_aware(at, "at")
        self._move(_W.FAILED, ev.WorkOrderFailed, at, reason=reason)

    def cancel(self, at: dt.datetime, *, reason: str) -> None:
        if not reason.strip():
            raise ValidationFailed("a cancellation needs a reason", field="reason")
        self._move(_W.CANCELLED, ev.WorkOrderCancelled, at, reason=reason)

    def follow_up(self, at: dt.datetime, created_by: str) -> WorkOrder:
        """A failed order is rescheduled as a new order that points back at it."""
        if self.status != _W.FAILED:
            raise RuleViolation("only a failed work order can be rescheduled as a follow-up")
        order = WorkOrder(
            store_id=self.store_id,
            priority=self.priority,
            location=self.location,
            description=f"Follow-up: {self.description}",
            created_at=at,
            created_by=created_by,
            customer_id=self.customer_id,
            address=self.address,
            required_skills=self.required_skills,
            estimated_minutes=self.estimated_minutes,
            follow_up_of=self.id,
            channel=self.channel,
        )
        order.record_created()
        return order

    # -- edits -----------------------------------------------------------------------------------

    def update_details(self, **changes: Any) -> None:
        """Edit descriptive fields; not once the order is closed."""
        if not self.is_open:
            raise RuleViolation(f"a {self.status.value} work order can no longer be edited")
        allowed = {
            "priority", "location", "address", "description", "time_window",
            "required_skills", "estimated_minutes", "customer_id", "pinned",
        }
        unknown = set(changes) - allowed
        if unknown:
            raise ValidationFailed(f"cannot edit {sorted(unknown)}", field=sorted(unknown)[0])
        for key, value in changes.items():
            if key == "description":
                value = value.strip()
                if not value:
                    raise ValidationFailed("description must not be empty", field=key)
            if key == "required_skills":
                value = frozenset(s.strip().lower() for s in value if s.strip())
            if key == "estimated_minutes" and not 1 <= value <= 24 * 60:
                raise ValidationFailed("estimated_minutes must be between 1 and 1440", field=key)
            setattr(self, key, value)
        self.touch()
        self._record(
            ev.WorkOrderUpdated,
            store_id=self.store_id,
            technician_id=self.technician_id,
            data={"changed": sorted(changes), "work_order": self.snapshot()},
        )

    def add_comment(self, author: str, text: str, at: dt.datetime,
                    visibility: CommentVisibility | str = CommentVisibility.INTERNAL) -> Comment:
        """Rules in ``domain.comments``; internal unless marked customer-visible."""
        comment = new_comment(self.comments, author, text, at, visibility)
        self.comments.append(comment)
        self.touch()
        # The comment alone (not the whole order), with the version it makes for clients' copies.
        self._record(ev.WorkOrderCommented, store_id=self.store_id,
                     technician_id=self.technician_id,
                     data={"work_order_id": self.id, "version": self.version,
                           "comment": comment.as_dict()})
        return comment

    def _require_technician(self, technician_id: str) -> None:
        if self.technician_id != technician_id:
            raise RuleViolation("the work order is not assigned to this technician")
