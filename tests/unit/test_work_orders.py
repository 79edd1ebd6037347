from __future__ import annotations

import datetime as dt

import pytest

from domain.errors import Conflict, InvalidTransition, RuleViolation, ValidationFailed
from domain.geo import Location, TimeWindow
from domain.work_orders import (
    COMMENTS_PER_ORDER,
    WORK_ORDER_TRANSITIONS,
    Priority,
    ProofOfWork,
    WorkOrderStatus,
)
from tests.unit.factories import NOW, work_order

LATER = NOW + dt.timedelta(minutes=10)


def test_a_new_work_order_records_its_creation_and_starts_as_new() -> None:
    order = work_order()
    order.record_created()
    assert order.status == WorkOrderStatus.NEW
    assert [e.name for e in order.events] == ["WorkOrderCreated"]
    assert order.events[0].payload()["work_order"]["priority"] == "normal"


def test_the_full_happy_path_from_new_to_completed() -> None:
    order = work_order()
    order.assign("tech-1", NOW)
    order.accept("tech-1", NOW)
    order.start_travel("tech-1", NOW)
    order.arrive("tech-1", NOW)
    proof = ProofOfWork(device_time=LATER, location=Location(32.7, -96.8), signature_ref="sig-1")
    order.complete("tech-1", LATER, proof)
    assert order.status == WorkOrderStatus.COMPLETED
    assert order.proof == proof
    assert (order.en_route_at, order.on_site_at, order.finished_at) == (NOW, NOW, LATER)
    assert order.events[-1].data["work_order"]["finished_at"] == LATER.isoformat()
    assert [e.name for e in order.events] == [
        "WorkOrderAssigned", "WorkOrderAccepted", "WorkOrderStatusChanged",
        "WorkOrderStatusChanged", "WorkOrderCompleted",
    ]


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (s, t)
        for s in WorkOrderStatus
        for t in WorkOrderStatus
        if t not in WORK_ORDER_TRANSITIONS[s]
    ],
)
def test_every_move_outside_the_table_is_refused(source: WorkOrderStatus,
                                                 target: WorkOrderStatus) -> None:
    order = work_order(status=source, technician_id="tech-1")
    steps = {
        WorkOrderStatus.ASSIGNED: lambda: order.assign("tech-2", NOW),
        WorkOrderStatus.ACCEPTED: lambda: order.accept("tech-1", NOW),
        WorkOrderStatus.EN_ROUTE: lambda: order.start_travel("tech-1", NOW),
        WorkOrderStatus.ON_SITE: lambda: order.arrive("tech-1", NOW),
        WorkOrderStatus.COMPLETED: lambda: order.complete("tech-1", NOW, None),
        WorkOrderStatus.FAILED: lambda: order.fail("tech-1", NOW, reason="no access"),
        WorkOrderStatus.CANCELLED: lambda: order.cancel(NOW, reason="customer cancelled"),
        WorkOrderStatus.NEW: lambda: order.unassign(NOW),
    }
    with pytest.raises(InvalidTransition):
        steps[target]()
    assert order.status == source
    assert order.events == []
    assert (order.en_route_at, order.on_site_at, order.finished_at) == (None, None, None)


def test_reassigning_moves_the_job_and_remembers_the_previous_technician() -> None:
    order = work_order()
    order.assign("tech-1", NOW)
    order.assign("tech-2", NOW)
    assert order.technician_id == "tech-2"
    assert order.events[-1].payload()["previous_technician_id"] == "tech-1"


def test_assigning_to_the_same_technician_twice_is_refused() -> None:
    order = work_order()
    order.assign("tech-1", NOW)
    with pytest.raises(RuleViolation):
        order.assign("tech-1", NOW)


def test_a_started_job_cannot_be_reassigned() -> None:
    order = work_order()
    order.assign("tech-1", NOW)
    order.accept("tech-1", NOW)
    order.start_travel("tech-1", NOW)
    with pytest.raises(InvalidTransition):
        order.assign("tech-2", NOW)
    assert order.technician_id == "tech-1"


def test_only_the_assigned_technician_reports_progress() -> None:
    order = work_order()
    order.assign("tech-1", NOW)
    with pytest.raises(RuleViolation):
        order.accept("tech-2", NOW)


