"""The positions fast lane: validate, keep the newest per vehicle, store in batches, fan out.

Sources are the GeoTab feed and technicians' phones. A fix is validated (ranges, NaN, device
time from the future), mapped from its GeoTab device to a unit, its technician and store, and kept
only when newer than the unit's current fix (device time decides, so re-sent and late records
never move a marker back). Accepted fixes go to the bus every ``publish_interval`` and to the
database (latest + breadcrumb history) in batches every ``store_interval``, in a task of their
own, so a slow write never holds the board's positions back.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple, Protocol

from domain.positions import InvalidPosition, LatestPositions, PositionFix, freshness, validate_fix
from domain.roles import Principal
from realtime.bus import Bus
from realtime.events import PositionUpdate, StoredFix, positions_to_wire
from realtime.ports import PositionStore

log = logging.getLogger("dispatch.positions")
MAX_PENDING = 50_000


class UnitInfo(NamedTuple):
    unit_id: str
    technician_id: str | None
    store_id: str | None


FreshnessSink = Callable[[list[dict[str, Any]]], Awaitable[None]]


def heading(lat1: float, lon1: float, lat2: float, lon2: float) -> float | None:
    """Initial bearing from one fix to the next (degrees), or None when the van did not move."""
    if abs(lat2 - lat1) < 1e-5 and abs(lon2 - lon1) < 1e-5:
        return None
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    x = math.sin(dl) * math.cos(p2)
    y = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return (math.degrees(math.atan2(x, y)) + 360.0) % 360.0


class UnitDirectory(Protocol):
    async def units(self) -> dict[str, UnitInfo]:
        """Every unit, keyed by unit id and by GeoTab device id; and each technician's unit,
        keyed ``technician:<id>``."""
        ...


class PositionPipeline:
    def __init__(self, bus: Bus, store: PositionStore, directory: UnitDirectory, *,
                 channel: str, publish_interval: float = 0.25, store_interval: float = 1.0,
                 directory_refresh: float = 60.0, freshness_interval: float = 30.0,
                 on_freshness: FreshnessSink | None = None,
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> None:
        self.bus = bus
        #: The application's one clock: validation ("from the future") and freshness (stale,
        #: offline) read it, never the wall clock.
        self.clock = clock
        self.store = store
        self.directory = directory
        self.channel = channel
        self.publish_interval = publish_interval
        self.store_interval = store_interval
        self.directory_refresh = directory_refresh
        self.freshness_interval = freshness_interval
        self.on_freshness = on_freshness
        self.freshness_state: dict[str, str] = {}
        self.latest = LatestPositions()
        self.units: dict[str, UnitInfo] = {}
        self._to_publish: dict[str, PositionUpdate] = {}
        self._to_store: list[StoredFix] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.accepted = self.rejected = self.superseded = self.unknown = self.dropped = 0

    async def start(self) -> None:
        try:
            self.units = await self.directory.units()
        except Exception as error:  # retried by the loop; positions wait for the directory
            log.warning("unit directory unavailable at start (%s)", error)
        self._tasks = [asyncio.create_task(self._publish_loop(), name="positions-publish"),
                       asyncio.create_task(self._store_loop(), name="positions-store")]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(Exception):
            await self.flush()

    async def ingest(self, fixes: list[PositionFix], *, validated: bool = False) -> int:
        """Take a batch of fixes (GeoTab ``on_fixes`` handler). Returns how many were kept.
        ``validated``: the source already applied ``validate_fix`` (the GeoTab client does, to
        count what it drops), so the batch is not checked twice."""
        now = self.clock()
        kept = 0
        for fix in fixes:
            if not validated:
                try:
                    validate_fix(fix, now=now)
                except InvalidPosition as error:
                    self.rejected += 1
                    log.debug("position rejected: %s", error)
                    continue
            info = self.units.get(fix.unit_id)
            if info is None:
                self.unknown += 1
                continue
            bearing = fix.bearing
            if bearing is None and (previous := self.latest.get(info.unit_id)) is not None \
                    and fix.device_time > previous.device_time:
                bearing = heading(previous.lat, previous.lon, fix.lat, fix.lon)
            if fix.unit_id != info.unit_id or bearing != fix.bearing:
                # built directly: dataclasses.replace costs several times more, per fix
                fix = PositionFix(info.unit_id, fix.lat, fix.lon, fix.speed_kmh, bearing,
                                  fix.device_time, fix.record_id, fix.source)
            newest = self.latest.offer(fix)
            if len(self._to_store) >= MAX_PENDING:
                self.dropped += 1  # bounded: the database is behind; the newest fix still shows
            else:  # late fixes too: a feed catching up after an outage fills the breadcrumbs
                self._to_store.append(StoredFix(info.unit_id, fix.lat, fix.lon, fix.speed_kmh,
                                                fix.bearing, fix.device_time, fix.record_id,
                                                fix.source))
            if not newest:  # older than what the board shows: stored, not published
                self.superseded += 1
                continue
            self._to_publish[info.unit_id] = PositionUpdate(
                unit_id=info.unit_id, technician_id=info.technician_id, store_id=info.store_id,
                lat=fix.lat, lon=fix.lon, speed_kmh=fix.speed_kmh, bearing=fix.bearing,
                at=fix.device_time, freshness=freshness(fix, now))
            kept += 1
        self.accepted += kept
        return kept

    async def phone_position(self, principal: Principal, msg: dict[str, Any]) -> None:
        """A technician's phone shares its position (the van has no tracker)."""
        info = self.units.get(f"technician:{principal.technician_id}")
        if info is None:
            raise ValueError("no unit is linked to your technician record")
        lat, lon = msg.get("lat"), msg.get("lon")
        if not all(isinstance(v, int | float) and math.isfinite(v) for v in (lat, lon)):
            raise ValueError("position needs numeric lat and lon")
        try:
            when = dt.datetime.fromisoformat(str(msg.get("device_time")))
        except ValueError as error:
            raise ValueError("device_time must be an ISO time with an offset") from error
        speed = msg.get("speed_kmh") or 0.0
        bearing = msg.get("bearing")
        fix = PositionFix(
            unit_id=info.unit_id, lat=float(lat), lon=float(lon),  # type: ignore[arg-type]
            speed_kmh=float(speed) if isinstance(speed, int | float) else 0.0,
            bearing=float(bearing) if isinstance(bearing, int | float) else None,
            device_time=when, record_id=f"phone:{principal.user_id}:{when.isoformat()}",
            source="phone")
        try:
            validate_fix(fix, now=self.clock())
        except InvalidPosition as error:
            raise ValueError(str(error)) from error
        await self.ingest([fix])

    async def flush(self, *, store: bool = True) -> None:
        await self.publish()
        if store:
            await self.save()

    async def publish(self) -> None:
        """The newest fix of each unit that changed, to the bus in one message."""
        if self._to_publish:
            updates = list(self._to_publish.values())
            self._to_publish.clear()
            await self.bus.publish(self.channel, positions_to_wire(updates))

    async def save(self) -> None:
        """Every accepted fix since the last save, to the latest and history tables."""
        if self._to_store:
            batch, self._to_store = self._to_store, []
            await self.store.save(batch)

    def freshness_changes(self, now: dt.datetime) -> list[dict[str, Any]]:
        """Units whose freshness (moving / stopped / stale / offline) changed, as events."""
        changes = []
        for fix in self.latest.all().values():
            state = freshness(fix, now)
            before = self.freshness_state.get(fix.unit_id)
            self.freshness_state[fix.unit_id] = state
            # moving <-> stopped flips with every traffic light: only report the quiet states
            quiet = {"stale", "offline"}
            if before is None or before == state or (before not in quiet and state not in quiet):
                continue
            info = self.units.get(fix.unit_id)
            changes.append({
                "name": "UnitFreshnessChanged", "aggregate_type": "unit",
                "aggregate_id": fix.unit_id, "store_id": info.store_id if info else None,
                "technician_id": info.technician_id if info else None,
                "data": {"unit_id": fix.unit_id, "previous": before, "freshness": state,
                         "last_fix_at": fix.device_time.isoformat()},
            })
        return changes

    async def _publish_loop(self) -> None:
        """To the bus every ``publish_interval``: never behind the database's writes."""
        while True:
            await asyncio.sleep(self.publish_interval)
            try:
                await self.publish()
            except asyncio.CancelledError:
                raise
            except Exception:  # supervised: keep the fast lane running
                log.exception("positions publish failed")

    async def _store_loop(self) -> None:
        """The batches to the database, freshness changes and the unit directory."""
        loop = asyncio.get_running_loop()
        next_freshness = loop.time() + self.freshness_interval
        next_refresh = loop.time() + self.directory_refresh
        while True:
            await asyncio.sleep(self.store_interval)
            try:
                await self.save()
                if loop.time() >= next_freshness:
                    next_freshness = loop.time() + self.freshness_interval
                    changes = self.freshness_changes(self.clock())
                    if changes and self.on_freshness is not None:
                        await self.on_freshness(changes)
                if loop.time() >= next_refresh:
                    self.units = await self.directory.units()
                    next_refresh = loop.time() + (self.directory_refresh if self.units else 5.0)
            except asyncio.CancelledError:
                raise
            except Exception:  # supervised: keep the fast lane running
                log.exception("positions store failed")
