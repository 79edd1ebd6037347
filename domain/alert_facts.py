"""What the alert rules see: plain facts the storage layer reads (``storage/alerts.py``) and the
process adds (feed health, system health), gathered in one ``World`` per pass."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from domain.alerts import AlertKind
from domain.resources import TechnicianStatus
from domain.work_orders import Priority, WorkOrderStatus


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
    #: When its status last changed (for an assigned order: since when it waits for acceptance).
    status_changed_at: dt.datetime | None = None
    #: The route's arrival time (the optimizer's or the dispatcher's plan).
    planned_arrival: dt.datetime | None = None
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True, slots=True)
class TechnicianFacts:
    """An active technician: status, today's shift, the van's latest fix and waiting jobs."""

    id: str
    name: str
    home_store_id: str
    status: TechnicianStatus
    shift_start: dt.datetime | None = None
    shift_end: dt.datetime | None = None
    unit_id: str | None = None
    last_fix_at: dt.datetime | None = None
    open_jobs: int = 0
    lat: float | None = None
    lon: float | None = None
    speed_kmh: float | None = None


@dataclass(frozen=True, slots=True)
class StoreFacts:
    name: str
    lat: float
    lon: float
    timezone: str = "UTC"


@dataclass(frozen=True, slots=True)
class IntegrationHealth:
    """An external feed as this process sees it: failures since its last success."""

    name: str
    consecutive_failures: int
    last_error: str = ""


@dataclass(frozen=True, slots=True)
class ProposalFacts:
    """An optimizer proposal nobody confirmed or rejected yet."""

    id: str
    created_at: dt.datetime
    expires_at: dt.datetime
    store_ids: tuple[str, ...] = ()
    moves: int = 0
    scope: str = ""


@dataclass(frozen=True, slots=True)
class DeadWebhooks:
    """Outbound webhooks to one partner that gave up after every attempt (not replayed)."""

    partner: str
    count: int
    last_error: str = ""


@dataclass(frozen=True, slots=True)
class SystemFacts:
    """The platform's health as the process running the rules sees it. ``None``: not known here
    (its alert is then left alone rather than resolved)."""

    #: Unhandled errors (a 500 answered, a background worker crashing) in any process: when each
    #: happened and what it was, newest last.
    exceptions: tuple[tuple[dt.datetime, str], ...] | None = None
    #: Age of the oldest event the relay has not published yet (0: none waiting).
    relay_lag_seconds: float | None = None
    #: Redis: "" answers, a reason when it does not, None when no Redis is configured.
    redis_error: str | None = None


@dataclass(frozen=True, slots=True)
class Happening:
    """Something that happened, raised as one alert of its kind: ``key`` names it for good (an
    event's sequence number, a partner's order version), so it is raised once however often it
    is read. ``fields`` are the values its template may name."""

    kind: AlertKind
    key: str
    at: dt.datetime
    fields: dict[str, str] = field(default_factory=dict)
    store_id: str | None = None
    technician_id: str | None = None
    work_order_id: str | None = None
    #: What the kind's choice settings filter on (a priority, a technician status).
    tag: str = ""


@dataclass(frozen=True, slots=True)
class World:
    orders: tuple[OrderFacts, ...] = ()
    technicians: tuple[TechnicianFacts, ...] = ()
    integrations: tuple[IntegrationHealth, ...] = ()
    technician_names: dict[str, str] = field(default_factory=dict)
    stores: dict[str, StoreFacts] = field(default_factory=dict)
    proposals: tuple[ProposalFacts, ...] = ()
    dead_webhooks: tuple[DeadWebhooks, ...] | None = None
    system: SystemFacts = field(default_factory=SystemFacts)
    happenings: tuple[Happening, ...] = ()

    def name_of(self, technician_id: str | None) -> str:
        if technician_id is None:
            return "nobody"
        return self.technician_names.get(technician_id, technician_id)

    def store_name(self, store_id: str | None) -> str:
        if store_id is None:
            return "—"
        found = self.stores.get(store_id)
        return found.name if found is not None else store_id

    def order(self, order_id: str | None) -> OrderFacts | None:
        return next((o for o in self.orders if o.id == order_id), None)
