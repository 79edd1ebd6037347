"""Alert rules: pure functions from the current state and ``now`` to the alerts that should be live.

``expected_alerts`` says which alerts the world calls for (one candidate per dedup key);
``reconcile`` compares them with the live alerts and answers what to raise, what to resolve
(the condition cleared) and what to escalate. Nothing here does I/O: the storage layer builds the
``World``, the use case in ``domain/services/alerts.py`` applies the plan in units of work.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from domain.alerts import EVENT_KINDS, Alert, AlertCandidate, AlertKind, AlertPolicy, Severity
from domain.resources import TechnicianStatus
from domain.work_orders import Priority, WorkOrderStatus

_W = WorkOrderStatus
NOT_STARTED = frozenset({_W.ASSIGNED, _W.ACCEPTED})
ON_THE_ROAD = frozenset({TechnicianStatus.EN_ROUTE, TechnicianStatus.ON_SITE})


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """An open work order as the rules see it."""

    id: str
    store_id: str
    priority: Priority
    status: WorkOrderStatus
    created_at: dt.datetime
    description: str = ""
    address: str = ""
    technician_id: str | None = None
    window_end: dt.datetime | None = None
    #: Set when the order's latest status change was a technician declining it.
    declined_by: str | None = None
    decline_reason: str = ""


@dataclass(frozen=True, slots=True)
class TechnicianFacts:
    """An active technician: status, today's shift, tracker freshness and waiting jobs."""

    id: str
    name: str
    home_store_id: str
    status: TechnicianStatus
    shift_start: dt.datetime | None = None
    shift_end: dt.datetime | None = None
    unit_id: str | None = None
    last_fix_at: dt.datetime | None = None
    open_jobs: int = 0


@dataclass(frozen=True, slots=True)
class IntegrationHealth:
    """An external feed as this process sees it: failures since its last success."""

    name: str
    consecutive_failures: int
    last_error: str = ""


@dataclass(frozen=True, slots=True)
class World:
    orders: tuple[OrderFacts, ...] = ()
    technicians: tuple[TechnicianFacts, ...] = ()
    integrations: tuple[IntegrationHealth, ...] = ()
    technician_names: dict[str, str] = field(default_factory=dict)

    def name_of(self, technician_id: str | None) -> str:
        if technician_id is None:
            return "nobody"
        return self.technician_names.get(technician_id, technician_id)


