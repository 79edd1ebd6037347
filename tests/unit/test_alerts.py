"""Alerts: the state machine, escalation timing on an injected clock, and the pure rules."""

from __future__ import annotations

import datetime as dt

import pytest

from domain import events as ev
from domain.alert_rules import (
    IntegrationHealth,
    OrderFacts,
    TechnicianFacts,
    World,
    expected_alerts,
    reconcile,
)
from domain.alerts import Alert, AlertCandidate, AlertKind, AlertPolicy, AlertStatus, Severity
from domain.errors import Conflict, InvalidTransition, ValidationFailed
from domain.resources import TechnicianStatus
from domain.work_orders import Priority, WorkOrderStatus

T0 = dt.datetime(2026, 7, 14, 15, 0, tzinfo=dt.UTC)
MIN = dt.timedelta(minutes=1)


def critical(store: str | None = "store-1", subject: str = "wo-1") -> AlertCandidate:
    return AlertCandidate(kind=AlertKind.EMERGENCY_ORDER, severity=Severity.CRITICAL,
                          subject=subject, title="Emergency job waiting", store_id=store,
                          work_order_id=subject)


def order(**changes: object) -> OrderFacts:
    values: dict[str, object] = {"id": "wo-1", "store_id": "store-1", "priority": Priority.NORMAL,
                                 "status": WorkOrderStatus.NEW, "created_at": T0 - 30 * MIN,
                                 "description": "No cooling", "address": "1 Main St"}
    values.update(changes)
    return OrderFacts(**values)  # type: ignore[arg-type]


def tech(**changes: object) -> TechnicianFacts:
    values: dict[str, object] = {"id": "tech-1", "name": "Maria", "home_store_id": "store-1",
                                 "status": TechnicianStatus.AVAILABLE}
    values.update(changes)
    return TechnicianFacts(**values)  # type: ignore[arg-type]


# -- state machine ------------------------------------------------------------------------------


def test_a_raised_critical_alert_records_its_event_and_starts_the_clock() -> None:
    alert = Alert.raise_for(critical(), T0)
    assert alert.status == AlertStatus.OPEN and alert.version == 1
    assert alert.escalation_level == 1 and alert.next_escalation_at == T0 + 5 * MIN
    assert alert.dedup_key == "emergency_order:wo-1"
    [event] = alert.events
    assert isinstance(event, ev.AlertRaised) and event.aggregate_type == "alert"
    assert event.store_id == "store-1"
    assert event.payload()["alert"]["id"] == alert.id
    assert event.payload()["alert"]["category"] == "work_order"


def test_warnings_are_board_only_and_system_alerts_start_at_the_top() -> None:
    warning = Alert.raise_for(AlertCandidate(kind=AlertKind.URGENT_ORDER, severity=Severity.WARNING,
                                             subject="wo-2", title="Urgent", store_id="s"), T0)
    assert warning.escalation_level == 0 and warning.next_escalation_at is None
    system = Alert.raise_for(AlertCandidate(kind=AlertKind.INTEGRATION_FAILING,
                                            severity=Severity.CRITICAL, subject="geotab",
                                            title="GeoTab failing"), T0)
    assert system.escalation_level == 3 and system.next_escalation_at is None


def test_acknowledge_stops_escalation_and_twice_is_a_conflict_with_the_current_state() -> None:
    alert = Alert.raise_for(critical(), T0)
    alert.mark_persisted()
    alert.acknowledge("user-1", T0 + MIN)
    assert alert.status == AlertStatus.ACKNOWLEDGED and alert.acknowledged_by == "user-1"
    assert alert.next_escalation_at is None and alert.version == 2
    assert isinstance(alert.events[-1], ev.AlertAcknowledged)
    alert.mark_persisted()
    with pytest.raises(Conflict) as caught:
        alert.acknowledge("user-2", T0 + 2 * MIN)
    assert caught.value.code == "already_acknowledged"
    assert caught.value.details["current"]["acknowledged_by"] == "user-1"  # type: ignore[index]
    assert not alert.escalate(T0 + 60 * MIN)


