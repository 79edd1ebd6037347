"""The technician and van kinds' rules: no-shows, trackers gone quiet, speeding and leaving the
service area. Each a small pure function of the world, ``now`` and the catalogue."""

from __future__ import annotations

import datetime as dt

from domain.alert_catalogue import RuleBook
from domain.alert_facts import TechnicianFacts, World
from domain.alert_fields import ago, technician_fields
from domain.alert_rules_orders import StateRule
from domain.alerts import AlertCandidate, AlertKind
from domain.notifications import distance_km
from domain.resources import TechnicianStatus

_K = AlertKind
ON_THE_ROAD = frozenset({TechnicianStatus.EN_ROUTE, TechnicianStatus.ON_SITE})


def no_show(world: World, now: dt.datetime, book: RuleBook) -> list[AlertCandidate]:
    rule = book[_K.NO_SHOW]
    out = []
    for t in world.technicians:
        if t.shift_start is None or t.shift_end is None:
            continue
        in_shift = t.shift_start + rule.minutes("grace_minutes") <= now < t.shift_end
        if in_shift and t.status == TechnicianStatus.OFF_DUTY and t.open_jobs > 0:
            out.append(rule.candidate(
                t.id, {**technician_fields(t, world), "since": ago(now - t.shift_start),
                       "jobs": str(t.open_jobs)},
                store_id=t.home_store_id, technician_id=t.id))
    return out


def _quiet_for(t: TechnicianFacts, now: dt.datetime) -> dt.timedelta | None:
    """How long the van on the road has sent nothing (None: not on the road, or no van)."""
    if t.status not in ON_THE_ROAD or t.unit_id is None or t.last_fix_at is None:
        return None
    return now - t.last_fix_at


def tracker_stale(world: World, now: dt.datetime, book: RuleBook) -> list[AlertCandidate]:
    """Quiet for a while, but not yet long enough to count as offline (when that kind is on)."""
    rule, offline = book[_K.TRACKER_STALE], book[_K.TRACKER_OFFLINE]
    out = []
    for t in world.technicians:
        age = _quiet_for(t, now)
        if age is None or age < rule.minutes("after_minutes"):
            continue
        if offline.enabled and age >= offline.minutes("after_minutes"):
            continue
        out.append(rule.candidate(t.id, {**technician_fields(t, world), "quiet_for": ago(age)},
                                  store_id=t.home_store_id, technician_id=t.id))
    return out


def tracker_offline(world: World, now: dt.datetime, book: RuleBook) -> list[AlertCandidate]:
    rule = book[_K.TRACKER_OFFLINE]
    out = []
    for t in world.technicians:
        age = _quiet_for(t, now)
        if age is not None and age >= rule.minutes("after_minutes"):
            out.append(rule.candidate(t.id, {**technician_fields(t, world), "quiet_for": ago(age)},
                                      store_id=t.home_store_id, technician_id=t.id))
    return out


def _fresh_fix(t: TechnicianFacts, now: dt.datetime, book: RuleBook) -> bool:
    """A van on duty whose latest fix is newer than the tracker-stale threshold: an old fix
    says nothing about where the van is or how fast it goes now."""
    return (t.status != TechnicianStatus.OFF_DUTY and t.last_fix_at is not None
            and t.lat is not None and t.lon is not None
            and now - t.last_fix_at < book[_K.TRACKER_STALE].minutes("after_minutes"))


def speeding(world: World, now: dt.datetime, book: RuleBook) -> list[AlertCandidate]:
    rule = book[_K.SPEEDING]
    limit = rule.number("limit_kmh")
    return [rule.candidate(t.id, {**technician_fields(t, world), "speed": f"{t.speed_kmh:.0f}",
                                  "limit": f"{limit:g}"},
                           store_id=t.home_store_id, technician_id=t.id)
            for t in world.technicians
            if _fresh_fix(t, now, book) and t.speed_kmh is not None and t.speed_kmh > limit]


def out_of_area(world: World, now: dt.datetime, book: RuleBook) -> list[AlertCandidate]:
    """The van is farther from its home store (straight line) than the service area's radius."""
    rule = book[_K.OUT_OF_AREA]
    limit = rule.number("max_km")
    out = []
    for t in world.technicians:
        store = world.stores.get(t.home_store_id)
        if store is None or not _fresh_fix(t, now, book):
            continue
        assert t.lat is not None and t.lon is not None
        km = distance_km((t.lat, t.lon), (store.lat, store.lon))
        if km > limit:
            out.append(rule.candidate(
                t.id, {**technician_fields(t, world), "distance": f"{km:.0f}",
                       "limit": f"{limit:g}"},
                store_id=t.home_store_id, technician_id=t.id))
    return out


RULES: dict[AlertKind, StateRule] = {
    _K.NO_SHOW: no_show, _K.TRACKER_STALE: tracker_stale, _K.TRACKER_OFFLINE: tracker_offline,
    _K.SPEEDING: speeding, _K.OUT_OF_AREA: out_of_area,
}
