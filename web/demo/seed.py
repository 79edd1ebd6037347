"""Write the demo scenario and the demo logins into an empty (migrated) database."""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine
from tqdm import tqdm

from domain.roles import Role
from domain.users import User
from storage import mapping as m
from storage import tables as t
from web.demo.oncall import contact_rows, demo_phone, demo_shifts, shift_row
from web.demo.scenario import TIMEZONE, Scenario, WorkDay, build
from web.security import hash_password

DEMO_PASSWORD = "demo"
BATCH = 1000

#: Demo logins (password ``demo``): username -> roles. ``manager`` holds the first two stores.
DEMO_USERS: dict[str, frozenset[Role]] = {
    "admin": frozenset({Role.ADMIN}),
    "dispatcher": frozenset({Role.DISPATCHER}),
    "coordinator": frozenset({Role.EMERGENCY_COORDINATOR}),
    "operations": frozenset({Role.OPERATIONS_MANAGER}),
    "manager": frozenset({Role.STORE_MANAGER}),
    "billing": frozenset({Role.BILLING_CLERK}),
    "service": frozenset({Role.CUSTOMER_SERVICE}),
    "fleet": frozenset({Role.FLEET_MANAGER}),
}


def demo_users(sc: Scenario, *, phones: bool = False) -> list[User]:
    """The demo logins and a login per technician; ``phones``: those who escalate get their
    fictional numbers (``web/demo/oncall.py``)."""
    password_hash = hash_password(DEMO_PASSWORD)  # one hash for all: seeding stays fast
    users = []
    for username, roles in DEMO_USERS.items():
        stores = frozenset(s.id for s in sc.stores[:2]) if username == "manager" else frozenset()
        users.append(User(id=f"user-{username}", username=username, password_hash=password_hash,
                          roles=roles, store_ids=stores, display_name=username.title(),
                          phone=demo_phone(username) if phones else ""))
    for i, tech in enumerate(sc.technicians, start=1):
        users.append(User(id=f"user-tech{i}", username=f"tech{i}", password_hash=password_hash,
                          roles=frozenset({Role.TECHNICIAN}), technician_id=tech.id,
                          display_name=tech.name))
    return users