def test_resolve_from_open_or_acknowledged_but_never_twice() -> None:
    alert = Alert.raise_for(critical(), T0)
    alert.resolve(T0 + MIN, reason="the condition cleared")
    assert alert.status == AlertStatus.RESOLVED and alert.resolved_by is None
    assert isinstance(alert.events[-1], ev.AlertResolved)
    with pytest.raises(Conflict):
        alert.resolve(T0 + 2 * MIN)
    with pytest.raises(InvalidTransition):
        alert.acknowledge("user-1", T0 + 2 * MIN)
    acked = Alert.raise_for(critical(), T0)
    acked.acknowledge("user-1", T0)
    acked.resolve(T0 + MIN, by="user-2")
    assert acked.resolved_by == "user-2"


def test_escalation_climbs_every_interval_and_caps_at_the_top() -> None:
    alert = Alert.raise_for(critical(), T0)
    assert not alert.escalate(T0 + 4 * MIN)
    assert alert.escalate(T0 + 5 * MIN)
    assert alert.escalation_level == 2 and alert.next_escalation_at == T0 + 10 * MIN
    assert isinstance(alert.events[-1], ev.AlertEscalated)
    assert alert.events[-1].payload()["previous_level"] == 1
    assert not alert.escalate(T0 + 9 * MIN)
    assert alert.escalate(T0 + 10 * MIN)
    assert alert.escalation_level == 3 and alert.next_escalation_at is None
    assert not alert.escalate(T0 + 60 * MIN)
    assert alert.escalation_level == 3


def test_a_custom_interval_is_honoured() -> None:
    policy = AlertPolicy(escalation_interval=dt.timedelta(seconds=30))
    alert = Alert.raise_for(critical(), T0, policy)
    assert alert.next_escalation_at == T0 + dt.timedelta(seconds=30)
    assert alert.escalate(T0 + dt.timedelta(seconds=30), policy)
    with pytest.raises(ValidationFailed):
        AlertPolicy(escalation_interval=dt.timedelta(0))


# -- rules --------------------------------------------------------------------------------------


def kinds(world: World, now: dt.datetime = T0) -> dict[str, AlertKind]:
    return {key: c.kind for key, c in expected_alerts(world, now).items()}


def test_an_unassigned_emergency_is_critical_and_clears_once_assigned() -> None:
    world = World(orders=(order(priority=Priority.EMERGENCY),))
    [candidate] = expected_alerts(world, T0).values()
    assert candidate.kind == AlertKind.EMERGENCY_ORDER and candidate.severity == Severity.CRITICAL
    assert candidate.store_id == "store-1" and candidate.work_order_id == "wo-1"
    assigned = World(orders=(order(priority=Priority.EMERGENCY, status=WorkOrderStatus.ASSIGNED,
                                   technician_id="tech-1"),))
    assert kinds(assigned) == {}


def test_an_urgent_order_alerts_only_after_waiting_a_while() -> None:
    fresh = World(orders=(order(priority=Priority.HIGH, created_at=T0 - 9 * MIN),))
    assert kinds(fresh) == {}
    waited = World(orders=(order(priority=Priority.HIGH, created_at=T0 - 10 * MIN),))
    assert kinds(waited) == {"urgent_order:wo-1": AlertKind.URGENT_ORDER}


def test_a_declined_job_alerts_until_someone_else_takes_it() -> None:
    world = World(orders=(order(declined_by="tech-1", decline_reason="van broke down"),),
                  technician_names={"tech-1": "Maria"})
    [candidate] = expected_alerts(world, T0).values()
    assert candidate.kind == AlertKind.JOB_DECLINED
    assert candidate.title == "Job declined by Maria" and "van broke down" in candidate.message
    taken = World(orders=(order(status=WorkOrderStatus.ASSIGNED, technician_id="tech-2"),))
    assert kinds(taken) == {}


