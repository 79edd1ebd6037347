"""Looking up an address while booking a job, when a geocoder is configured (``GEOCODER``).

- ``GET /api/geocoder``: whether one is configured (the booking form offers the look-up only
  then; otherwise the place comes from the customer's saved address or a click on the map).
- ``GET /api/geocode?q=``: up to ``limit`` places for an address, as ``{label, location}``.
  Without a geocoder: 404 ``geocoder_not_configured``. A geocoder that fails, answers what cannot
  be read, refuses us or cannot be reached: 503 ``geocoder_unavailable`` (``Retry-After`` when it
  said how long to wait). Nothing it answers reaches a 500.

The client is geopy's Nominatim, speaking through a small httpx adapter (no other HTTP library).
Toward the public OpenStreetMap server a process asks at most once a second (its usage policy).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import ssl
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
from geopy.adapters import AdapterHTTPError, BaseAsyncAdapter
from geopy.exc import (
    GeocoderParseError,
    GeocoderRateLimited,
    GeocoderServiceError,
    GeocoderTimedOut,
    GeocoderUnavailable,
    GeopyError,
)
from geopy.geocoders import Nominatim
from starlette.applications import Starlette

from domain.roles import Permission
from web.api.framework import Api, Call, Empty, NoInput
from web.api.geocode_schemas import GeocodeQuery, GeocoderOut, PlaceList
from web.api.problems import ApiError
from web.settings import Settings

log = logging.getLogger("dispatch.geocode")
api = Api()
TAG = "geocoding"
PUBLIC_NOMINATIM = "nominatim.openstreetmap.org"
#: Seconds between two look-ups toward the public server (its usage policy: one a second).
PUBLIC_INTERVAL = 1.0
#: The longest a look-up waits for its turn at the public server before a 503.
LONGEST_WAIT = 10.0
TIMEOUT_SECONDS = 5.0
#: A geocoder's answer larger than this is refused (five places are a few kilobytes).
MAX_ANSWER_BYTES = 1_000_000
ATTRIBUTION = {"nominatim": "Data © OpenStreetMap contributors, ODbL 1.0"}


class HttpxAdapter(BaseAsyncAdapter):  # type: ignore[misc]
    """geopy's async adapter contract over httpx: its errors become geopy's."""

    def __init__(self, *, proxies: dict[str, str] | str | None,
                 ssl_context: ssl.SSLContext | None) -> None:
        super().__init__(proxies=proxies, ssl_context=ssl_context)
        self.client = httpx.AsyncClient(trust_env=False, follow_redirects=False,
                                        verify=ssl_context if ssl_context is not None else True)

    async def __aexit__(self, *exc: object) -> None:
        await self.client.aclose()

    async def get_text(self, url: str, *, timeout: float,  # noqa: ASYNC109 (geopy calls it so)
                       headers: dict[str, str]) -> str:
        try:
            response = await self.client.get(url, timeout=timeout, headers=headers)
        except httpx.TimeoutException as error:
            raise GeocoderTimedOut("the geocoder did not answer in time") from error
        except httpx.HTTPError as error:
            raise GeocoderUnavailable(f"the geocoder cannot be reached: {error}") from error
        if len(response.content) > MAX_ANSWER_BYTES:
            raise GeocoderServiceError("the geocoder's answer is too large")
        if response.status_code >= 400:
            raise AdapterHTTPError(f"the geocoder answered {response.status_code}",
                                   status_code=response.status_code,
                                   headers=dict(response.headers), text=response.text[:2000])
        return response.text

    async def get_json(self, url: str, *, timeout: float,  # noqa: ASYNC109 (geopy calls it so)
                       headers: dict[str, str]) -> Any:
        text = await self.get_text(url, timeout=timeout, headers=headers)
        try:
            return json.loads(text)
        except ValueError as error:
            raise GeocoderParseError("the geocoder's answer is not JSON") from error


def _client(settings: Settings) -> Nominatim:
    parts = urlsplit(settings.geocoder_url.strip())
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ApiError(503, "GEOCODER_URL is not an http(s) address", code="geocoder_unavailable")
    return Nominatim(domain=f"{parts.netloc}{parts.path.rstrip('/')}", scheme=parts.scheme,
                     user_agent=settings.geocoder_user_agent, timeout=TIMEOUT_SECONDS,
                     adapter_factory=HttpxAdapter)


async def _take_turn(app: Starlette, settings: Settings) -> None:
    """Space the look-ups toward the public server (across every process sharing REDIS_URL,
    else in this one); others go at once."""
    if urlsplit(settings.geocoder_url).hostname != PUBLIC_NOMINATIM:
        return
    if settings.redis_url:
        from web.spacing import reserve_turn

        wait = await reserve_turn(settings.redis_url, f"{settings.redis_prefix}:geocoder:next",
                                  interval=PUBLIC_INTERVAL, longest_wait=LONGEST_WAIT)
        if wait is None:
            raise ApiError(503, "too many address look-ups at once; try again shortly",
                           code="geocoder_unavailable",
                           headers={"Retry-After": str(int(LONGEST_WAIT))})
        await asyncio.sleep(wait)
        return
    gate = getattr(app.state, "geocode_gate", None)
    if gate is None:
        gate = app.state.geocode_gate = {"lock": asyncio.Lock(), "last": 0.0}
    async with gate["lock"]:
        wait = gate["last"] + PUBLIC_INTERVAL - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        gate["last"] = time.monotonic()


def _place(found: Any) -> dict[str, Any] | None:
    lat, lon = float(found.latitude), float(found.longitude)
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90
            and -180 <= lon <= 180):
        return None
    label = str(found.address or f"{lat:.5f}, {lon:.5f}")[:300]
    return {"label": label, "location": {"lat": lat, "lon": lon}}


async def lookup(app: Starlette, settings: Settings, q: str, limit: int) -> list[dict[str, Any]]:
    await _take_turn(app, settings)
    try:
        async with _client(settings) as geocoder:
            found = await geocoder.geocode(q, exactly_one=False, limit=limit)
        places = [_place(item) for item in (found or [])[:limit]]
    except GeocoderRateLimited as error:
        wait = str(int(error.retry_after)) if error.retry_after else "60"
        raise ApiError(503, "the geocoder asks us to slow down; try again shortly",
                       code="geocoder_unavailable", headers={"Retry-After": wait}) from error
    except (GeopyError, ValueError, TypeError, AttributeError, KeyError, Warning) as error:
        log.warning("address look-up failed: %s: %s", type(error).__name__, error)
        raise ApiError(503, "the address look-up is unavailable right now; pick the place on "
                            "the map", code="geocoder_unavailable") from error
    return [p for p in places if p is not None]


@api.route("GET", "/api/geocoder", summary="Whether an address look-up is configured", tag=TAG,
           response=GeocoderOut, errors=(403,), permissions=(Permission.WORK_ORDER_CREATE,))
async def geocoder_status(call: NoInput) -> dict[str, Any]:
    """The booking form shows its address look-up only when ``configured`` is true."""
    provider = call.runtime.settings.geocoder or None
    return {"configured": provider is not None, "provider": provider}


@api.route("GET", "/api/geocode", summary="Look up an address (the configured geocoder)",
           tag=TAG, query=GeocodeQuery, response=PlaceList, errors=(403, 404, 422, 503),
           permissions=(Permission.WORK_ORDER_CREATE,))
async def geocode(call: Call[Empty, GeocodeQuery]) -> dict[str, Any]:
    """404 ``geocoder_not_configured`` without ``GEOCODER``; 503 ``geocoder_unavailable`` when
    the geocoder fails or cannot be reached (the place can still be picked on the map)."""
    settings = call.runtime.settings
    if not settings.geocoder:
        raise ApiError(404, "no address look-up is configured (GEOCODER): use the customer's "
                            "saved address or pick the place on the map",
                       code="geocoder_not_configured")
    items = await lookup(call.request.app, settings, call.query.q.strip(), call.query.limit)
    return {"items": items, "provider": settings.geocoder,
            "attribution": ATTRIBUTION.get(settings.geocoder, "")}
