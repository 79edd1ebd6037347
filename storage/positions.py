"""Positions: upsert of the latest fix per unit (never backwards) and the breadcrumb history."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import tables as t


class SqlPositionStore:
    """Implements ``realtime.ports.PositionStore``. Takes objects with the fix's attributes
    (``unit_id``, ``lat``, ``lon``, ``speed_kmh``, ``bearing``, ``at``, ``record_id``, ``source``)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    async def save(self, updates: list[Any]) -> None:
        if not updates:
            return
        rows = [{
            "unit_id": u.unit_id, "lat": u.lat, "lon": u.lon, "speed_kmh": u.speed_kmh,
            "bearing": u.bearing, "device_time": u.at,
            "record_id": getattr(u, "record_id", None) or f"{u.unit_id}@{u.at.isoformat()}",
            "source": getattr(u, "source", "geotab"),
        } for u in updates]
        latest = self._insert(t.positions_latest)
        upsert = latest.on_conflict_do_update(
            index_elements=[t.positions_latest.c.unit_id],
            set_={c: latest.excluded[c] for c in ("lat", "lon", "speed_kmh", "bearing",
                                                  "device_time", "record_id", "source")},
            where=t.positions_latest.c.device_time < latest.excluded.device_time,
        )
        history = self._insert(t.position_history).on_conflict_do_nothing(
            index_elements=["source", "record_id"])
        newest: dict[str, dict[str, Any]] = {}
        for row in rows:
            if row["unit_id"] not in newest or row["device_time"] > newest[row["unit_id"]][
                    "device_time"]:
                newest[row["unit_id"]] = row
        async with self.engine.begin() as conn:
            await conn.execute(history, rows)
            await conn.execute(upsert, list(newest.values()))

    async def trail(self, unit_id: str, since: dt.datetime, limit: int = 2000) -> list[dict[str, Any]]:
        h = t.position_history
        async with self.engine.connect() as conn:
            rows = (await conn.execute(
                select(h.c.lat, h.c.lon, h.c.device_time, h.c.speed_kmh)
                .where(h.c.unit_id == unit_id, h.c.device_time >= since)
                .order_by(h.c.device_time).limit(limit)
            )).mappings().all()
        return [{"lat": r["lat"], "lon": r["lon"], "at": r["device_time"].isoformat(),
                 "speed_kmh": r["speed_kmh"]} for r in rows]

    async def prune(self, older_than: dt.datetime) -> int:
        h = t.position_history
        async with self.engine.begin() as conn:
            result = await conn.execute(h.delete().where(h.c.device_time < older_than))
        return int(result.rowcount or 0)