def test_a_job_not_started_by_the_end_of_its_window_is_late_per_technician() -> None:
    late = order(status=WorkOrderStatus.ACCEPTED, technician_id="tech-1", window_end=T0 - MIN)
    assert kinds(World(orders=(late,))) == {"job_late:wo-1:tech-1": AlertKind.JOB_LATE}
    assert kinds(World(orders=(late,)), T0 - 2 * MIN) == {}
    started = order(status=WorkOrderStatus.EN_ROUTE, technician_id="tech-1", window_end=T0 - MIN)
    assert kinds(World(orders=(started,))) == {}
    reassigned = order(status=WorkOrderStatus.ASSIGNED, technician_id="tech-2",
                       window_end=T0 - MIN)
    assert set(kinds(World(orders=(reassigned,)))) == {"job_late:wo-1:tech-2"}


def test_a_no_show_needs_a_started_shift_a_grace_and_waiting_jobs() -> None:
    shift = {"shift_start": T0 - 20 * MIN, "shift_end": T0 + 8 * 60 * MIN}
    no_show = tech(status=TechnicianStatus.OFF_DUTY, open_jobs=2, **shift)
    assert kinds(World(technicians=(no_show,))) == {"no_show:tech-1": AlertKind.NO_SHOW}
    assert kinds(World(technicians=(no_show,)), T0 - 6 * MIN) == {}  # within the 15 min grace
    assert kinds(World(technicians=(tech(status=TechnicianStatus.OFF_DUTY, **shift),))) == {}
    assert kinds(World(technicians=(tech(open_jobs=2, **shift),))) == {}


def test_a_quiet_tracker_on_the_road_is_stale_then_offline() -> None:
    on_road = {"status": TechnicianStatus.EN_ROUTE, "unit_id": "unit-1"}
    assert kinds(World(technicians=(tech(last_fix_at=T0 - 4 * MIN, **on_road),))) == {}
    stale = kinds(World(technicians=(tech(last_fix_at=T0 - 6 * MIN, **on_road),)))
    assert stale == {"tracker_stale:tech-1": AlertKind.TRACKER_STALE}
    offline = expected_alerts(World(technicians=(tech(last_fix_at=T0 - 31 * MIN, **on_road),)), T0)
    [candidate] = offline.values()
    assert candidate.kind == AlertKind.TRACKER_OFFLINE and candidate.severity == Severity.CRITICAL
    parked = tech(last_fix_at=T0 - 60 * MIN, unit_id="unit-1")  # available: nobody waits on it
    assert kinds(World(technicians=(parked,))) == {}


def test_an_integration_failing_repeatedly_is_a_system_alert() -> None:
    assert kinds(World(integrations=(IntegrationHealth("geotab", 2),))) == {}
    [candidate] = expected_alerts(World(integrations=(IntegrationHealth("geotab", 3, "timeout"),)),
                                  T0).values()
    assert candidate.store_id is None and candidate.kind.category == "system"
    assert "timeout" in candidate.message


# -- reconcile ----------------------------------------------------------------------------------


def test_reconcile_raises_missing_resolves_cleared_and_escalates_due() -> None:
    emergency = World(orders=(order(priority=Priority.EMERGENCY),))
    plan = reconcile([], emergency, T0)
    assert [c.dedup_key for c in plan.raise_] == ["emergency_order:wo-1"]
    live = Alert.raise_for(plan.raise_[0], T0)
    assert reconcile([live], emergency, T0 + MIN).empty  # one live alert per rule and subject
    assert reconcile([live], emergency, T0 + 5 * MIN).escalate == (live.id,)
    cleared = reconcile([live], World(), T0 + 5 * MIN)
    assert cleared.resolve == (live.id,) and cleared.escalate == ()


def test_reconcile_keeps_snoozed_keys_down_and_unknown_integrations_alone() -> None:
    emergency = World(orders=(order(priority=Priority.EMERGENCY),))
    assert reconcile([], emergency, T0, snoozed=frozenset({"emergency_order:wo-1"})).empty
    failing = World(integrations=(IntegrationHealth("geotab", 5),))
    system = Alert.raise_for(reconcile([], failing, T0).raise_[0], T0)
    assert reconcile([system], World(), T0).empty  # not reported here: left alone
    healthy = World(integrations=(IntegrationHealth("geotab", 0),))
    assert reconcile([system], healthy, T0).resolve == (system.id,)
