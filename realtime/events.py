"""What travels on the live stream: published events (with their sequence) and position batches."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class LogEvent:
    """An event from the durable log, with the sequence number the relay gave it."""

    seq: int
    name: str
    at: dt.datetime
    aggregate_type: str
    aggregate_id: str
    store_id: str | None
    technician_id: str | None
    data: dict[str, Any] = field(default_factory=dict)
    #: The request or job that caused it (for log lines only; clients never see it).
    correlation_id: str | None = None

    def message(self) -> dict[str, Any]:
        return {"type": "event", "seq": self.seq, "event": self.name,
                "at": self.at.isoformat(), "data": self.data}

    def to_wire(self) -> str:
        return json.dumps({
            "kind": "event", "seq": self.seq, "name": self.name, "at": self.at.isoformat(),
            "aggregate_type": self.aggregate_type, "aggregate_id": self.aggregate_id,
            "store_id": self.store_id, "technician_id": self.technician_id, "data": self.data,
            "correlation_id": self.correlation_id,
        }, separators=(",", ":"))

    @classmethod
    def from_wire(cls, raw: dict[str, Any]) -> LogEvent:
        return cls(seq=int(raw["seq"]), name=str(raw["name"]),
                   at=dt.datetime.fromisoformat(raw["at"]),
                   aggregate_type=str(raw["aggregate_type"]), aggregate_id=str(raw["aggregate_id"]),
                   store_id=raw.get("store_id"), technician_id=raw.get("technician_id"),
                   data=dict(raw.get("data") or {}), correlation_id=raw.get("correlation_id"))


@dataclass(frozen=True, slots=True)
class PositionUpdate:
    """The latest fix of one vehicle, enriched with who drives it and for which store."""

    unit_id: str
    technician_id: str | None
    store_id: str | None
    lat: float
    lon: float
    speed_kmh: float
    bearing: float | None
    at: dt.datetime
    freshness: str

    def item(self) -> dict[str, Any]:
        return {"unit_id": self.unit_id, "technician_id": self.technician_id,
                "store_id": self.store_id, "lat": self.lat, "lon": self.lon,
                "speed_kmh": self.speed_kmh, "bearing": self.bearing,
                "at": self.at.isoformat(), "freshness": self.freshness}

    @classmethod
    def from_item(cls, raw: dict[str, Any]) -> PositionUpdate:
        return cls(unit_id=str(raw["unit_id"]), technician_id=raw.get("technician_id"),
                   store_id=raw.get("store_id"), lat=float(raw["lat"]), lon=float(raw["lon"]),
                   speed_kmh=float(raw.get("speed_kmh") or 0.0), bearing=raw.get("bearing"),
                   at=dt.datetime.fromisoformat(raw["at"]), freshness=str(raw["freshness"]))


@dataclass(frozen=True, slots=True)
class StoredFix:
    """A fix as the position store writes it (latest and history)."""

    unit_id: str
    lat: float
    lon: float
    speed_kmh: float
    bearing: float | None
    at: dt.datetime
    record_id: str
    source: str


def positions_to_wire(updates: list[PositionUpdate]) -> str:
    return json.dumps({"kind": "positions", "items": [u.item() for u in updates]},
                      separators=(",", ":"))


def heartbeat_to_wire(seq: int) -> str:
    return json.dumps({"kind": "heartbeat", "seq": seq})
