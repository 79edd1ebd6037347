"""Request and response models of the address look-up endpoints (``geocode.py``)."""

from __future__ import annotations

from pydantic import Field

from web.api.schemas import LocationOut, Out, Strict


class GeocodeQuery(Strict):
    q: str = Field(min_length=3, max_length=200, description="The address, as typed")
    limit: int = Field(default=5, ge=1, le=10)


class PlaceOut(Out):
    label: str
    location: LocationOut


class PlaceList(Out):
    items: list[PlaceOut]
    provider: str
    attribution: str


class GeocoderOut(Out):
    configured: bool
    provider: str | None = Field(description="nominatim, or null when none is configured")
