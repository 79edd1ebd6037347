"""Generate the demo company: deterministic for a seed and a day, built from domain objects.

Everything passes through the domain constructors, so the demo data obeys the same rules as data
entered through the API (valid locations, windows, one trip ticket per dispatch, no double-booked
unit, invoices on valid sales orders).
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from domain.billing import main_skill
from domain.dispatch import Dispatch, DispatchStatus, Invoice, SalesOrder, TripTicket
from domain.geo import Location, TimeWindow
from domain.payments import Payment
from domain.resources import (
    Customer,
    OpeningHours,
    Shift,
    Store,
    Technician,
    TechnicianStatus,
    Unit,
)
from domain.work_orders import Channel, Priority, WorkOrder, WorkOrderStatus
from web.demo.billing_history import CLERK, billing_history
from web.demo.geography import (
    FIRST_NAMES,
    JOB_TEMPLATES,
    LAST_NAMES,
    SKILLS,
    STREETS,
    TOWNS,
    VAN_MODELS,
)

TIMEZONE = ZoneInfo("America/Chicago")
SYSTEM_USER = "00000000-0000-0000-0000-000000000000"


@dataclass
class Scenario:
    stores: list[Store] = field(default_factory=list)
    units: list[Unit] = field(default_factory=list)
    technicians: list[Technician] = field(default_factory=list)
    customers: list[Customer] = field(default_factory=list)
    work_orders: list[WorkOrder] = field(default_factory=list)
    trip_tickets: list[TripTicket] = field(default_factory=list)
    sales_orders: list[SalesOrder] = field(default_factory=list)
    invoices: list[Invoice] = field(default_factory=list)
    dispatches: list[Dispatch] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)


def _near(rng: random.Random, lat: float, lon: float, km: float) -> Location:
    """A point about ``km`` (standard deviation) from a centre."""
    d_lat = rng.gauss(0.0, km) / 111.0
    d_lon = rng.gauss(0.0, km) / (111.0 * math.cos(math.radians(lat)))
    return Location(round(lat + d_lat, 6), round(lon + d_lon, 6))


def _address(rng: random.Random, town: str) -> str:
    return f"{rng.randint(100, 9899)} {rng.choice(STREETS)}, {town}, TX"


def _person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


class WorkDay:
    """The demo's working day, placed so that ``now`` falls inside it, whatever the hour.

    Between 9:00 and 12:59 in the stores' zone the day runs on the local clock; at any other hour it
    is moved so that now falls at 11:mm of it. Either way the board opens on a day in progress:
    every shift (6:00-18:00 at the widest, 16:00 at the earliest end) is on, and windows lie
    behind and ahead. ``at(hour, minute)`` counts whole minutes from now, so a daylight-saving
    change or midnight between two hours of the day cannot bend it.
    """

    FIRST_LOCAL_HOUR = 9
    LAST_LOCAL_HOUR = 12
    MOVED_TO_HOUR = 11

    def __init__(self, now: dt.datetime) -> None:
        if now.tzinfo is None:
            raise ValueError("the demo day needs an aware datetime")
        self.now = now.astimezone(dt.UTC)
        local = now.astimezone(TIMEZONE)
        on_clock = self.FIRST_LOCAL_HOUR <= local.hour <= self.LAST_LOCAL_HOUR
        #: The demo clock's reading at ``now`` (time since the day's midnight).
        self.clock = dt.timedelta(
            hours=local.hour if on_clock else self.MOVED_TO_HOUR, minutes=local.minute,
            seconds=local.second, microseconds=local.microsecond)
        self.moved = not on_clock

    def at(self, hour: int, minute: int = 0) -> dt.datetime:
        """The instant at which the demo day's clock reads ``hour:minute``."""
        return self.now + dt.timedelta(hours=hour, minutes=minute) - self.clock

    @property
    def alive_until(self) -> dt.datetime:
        """Until then the day is still in progress (an hour before the first shifts end); after
        it, ``dispatch demo`` seeds a new day."""
        return self.at(15)


