"""Alerts: what needs a person's attention now, with acknowledgement and escalation.

An alert is raised by a rule (``domain/alert_rules.py``) for one subject (a work order, a
technician, an integration); ``dedup_key`` names the rule and the subject, so one rule keeps at
most one live (open or acknowledged) alert per subject. Status: open -> acknowledged -> resolved,
or open -> resolved when the condition clears by itself (or someone closes it by hand).

Critical alerts climb an escalation ladder while nobody acknowledges them: they are raised at
level 1 (the store's managers and the dispatchers on duty) and go one level up every
``escalation_interval`` (5 minutes) to level 2 (operations managers) and level 3 (admins), where
they stay. A system alert (no store) starts at the top. Other severities are board-only (level 0).
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any

from domain import events as ev
from domain.aggregate import Aggregate, new_id
from domain.errors import Conflict, InvalidTransition, ValidationFailed
from domain.geo import ensure_aware
from domain.roles import Role


class AlertKind(enum.StrEnum):
    """Every kind of the catalogue (``domain/alert_kinds.py`` has each one's trigger, numbers and
    template)."""

    NEW_ORDER = "new_order"                  # an order was booked (by any way in)
    EMERGENCY_ORDER = "emergency_order"      # an emergency work order waits for a technician
    URGENT_ORDER = "urgent_order"            # a high-priority order unassigned for a while
    ORDER_COMMENT = "order_comment"          # someone commented on an order (internal)
    CUSTOMER_NOTE = "customer_note"          # a note the customer sees was added to an order
    PARTNER_CHANGE = "partner_change"        # the partner changed or cancelled its order
    PARTNER_CHANGE_BLOCKED = "partner_change_blocked"  # a partner changed a job under way
    ASSIGNMENT_NOT_ACCEPTED = "assignment_not_accepted"  # assigned, not accepted for a while
    JOB_DECLINED = "job_declined"            # a technician declined; the job is back in the queue
    TECHNICIAN_STATUS = "technician_status"  # a technician moved to a status worth knowing
    RUNNING_LATE = "running_late"            # the ETA falls after the window (before it ends)
    JOB_LATE = "job_late"                    # assigned, not started by the end of its window
    NO_SHOW = "no_show"                      # shift started, still off duty, jobs waiting
    TRACKER_STALE = "tracker_stale"          # en route / on site, the van's tracker went quiet
    TRACKER_OFFLINE = "tracker_offline"      # ... and has been quiet for 30 minutes
    SPEEDING = "speeding"                    # a van's latest fix is above the speed limit
    OUT_OF_AREA = "out_of_area"              # a van is farther from its store than the area
    PROPOSAL_WAITING = "proposal_waiting"    # an optimizer proposal waits for review too long
    JOB_FAILED = "job_failed"                # a job could not be finished; its follow-up waits
    INTEGRATION_FAILING = "integration_failing"  # a feed (GeoTab, order intake) keeps failing
    WEBHOOK_DEAD = "webhook_dead"            # outbound webhooks to a partner were dead-lettered
    SYSTEM_ERROR = "system_error"            # unhandled errors, relay lag, database or Redis down

    @property
    def category(self) -> str:
        """``work_order``, ``technician``, ``planning`` or ``system``: who the alert is about."""
        return _CATEGORY.get(self, "work_order")


_K = AlertKind
_CATEGORY = {
    _K.ASSIGNMENT_NOT_ACCEPTED: "technician", _K.TECHNICIAN_STATUS: "technician",
    _K.RUNNING_LATE: "technician", _K.JOB_LATE: "technician", _K.NO_SHOW: "technician",
    _K.TRACKER_STALE: "technician", _K.TRACKER_OFFLINE: "technician",
    _K.SPEEDING: "technician", _K.OUT_OF_AREA: "technician",
    _K.PROPOSAL_WAITING: "planning",
    _K.INTEGRATION_FAILING: "system", _K.WEBHOOK_DEAD: "system", _K.SYSTEM_ERROR: "system",
}
#: Kinds raised by a use case when something happens (in the same transaction as the change),
#: not by a rule over the current state; the rules' pass resolves them once their subject is
#: settled (``domain.alert_rules.event_alert_settled``).
EVENT_KINDS = frozenset({_K.JOB_FAILED, _K.PARTNER_CHANGE_BLOCKED})
#: Kinds the pass raises once per thing that happened (an order booked, a comment, a partner's
#: change, a status change, a database outage), read from the published event log and the
#: partner ledger; each resolves on its own after a while (``clear_after_minutes``).
HAPPENING_KINDS = frozenset({_K.NEW_ORDER, _K.ORDER_COMMENT, _K.CUSTOMER_NOTE,
                             _K.PARTNER_CHANGE, _K.TECHNICIAN_STATUS})


class Severity(enum.StrEnum):
    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        """0 is the most severe."""
        return {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2}[self]


class AlertStatus(enum.StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


_A = AlertStatus
ALERT_TRANSITIONS: dict[AlertStatus, frozenset[AlertStatus]] = {
    _A.OPEN: frozenset({_A.ACKNOWLEDGED, _A.RESOLVED}),
    _A.ACKNOWLEDGED: frozenset({_A.RESOLVED}),
    _A.RESOLVED: frozenset(),
}
LIVE_STATUSES = frozenset({_A.OPEN, _A.ACKNOWLEDGED})

TOP_LEVEL = 3
#: Who each escalation level reaches (level 1 within the alert's store).
LEVEL_ROLES: dict[int, frozenset[Role]] = {
    1: frozenset({Role.STORE_MANAGER, Role.DISPATCHER}),
    2: frozenset({Role.OPERATIONS_MANAGER}),
    3: frozenset({Role.ADMIN}),
}


@dataclass(frozen=True, slots=True)
class AlertPolicy:
    """How alerting escalates (each kind's trigger numbers are in the catalogue instead:
    ``domain/alert_catalogue.py``)."""

    escalation_interval: dt.timedelta = dt.timedelta(minutes=5)
    top_level: int = TOP_LEVEL
    #: A key closed by hand is not raised again for this long (the condition may still hold).
    manual_resolve_snooze: dt.timedelta = dt.timedelta(hours=1)

    def __post_init__(self) -> None:
        if self.escalation_interval <= dt.timedelta(0):
            raise ValidationFailed("the escalation interval must be positive",
                                   field="escalation_interval")
        if not 1 <= self.top_level <= TOP_LEVEL:
            raise ValidationFailed(f"top_level must be within 1..{TOP_LEVEL}", field="top_level")


@dataclass(frozen=True, slots=True)
class AlertCandidate:
    """What a rule says should be live: the alert without its lifecycle."""

    kind: AlertKind
    severity: Severity
    subject: str
    title: str
    message: str = ""
    store_id: str | None = None
    technician_id: str | None = None
    work_order_id: str | None = None

    @property
    def dedup_key(self) -> str:
        return dedup_key(self.kind, self.subject)


def dedup_key(kind: AlertKind, subject: str) -> str:
    return f"{kind.value}:{subject}"[:200]


def start_level(candidate: AlertCandidate, policy: AlertPolicy) -> int:
    """The first rung: critical alerts start at 1 (a system alert at the top), others at 0."""
    if candidate.severity != Severity.CRITICAL:
        return 0
    return policy.top_level if candidate.store_id is None else 1


class Alert(Aggregate):
    def __init__(
        self,
        *,
        kind: AlertKind,
        severity: Severity,
        dedup_key: str,
        title: str,
        raised_at: dt.datetime,
        message: str = "",
        store_id: str | None = None,
        technician_id: str | None = None,
        work_order_id: str | None = None,
        status: AlertStatus = AlertStatus.OPEN,
        acknowledged_at: dt.datetime | None = None,
        acknowledged_by: str | None = None,
        resolved_at: dt.datetime | None = None,
        resolved_by: str | None = None,
        escalation_level: int = 0,
        next_escalation_at: dt.datetime | None = None,
        id: str | None = None,
        version: int = 0,
    ) -> None:
        super().__init__(version=version)
        title = title.strip()
        if not title:
            raise ValidationFailed("an alert needs a title", field="title")
        if not dedup_key:
            raise ValidationFailed("an alert needs a dedup key", field="dedup_key")
        self.id = id or new_id()
        self.kind = kind
        self.severity = severity
        self.dedup_key = dedup_key
        self.title = title[:200]
        self.message = message
        self.store_id = store_id
        self.technician_id = technician_id
        self.work_order_id = work_order_id
        self.raised_at = ensure_aware(raised_at, "raised_at")
        self.status = status
        self.acknowledged_at = acknowledged_at
        self.acknowledged_by = acknowledged_by
        self.resolved_at = resolved_at
        self.resolved_by = resolved_by
        self.escalation_level = escalation_level
        self.next_escalation_at = next_escalation_at

    @classmethod
    def raise_for(cls, candidate: AlertCandidate, now: dt.datetime,
                  policy: AlertPolicy | None = None) -> Alert:
        """A new open alert for ``candidate``, its escalation clock started (AlertRaised)."""
        policy = policy or AlertPolicy()
        level = start_level(candidate, policy)
        alert = cls(
            kind=candidate.kind, severity=candidate.severity, dedup_key=candidate.dedup_key,
            title=candidate.title, message=candidate.message, store_id=candidate.store_id,
            technician_id=candidate.technician_id, work_order_id=candidate.work_order_id,
            raised_at=now, escalation_level=level,
            next_escalation_at=(now + policy.escalation_interval
                                if 0 < level < policy.top_level else None),
        )
        alert._event(ev.AlertRaised)
        return alert

    # -- queries ---------------------------------------------------------------------------------

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES

    def escalation_due(self, now: dt.datetime) -> bool:
        return (self.status == AlertStatus.OPEN and self.next_escalation_at is not None
                and now >= self.next_escalation_at)

    def snapshot(self) -> dict[str, Any]:
        def iso(value: dt.datetime | None) -> str | None:
            return value.isoformat() if value is not None else None

        return {
            "id": self.id,
            "kind": self.kind.value,
            "category": self.kind.category,
            "severity": self.severity.value,
            "status": self.status.value,
            "dedup_key": self.dedup_key,
            "title": self.title,
            "message": self.message,
            "store_id": self.store_id,
            "technician_id": self.technician_id,
            "work_order_id": self.work_order_id,
            "raised_at": self.raised_at.isoformat(),
            "acknowledged_at": iso(self.acknowledged_at),
            "acknowledged_by": self.acknowledged_by,
            "resolved_at": iso(self.resolved_at),
            "resolved_by": self.resolved_by,
            "escalation_level": self.escalation_level,
            "next_escalation_at": iso(self.next_escalation_at),
            "version": self.version,
        }

    # -- state machine ---------------------------------------------------------------------------

    def _event(self, event: type[ev.Event], **data: Any) -> None:
        self.touch()
        self._record(event, store_id=self.store_id, technician_id=self.technician_id,
                     data={**data, "alert": self.snapshot()})

    def acknowledge(self, user_id: str, now: dt.datetime) -> None:
        """Someone has it: escalation stops. A second acknowledgement is a conflict."""
        if self.status == AlertStatus.ACKNOWLEDGED:
            raise Conflict(f"alert {self.id} was already acknowledged", code="already_acknowledged",
                           current=self.snapshot())
        if AlertStatus.ACKNOWLEDGED not in ALERT_TRANSITIONS[self.status]:
            raise InvalidTransition("alert", self.status.value, AlertStatus.ACKNOWLEDGED.value)
        self.status = AlertStatus.ACKNOWLEDGED
        self.acknowledged_at = ensure_aware(now, "now")
        self.acknowledged_by = user_id
        self.next_escalation_at = None
        self._event(ev.AlertAcknowledged, by=user_id)

    def resolve(self, now: dt.datetime, *, by: str | None = None, reason: str = "") -> None:
        """Close it: the condition cleared (``by`` None) or a person closed it by hand."""
        if self.status == AlertStatus.RESOLVED:
            raise Conflict(f"alert {self.id} is already resolved", code="already_resolved",
                           current=self.snapshot())
        self.status = AlertStatus.RESOLVED
        self.resolved_at = ensure_aware(now, "now")
        self.resolved_by = by
        self.next_escalation_at = None
        self._event(ev.AlertResolved, by=by, reason=reason)

    def escalate(self, now: dt.datetime, policy: AlertPolicy | None = None) -> bool:
        """One rung up when due (open, critical, below the top); False when nothing changed."""
        policy = policy or AlertPolicy()
        if not self.escalation_due(now):
            return False
        previous = self.escalation_level
        self.escalation_level = min(previous + 1, policy.top_level)
        self.next_escalation_at = (now + policy.escalation_interval
                                   if self.escalation_level < policy.top_level else None)
        self._event(ev.AlertEscalated, previous_level=previous)
        return True