def test_a_decline_needs_a_reason_and_returns_the_job_to_the_queue() -> None:
    order = work_order()
    order.assign("tech-1", NOW)
    with pytest.raises(ValidationFailed):
        order.decline("tech-1", NOW, reason="  ")
    order.decline("tech-1", NOW, reason="van broke down")
    assert order.status == WorkOrderStatus.NEW
    assert order.technician_id is None
    assert order.events[-1].technician_id == "tech-1"


def test_cancellation_and_failure_need_a_reason() -> None:
    order = work_order()
    with pytest.raises(ValidationFailed):
        order.cancel(NOW, reason="")
    order.assign("tech-1", NOW)
    order.accept("tech-1", NOW)
    order.start_travel("tech-1", NOW)
    with pytest.raises(ValidationFailed):
        order.fail("tech-1", NOW, reason="")


def test_a_failed_order_is_rescheduled_as_a_follow_up_that_points_back() -> None:
    order = work_order(required_skills=frozenset({"hvac"}))
    with pytest.raises(RuleViolation):
        order.follow_up(NOW, "user-1")
    order.assign("tech-1", NOW)
    order.accept("tech-1", NOW)
    order.start_travel("tech-1", NOW)
    order.fail("tech-1", NOW, reason="part missing")
    follow = order.follow_up(LATER, "user-1")
    assert follow.follow_up_of == order.id
    assert follow.status == WorkOrderStatus.NEW
    assert follow.required_skills == frozenset({"hvac"})
    assert follow.events[0].name == "WorkOrderCreated"


def test_a_work_order_needs_a_description_and_a_sane_duration() -> None:
    with pytest.raises(ValidationFailed):
        work_order(description="   ")
    with pytest.raises(ValidationFailed):
        work_order(estimated_minutes=0)


def test_locations_and_windows_are_validated() -> None:
    with pytest.raises(ValidationFailed):
        Location(91.0, 0.0)
    with pytest.raises(ValidationFailed):
        Location(0.0, float("nan"))
    with pytest.raises(ValidationFailed):
        TimeWindow(NOW, NOW)
    with pytest.raises(ValidationFailed):
        TimeWindow(NOW.replace(tzinfo=None), LATER)


def test_editing_a_closed_order_or_an_unknown_field_is_refused() -> None:
    order = work_order()
    with pytest.raises(ValidationFailed):
        order.update_details(status="completed")
    order.update_details(priority=Priority.HIGH, description="Urgent: no cooling")
    assert order.priority == Priority.HIGH
    order.cancel(NOW, reason="duplicate")
    with pytest.raises(RuleViolation):
        order.update_details(description="x")


def test_comments_are_kept_in_order_and_bounded() -> None:
    order = work_order()
    order.add_comment("dispatcher", "Gate code 1234", NOW)
    with pytest.raises(ValidationFailed):
        order.add_comment("dispatcher", "", NOW)
    with pytest.raises(ValidationFailed):
        order.add_comment("dispatcher", "x" * 2001, NOW)
    assert [c.text for c in order.comments] == ["Gate code 1234"]


def test_a_work_order_keeps_at_most_200_comments_and_each_event_carries_one() -> None:
    order = work_order()
    for n in range(COMMENTS_PER_ORDER):
        order.add_comment("dispatcher", f"note {n}", NOW)
    event = order.events[-1].payload()
    assert set(event) >= {"work_order_id", "version", "comment"}
    assert "work_order" not in event and event["comment"]["text"] == "note 199"
    with pytest.raises(Conflict) as caught:
        order.add_comment("dispatcher", "one more", NOW)
    assert caught.value.code == "too_many_comments"
    assert len(order.comments) == COMMENTS_PER_ORDER


def test_the_version_moves_once_per_unit_of_work() -> None:
    order = work_order(version=3)
    order.assign("tech-1", NOW)
    order.accept("tech-1", NOW)
    assert order.version == 4
    order.mark_persisted()
    order.start_travel("tech-1", NOW)
    assert order.version == 5


def test_priorities_rank_emergencies_first() -> None:
    ranked = sorted(Priority, key=lambda p: p.rank)
    assert ranked == [Priority.EMERGENCY, Priority.HIGH, Priority.NORMAL, Priority.LOW]


def test_an_event_shows_the_version_its_change_creates() -> None:
    order = work_order(version=2)
    order.assign("tech-1", NOW)
    order.accept("tech-1", NOW)
    assert [e.payload()["work_order"]["version"] for e in order.events] == [3, 3]
