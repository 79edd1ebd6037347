"""The simulated fleet behind the MyGeotab simulator: vans driving between job sites.

Each van roams a metro area: it drives a dog-leg route (two straight legs, like a street grid)
to a random site at a realistic speed, stays there a while, then picks the next site. A van sent
somewhere with `send_to` drives there and waits until sent again or `resume`d. A moving van
logs one LogRecord per simulated second, a stopped one every `stopped_interval` seconds, and
each record also updates the van's DeviceStatusInfo.

Time comes from a clock: `ManualClock` for tests (advance it by hand), `WallClock` for the demo.
Records are generated lazily, up to the clock's `now()`, whenever the simulator is asked for
data (`Fleet.advance`). Everything is deterministic for a given seed and clock.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from .feedlog import FeedLog, StatusBoard, VersionCounter
from .protocol import format_datetime
from .records import format_timespan

METRES_PER_DEGREE = 111_320.0
TICK = timedelta(seconds=1)


class SimClock(Protocol):
    def now(self) -> datetime: ...


class ManualClock:
    """A clock that moves only when told to (tests)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> datetime:
        self._now += timedelta(seconds=seconds)
        return self._now


class WallClock:
    """Real time, UTC (the demo)."""

    def now(self) -> datetime:
        return datetime.now(UTC).replace(microsecond=0)


@dataclass(slots=True)
class Van:
    device_id: str
    name: str
    lat: float
    lon: float
    speed_kmh: float = 0.0
    bearing: int = -1
    route: list[tuple[float, float]] = field(default_factory=list)
    cruise_kmh: float = 50.0
    dwell_until: datetime | None = None  # None while driving, or while held at a site
    hold: bool = False
    state_since: datetime = datetime(2000, 1, 1, tzinfo=UTC)
    last_record_at: datetime | None = None

    @property
    def driving(self) -> bool:
        return bool(self.route)


