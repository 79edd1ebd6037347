"""Request and response models of the technician-track and store-day endpoints (``tracks.py``)."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from web.api.schemas import LocationOut, Out, Strict


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


class TodayOut(Out):
    store_id: str
    since: dt.datetime
    completed: int
    on_time: int
    on_time_rate: float | None
