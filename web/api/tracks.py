"""The board's extra reads: a technician's track (the van's breadcrumb trail and the planned
route) and a store's day so far (its on-time rate)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from domain.errors import NotFound
from domain.roles import Permission
from storage.engine import read_connection
from storage.queries.today import store_today
from storage.queries.tracks import technician_track
from web.api.framework import Api, Call, Empty, NoInput
from web.api.track_schemas import TodayOut, TrackOut, TrackQuery

api = Api()
TAG = "resources"


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
    async with read_connection(call.runtime.engine) as conn:
        found = await technician_track(conn, call.principal, tech_id, since, call.query.points)
    if found is None:
        raise NotFound("technician", tech_id)
    return found


@api.route("GET", "/api/stores/{id}/today", summary="A store's day so far (on-time rate)",
           tag=TAG, response=TodayOut, errors=(403, 404), permissions=(Permission.BOARD_VIEW,))
async def store_day(call: NoInput) -> dict[str, Any]:
    """Jobs completed since the store's local midnight and how many were reached within their
    window (arrival = the on-site step; without one, the completion); ``on_time_rate`` is null
    before the first completion. Another store's is 404 for a store manager."""
    store_id = call.path_id("technician")
    async with read_connection(call.runtime.engine) as conn:
        found = await store_today(conn, call.principal, store_id, call.runtime.now())
    if found is None:
        raise NotFound("store", store_id)
    return found