def build(
    *, stores: int = 200, technicians: int = 200, orders: int = 300, seed: int = 7,
    now: dt.datetime | None = None, history: bool = True,
) -> Scenario:
    """The demo company for the day of ``now`` (default: today); with ``history``, also the
    billing of the jobs finished over the months before (``billing_history.py``)."""
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    rng = random.Random(seed)
    day = WorkDay(now)
    sc = Scenario()
    towns = [TOWNS[i % len(TOWNS)] for i in range(stores)]
    for i, (town, lat, lon, region) in enumerate(towns, start=1):
        sc.stores.append(Store(
            id=f"store-{i:04d}", code=f"S{i:04d}", name=f"{town} #{(i - 1) // len(TOWNS) + 1}",
            location=_near(rng, lat, lon, 4.0), region=region,
            hours=OpeningHours(dt.time(7, 0), dt.time(19, 0)), address=_address(rng, town),
            timezone="America/Chicago",
        ))
    town_of = {s.id: towns[i][0] for i, s in enumerate(sc.stores)}

    for i in range(1, technicians + 1):
        home = sc.stores[(i - 1) % stores]
        unit = Unit(
            id=f"unit-{i:04d}", name=f"VAN-{i:04d}", home_store_id=home.id,
            geotab_device_id=f"b{i:X}", plate=f"TX-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
            model=rng.choice(VAN_MODELS),
        )
        sc.units.append(unit)
        skills = frozenset(rng.sample(SKILLS, k=rng.choice((1, 2, 2, 3, 3, 4))))
        start_hour = rng.choice((6, 7, 7, 8))
        sc.technicians.append(Technician(
            id=f"tech-{i:04d}", name=_person(rng), home_store_id=home.id, skills=skills,
            shift=Shift(day.at(start_hour), day.at(start_hour + 10)),
            status=TechnicianStatus.AVAILABLE if rng.random() < 0.92 else TechnicianStatus.ON_BREAK,
            unit_id=unit.id, phone=f"+1214555{i:04d}",
        ))
    for i in range(1, max(4, technicians // 10) + 1):  # spare vans
        home = sc.stores[(i * 7) % stores]
        sc.units.append(Unit(
            id=f"unit-spare-{i:03d}", name=f"SPARE-{i:03d}", home_store_id=home.id,
            geotab_device_id=f"s{i:X}", model=rng.choice(VAN_MODELS),
            in_service=rng.random() < 0.8,
        ))

    for i in range(1, max(orders, stores) * 2 + 1):
        store = sc.stores[rng.randrange(stores)]
        loc = _near(rng, store.location.lat, store.location.lon, 5.0)
        sc.customers.append(Customer(
            id=f"cust-{i:05d}", name=_person(rng), phone=f"+1972555{i % 10000:04d}",
            email=f"customer{i}@example.com", address=_address(rng, town_of[store.id]),
            location=loc, sms_opt_in=rng.random() < 0.6, home_store_id=store.id,
        ))

    _work_orders(sc, rng, orders, day, now)
    _billing(sc, rng, now)
    if history:
        billing_history(sc, now, seed=seed, jobs=max(12, orders // 3))
    return sc


def _work_orders(sc: Scenario, rng: random.Random, count: int, day: WorkDay,
                 now: dt.datetime) -> None:
    region_of = {store.id: store.region for store in sc.stores}
    techs_by_store: dict[str, list[Technician]] = {}
    techs_by_region: dict[str, list[Technician]] = {}
    for tech in sc.technicians:
        techs_by_store.setdefault(tech.home_store_id, []).append(tech)
        techs_by_region.setdefault(region_of[tech.home_store_id], []).append(tech)
    priorities = (Priority.EMERGENCY, Priority.HIGH, Priority.NORMAL, Priority.LOW)
    driving: set[str] = set()
    for i in range(1, count + 1):
        customer = sc.customers[rng.randrange(len(sc.customers))]
        store_id = customer.home_store_id or sc.stores[0].id
        text, skill, minutes = rng.choice(JOB_TEMPLATES)
        priority = rng.choices(priorities, weights=(3, 17, 60, 20))[0]
        start_hour = rng.randint(8, 15)
        window = TimeWindow(day.at(start_hour), day.at(start_hour + rng.choice((2, 3, 4))))
        # Emergencies are new (an old one would have been handled); the rest trickled in all day.
        created = now - dt.timedelta(
            minutes=rng.randint(2, 40) if priority == Priority.EMERGENCY else rng.randint(5, 600))
        assert customer.location is not None
        order = WorkOrder(
            id=f"wo-{i:06d}", store_id=store_id, priority=priority, location=customer.location,
            description=text, created_at=created, created_by=SYSTEM_USER,
            customer_id=customer.id, address=customer.address,
            time_window=None if priority == Priority.EMERGENCY else window,
            required_skills=frozenset({skill}) if skill else frozenset(),
            estimated_minutes=minutes, channel=_channel(i, priority),
        )
        # The store's own technicians first, else one from a store of the same region.
        able = ([t for t in techs_by_store.get(store_id, []) if order.required_skills <= t.skills]
                or [t for t in techs_by_region.get(region_of[store_id], [])
                    if order.required_skills <= t.skills])
        roll = rng.random()
        if able and roll < 0.45:
            tech = rng.choice(able)
            order.assign(tech.id, created + dt.timedelta(minutes=2))
            if roll < 0.25:
                order.accept(tech.id, created + dt.timedelta(minutes=5))
            if roll < 0.08 and tech.id not in driving:  # one job on the road at a time
                driving.add(tech.id)
                set_off = max(created + dt.timedelta(minutes=6),
                              now - dt.timedelta(minutes=rng.randint(3, 25)))
                order.start_travel(tech.id, min(set_off, now))
        order.events.clear()
        sc.work_orders.append(order)
    _give_work(sc, sc.technicians[0], region_of, now)


def _channel(i: int, priority: Priority) -> Channel:
    """How the demo's job came in (the rng is left alone, so the day stays the same): emergencies
    as such; of the rest one in five from the partner feed, one in ten by its webhook."""
    if priority == Priority.EMERGENCY:
        return Channel.EMERGENCY
    return {0: Channel.PARTNER, 3: Channel.PARTNER, 5: Channel.WEBHOOK}.get(i % 10, Channel.PHONE)


def _give_work(sc: Scenario, tech: Technician, region_of: dict[str, str],
               now: dt.datetime, jobs: int = 3) -> None:
    """The first technician (the ``tech1`` login) always has a route to show."""
    mine = [w for w in sc.work_orders if w.technician_id == tech.id and w.is_open]
    region = region_of[tech.home_store_id]
    for order in sc.work_orders:
        if len(mine) >= jobs:
            break
        window = order.time_window
        reachable = window is None or window.end - dt.timedelta(hours=1) > now
        if (order.status == WorkOrderStatus.NEW and order.priority != Priority.EMERGENCY
                and reachable and region_of[order.store_id] == region
                and order.required_skills <= tech.skills):
            order.assign(tech.id, now)
            order.events.clear()
            mine.append(order)


def _billing(sc: Scenario, rng: random.Random, now: dt.datetime) -> None:
    """Trip tickets, sales orders with invoices, and dispatches for the coming days."""
    count = max(10, len(sc.work_orders) // 2)
    booked: set[tuple[str, dt.datetime]] = set()
    in_service = [u for u in sc.units if u.in_service]
    base = now.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=2)
    for i in range(1, count + 1):
        order = sc.work_orders[(i * 13) % len(sc.work_orders)]
        ticket = TripTicket(
            id=f"tt-{i:06d}", number=f"TT-{i:06d}", store_id=order.store_id, created_at=now,
            description=f"Trip for {order.description.lower()}", work_order_id=order.id,
            customer_id=order.customer_id,
        )
        sc.trip_tickets.append(ticket)
        sales = SalesOrder(
            id=f"so-{i:06d}", number=f"SO-{i:06d}", customer_id=order.customer_id or "",
            store_id=order.store_id, created_at=now, total_cents=rng.randint(80, 2400) * 100,
        )
        sc.sales_orders.append(sales)
        invoices = []
        for k in range(1, rng.choice((1, 1, 2)) + 1):
            invoice = Invoice.for_sales_order(
                sales, number=f"INV-{i:06d}-{k}", amount_cents=sales.total_cents // k, at=now,
                service_line=main_skill(order.required_skills),
            )
            invoice.id = f"inv-{i:06d}-{k}"
            invoices.append(invoice)
        sc.invoices.extend(invoices)
        if i % 2:  # half the tickets get a dispatch; the rest wait for one
            continue
        unit = in_service[rng.randrange(len(in_service))]
        when = base + dt.timedelta(hours=rng.randint(0, 72))
        while (unit.id, when) in booked:
            when += dt.timedelta(hours=1)
        booked.add((unit.id, when))
        dispatch = Dispatch(
            id=f"dsp-{i:06d}", trip_ticket_id=ticket.id, datetime=when, unit=unit.id,
            store_id=ticket.store_id, date_created=now, created_by=SYSTEM_USER,
            status=DispatchStatus.SCHEDULED if rng.random() < 0.6 else DispatchStatus.DRAFT,
        )
        if rng.random() < 0.7:
            for invoice in invoices:
                dispatch.attach_invoice(invoice)
        if rng.random() < 0.1 and invoices[0].dispatch_id == dispatch.id:
            invoices[0].mark_processed(now, CLERK)
        sc.dispatches.append(dispatch)
    for item in (*sc.invoices, *sc.dispatches):
        item.events.clear()
