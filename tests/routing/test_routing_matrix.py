from __future__ import annotations

import pickle

import numpy as np
import pytest

from routing.matrix import Coords, GreatCircleProvider, SpeedProfile, distance_m, haversine_m
from routing.problem import Location
from tests.routing.world import at

PLACES = [at(0, 0), at(3, 4), at(-10, 2), at(25, -30), at(0.2, 0.1)]


def test_travel_matrix_is_symmetric_with_a_zero_diagonal() -> None:
    m = GreatCircleProvider().matrix(PLACES)
    assert (m.seconds == m.seconds.T).all()
    assert (m.metres == m.metres.T).all()
    assert (np.diag(m.seconds) == 0).all()
    assert (np.diag(m.metres) == 0).all()
    assert m.seconds.dtype == np.int64


def test_road_distance_is_the_great_circle_times_the_road_factor() -> None:
    straight = distance_m(PLACES[0], PLACES[1])  # 5 km, a 3-4-5 triangle
    assert straight == pytest.approx(5000, rel=0.01)
    m = GreatCircleProvider(road_factor=1.3).matrix(PLACES)
    assert m.metres[0, 1] == pytest.approx(1.3 * straight, rel=0.005)


def test_travel_time_follows_the_speed_profile_of_the_hour() -> None:
    provider = GreatCircleProvider(speed=SpeedProfile(default_kmh=60, by_hour={8: 30}))
    a, b = Coords.of(PLACES[:1]), Coords.of(PLACES[1:2])
    off_peak = int(provider.travel(a, b).seconds[0, 0])
    rush_hour = int(provider.travel(a, b, hour=8).seconds[0, 0])
    assert off_peak == pytest.approx(6.5 / 60 * 3600, abs=5)
    assert rush_hour == pytest.approx(2 * off_peak, abs=2)


def test_haversine_agrees_with_the_geodesic_within_half_a_percent() -> None:
    great_circle = haversine_m(Coords.of(PLACES), Coords.of(PLACES))
    for i, p in enumerate(PLACES):
        for j, q in enumerate(PLACES):
            if i != j:
                assert great_circle[i, j] == pytest.approx(distance_m(p, q), rel=0.005)


def test_the_same_locations_are_served_from_the_cache() -> None:
    provider = GreatCircleProvider(cache_size=2)
    first = provider.matrix(PLACES)
    assert provider.matrix(list(PLACES)) is first
    provider.matrix(PLACES[:2])
    provider.matrix(PLACES[:3])
    assert provider.matrix(PLACES) is not first  # evicted, least recently used


def test_a_provider_can_be_sent_to_a_worker_process() -> None:
    provider = GreatCircleProvider(road_factor=1.4)
    provider.matrix(PLACES)
    copy = pickle.loads(pickle.dumps(provider))
    assert (copy.matrix(PLACES).metres == provider.matrix(PLACES).metres).all()


def test_a_location_outside_the_globe_is_refused() -> None:
    with pytest.raises(ValueError, match="out of range"):
        Location(91.0, 0.0)
