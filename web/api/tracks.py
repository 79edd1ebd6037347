"""The board's extra reads: a technician's track (the van's breadcrumb trail and the planned
route) and a store's day so far (its on-time rate)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import Field

from domain.errors import NotFound
from domain.roles import Permission
from storage.queries.today import store_today
from storage.queries.tracks import technician_track
from web.api.framework import Api, Call, Empty, NoInput
from web.api.schemas import LocationOut, Out, Strict

api = Api()
TAG = "resources"


class TrackQuery(Strict):
    minutes: int = Field(default=120, ge=1, le=24 * 60, description="How far back the trail goes.")
    points: int = Field(default=600, ge=2, le=5000, description="Most trail points returned.")


class TrailPoint(Out):
    lat: float
    lon: float
    at: dt.datetime


class RouteStop(Out):
    work_order_id: str
    status: str
    sequence: int | None
    location: LocationOut
    planned_arrival: dt.datetime | None
    window_end: dt.datetime | None
    description: str


class TrackOut(Out):
    technician_id: str
    unit_id: str | None
    since: dt.datetime
    position: TrailPoint | None
    trail: list[TrailPoint]
    route: list[RouteStop]


@api.route("GET", "/api/technicians/{id}/track", summary="A technician's trail and planned route",
           tag=TAG, query=TrackQuery, response=TrackOut, errors=(403, 404, 422),
           permissions=(Permission.BOARD_VIEW,))
async def get_technician_track(call: Call[Empty, TrackQuery]) -> dict[str, Any]:
    """``trail``: the van's positions of the last ``minutes``, oldest first, thinned evenly to at
    most ``points`` (the first and the newest kept); ``position``: the latest fix; ``route``: the
    open jobs in the order they will be done (started first, then by sequence), only those of
    the caller's stores. Another store's technician is 404."""
    tech_id = call.path_id("technician")
    since = call.runtime.now() - dt.timedelta(minutes=call.query.minutes)
    async with call.runtime.engine.connect() as conn:
        found = await technician_track(conn, call.principal, tech_id, since, call.query.points)
    if found is None:
        raise NotFound("technician", tech_id)
    return found


class TodayOut(Out):
    store_id: str
    since: dt.datetime
    completed: int
    on_time: int
    on_time_rate: float | None


@api.route("GET", "/api/stores/{id}/today", summary="A store's day so far (on-time rate)",
           tag=TAG, response=TodayOut, errors=(403, 404), permissions=(Permission.BOARD_VIEW,))
async def store_day(call: NoInput) -> dict[str, Any]:
    """Jobs completed since the store's local midnight and how many were reached within their
    window (arrival = the on-site step; without one, the completion); ``on_time_rate`` is null
    before the first completion. Another store's is 404 for a store manager."""
    store_id = call.path_id("technician")
    async with call.runtime.engine.connect() as conn:
        found = await store_today(conn, call.principal, store_id, call.runtime.now())
    if found is None:
        raise NotFound("store", store_id)
    return found
