"""The work-order kinds' rules: each a small pure function of the world, ``now`` and the
catalogue (whose numbers it reads), answering the alerts its condition calls for now."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from domain.alert_catalogue import AlertRule, RuleBook
from domain.alert_facts import OrderFacts, TechnicianFacts, World
from domain.alert_fields import ago, clock_time, order_fields
from domain.alerts import AlertCandidate, AlertKind
from domain.notifications import distance_km
from domain.work_orders import Priority, WorkOrderStatus

_W = WorkOrderStatus
_K = AlertKind
NOT_STARTED = frozenset({_W.ASSIGNED, _W.ACCEPTED})
HEADING_THERE = frozenset({_W.ASSIGNED, _W.ACCEPTED, _W.EN_ROUTE})
StateRule = Callable[[World, dt.datetime, RuleBook], list[AlertCandidate]]


def _waiting(order: OrderFacts) -> bool:
    return order.status == _W.NEW and order.technician_id is None


def _waited(now: dt.datetime, since: dt.datetime, at_least: dt.timedelta) -> bool:
    """At least ``at_least`` since ``since`` (always, when that is zero: "at once")."""
    return at_least <= dt.timedelta(0) or now - since >= at_least


def _unassigned(world: World, now: dt.datetime, rule: AlertRule,
                priority: Priority) -> list[AlertCandidate]:
    return [rule.candidate(o.id, {**order_fields(o, world), "waited": ago(now - o.created_at)},
                           store_id=o.store_id, work_order_id=o.id)
            for o in world.orders
            if _waiting(o) and o.priority == priority
            and _waited(now, o.created_at, rule.minutes("after_minutes"))]


def emergency_order(world: World, now: dt.datetime, book: RuleBook) -> list[AlertCandidate]:
    return _unassigned(world, now, book[_K.EMERGENCY_ORDER], Priority.EMERGENCY)


def urgent_order(world: World, now: dt.datetime, book: RuleBook) -> list[AlertCandidate]:
    return _unassigned(world, now, book[_K.URGENT_ORDER], Priority.HIGH)


def assignment_not_accepted(world: World, now: dt.datetime,
                            book: RuleBook) -> list[AlertCandidate]:
    rule = book[_K.ASSIGNMENT_NOT_ACCEPTED]
    out = []
    for o in world.orders:
        since = o.status_changed_at
        if (o.status != _W.ASSIGNED or o.technician_id is None or since is None
                or now - since < rule.minutes("after_minutes")):
            continue
        out.append(rule.candidate(
            f"{o.id}:{o.technician_id}", {**order_fields(o, world), "waited": ago(now - since)},
            store_id=o.store_id, technician_id=o.technician_id, work_order_id=o.id))
    return out


def job_declined(world: World, now: dt.datetime, book: RuleBook) -> list[AlertCandidate]:
    rule = book[_K.JOB_DECLINED]
    return [rule.candidate(o.id, {**order_fields(o, world),
                                  "technician": world.name_of(o.declined_by),
                                  "reason": o.decline_reason or "no reason given"},
                           store_id=o.store_id, technician_id=o.declined_by, work_order_id=o.id)
            for o in world.orders if _waiting(o) and o.declined_by is not None]


def job_late(world: World, now: dt.datetime, book: RuleBook) -> list[AlertCandidate]:
    rule = book[_K.JOB_LATE]
    out = []
    for o in world.orders:
        if (o.status not in NOT_STARTED or o.technician_id is None or o.window_end is None
                or now <= o.window_end + rule.minutes("grace_minutes")):
            continue
        out.append(rule.candidate(
            f"{o.id}:{o.technician_id}",
            {**order_fields(o, world), "late_by": ago(now - o.window_end),
             "window_end": clock_time(o.window_end, world, o.store_id)},
            store_id=o.store_id, technician_id=o.technician_id, work_order_id=o.id))
    return out


def eta(order: OrderFacts, tech: TechnicianFacts | None, now: dt.datetime,
        speed_kmh: float) -> dt.datetime | None:
    """When the technician should reach the job: on the way, from the van's latest fix at the
    average speed; otherwise the route's planned arrival (None: no plan to judge by)."""
    if (order.status == _W.EN_ROUTE and tech is not None and tech.lat is not None
            and tech.lon is not None and order.lat is not None and order.lon is not None):
        km = distance_km((tech.lat, tech.lon), (order.lat, order.lon))
        return now + dt.timedelta(hours=km / speed_kmh)
    return order.planned_arrival


def running_late(world: World, now: dt.datetime, book: RuleBook) -> list[AlertCandidate]:
    """Before the window ends: the expected arrival already falls after it (plus the grace)."""
    rule = book[_K.RUNNING_LATE]
    techs = {t.id: t for t in world.technicians}
    out = []
    for o in world.orders:
        if (o.status not in HEADING_THERE or o.technician_id is None or o.window_end is None
                or now >= o.window_end):
            continue
        arrival = eta(o, techs.get(o.technician_id), now, rule.number("average_speed_kmh"))
        if arrival is None or arrival <= o.window_end + rule.minutes("grace_minutes"):
            continue
        out.append(rule.candidate(
            f"{o.id}:{o.technician_id}",
            {**order_fields(o, world), "eta": clock_time(arrival, world, o.store_id),
             "window_end": clock_time(o.window_end, world, o.store_id),
             "late_by": ago(arrival - o.window_end)},
            store_id=o.store_id, technician_id=o.technician_id, work_order_id=o.id))
    return out


RULES: dict[AlertKind, StateRule] = {
    _K.EMERGENCY_ORDER: emergency_order, _K.URGENT_ORDER: urgent_order,
    _K.ASSIGNMENT_NOT_ACCEPTED: assignment_not_accepted, _K.JOB_DECLINED: job_declined,
    _K.JOB_LATE: job_late, _K.RUNNING_LATE: running_late,
}
