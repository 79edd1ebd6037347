"""Small, readable dispatch worlds for the routing tests (a grid of streets around one store)."""

from __future__ import annotations

from routing.problem import (
    CurrentAssignment,
    DispatchProblem,
    DispatchSettings,
    Job,
    Location,
    Priority,
    Vehicle,
)

HOUR = 3600
NOW = 8 * HOUR
STORE = Location(45.50, -73.60)


def at(km_north: float, km_east: float) -> Location:
    """A point this many km north and east of the store (about 111 km per degree of latitude)."""
    return Location(STORE.lat + km_north / 111.2, STORE.lon + km_east / 78.0)


def technician(
    tech_id: str,
    *,
    where: Location = STORE,
    skills: frozenset[str] = frozenset(),
    shift_end: int = 17 * HOUR,
    capacity: int | None = None,
    end: Location | None = None,
) -> Vehicle:
    return Vehicle(
        technician_id=tech_id,
        start=where,
        shift_start=NOW,
        shift_end=shift_end,
        end=end,
        skills=skills,
        capacity=capacity,
    )


def job(
    job_id: str,
    where: Location,
    *,
    window: tuple[int, int] = (NOW, 17 * HOUR),
    service_min: int = 30,
    priority: Priority = "normal",
    skills: frozenset[str] = frozenset(),
    pinned_to: str | None = None,
    started_by: str | None = None,
    current: tuple[str, int] | None = None,
) -> Job:
    return Job(
        id=job_id,
        location=where,
        window_start=window[0],
        window_end=window[1],
        service_s=service_min * 60,
        priority=priority,
        required_skills=skills,
        pinned_to=pinned_to,
        started_by=started_by,
        current=CurrentAssignment(*current) if current else None,
    )


def problem(
    vehicles: list[Vehicle], jobs: list[Job], settings: DispatchSettings | None = None
) -> DispatchProblem:
    return DispatchProblem(
        now=NOW,
        vehicles=tuple(vehicles),
        jobs=tuple(jobs),
        settings=settings or DispatchSettings(time_limit_s=1.0),
    )
