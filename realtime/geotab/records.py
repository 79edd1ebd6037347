"""Turning MyGeotab feed entities into domain values.

`LogRecord` → `PositionFix`; `DeviceStatusInfo` → `DeviceStatus`. Anything malformed raises
`InvalidPosition`, so the client can count and drop it like an out-of-range coordinate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from domain.positions import InvalidPosition, PositionFix

from .protocol import parse_datetime


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    """A van's current state as MyGeotab's DeviceStatusInfo reports it."""

    device_id: str
    device_time: datetime
    lat: float
    lon: float
    speed_kmh: float
    bearing: float | None
    is_driving: bool
    is_communicating: bool
    driver_id: str | None
    current_state_duration: timedelta | None

    def to_fix(self) -> PositionFix:
        """The position part as a fix; DeviceStatusInfo has no record id, device+time stands in."""
        return PositionFix(
            unit_id=self.device_id,
            lat=self.lat,
            lon=self.lon,
            speed_kmh=self.speed_kmh,
            bearing=self.bearing,
            device_time=self.device_time,
            record_id=f"status:{self.device_id}:{self.device_time.isoformat()}",
            source="geotab",
        )


def log_record_to_fix(record: Any) -> PositionFix:
    """Convert one LogRecord (`id`, `dateTime`, `device`, `latitude`, `longitude`, `speed`)."""
    if not isinstance(record, dict):
        raise InvalidPosition(f"LogRecord is not an object: {record!r:.80}")
    record_id = _text(record.get("id"))
    device_id = _reference_id(record.get("device"))
    try:
        return PositionFix(
            unit_id=device_id,
            lat=_number(record.get("latitude"), "latitude"),
            lon=_number(record.get("longitude"), "longitude"),
            speed_kmh=_number(record.get("speed", 0), "speed"),
            bearing=None,
            device_time=_datetime(record.get("dateTime")),
            record_id=record_id,
            source="geotab",
        )
    except InvalidPosition as exc:
        raise InvalidPosition(exc.reason, unit_id=device_id, record_id=record_id) from None


def device_status_from_entity(entity: Any) -> DeviceStatus:
    """Convert one DeviceStatusInfo entity; bearing -1 (unknown) becomes None."""
    if not isinstance(entity, dict):
        raise InvalidPosition(f"DeviceStatusInfo is not an object: {entity!r:.80}")
    device_id = _reference_id(entity.get("device"))
    try:
        bearing_raw = entity.get("bearing")
        bearing: float | None = None
        if bearing_raw is not None:
            bearing = _number(bearing_raw, "bearing")
            bearing = None if bearing < 0 else bearing
        driver = entity.get("driver")
        driver_id = _reference_id(driver) if isinstance(driver, dict) else None
        duration = entity.get("currentStateDuration")
        return DeviceStatus(
            device_id=device_id,
            device_time=_datetime(entity.get("dateTime")),
            lat=_number(entity.get("latitude"), "latitude"),
            lon=_number(entity.get("longitude"), "longitude"),
            speed_kmh=_number(entity.get("speed", 0), "speed"),
            bearing=bearing,
            is_driving=bool(entity.get("isDriving", False)),
            is_communicating=bool(entity.get("isDeviceCommunicating", False)),
            driver_id=driver_id,
            current_state_duration=parse_timespan(duration) if isinstance(duration, str) else None,
        )
    except InvalidPosition as exc:
        raise InvalidPosition(exc.reason, unit_id=device_id) from None


def parse_timespan(value: str) -> timedelta | None:
    """A .NET TimeSpan `[d.]hh:mm:ss[.fffffff]`; None when unreadable (it is informational)."""
    try:
        days = 0
        head, _, rest = value.partition(":")
        if "." in head:
            day_text, head = head.split(".", 1)
            days = int(day_text)
        minutes_text, _, seconds_text = rest.partition(":")
        return timedelta(days=days, hours=int(head), minutes=int(minutes_text), seconds=float(seconds_text))
    except ValueError:
        return None


def format_timespan(value: timedelta) -> str:
    """The inverse of `parse_timespan`, whole seconds (used by the simulator)."""
    total = int(value.total_seconds())
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, seconds = divmod(rest, 60)
    prefix = f"{days}." if days else ""
    return f"{prefix}{hours:02d}:{minutes:02d}:{seconds:02d}"


def _reference_id(value: Any) -> str:
    if isinstance(value, dict) and isinstance(value.get("id"), str) and value["id"]:
        return str(value["id"])
    raise InvalidPosition(f"missing or malformed device reference {value!r:.80}")


def _text(value: Any) -> str:
    if isinstance(value, str) and value:
        return value
    raise InvalidPosition(f"missing or malformed record id {value!r:.80}")


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidPosition(f"{name} is not a number: {value!r:.80}")
    number = float(value)
    if not math.isfinite(number):
        raise InvalidPosition(f"{name} is not finite: {value!r}")
    return number


def _datetime(value: Any) -> datetime:
    if not isinstance(value, str):
        raise InvalidPosition(f"dateTime is not a string: {value!r:.80}")
    try:
        return parse_datetime(value)
    except ValueError:
        raise InvalidPosition(f"dateTime is not ISO-8601: {value!r:.80}") from None
