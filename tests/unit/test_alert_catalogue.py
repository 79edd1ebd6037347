"""The alert catalogue's rules, table-driven: every kind fires on its trigger and not otherwise,
on a fixed instant (no clock is read); the admins' numbers, templates and switches take effect;
happenings are raised once and clear on their own."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from domain.alert_catalogue import RuleOverride
from domain.alert_facts import (
    DeadWebhooks,
    Happening,
    IntegrationHealth,
    OrderFacts,
    ProposalFacts,
    StoreFacts,
    SystemFacts,
    TechnicianFacts,
    World,
)
from domain.alert_happenings import database_outage, from_event, partner_change
from domain.alert_kinds import CATALOGUE, rule_book
from domain.alert_rules import reconcile
from domain.alerts import EVENT_KINDS, Alert, AlertKind, Severity
from domain.follow_ups import job_failed_alert
from domain.resources import TechnicianStatus
from domain.work_orders import Priority, WorkOrderStatus
from tests.unit.factories import technician, work_order

T0 = dt.datetime(2026, 7, 14, 15, 0, tzinfo=dt.UTC)
MIN = dt.timedelta(minutes=1)
K = AlertKind
_W, _T = WorkOrderStatus, TechnicianStatus
STORES = {"store-1": StoreFacts("Dallas Downtown", 32.78, -96.80, "America/Chicago")}


def order(**changes: Any) -> OrderFacts:
    values: dict[str, Any] = {"id": "wo-1", "store_id": "store-1", "priority": Priority.NORMAL,
                              "status": _W.NEW, "created_at": T0 - 30 * MIN,
                              "description": "No cooling", "address": "1 Main St",
                              "lat": 32.78, "lon": -96.80}
    values.update(changes)
    return OrderFacts(**values)


def tech(**changes: Any) -> TechnicianFacts:
    values: dict[str, Any] = {"id": "tech-1", "name": "Maria", "home_store_id": "store-1",
                              "status": _T.AVAILABLE}
    values.update(changes)
    return TechnicianFacts(**values)


def world(**facts: Any) -> World:
    return World(stores=STORES, technician_names={"tech-1": "Maria"}, **facts)


def orders(*items: OrderFacts) -> World:
    return world(orders=items)


def techs(*items: TechnicianFacts) -> World:
    return world(technicians=items)


def happened(kind: K, at: dt.datetime = T0 - MIN, tag: str = "", **fields: str) -> World:
    return world(happenings=(Happening(kind=kind, key="h-1", at=at, tag=tag,
                                       store_id="store-1", work_order_id="wo-1",
                                       fields=dict(fields)),))


ASSIGNED: dict[str, Any] = {"status": _W.ASSIGNED, "technician_id": "tech-1"}
ACCEPTED: dict[str, Any] = {"status": _W.ACCEPTED, "technician_id": "tech-1"}
ON_ROAD: dict[str, Any] = {"status": _T.EN_ROUTE, "unit_id": "unit-1"}
SHIFT: dict[str, Any] = {"shift_end": T0 + 8 * 60 * MIN, "status": _T.OFF_DUTY, "open_jobs": 2}
FIX: dict[str, Any] = {"unit_id": "unit-1", "last_fix_at": T0 - MIN, "lat": 32.78, "lon": -96.80}
EN_ROUTE_FAR: dict[str, Any] = {"status": _W.EN_ROUTE, "technician_id": "tech-1", "window_end": T0 + 30 * MIN}
#: About 45 km north of the job (40 km/h: an hour and more away).
FAR_FIX: dict[str, Any] = {"status": _T.EN_ROUTE, "unit_id": "unit-1", "last_fix_at": T0, "lat": 33.19,
           "lon": -96.80}
NEAR_FIX: dict[str, Any] = {**FAR_FIX, "lat": 32.80}
PROPOSAL: dict[str, Any] = {"id": "prop-1", "expires_at": T0 + 20 * MIN,
                            "store_ids": ("store-1",), "moves": 3}


def system(**facts: Any) -> World:
    return world(system=SystemFacts(**facts))


def errors(n: int) -> tuple[tuple[dt.datetime, str], ...]:
    return tuple((T0 - n * MIN + i * MIN, f"boom {i}") for i in range(n))


#: (kind, a world where it fires, a world just short of its trigger), at T0 with the defaults.
CASES: list[tuple[K, World, World]] = [
    (K.NEW_ORDER, happened(K.NEW_ORDER, tag="high"),
     happened(K.NEW_ORDER, tag="emergency")),  # emergencies have their own kind
    (K.EMERGENCY_ORDER, orders(order(priority=Priority.EMERGENCY)),
     orders(order(priority=Priority.EMERGENCY, **ASSIGNED))),
    (K.URGENT_ORDER, orders(order(priority=Priority.HIGH, created_at=T0 - 10 * MIN)),
     orders(order(priority=Priority.HIGH, created_at=T0 - 9 * MIN))),
    (K.ORDER_COMMENT, happened(K.ORDER_COMMENT, author="tech1", comment="Gate code 1234"),
     happened(K.ORDER_COMMENT, at=T0 - 60 * MIN, author="tech1", comment="old news")),
    (K.CUSTOMER_NOTE, happened(K.CUSTOMER_NOTE, author="service", comment="After 2 pm"),
     happened(K.CUSTOMER_NOTE, at=T0 - 61 * MIN, author="service", comment="old news")),
    (K.PARTNER_CHANGE, happened(K.PARTNER_CHANGE, partner="acme", change="cancelled"),
     happened(K.PARTNER_CHANGE, at=T0 - 2 * 60 * MIN, partner="acme", change="cancelled")),
    (K.ASSIGNMENT_NOT_ACCEPTED, orders(order(status_changed_at=T0 - 15 * MIN, **ASSIGNED)),
     orders(order(status_changed_at=T0 - 14 * MIN, **ASSIGNED))),
    (K.JOB_DECLINED, orders(order(declined_by="tech-1", decline_reason="van broke down")),
     orders(order(declined_by="tech-1", **ASSIGNED))),
    (K.TECHNICIAN_STATUS, happened(K.TECHNICIAN_STATUS, tag="unavailable"),
     happened(K.TECHNICIAN_STATUS, tag="on_break")),
    (K.RUNNING_LATE, orders(order(window_end=T0 + 30 * MIN, planned_arrival=T0 + 31 * MIN,
                                  **ACCEPTED)),
     orders(order(window_end=T0 + 30 * MIN, planned_arrival=T0 + 29 * MIN, **ACCEPTED))),
    (K.JOB_LATE, orders(order(window_end=T0 - MIN, **ACCEPTED)),
     orders(order(window_end=T0 + MIN, **ACCEPTED))),
    (K.NO_SHOW, techs(tech(shift_start=T0 - 15 * MIN, **SHIFT)),
     techs(tech(shift_start=T0 - 14 * MIN, **SHIFT))),
    (K.TRACKER_STALE, techs(tech(last_fix_at=T0 - 5 * MIN, **ON_ROAD)),
     techs(tech(last_fix_at=T0 - 4 * MIN, **ON_ROAD))),
    (K.TRACKER_OFFLINE, techs(tech(last_fix_at=T0 - 30 * MIN, **ON_ROAD)),
     techs(tech(last_fix_at=T0 - 29 * MIN, **ON_ROAD))),
    (K.SPEEDING, techs(tech(speed_kmh=121, **FIX)), techs(tech(speed_kmh=120, **FIX))),
    (K.OUT_OF_AREA, techs(tech(**{**FIX, "lat": 33.55})),  # ~86 km north of the store
     techs(tech(**{**FIX, "lat": 33.45}))),               # ~75 km
    (K.PROPOSAL_WAITING, world(proposals=(ProposalFacts(created_at=T0 - 10 * MIN, **PROPOSAL),)),
     world(proposals=(ProposalFacts(created_at=T0 - 9 * MIN, **PROPOSAL),))),
    (K.INTEGRATION_FAILING, world(integrations=(IntegrationHealth("geotab", 3, "timeout"),)),
     world(integrations=(IntegrationHealth("geotab", 2, "timeout"),))),
    (K.WEBHOOK_DEAD, world(dead_webhooks=(DeadWebhooks("acme", 1, "HTTP 503"),)),
     world(dead_webhooks=(DeadWebhooks("acme", 0),))),
    (K.SYSTEM_ERROR, system(relay_lag_seconds=60.0), system(relay_lag_seconds=59.0)),
]
#: Raised by a use case in the change's own transaction (tested with their use cases).
BY_USE_CASE = EVENT_KINDS


def raised(w: World, now: dt.datetime = T0, **book: Any) -> dict[str, K]:
    plan = reconcile([], w, now, book=rule_book(**book) if book else None)
    return {c.dedup_key: c.kind for c in plan.raise_}


def test_every_kind_is_in_the_catalogue_and_has_a_case() -> None:
    assert set(CATALOGUE) == set(AlertKind)
    assert {kind for kind, _, _ in CASES} | BY_USE_CASE == set(AlertKind)
    assert len(AlertKind) >= 19


@pytest.mark.parametrize(("kind", "fires", "quiet"), CASES, ids=[c[0].value for c in CASES])
def test_each_kind_fires_on_its_trigger_and_not_otherwise(kind: K, fires: World,
                                                          quiet: World) -> None:
    found = raised(fires)
    assert list(found.values()) == [kind], found
    assert kind not in raised(quiet).values()
    [candidate] = reconcile([], fires, T0).raise_
    assert candidate.severity == CATALOGUE[kind].severity
    assert candidate.title and "{" not in candidate.title and "{" not in candidate.message


@pytest.mark.parametrize(("kind", "fires", "quiet"), CASES, ids=[c[0].value for c in CASES])
def test_a_kind_switched_off_raises_nothing_and_its_live_alert_goes(kind: K, fires: World,
                                                                    quiet: World) -> None:
    off = [RuleOverride(kind=kind, enabled=False, version=1)]
    assert kind not in raised(fires, overrides=off).values()
    [candidate] = reconcile([], fires, T0).raise_
    live = Alert.raise_for(candidate, T0 - MIN)
    assert reconcile([live], fires, T0, book=rule_book(off)).resolve == (live.id,)


def test_a_van_on_the_way_too_far_to_make_the_window_is_running_late() -> None:
    late = world(orders=(order(**EN_ROUTE_FAR),), technicians=(tech(**FAR_FIX),))
    assert list(raised(late).values()) == [K.RUNNING_LATE]
    [candidate] = reconcile([], late, T0).raise_
    assert "the window ends at 10:30" in candidate.message  # the store's clock (CDT)
    close = world(orders=(order(**EN_ROUTE_FAR),), technicians=(tech(**NEAR_FIX),))
    assert raised(close) == {}
    past = world(orders=(order(**{**EN_ROUTE_FAR, "window_end": T0 - MIN}),),
                 technicians=(tech(**FAR_FIX),))
    assert K.RUNNING_LATE not in raised(past).values()  # too late to warn: job_late's turn


def test_stale_gives_way_to_offline_unless_offline_is_switched_off() -> None:
    quiet_long = techs(tech(last_fix_at=T0 - 40 * MIN, **ON_ROAD))
    assert list(raised(quiet_long).values()) == [K.TRACKER_OFFLINE]
    off = [RuleOverride(kind=K.TRACKER_OFFLINE, enabled=False, version=1)]
    assert list(raised(quiet_long, overrides=off).values()) == [K.TRACKER_STALE]


def test_system_errors_count_unhandled_errors_in_the_window_and_redis_being_down() -> None:
    assert raised(system(exceptions=errors(5))) == {"system_error:exceptions": K.SYSTEM_ERROR}
    assert raised(system(exceptions=errors(4))) == {}
    old = tuple((at - 30 * MIN, what) for at, what in errors(5))
    assert raised(system(exceptions=old)) == {}
    assert raised(system(redis_error="ConnectionError")) == {"system_error:redis": K.SYSTEM_ERROR}
    assert raised(system(redis_error="")) == {}


def test_edited_numbers_and_templates_take_effect_in_the_next_pass() -> None:
    waited = orders(order(priority=Priority.HIGH, created_at=T0 - 6 * MIN))
    assert raised(waited) == {}
    edited = [RuleOverride(kind=K.URGENT_ORDER, settings={"after_minutes": 5},
                           template="{store}: {order_id} waits ({waited})", version=1,
                           severity=Severity.CRITICAL)]
    [candidate] = reconcile([], waited, T0, book=rule_book(edited)).raise_
    assert candidate.kind == K.URGENT_ORDER and candidate.severity == Severity.CRITICAL
    assert candidate.message == "Dallas Downtown: wo-1 waits (6 min)"


def test_a_happening_is_raised_once_and_clears_after_its_time() -> None:
    news = dataclasses.replace(happened(K.ORDER_COMMENT, author="tech1",
                                        comment="Gate code 1234"), orders=(order(),))
    [candidate] = reconcile([], news, T0).raise_
    assert candidate.dedup_key == "order_comment:h-1"
    assert candidate.message == "No cooling (1 Main St): “Gate code 1234”"
    assert reconcile([], news, T0, raised=frozenset({"order_comment:h-1"})).empty
    live = Alert.raise_for(candidate, T0)
    assert reconcile([live], news, T0 + 59 * MIN, raised=frozenset({live.dedup_key})).empty
    cleared = reconcile([live], news, T0 + 60 * MIN, raised=frozenset({live.dedup_key}))
    assert cleared.resolve == (live.id,)


def test_a_new_order_clears_once_it_is_assigned() -> None:
    booked = dataclasses.replace(happened(K.NEW_ORDER, tag="normal"), orders=(order(),))
    [candidate] = reconcile([], booked, T0).raise_
    live = Alert.raise_for(candidate, T0)
    keys = frozenset({live.dedup_key})
    assert reconcile([live], booked, T0 + MIN, raised=keys).empty
    taken = dataclasses.replace(booked, orders=(order(**ASSIGNED),))
    assert reconcile([live], taken, T0 + MIN, raised=keys).resolve == (live.id,)


def test_happenings_are_read_from_published_events_and_the_partner_ledger() -> None:
    created = from_event(41, "WorkOrderCreated", T0, {"work_order": {
        "id": "wo-9", "priority": "high", "channel": "partner", "description": "Leak",
        "address": "2 Elm St"}}, store_id="store-1", technician_id=None)
    assert created is not None and created.kind == K.NEW_ORDER and created.key == "wo-9"
    note = from_event(42, "WorkOrderCommented", T0, {"work_order_id": "wo-9", "comment": {
        "author": "service", "text": "Call first", "visibility": "customer"}},
        store_id="store-1", technician_id=None)
    assert note is not None and note.kind == K.CUSTOMER_NOTE and note.key == "42"
    status = from_event(43, "TechnicianStatusChanged", T0, {"previous": "available",
                        "technician": {"name": "Maria", "status": "unavailable"}},
                        store_id="store-1", technician_id="tech-1")
    assert status is not None and status.tag == "unavailable"
    assert from_event(44, "WorkOrderAssigned", T0, {}, store_id=None, technician_id=None) is None
    change = partner_change(outcome="cancelled", at=T0, work_order_id="wo-9",
                            store_id="store-1", partner="acme", external_id="P-9", version=3)
    assert change is not None and change.key == "wo-9:v3"
    assert partner_change(outcome="blocked", at=T0, work_order_id="wo-9", store_id=None,
                          partner="acme", external_id="P-9", version=4) is None
    w = world(happenings=(created, note, status, change))
    assert sorted(raised(w).values()) == sorted([K.NEW_ORDER, K.CUSTOMER_NOTE,
                                                 K.TECHNICIAN_STATUS, K.PARTNER_CHANGE])


def test_a_database_outage_is_one_system_error_raised_once_it_is_over() -> None:
    outage = database_outage(T0 - 10 * MIN, T0, "OperationalError")
    [candidate] = reconcile([], world(happenings=(outage,)), T0).raise_
    assert candidate.kind == K.SYSTEM_ERROR and "did not answer for 10 min" in candidate.message
    live = Alert.raise_for(candidate, T0)
    # not a state the world reports: left alone until its time is up
    assert reconcile([live], world(), T0 + 59 * MIN, raised=frozenset({live.dedup_key})).empty


def test_speeding_stays_a_while_so_a_van_around_the_limit_is_one_alert() -> None:
    [candidate] = reconcile([], techs(tech(speed_kmh=130, **FIX)), T0).raise_
    live = Alert.raise_for(candidate, T0)
    slower = techs(tech(speed_kmh=100, **{**FIX, "last_fix_at": T0 + 4 * MIN}))
    assert reconcile([live], slower, T0 + 5 * MIN).empty
    later = techs(tech(speed_kmh=100, **{**FIX, "last_fix_at": T0 + 10 * MIN}))
    assert reconcile([live], later, T0 + 10 * MIN).resolve == (live.id,)


def test_use_case_kinds_render_with_the_catalogue_rule() -> None:
    original = work_order(technician_id="tech-1")
    original.status, original.status_reason = WorkOrderStatus.FAILED, "part missing"
    follow = work_order()
    book = rule_book([RuleOverride(kind=K.JOB_FAILED, template="{technician}: {reason}",
                                   version=1)])
    candidate = job_failed_alert(original, follow, book[K.JOB_FAILED],
                                 technician(name="Maria").name, "Dallas Downtown")
    assert candidate.message == "Maria: part missing"
    assert candidate.title == "Maria could not finish a job"
    assert candidate.dedup_key == f"job_failed:{follow.id}"
