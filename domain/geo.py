"""Locations and time windows: small value objects with their own validation."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from domain.errors import ValidationFailed


@dataclass(frozen=True, slots=True)
class Location:
    lat: float
    lon: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.lat) and math.isfinite(self.lon)):
            raise ValidationFailed("location must be finite numbers", field="location")
        if not -90.0 <= self.lat <= 90.0:
            raise ValidationFailed(f"latitude {self.lat} is outside -90..90", field="location.lat")
        if not -180.0 <= self.lon <= 180.0:
            raise ValidationFailed(
                f"longitude {self.lon} is outside -180..180", field="location.lon"
            )

    def as_dict(self) -> dict[str, float]:
        return {"lat": self.lat, "lon": self.lon}


def ensure_aware(value: dt.datetime, field: str) -> dt.datetime:
    """Refuse naive datetimes: every time in the domain is an instant, stored in UTC."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationFailed(f"{field} must carry a time zone offset", field=field)
    return value.astimezone(dt.UTC)


@dataclass(frozen=True, slots=True)
class TimeWindow:
    start: dt.datetime
    end: dt.datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", ensure_aware(self.start, "time_window.start"))
        object.__setattr__(self, "end", ensure_aware(self.end, "time_window.end"))
        if self.end <= self.start:
            raise ValidationFailed("time window must end after it starts", field="time_window")

    def contains(self, instant: dt.datetime) -> bool:
        return self.start <= instant <= self.end

    def as_dict(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}