class Fleet:
    """N vans around a centre point, producing LogRecords and DeviceStatusInfo."""

    def __init__(
        self,
        *,
        vans: int = 10,
        seed: int = 0,
        clock: SimClock | None = None,
        center: tuple[float, float] = (43.70, -79.40),
        radius_km: float = 20.0,
        speed_range_kmh: tuple[float, float] = (30.0, 70.0),
        dwell_range: tuple[timedelta, timedelta] = (timedelta(minutes=5), timedelta(minutes=30)),
        stopped_interval: timedelta = timedelta(seconds=60),
        max_catch_up: timedelta = timedelta(minutes=15),
        retention: int = 500_000,
    ) -> None:
        self.clock: SimClock = clock or WallClock()
        self.center = center
        self.radius_km = radius_km
        self.speed_range_kmh = speed_range_kmh
        self.dwell_range = dwell_range
        self.stopped_interval = stopped_interval
        self.max_catch_up = max_catch_up
        self._rng = random.Random(seed)
        self.versions = VersionCounter()
        self.log_records = FeedLog(self.versions, retention=retention)
        self.statuses = StatusBoard(self.versions)
        self.vans: dict[str, Van] = {}
        self._record_counter = 0x1000
        self._sim_time = self.clock.now().replace(microsecond=0)
        for index in range(1, vans + 1):
            lat, lon = self.random_site()
            van = self.add_van(f"b{index:X}", lat, lon, name=f"Van {index:03d}")
            # Stagger the fleet: most vans set off at once, the others are part-way through a
            # stay at their first site.
            if self._rng.random() < 0.6:
                van.dwell_until = self._sim_time
            else:
                van.dwell_until = self._sim_time + self._random_dwell() * self._rng.random()

    # --- driving from outside -------------------------------------------------------------

    def add_van(
        self,
        device_id: str,
        lat: float,
        lon: float,
        *,
        name: str | None = None,
        roaming: bool = True,
    ) -> Van:
        """Add a van (or move an existing one there at once). A non-roaming van stays put."""
        self.advance()
        van = self.vans.get(device_id) or Van(device_id, name or device_id, lat, lon)
        van.lat, van.lon, van.route, van.speed_kmh = lat, lon, [], 0.0
        van.hold = not roaming
        van.dwell_until = None if van.hold else self._sim_time + self._random_dwell()
        van.state_since = self._sim_time
        self.vans[device_id] = van
        self._log(van, self._sim_time)
        return van

    def send_to(self, device_id: str, lat: float, lon: float) -> None:
        """Drive a van to (lat, lon) from now on; it waits there until sent again or resumed."""
        self.advance()
        van = self._van(device_id)
        if not van.driving:
            van.state_since = self._sim_time
        van.route = self._dog_leg(van.lat, van.lon, lat, lon)
        van.cruise_kmh = self._rng.uniform(*self.speed_range_kmh)
        van.hold = True
        van.dwell_until = None

    def resume(self, device_id: str) -> None:
        """Let a held van roam again (it leaves for a random site on the next tick)."""
        self.advance()
        van = self._van(device_id)
        van.hold = False
        if not van.driving:
            van.dwell_until = self._sim_time

    def random_site(self) -> tuple[float, float]:
        """A uniformly random point within `radius_km` of the centre."""
        distance = self.radius_km * 1000 * math.sqrt(self._rng.random())
        angle = self._rng.uniform(0, 2 * math.pi)
        return _offset(self.center[0], self.center[1], distance * math.cos(angle), distance * math.sin(angle))

    # --- fault material for tests ---------------------------------------------------------

    def inject_record(self, record: dict[str, Any]) -> dict[str, Any]:
        """Append a raw LogRecord as given (it may be invalid); an `id` is added if missing."""
        record = dict(record)
        record.setdefault("id", self._next_record_id())
        self.log_records.append(record, self._sim_time)
        return record

    def resend_recent(self, count: int) -> int:
        """Send the last `count` LogRecords again, unchanged, with new versions (duplicates)."""
        recent = self.log_records.latest(count)
        for record in recent:
            self.log_records.append(dict(record), self._sim_time)
        return len(recent)

    def inject_late(self, device_id: str, *, count: int, age: timedelta) -> list[dict[str, Any]]:
        """Append `count` records of `device_id` dated `age` ago, a few hundred metres off:
        a buffered upload arriving late, out of time order."""
        van = self._van(device_id)
        late = []
        for index in range(count):
            at = self._sim_time - age + index * TICK
            lat, lon = _offset(van.lat, van.lon, 300.0 + 10 * index, -300.0)
            late.append(
                self.inject_record(
                    _log_record("", van.device_id, at, lat, lon, 40.0) | {"id": self._next_record_id()}
                )
            )
        return late

    # --- generation -----------------------------------------------------------------------

    def advance(self, now: datetime | None = None) -> int:
        """Simulate whole seconds up to `now` (default: the clock); return records logged."""
        now = now or self.clock.now()
        if now - self._sim_time > self.max_catch_up:
            self._sim_time = now - self.max_catch_up  # after a long pause, skip, don't replay
        before = self.log_records.appended
        while self._sim_time + TICK <= now:
            self._sim_time += TICK
            for van in self.vans.values():
                self._step(van, self._sim_time)
        return self.log_records.appended - before

    def device_entities(self) -> list[dict[str, Any]]:
        return [
            {
                "id": van.device_id,
                "name": van.name,
                "serialNumber": f"G9SIM{van.device_id.upper()}",
                "deviceType": "GO9",
                "groups": [{"id": "GroupCompanyId"}],
                "activeFrom": "1986-01-01T00:00:00.000Z",
                "activeTo": "2050-01-01T00:00:00.000Z",
            }
            for van in self.vans.values()
        ]

    def _step(self, van: Van, at: datetime) -> None:
        if van.driving:
            self._drive(van, at)
        elif van.dwell_until is not None and at >= van.dwell_until:
            lat, lon = self.random_site()
            van.route = self._dog_leg(van.lat, van.lon, lat, lon)
            van.cruise_kmh = self._rng.uniform(*self.speed_range_kmh)
            van.dwell_until = None
            van.state_since = at
            self._drive(van, at)
        if van.driving or van.last_record_at is None or at - van.last_record_at >= (self.stopped_interval):
            self._log(van, at)

    def _drive(self, van: Van, at: datetime) -> None:
        speed = max(5.0, van.cruise_kmh * self._rng.uniform(0.85, 1.1))
        budget = speed / 3.6  # metres this second
        while van.route and budget > 0:
            target_lat, target_lon = van.route[0]
            north, east = _delta_m(van.lat, van.lon, target_lat, target_lon)
            remaining = math.hypot(north, east)
            if remaining > 0.5:
                van.bearing = round(math.degrees(math.atan2(east, north))) % 360
            if remaining <= budget:
                van.lat, van.lon = target_lat, target_lon
                van.route.pop(0)
                budget -= remaining
            else:
                van.lat, van.lon = _offset(
                    van.lat, van.lon, north * budget / remaining, east * budget / remaining
                )
                budget = 0
        van.speed_kmh = round(speed)
        if not van.route:  # arrived: stop at the site
            van.speed_kmh = 0.0
            van.state_since = at
            van.dwell_until = None if van.hold else at + self._random_dwell()

    def _log(self, van: Van, at: datetime) -> None:
        record = _log_record(self._next_record_id(), van.device_id, at, van.lat, van.lon, van.speed_kmh)
        self.log_records.append(record, at)
        van.last_record_at = at
        self.statuses.put(
            van.device_id,
            {
                "bearing": van.bearing,
                "currentStateDuration": format_timespan(at - van.state_since),
                "dateTime": record["dateTime"],
                "device": {"id": van.device_id},
                "driver": "UnknownDriverId",
                "exceptionEvents": [],
                "groups": [{"id": "GroupCompanyId"}],
                "isDeviceCommunicating": True,
                "isDriving": van.driving,
                "isHistoricLastDriver": False,
                "latitude": van.lat,
                "longitude": van.lon,
                "speed": van.speed_kmh,
            },
        )

    def _dog_leg(self, lat: float, lon: float, to_lat: float, to_lon: float) -> list[tuple[float, float]]:
        corner = (lat, to_lon) if self._rng.random() < 0.5 else (to_lat, lon)
        return [corner, (to_lat, to_lon)]

    def _random_dwell(self) -> timedelta:
        low, high = self.dwell_range
        return low + (high - low) * self._rng.random()

    def _next_record_id(self) -> str:
        self._record_counter += 1
        return f"b{self._record_counter:X}"

    def _van(self, device_id: str) -> Van:
        try:
            return self.vans[device_id]
        except KeyError:
            raise KeyError(f"no van with device id {device_id!r}") from None


def _log_record(
    record_id: str, device_id: str, at: datetime, lat: float, lon: float, speed: float
) -> dict[str, Any]:
    return {
        "id": record_id,
        "dateTime": format_datetime(at),
        "device": {"id": device_id},
        "latitude": round(lat, 7),
        "longitude": round(lon, 7),
        "speed": int(speed) if float(speed).is_integer() else speed,
    }


def _delta_m(lat: float, lon: float, to_lat: float, to_lon: float) -> tuple[float, float]:
    north = (to_lat - lat) * METRES_PER_DEGREE
    east = (to_lon - lon) * METRES_PER_DEGREE * math.cos(math.radians(lat))
    return north, east


def _offset(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    new_lat = lat + north_m / METRES_PER_DEGREE
    new_lon = lon + east_m / (METRES_PER_DEGREE * math.cos(math.radians(lat)))
    return new_lat, new_lon
