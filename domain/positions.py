"""Vehicle and phone positions: the fix value, its validation, ordering and freshness.

Pure rules for the positions fast lane. Feeds (the GeoTab client, technician phones) turn their
records into `PositionFix` values, run them through `validate_fix`, and keep the latest fix per
unit with `is_newer` (or the small `LatestPositions` holder). Nothing here does I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

PositionSource = Literal["geotab", "phone"]
Freshness = Literal["moving", "stopped", "stale", "offline"]

DEFAULT_FUTURE_TOLERANCE = timedelta(minutes=2)
DEFAULT_STALE_AFTER = timedelta(minutes=5)
DEFAULT_OFFLINE_AFTER = timedelta(minutes=30)
# GPS jitter makes a parked van report a few km/h; below this it counts as stopped.
DEFAULT_MOVING_THRESHOLD_KMH = 3.0


class InvalidPosition(ValueError):
    """A position fix that must not reach the board: bad coordinates, speed or time."""

    def __init__(self, reason: str, *, unit_id: str = "", record_id: str = "") -> None:
        self.reason = reason
        self.unit_id = unit_id
        self.record_id = record_id
        where = f" (unit {unit_id!r}, record {record_id!r})" if unit_id or record_id else ""
        super().__init__(f"invalid position: {reason}{where}")


@dataclass(frozen=True, slots=True)
class PositionFix:
    """One reported position of a unit (a van's GeoTab device or a technician's phone).

    `device_time` is when the device took the fix (aware, UTC); it decides ordering, never the
    time the record arrived. `record_id` identifies the record at its source, so a record sent
    twice is recognised as the same fix.
    """

    unit_id: str
    lat: float
    lon: float
    speed_kmh: float
    bearing: float | None
    device_time: datetime
    record_id: str
    source: PositionSource = "geotab"


def validate_fix(
    fix: PositionFix,
    *,
    now: datetime,
    future_tolerance: timedelta = DEFAULT_FUTURE_TOLERANCE,
) -> PositionFix:
    """Return `fix` unchanged when it may be shown on the board; raise `InvalidPosition` if not.

    Rejects: non-finite or out-of-range latitude/longitude, the (0, 0) "no GPS lock" point,
    non-finite or negative speed, a bearing outside [0, 360), a naive device time, and a device
    time more than `future_tolerance` ahead of `now` (a device clock gone wrong would otherwise
    pin the marker forever, since newer fixes could never beat it).
    """

    def bad(reason: str) -> InvalidPosition:
        return InvalidPosition(reason, unit_id=fix.unit_id, record_id=fix.record_id)

    if not fix.unit_id:
        raise bad("missing unit id")
    if not _finite(fix.lat) or not _finite(fix.lon):
        raise bad(f"coordinates are not finite numbers ({fix.lat!r}, {fix.lon!r})")
    if not -90.0 <= fix.lat <= 90.0:
        raise bad(f"latitude {fix.lat} outside [-90, 90]")
    if not -180.0 <= fix.lon <= 180.0:
        raise bad(f"longitude {fix.lon} outside [-180, 180]")
    if fix.lat == 0.0 and fix.lon == 0.0:
        raise bad("coordinates (0, 0) mean the device had no GPS lock")
    if not _finite(fix.speed_kmh) or fix.speed_kmh < 0:
        raise bad(f"speed {fix.speed_kmh!r} km/h is not a non-negative number")
    if fix.bearing is not None and (not _finite(fix.bearing) or not 0 <= fix.bearing < 360):
        raise bad(f"bearing {fix.bearing!r} outside [0, 360)")
    if fix.device_time.tzinfo is None or fix.device_time.utcoffset() is None:
        raise bad("device time has no time zone")
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    if fix.device_time - now > future_tolerance:
        raise bad(f"device time {fix.device_time.isoformat()} is in the future")
    return fix


def is_newer(current: PositionFix | None, candidate: PositionFix) -> bool:
    """Whether `candidate` should replace `current` as the unit's latest position.

    Device time decides, so a late (buffered) record never moves a marker back; the same
    record sent again is a duplicate, and a tie on device time keeps the fix already shown.
    """
    if current is None:
        return True
    if current.unit_id != candidate.unit_id:
        raise ValueError(f"fixes of different units: {current.unit_id!r}, {candidate.unit_id!r}")
    if candidate.record_id == current.record_id and candidate.source == current.source:
        return False
    return candidate.device_time > current.device_time


def freshness(
    fix: PositionFix,
    now: datetime,
    *,
    stale_after: timedelta = DEFAULT_STALE_AFTER,
    offline_after: timedelta = DEFAULT_OFFLINE_AFTER,
    moving_threshold_kmh: float = DEFAULT_MOVING_THRESHOLD_KMH,
) -> Freshness:
    """Classify a unit by its latest fix: moving, stopped, stale (quiet) or offline (long gone)."""
    if offline_after < stale_after:
        raise ValueError("offline_after must not be shorter than stale_after")
    age = now - fix.device_time
    if age >= offline_after:
        return "offline"
    if age >= stale_after:
        return "stale"
    return "moving" if fix.speed_kmh > moving_threshold_kmh else "stopped"


class LatestPositions:
    """The latest fix per unit, applying `is_newer`; an in-memory, I/O-free holder."""

    def __init__(self) -> None:
        self._latest: dict[str, PositionFix] = {}

    def offer(self, fix: PositionFix) -> bool:
        """Keep `fix` if it is newer than the unit's current one; report whether it was kept."""
        if not is_newer(self._latest.get(fix.unit_id), fix):
            return False
        self._latest[fix.unit_id] = fix
        return True

    def get(self, unit_id: str) -> PositionFix | None:
        return self._latest.get(unit_id)

    def all(self) -> dict[str, PositionFix]:
        return dict(self._latest)

    def __len__(self) -> int:
        return len(self._latest)


def _finite(value: float) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
