"""Two years of history for the reports benchmark, written straight into a migrated PostgreSQL
database with ``COPY`` (asyncpg ``copy_records_to_table``): deterministic for a seed and an end
instant.

What it writes (``HistorySize``; ``QUICK`` for a smoke run):

- stores, most in America/Chicago (the Dallas-Fort Worth towns of the demo), a few in other US
  zones; technicians, each with a home store and serving the stores of its group of ten;
  customers, each with a home store;
- work orders booked day after day over ``days`` days ending at ``now`` (more on weekdays, a
  summer peak, growth over the years), in the order they were booked, as a table fills up in
  production. Channels phone / partner / webhook / emergency (an emergency channel is an
  emergency priority); most booked with a two- to four-hour window; each one's assignment, travel,
  arrival and finish consistent (``assigned_at`` <= ``en_route_at`` <= ``on_site_at`` <=
  ``finished_at``) and mostly on time. Most are completed, some cancelled (before they were
  started), some failed, most failed jobs rescheduled as a follow-up (``follow_up_of``) which is
  then completed or cancelled. What ``now`` has not reached yet is left open (new, assigned, en
  route, on site), as on a live board. Some first assignments were declined
  (``assignment_declines``) and the job went to another technician;
- sales orders with one or two invoices each (a service line, an amount in cents), the invoices
  processed a few hours to days after they were raised, spread over the same days (the last
  ones not processed yet).

Every loop is bounded by the sizes given; nothing here reads the wall clock.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import sys
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Any
from zoneinfo import ZoneInfo

from web.demo.geography import FIRST_NAMES, JOB_TEMPLATES, LAST_NAMES, SKILLS, STREETS, TOWNS

Row = tuple[Any, ...]


@dataclass(frozen=True)
class HistorySize:
    stores: int = 200
    technicians: int = 200
    customers: int = 50_000
    jobs: int = 1_000_000  # booked ones; follow-ups of failed jobs come on top
    invoices: int = 300_000
    days: int = 730


FULL = HistorySize()
QUICK = HistorySize(customers=5_000, jobs=50_000, invoices=15_000)

#: The company's zone (most stores), then the few elsewhere: (zone, city, lat, lon, share).
HOME_ZONE = "America/Chicago"
OTHER_STORES = (
    ("America/New_York", "Atlanta", 33.749, -84.388, 0.05),
    ("America/Denver", "Denver", 39.739, -104.990, 0.04),
    ("America/Phoenix", "Phoenix", 33.448, -112.074, 0.03),
    ("America/Los_Angeles", "Las Vegas", 36.170, -115.140, 0.03),
)
CHANNELS = ("phone", "partner", "webhook", "emergency")
CHANNEL_WEIGHTS = (55, 25, 12, 8)
#: Bookings by local hour of the day, per channel (people call in business hours; feeds run on).
HOURS: dict[str, list[float]] = {
    "phone": [0, 0, 0, 0, 0, 0, 0.2, 1, 3, 5, 5, 4, 3, 4, 4, 3, 2, 1, 0.5, 0.2, 0, 0, 0, 0],
    "partner": [0.1, 0.1, 0, 0, 0, 0.2, 1, 2, 3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 1, 1, 0.5, 0.3, 0.2, 0.1],
    "webhook": [0.3, 0.2, 0.2, 0.2, 0.2, 0.5, 1, 2, 3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 1, 1, 1, 0.5, 0.4],
    "emergency": [1, 1, 1, 1, 1, 1, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 1],
}
HOUR_RANGE = range(24)
WEEKDAY_LOAD = (1.0, 1.0, 1.0, 1.0, 0.95, 0.55, 0.3)  # Monday first
WINDOW_SLOTS = (8, 10, 13, 15)  # local start hours of booked windows
FAILURES = ("Part not in stock", "Customer not home", "Needs a second technician",
            "Access denied on site")
CANCELLATIONS = ("Customer cancelled", "Duplicate booking", "Fixed by the customer",
                 "Rebooked by the partner")
SERVICE_LINES = (*SKILLS, "general")
SERVICE_LINE_WEIGHTS = (30, 20, 12, 12, 8, 3, 5, 10)
CHUNK = 20_000

STORE_COLUMNS = ("id", "code", "name", "lat", "lon", "region", "opens", "closes", "address",
                 "timezone", "active", "version")
TECHNICIAN_COLUMNS = ("id", "name", "home_store_id", "skills", "status", "phone", "active",
                      "version")
CUSTOMER_COLUMNS = ("id", "name", "phone", "email", "address", "lat", "lon", "sms_opt_in",
                    "home_store_id", "active", "version")
WORK_ORDER_COLUMNS = (
    "id", "store_id", "customer_id", "priority", "lat", "lon", "address", "description",
    "window_start", "window_end", "required_skills", "estimated_minutes", "status",
    "status_reason", "status_changed_at", "en_route_at", "on_site_at", "finished_at",
    "technician_id", "pinned", "follow_up_of", "comments", "created_at", "created_by", "channel",
    "assigned_at", "version")
DECLINE_COLUMNS = ("work_order_id", "technician_id", "store_id", "declined_at", "reason")
SALES_ORDER_COLUMNS = ("id", "number", "customer_id", "store_id", "created_at", "status",
                       "total_cents", "version")
INVOICE_COLUMNS = ("id", "number", "sales_order_id", "store_id", "amount_cents", "created_at",
                   "processed", "processed_at", "processed_by", "service_line", "version")
W = {name: i for i, name in enumerate(WORK_ORDER_COLUMNS)}


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _minutes(m: float) -> dt.timedelta:
    return dt.timedelta(minutes=m)


class History:
    """The company and its history; rows come out as tuples in the ``*_COLUMNS`` order."""

    def __init__(self, size: HistorySize, now: dt.datetime, seed: int = 1) -> None:
        if now.tzinfo is None:
            raise ValueError("the history needs an aware end instant")
        self.size = size
        self.now = now.astimezone(dt.UTC)
        self.rng = random.Random(seed)
        self.system_user = _uuid(self.rng)
        self.billing_user = _uuid(self.rng)
        today = self.now.astimezone(ZoneInfo(HOME_ZONE)).date()
        #: The local dates of the history, oldest first, and each zone's UTC offset on each.
        self.dates = [today - dt.timedelta(days=size.days - 1 - d) for d in range(size.days)]
        self.stores = self._stores()
        zones = {row[9] for row in self.stores}
        self.offsets = {z: [ZoneInfo(z).utcoffset(dt.datetime.combine(d, dt.time(12)))
                            for d in self.dates] for z in zones}
        self.technicians = self._technicians()
        self.customers = self._customers()
        group_techs: dict[int, list[str]] = {}
        for i, row in enumerate(self.technicians):
            group_techs.setdefault(self._home_index[i] // 10, []).append(row[0])
        everyone = [row[0] for row in self.technicians]
        #: Who serves each store (by store index): the technicians of its group of ten stores.
        self.pool = [group_techs.get(s // 10) or everyone for s in range(len(self.stores))]
        self.counts: dict[str, int] = {}

    # -- the company -----------------------------------------------------------------------------

    def _stores(self) -> list[Row]:
        rng, rows = self.rng, []
        n = self.size.stores
        others = [(zone, city, lat, lon) for zone, city, lat, lon, share in OTHER_STORES
                  for _ in range(max(1, round(n * share)) if n >= 20 else 0)]
        home = n - len(others)
        places = [(HOME_ZONE, *TOWNS[i % len(TOWNS)][:3]) for i in range(home)] + others
        for i, (zone, town, lat, lon) in enumerate(places, start=1):
            rows.append((
                _uuid(rng), f"S{i:04d}", f"{town} #{(i - 1) // len(TOWNS) + 1}",
                round(lat + rng.gauss(0, 0.04), 6), round(lon + rng.gauss(0, 0.04), 6),
                town if zone != HOME_ZONE else TOWNS[(i - 1) % len(TOWNS)][3], "07:00", "19:00",
                f"{rng.randint(100, 9899)} {rng.choice(STREETS)}, {town}", zone, True, 1))
        #: How busy each store is (a few big ones, many small).
        self.store_weight = [0.4 + rng.paretovariate(2.5) for _ in rows]
        return rows

    def _technicians(self) -> list[Row]:
        rng, rows, n = self.rng, [], self.size.technicians
        self._home_index = [i * len(self.stores) // n for i in range(n)]
        for i in range(n):
            skills = sorted(rng.sample(SKILLS, k=rng.choice((2, 3, 3, 4))))
            rows.append((_uuid(rng), self._person(), self.stores[self._home_index[i]][0],
                         _json(skills), "off_duty", f"+1214555{i:04d}", True, 1))
        return rows

    def _customers(self) -> list[Row]:
        rng, rows = self.rng, []
        store_index = rng.choices(range(len(self.stores)), weights=self.store_weight,
                                  k=self.size.customers)
        self.customer_store = store_index
        for i, s in enumerate(store_index):
            store = self.stores[s]
            rows.append((
                _uuid(rng), self._person(), f"+1972{i % 10_000_000:07d}",
                f"customer{i}@example.com",
                f"{rng.randint(100, 9899)} {rng.choice(STREETS)}, {store[2].split(' #')[0]}",
                round(store[3] + rng.gauss(0, 0.05), 6), round(store[4] + rng.gauss(0, 0.05), 6),
                rng.random() < 0.6, store[0], True, 1))
        return rows

    def _person(self) -> str:
        return f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(LAST_NAMES)}"

    # -- days ------------------------------------------------------------------------------------

    def _per_day(self, total: int) -> list[int]:
        """``total`` spread over the days (weekday load, summer peak, growth), summing to it."""
        weights = []
        for d, day in enumerate(self.dates):
            season = 1 + 0.15 * math.cos(2 * math.pi * (day.timetuple().tm_yday - 200) / 365)
            weights.append(WEEKDAY_LOAD[day.weekday()] * season * (1 + 0.3 * d / len(self.dates)))
        whole, counts, done = sum(weights), [], 0
        running = 0.0
        for w in weights:
            running += w
            upto = round(total * running / whole)
            counts.append(upto - done)
            done = upto
        return counts

    def _local(self, d: int, zone: str, seconds: float) -> dt.datetime:
        """The instant ``seconds`` after local midnight of day ``d`` in ``zone``."""
        day = self.dates[d]
        midnight = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
        return midnight + dt.timedelta(seconds=seconds) - self.offsets[zone][d]

    def _customer(self) -> int:
        return int(self.size.customers * self.rng.random() ** 1.6)  # some call again and again

    # -- work orders -----------------------------------------------------------------------------

    def work_orders(self) -> Iterator[tuple[list[Row], list[Row]]]:
        """Chunks of (work orders, declines), in booking order; a follow-up comes in the chunk of
        the job it follows (so the foreign key holds within each ``COPY``)."""
        rng, orders, declines = self.rng, [], []
        channels = list(accumulate(CHANNEL_WEIGHTS))
        hours = {c: list(accumulate(HOURS[c])) for c in CHANNELS}
        for d, n in enumerate(self._per_day(self.size.jobs)):
            day: list[tuple[dt.datetime, str, int]] = []
            for _ in range(n):
                channel = rng.choices(CHANNELS, cum_weights=channels)[0]
                customer = self._customer()
                zone = self.stores[self.customer_store[customer]][9]
                hour = rng.choices(HOUR_RANGE, cum_weights=hours[channel])[0]
                day.append((self._local(d, zone, hour * 3600 + rng.random() * 3600), channel,
                            customer))
            day.sort()
            for created, channel, customer in day:
                if created > self.now:
                    continue
                self._job(orders, declines, d, created, channel, customer, None)
            if len(orders) >= CHUNK:
                yield orders, declines
                orders, declines = [], []
        if orders:
            yield orders, declines

    def _job(self, orders: list[Row], declines: list[Row], d: int, created: dt.datetime,
             channel: str, customer: int, failed: Row | None) -> None:
        rng = self.rng
        store_i = self.customer_store[customer]
        store = self.stores[store_i]
        cust = self.customers[customer]
        if failed is None:
            text, skill, minutes = rng.choice(JOB_TEMPLATES)
            priority = ("emergency" if channel == "emergency"
                        else rng.choices(("high", "normal", "low"), cum_weights=(15, 80, 100))[0])
            skills = _json([skill] if skill else [])
        else:
            text = f"Follow-up: {failed[W['description']]}"
            priority, skills = failed[W["priority"]], failed[W["required_skills"]]
            minutes = failed[W["estimated_minutes"]]
        emergency = priority == "emergency"
        if emergency:
            assigned = created + _minutes(2 + rng.expovariate(1 / 6))
        else:
            assigned = created + _minutes(min(480.0, 3 + rng.expovariate(1 / 30)))
        window_start = window_end = None
        if not emergency and rng.random() < 0.75:
            slot = rng.choice(WINDOW_SLOTS)
            ahead = rng.choice((0, 1, 1, 2, 3))
            window_start = self._local(d, store[9], (ahead * 24 + slot) * 3600)
            while window_start < assigned + _minutes(60):  # bounded: a day further each time
                window_start += dt.timedelta(days=1)
            window_end = window_start + dt.timedelta(hours=rng.choice((2, 2, 3, 4)))
        if window_start is not None and window_end is not None:
            span = (window_end - window_start).total_seconds() / 60
            if rng.random() < 0.9:  # on time: inside the window (a few minutes early at most)
                on_site = window_start + _minutes(rng.uniform(-10, span - 1))
            else:
                on_site = window_end + _minutes(rng.uniform(5, 120))
        elif emergency:
            on_site = assigned + _minutes(rng.uniform(20, 75))
        else:
            on_site = assigned + _minutes(rng.uniform(60, 1800))
        en_route = max(assigned + _minutes(1), on_site - _minutes(rng.uniform(10, 45)))
        on_site = max(on_site, en_route + _minutes(5))
        finished = on_site + _minutes(minutes * rng.uniform(0.6, 1.6))
        fate = rng.random()
        outcome = ("cancelled" if fate < 0.06 else
                   "failed" if fate < 0.10 and failed is None else "completed")
        technician = rng.choice(self.pool[store_i])
        steps: list[tuple[dt.datetime, str]]
        if outcome == "cancelled":
            cancel_at = created + _minutes(rng.uniform(5, 600))
            steps = [(assigned, "assigned")] if assigned < min(cancel_at, en_route) else []
            steps.append((min(cancel_at, en_route - _minutes(1)), "cancelled"))
        else:
            steps = [(assigned, "assigned"), (en_route, "en_route"), (on_site, "on_site"),
                     (finished, outcome)]
        reached = [(at, status) for at, status in steps if at <= self.now]
        status_at, status = reached[-1] if reached else (created, "new")
        times = {s: at for at, s in reached}
        reason = ""
        if status == "failed":
            reason = rng.choice(FAILURES)
        elif status == "cancelled":
            reason = rng.choice(CANCELLATIONS)
        row_id = _uuid(rng)
        if "assigned" in times and rng.random() < 0.05:
            others = [t for t in self.pool[store_i] if t != technician] or [technician]
            gap = (en_route - times["assigned"]).total_seconds() / 60
            declined_at = times["assigned"] + _minutes(rng.uniform(0.1, 0.9) * min(10.0, gap))
            if declined_at <= self.now:
                declines.append((row_id, rng.choice(others), store[0], declined_at,
                                 "Too far from my route"))
        done = times.get("completed") or times.get("failed")
        row = (
            row_id, store[0], cust[0], priority, cust[5], cust[6], cust[4], text,
            window_start, window_end, skills, minutes, status, reason, status_at,
            times.get("en_route"), times.get("on_site"), done,
            technician if "assigned" in times else None, False,
            failed[0] if failed is not None else None, "[]", created, self.system_user,
            channel if failed is None else "phone", times.get("assigned"), 1)
        orders.append(row)
        if status == "failed" and done is not None and rng.random() < 0.8:
            again = done + _minutes(rng.uniform(60, 1800))
            if again <= self.now:
                self._job(orders, declines, min(d + int((again - created).days), len(self.dates)
                                                - 1), again, "phone", customer, row)

    # -- money -----------------------------------------------------------------------------------

    def sales_and_invoices(self) -> Iterator[tuple[list[Row], list[Row]]]:
        """Chunks of (sales orders, invoices): every third of twenty sales orders has two
        invoices, enough sales orders for ``invoices`` invoices in all."""
        rng, orders, invoices = self.rng, [], []
        count = math.ceil(self.size.invoices * 20 / 23 * 1.003) + 3  # the last hours may be ahead
        numbered = sold = 0
        hours = list(accumulate(HOURS["phone"]))
        lines = list(accumulate(SERVICE_LINE_WEIGHTS))
        for d, n in enumerate(self._per_day(count)):
            for _ in range(n):
                customer = self._customer()
                store = self.stores[self.customer_store[customer]]
                created = self._local(d, store[9], rng.choices(HOUR_RANGE, cum_weights=hours)[0]
                                      * 3600 + rng.random() * 3600)
                if created > self.now:
                    continue
                so_id = _uuid(rng)
                total = 0
                sold += 1
                for _ in range(2 if sold % 20 < 3 else 1):
                    numbered += 1
                    raised = created + _minutes(rng.uniform(0, 3 * 24 * 60))
                    processed_at = raised + _minutes(rng.uniform(60, 3 * 24 * 60))
                    if raised > self.now:
                        raised = created
                    amount = max(1500, min(2_000_000, int(math.exp(rng.gauss(math.log(25_000),
                                                                             0.8)))))
                    total += amount
                    done = processed_at <= self.now and rng.random() < 0.98
                    line = rng.choices(SERVICE_LINES, cum_weights=lines)[0]
                    invoices.append((
                        _uuid(rng), f"INV-{numbered:08d}", so_id, store[0], amount, raised, done,
                        processed_at if done else None, self.billing_user if done else None, line,
                        1))
                orders.append((so_id, f"SO-{sold:08d}", self.customers[customer][0], store[0],
                               created, "open", total, 1))
            if len(invoices) >= CHUNK:
                yield orders, invoices
                orders, invoices = [], []
        if orders:
            yield orders, invoices


def _json(value: list[str]) -> str:
    return "[" + ", ".join(f'"{v}"' for v in value) + "]"


async def seed_history(conn: Any, history: History, *, progress: bool = False) -> dict[str, int]:
    """Write ``history`` through an asyncpg connection (an empty, migrated database), then
    ``VACUUM ANALYZE`` its tables as autovacuum would. Returns the rows written per table."""
    counts: dict[str, int] = {}

    async def copy(table: str, rows: list[Row], columns: Sequence[str]) -> None:
        if rows:
            await conn.copy_records_to_table(table, records=rows, columns=list(columns))
        counts[table] = counts.get(table, 0) + len(rows)

    async with conn.transaction():
        await copy("stores", history.stores, STORE_COLUMNS)
        await copy("technicians", history.technicians, TECHNICIAN_COLUMNS)
        await copy("customers", history.customers, CUSTOMER_COLUMNS)
        for orders, declines in history.work_orders():
            await copy("work_orders", orders, WORK_ORDER_COLUMNS)
            await copy("assignment_declines", declines, DECLINE_COLUMNS)
            if progress:
                print(f"  work orders: {counts['work_orders']:,}", end="\r", file=sys.stderr)
        for orders, invoices in history.sales_and_invoices():
            await copy("sales_orders", orders, SALES_ORDER_COLUMNS)
            await copy("invoices", invoices, INVOICE_COLUMNS)
            if progress:
                print(f"  invoices: {counts['invoices']:,}       ", end="\r", file=sys.stderr)
    for table in counts:
        await conn.execute(f'VACUUM ANALYZE "{table}"')
    return counts
