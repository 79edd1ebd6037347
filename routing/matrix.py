"""Travel times and distances between locations.

The solver only ever sees integer matrices of seconds and metres produced by a
``TravelTimeProvider``. The default provider estimates road travel from the great-circle distance
(haversine, vectorized with numpy) times a road-distance factor, at a speed that may depend on the
hour of the day. A road-network table service (e.g. OSRM's ``table`` API) can replace it by
implementing the same protocol. Nothing here geocodes: locations arrive as coordinates.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt
from geopy.distance import geodesic

from routing.problem import Location

EARTH_RADIUS_M = 6_371_008.8
DEFAULT_ROAD_FACTOR = 1.3

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Coords:
    """Latitudes and longitudes (degrees) of n points, as two parallel float arrays."""

    lat: FloatArray
    lon: FloatArray

    @classmethod
    def of(cls, locations: Sequence[Location]) -> Coords:
        lat = np.fromiter((p.lat for p in locations), dtype=np.float64, count=len(locations))
        lon = np.fromiter((p.lon for p in locations), dtype=np.float64, count=len(locations))
        return cls(lat, lon)

    def __len__(self) -> int:
        return int(self.lat.shape[0])


@dataclass(frozen=True, slots=True)
class TravelMatrix:
    """Travel ``seconds`` and road ``metres`` from each origin (row) to each destination."""

    seconds: IntArray
    metres: IntArray


class TravelTimeProvider(Protocol):
    """Anything that can give travel times between coordinates (a table service, a cache...)."""

    def travel(self, origins: Coords, destinations: Coords, hour: int | None = None) -> TravelMatrix:
        """Rectangular integer matrices, shape ``(len(origins), len(destinations))``."""
        ...


@dataclass(frozen=True, slots=True)
class SpeedProfile:
    """Average road speed in km/h, with optional per-hour-of-day overrides (rush hours)."""

    default_kmh: float = 40.0
    by_hour: Mapping[int, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if any(s <= 0 for s in (self.default_kmh, *self.by_hour.values())):
            raise ValueError("speeds must be positive")

    def kmh(self, hour: int | None) -> float:
        if hour is None:
            return self.default_kmh
        return self.by_hour.get(hour % 24, self.default_kmh)


def haversine_m(a: Coords, b: Coords) -> FloatArray:
    """Great-circle distances in metres between every point of ``a`` and every point of ``b``."""
    lat1 = np.radians(a.lat)[:, None]
    lat2 = np.radians(b.lat)[None, :]
    dlat = lat2 - lat1
    dlon = np.radians(b.lon)[None, :] - np.radians(a.lon)[:, None]
    h = np.sin(dlat / 2.0) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin(dlon / 2.0) ** 2
    result: FloatArray = 2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    return result


class GreatCircleProvider:
    """Road travel estimated from the great-circle distance.

    ``metres = great_circle * road_factor`` and ``seconds = ceil(metres / speed)``; both are
    integers so the solver and the validator compute identical times. ``matrix()`` keeps a small
    LRU cache keyed by the exact location sequence, because a re-plan usually asks again for the
    same technicians and jobs.
    """

    def __init__(
        self,
        *,
        road_factor: float = DEFAULT_ROAD_FACTOR,
        speed: SpeedProfile | None = None,
        cache_size: int = 16,
    ) -> None:
        if road_factor < 1.0:
            raise ValueError("road factor must be at least 1")
        self.road_factor = road_factor
        self.speed = speed or SpeedProfile()
        self._cache_size = cache_size
        self._cache: OrderedDict[tuple[tuple[Location, ...], int | None], TravelMatrix]
        self._cache = OrderedDict()
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, object]:
        # Picklable for worker processes: the cache and its lock stay behind.
        state = dict(self.__dict__)
        state["_cache"] = OrderedDict()
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def travel(self, origins: Coords, destinations: Coords, hour: int | None = None) -> TravelMatrix:
        metres = haversine_m(origins, destinations) * self.road_factor
        metres_per_s = self.speed.kmh(hour) / 3.6
        seconds = np.ceil(metres / metres_per_s - 1e-9)
        return TravelMatrix(seconds=seconds.astype(np.int64), metres=np.rint(metres).astype(np.int64))

    def matrix(self, locations: Sequence[Location], hour: int | None = None) -> TravelMatrix:
        """Square matrices between ``locations``, from the LRU cache when possible."""
        key = (tuple(locations), hour)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        coords = Coords.of(key[0])
        result = self.travel(coords, coords, hour)
        with self._lock:
            self._cache[key] = result
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return result


def square_matrix(
    provider: TravelTimeProvider, locations: Sequence[Location], hour: int | None = None
) -> TravelMatrix:
    """The square matrix of any provider; uses the provider's cache when it has one."""
    if isinstance(provider, GreatCircleProvider):
        return provider.matrix(locations, hour)
    coords = Coords.of(locations)
    return provider.travel(coords, coords, hour)


def distance_m(a: Location, b: Location) -> float:
    """Geodesic (ellipsoid) distance in metres between two points, for one-off questions."""
    return float(geodesic((a.lat, a.lon), (b.lat, b.lon)).meters)