def _ago(delta: dt.timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 90:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


def _job(order: OrderFacts) -> str:
    text = order.description if len(order.description) <= 80 else order.description[:79] + "…"
    return f"{text} ({order.address})" if order.address else text


def order_alerts(order: OrderFacts, now: dt.datetime, policy: AlertPolicy,
                 world: World) -> list[AlertCandidate]:
    out: list[AlertCandidate] = []
    waiting = order.status == _W.NEW and order.technician_id is None
    if waiting and order.priority == Priority.EMERGENCY:
        out.append(AlertCandidate(
            kind=AlertKind.EMERGENCY_ORDER, severity=Severity.CRITICAL, subject=order.id,
            title="Emergency job waiting for a technician",
            message=f"{_job(order)}.",
            store_id=order.store_id, work_order_id=order.id))
    if (waiting and order.priority == Priority.HIGH
            and now - order.created_at >= policy.urgent_unassigned_after):
        out.append(AlertCandidate(
            kind=AlertKind.URGENT_ORDER, severity=Severity.WARNING, subject=order.id,
            title="Urgent job unassigned",
            message=f"{_job(order)}; unassigned for {_ago(now - order.created_at)}.",
            store_id=order.store_id, work_order_id=order.id))
    if waiting and order.declined_by is not None:
        reason = f": {order.decline_reason}" if order.decline_reason else ""
        out.append(AlertCandidate(
            kind=AlertKind.JOB_DECLINED, severity=Severity.WARNING, subject=order.id,
            title=f"Job declined by {world.name_of(order.declined_by)}",
            message=f"{_job(order)}{reason}. It needs another technician.",
            store_id=order.store_id, technician_id=order.declined_by, work_order_id=order.id))
    if (order.status in NOT_STARTED and order.technician_id is not None
            and order.window_end is not None and now > order.window_end + policy.late_grace):
        out.append(AlertCandidate(
            kind=AlertKind.JOB_LATE, severity=Severity.WARNING,
            subject=f"{order.id}:{order.technician_id}",
            title=f"{world.name_of(order.technician_id)} has not started a job",
            message=f"{_job(order)}; its window ended {_ago(now - order.window_end)} ago.",
            store_id=order.store_id, technician_id=order.technician_id, work_order_id=order.id))
    return out


def technician_alerts(tech: TechnicianFacts, now: dt.datetime,
                      policy: AlertPolicy) -> list[AlertCandidate]:
    out: list[AlertCandidate] = []
    in_shift = (tech.shift_start is not None and tech.shift_end is not None
                and tech.shift_start + policy.no_show_grace <= now < tech.shift_end)
    if in_shift and tech.status == TechnicianStatus.OFF_DUTY and tech.open_jobs > 0:
        assert tech.shift_start is not None
        out.append(AlertCandidate(
            kind=AlertKind.NO_SHOW, severity=Severity.WARNING, subject=tech.id,
            title=f"{tech.name} has not started the shift",
            message=(f"The shift began {_ago(now - tech.shift_start)} ago; still off duty with "
                     f"{tech.open_jobs} job(s) waiting."),
            store_id=tech.home_store_id, technician_id=tech.id))
    if tech.status in ON_THE_ROAD and tech.unit_id is not None and tech.last_fix_at is not None:
        age = now - tech.last_fix_at
        if age >= policy.offline_after:
            out.append(AlertCandidate(
                kind=AlertKind.TRACKER_OFFLINE, severity=Severity.CRITICAL, subject=tech.id,
                title=f"{tech.name}'s van tracker is offline",
                message=f"No position for {_ago(age)} while {tech.status.value.replace('_', ' ')}.",
                store_id=tech.home_store_id, technician_id=tech.id))
        elif age >= policy.stale_after:
            out.append(AlertCandidate(
                kind=AlertKind.TRACKER_STALE, severity=Severity.WARNING, subject=tech.id,
                title=f"{tech.name}'s van tracker is quiet",
                message=f"No position for {_ago(age)} while {tech.status.value.replace('_', ' ')}.",
                store_id=tech.home_store_id, technician_id=tech.id))
    return out


def integration_alerts(health: IntegrationHealth, policy: AlertPolicy) -> list[AlertCandidate]:
    if health.consecutive_failures < policy.integration_failures:
        return []
    detail = f" Last error: {health.last_error}" if health.last_error else ""
    return [AlertCandidate(
        kind=AlertKind.INTEGRATION_FAILING, severity=Severity.CRITICAL, subject=health.name,
        title=f"Integration {health.name} is failing",
        message=f"{health.consecutive_failures} failures in a row.{detail}"[:2000])]


def expected_alerts(world: World, now: dt.datetime,
                    policy: AlertPolicy | None = None) -> dict[str, AlertCandidate]:
    """Every alert the world calls for now, by dedup key."""
    policy = policy or AlertPolicy()
    found: list[AlertCandidate] = []
    for order in world.orders:
        found += order_alerts(order, now, policy, world)
    for tech in world.technicians:
        found += technician_alerts(tech, now, policy)
    for health in world.integrations:
        found += integration_alerts(health, policy)
    return {c.dedup_key: c for c in found}


@dataclass(frozen=True, slots=True)
class Plan:
    raise_: tuple[AlertCandidate, ...] = ()
    resolve: tuple[str, ...] = ()    # alert ids whose condition cleared
    escalate: tuple[str, ...] = ()   # alert ids due to climb a rung

    @property
    def empty(self) -> bool:
        return not (self.raise_ or self.resolve or self.escalate)


def _covered(alert: Alert, world: World) -> bool:
    """Whether the world speaks about the alert's subject at all.

    Integrations are reported by the process that runs them: an integration this world does not
    mention is unknown here, so its alert is left alone rather than resolved.
    """
    if alert.kind == AlertKind.INTEGRATION_FAILING:
        names = {h.name for h in world.integrations}
        return alert.dedup_key.split(":", 1)[1] in names
    if alert.kind in EVENT_KINDS:
        return event_alert_settled(alert, world)
    return True


def event_alert_settled(alert: Alert, world: World) -> bool:
    """Whether an alert a use case raised (no rule expects it) has done its work: a failed job's
    follow-up is assigned or closed; a blocked partner change's job is closed."""
    order = next((o for o in world.orders if o.id == alert.work_order_id), None)
    if order is None:
        return True
    if alert.kind == AlertKind.JOB_FAILED:
        return order.status != _W.NEW or order.technician_id is not None
    return False


def reconcile(live: Iterable[Alert], world: World, now: dt.datetime,
              policy: AlertPolicy | None = None, *, snoozed: frozenset[str] = frozenset()) -> Plan:
    """What to do so the live alerts match the world: raise the missing ones (unless a person
    closed that key by hand recently: ``snoozed``), resolve those whose condition cleared, and
    escalate the unacknowledged critical ones that are due."""
    policy = policy or AlertPolicy()
    expected = expected_alerts(world, now, policy)
    live_by_key = {a.dedup_key: a for a in live if a.is_live}
    to_raise = tuple(c for key, c in sorted(expected.items())
                     if key not in live_by_key and key not in snoozed)
    to_resolve = tuple(a.id for key, a in sorted(live_by_key.items())
                       if key not in expected and _covered(a, world))
    gone = set(to_resolve)
    to_escalate = tuple(a.id for a in live_by_key.values()
                        if a.id not in gone and a.escalation_due(now))
    return Plan(raise_=to_raise, resolve=to_resolve, escalate=to_escalate)
