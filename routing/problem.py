"""Plain, picklable input and output types of the routing package.

Times are integer seconds measured from the plan's reference instant (``DispatchProblem.now`` is
on the same clock), so the solver never handles datetimes or time zones; the adapter from the
domain model converts once at the edge. Distances are metres.

Everything here is a frozen dataclass of builtins and tuples, so problems and solutions can cross
a process boundary (``ProcessPoolExecutor``) unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Priority = Literal["emergency", "high", "normal", "low"]
PRIORITIES: tuple[Priority, ...] = ("emergency", "high", "normal", "low")

ReasonCode = Literal[
    "no_skilled_technician",
    "pinned_technician_unavailable",
    "window_unreachable",
    "no_capacity",
    "low_priority_deferred",
    "started_job_infeasible",
]


@dataclass(frozen=True, slots=True)
class Location:
    """A WGS84 point in decimal degrees."""

    lat: float
    lon: float

    def __post_init__(self) -> None:
        if not (-90.0 <= self.lat <= 90.0 and -180.0 <= self.lon <= 180.0):
            raise ValueError(f"location out of range: ({self.lat}, {self.lon})")


@dataclass(frozen=True, slots=True)
class Vehicle:
    """A technician in a van, as the solver sees it.

    ``start`` is where the technician is now (latest position) or their store; ``end`` is where
    the day must finish (``None``: the route ends at the last job). The route may not leave before
    ``max(shift_start, now)`` and must be finished (back at ``end`` if given) by ``shift_end``.
    ``capacity`` limits the number of jobs on the route when set.
    """

    technician_id: str
    start: Location
    shift_start: int
    shift_end: int
    end: Location | None = None
    skills: frozenset[str] = frozenset()
    capacity: int | None = None

    def __post_init__(self) -> None:
        if self.shift_end < self.shift_start:
            raise ValueError(f"technician {self.technician_id}: shift ends before it starts")
        if self.capacity is not None and self.capacity < 0:
            raise ValueError(f"technician {self.technician_id}: negative capacity")


@dataclass(frozen=True, slots=True)
class CurrentAssignment:
    """Where a job sits in the plan the dispatcher currently has (for stability and warm start)."""

    technician_id: str
    sequence: int


@dataclass(frozen=True, slots=True)
class Job:
    """A work order to be visited.

    The time window bounds the *start* of service. It is hard unless ``soft_window`` is set, in
    which case starting up to ``DispatchSettings.max_lateness_s`` after ``window_end`` is allowed
    at a cost per minute. ``started_by`` marks a job whose technician is already en route or on
    site: it stays first on that technician's route whatever its window says, and
    ``service_s`` should then be the remaining service time.
    """

    id: str
    location: Location
    window_start: int
    window_end: int
    service_s: int
    priority: Priority = "normal"
    required_skills: frozenset[str] = frozenset()
    pinned_to: str | None = None
    started_by: str | None = None
    current: CurrentAssignment | None = None
    soft_window: bool = False

    def __post_init__(self) -> None:
        if self.window_end < self.window_start:
            raise ValueError(f"job {self.id}: window ends before it starts")
        if self.service_s < 0:
            raise ValueError(f"job {self.id}: negative service time")
        if self.priority not in PRIORITIES:
            raise ValueError(f"job {self.id}: unknown priority {self.priority!r}")


@dataclass(frozen=True, slots=True)
class DispatchSettings:
    """The knobs of the dispatch objective; the defaults are what the board uses.

    Costs are in the solver's unit, one second of driving. Drop penalties are ordered so that
    the solver gives up low-priority work first and emergencies practically never.
    """

    drop_penalty: tuple[tuple[Priority, int], ...] = (
        ("emergency", 1_000_000_000),
        ("high", 50_000_000),
        ("normal", 5_000_000),
        ("low", 200_000),
    )
    lateness_cost_per_minute: int = 600
    max_lateness_s: int = 2 * 3600
    stability_cost: int = 1_800
    emergency_delay_cost_per_minute: int = 300
    time_limit_s: float = 5.0
    warm_start: bool = True

    def penalty(self, priority: Priority) -> int:
        return dict(self.drop_penalty)[priority]


@dataclass(frozen=True, slots=True)
class DispatchProblem:
    """The live state a plan is computed from: who is available, what has to be done, and when."""

    now: int
    vehicles: tuple[Vehicle, ...]
    jobs: tuple[Job, ...]
    settings: DispatchSettings = field(default_factory=DispatchSettings)

    def __post_init__(self) -> None:
        tech_ids = [v.technician_id for v in self.vehicles]
        if len(set(tech_ids)) != len(tech_ids):
            raise ValueError("duplicate technician id")
        job_ids = [j.id for j in self.jobs]
        if len(set(job_ids)) != len(job_ids):
            raise ValueError("duplicate job id")
        known = set(tech_ids)
        for job in self.jobs:
            for who in (job.pinned_to, job.started_by):
                if who is not None and who not in known:
                    raise ValueError(f"job {job.id} refers to unknown technician {who}")
            if job.pinned_to and job.started_by and job.pinned_to != job.started_by:
                raise ValueError(f"job {job.id} is pinned to one technician and started by another")


@dataclass(frozen=True, slots=True)
class Stop:
    """One visit on a route: arrival, start of service (after waiting), and end of service."""

    job_id: str
    arrival: int
    start: int
    end: int
    lateness_s: int = 0


@dataclass(frozen=True, slots=True)
class Route:
    technician_id: str
    stops: tuple[Stop, ...]
    drive_s: int
    drive_m: int
    finish: int

    @property
    def job_ids(self) -> tuple[str, ...]:
        return tuple(s.job_id for s in self.stops)


@dataclass(frozen=True, slots=True)
class DroppedJob:
    """A job the plan leaves out, with a reason code and a readable message."""

    job_id: str
    reason: ReasonCode
    message: str


@dataclass(frozen=True, slots=True)
class Kpis:
    drive_km: float
    lateness_minutes: float
    jobs_served: int
    jobs_moved: int


@dataclass(frozen=True, slots=True)
class Plan:
    routes: tuple[Route, ...]
    dropped: tuple[DroppedJob, ...]
    kpis: Kpis

    def assignment(self) -> dict[str, tuple[str, int]]:
        """Job id -> (technician id, position) for every served job."""
        return {
            stop.job_id: (route.technician_id, pos)
            for route in self.routes
            for pos, stop in enumerate(route.stops)
        }


@dataclass(frozen=True, slots=True)
class Reassignment:
    """One line of the diff against the current plan: a job whose technician changes.
    ``from_technician`` is ``None`` for a job that was not assigned; ``to_technician`` is ``None``
    (and ``eta`` too) for a job the plan leaves out."""

    job_id: str
    from_technician: str | None
    to_technician: str | None
    position: int | None
    eta: int | None


@dataclass(frozen=True, slots=True)
class DispatchSolution:
    """What ``plan()`` hands back: the new plan, the diff against the current one (the jobs whose
    technician changes), KPIs before and after, and how the solve went."""

    plan: Plan
    reassignments: tuple[Reassignment, ...]
    kpis_before: Kpis
    kpis_after: Kpis
    solve_seconds: float
    status: str