def _rows(items: Iterable[Any], to_row: Callable[[Any], dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for item in items:
        row = to_row(item)
        row["version"] = 1
        rows.append(row)
    return rows


async def is_seeded(engine: AsyncEngine) -> bool:
    async with engine.connect() as conn:
        return bool((await conn.execute(select(func.count()).select_from(t.stores))).scalar())


async def seed(
    engine: AsyncEngine, *, stores: int = 200, technicians: int = 200, orders: int = 300,
    seed: int = 7, now: dt.datetime | None = None, progress: bool = True, replace: bool = False,
    history: bool = True, oncall: bool = False,
) -> dict[str, int]:
    """Seed the demo. Refuses a database that already has data unless ``replace``. ``history``:
    the billing of the months before the day (finished jobs, invoices, payments). ``oncall``:
    phones, e-mail addresses and an on-call rota for those who escalate (``dispatch demo``)."""
    started = time.perf_counter()
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    sc = build(stores=stores, technicians=technicians, orders=orders, seed=seed, now=now,
               history=history)
    marker = {"id": 1, "seeded_at": now, "alive_until": WorkDay(now).alive_until, "seed": seed,
              "stores": stores, "technicians": technicians, "orders": orders}
    users = demo_users(sc, phones=oncall)
    plan: list[tuple[Table, list[dict[str, Any]]]] = [
        (t.stores, _rows(sc.stores, m.store_to_row)),
        (t.customers, _rows(sc.customers, m.customer_to_row)),
        (t.units, _rows(sc.units, m.unit_to_row)),
        (t.technicians, _rows(sc.technicians, m.technician_to_row)),
        (t.users, _rows(users, m.user_to_row)),
        (t.work_orders, _rows(sc.work_orders, m.work_order_to_row)),
        (t.trip_tickets, _rows(sc.trip_tickets, m.trip_ticket_to_row)),
        (t.sales_orders, _rows(sc.sales_orders, m.sales_order_to_row)),
        (t.dispatches, _rows(sc.dispatches, m.dispatch_to_row)),
        (t.invoices, _rows(sc.invoices, m.invoice_to_row)),
        (t.payments, _rows(sc.payments, m.payment_to_row)),
    ]
    if oncall:
        ids = {u.username: u.id for u in users}
        plan += [(t.alert_contacts, _rows(contact_rows(users, at=now), dict)),
                 (t.oncall_shifts, _rows(demo_shifts(ids), lambda s: shift_row(s, at=now)))]
    total = sum(len(rows) for _, rows in plan)
    bar = tqdm(total=total, desc="seeding", unit="row", disable=not progress, file=sys.stderr)
    async with engine.begin() as conn:
        if replace:
            for table in reversed(t.metadata.sorted_tables):
                await conn.execute(delete(table))
        elif (await conn.execute(select(func.count()).select_from(t.stores))).scalar():
            bar.close()
            raise RuntimeError("the database already holds data; use --replace to start over")
        for table, rows in plan:
            for start in range(0, len(rows), BATCH):
                chunk = rows[start:start + BATCH]
                await conn.execute(insert(table), chunk)
                bar.update(len(chunk))
        await conn.execute(insert(t.demo_seeds), [marker])
    bar.close()
    counts = {table.name: len(rows) for table, rows in plan}
    counts["seconds_x1000"] = int((time.perf_counter() - started) * 1000)
    return counts


#: Ids only the demo's seed gives (users of the demo logins).
LEGACY_DEMO_IDS = ("user-admin", "user-dispatcher", "user-tech1")


@dataclass(frozen=True)
class DemoDay:
    """What ``dispatch demo`` finds in its database.

    ``state``: ``empty`` (seed it), ``alive`` (the demo's day is still in progress: keep it),
    ``over`` (the demo seeded it and its day is over: seed a new day) or ``foreign`` (data the
    demo did not create: never touched).
    """

    state: str
    seeded_at: dt.datetime | None = None
    alive_until: dt.datetime | None = None
    seed: int = 7
    stores: int = 200
    technicians: int = 200
    orders: int = 300


async def demo_day(engine: AsyncEngine, now: dt.datetime) -> DemoDay:
    async with engine.connect() as conn:
        marker = (await conn.execute(select(t.demo_seeds).where(t.demo_seeds.c.id == 1))).first()
        if marker is None:
            has_data = (await conn.execute(select(func.count()).select_from(t.stores))).scalar()
            if not has_data:
                return DemoDay("empty")
            # Seeded by the demo before it kept its record: only the demo makes these ids
            # (everything else gets a random id), so its day is over and may be replaced.
            legacy = (await conn.execute(select(func.count()).select_from(t.users).where(
                t.users.c.id.in_(LEGACY_DEMO_IDS)))).scalar()
            return DemoDay("over" if legacy == len(LEGACY_DEMO_IDS) else "foreign")
    return DemoDay("alive" if now < marker.alive_until else "over",
                   seeded_at=marker.seeded_at, alive_until=marker.alive_until, seed=marker.seed,
                   stores=marker.stores, technicians=marker.technicians, orders=marker.orders)


def _local(at: dt.datetime | None) -> str:
    return at.astimezone(TIMEZONE).strftime("%a %d %b %H:%M %Z") if at else "?"


async def prepare_demo_day(engine: AsyncEngine, now: dt.datetime, *, keep_day: bool = False,
                           stores: int = 200, technicians: int = 200, orders: int = 300,
                           random_seed: int = 7, progress: bool = False) -> str:
    """What ``dispatch demo`` does before serving: seed an empty database; seed a new day (the
    demo's data replaced) when the demo's own day is over, unless ``keep_day``; leave a day in
    progress and a database the demo did not create as they are. Returns what it did, in words.
    What it seeds includes the on-call rota (``web/demo/oncall.py``).
    """
    day = await demo_day(engine, now)
    if day.state == "foreign":
        return "the database holds data the demo did not create; leaving it as it is"
    if day.state == "alive" or (day.state == "over" and keep_day):
        return (f"demo day seeded {_local(day.seeded_at)}, in progress until "
                f"{_local(day.alive_until)}; kept")
    counts = await seed(engine, stores=stores, technicians=technicians, orders=orders,
                        seed=random_seed, now=now, progress=progress,
                        replace=day.state == "over", oncall=True)
    seconds = counts.pop("seconds_x1000") / 1000
    summary = ", ".join(f"{n} {name}" for name, n in counts.items())
    done = f"seeded in {seconds:.2f} s: {summary}"
    if day.state == "over":
        return (f"the demo day seeded {_local(day.seeded_at)} was over: a new day is seeded "
                f"(the demo's data replaced); {done}")
    return done
