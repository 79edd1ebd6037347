from __future__ import annotations

from pathlib import Path

import pytest

from routing.vrptw.solomon import InstanceFormatError, parse_solomon, read_solomon


def test_reader_gives_fleet_capacity_and_every_customer_of_c101(solomon_dir: Path) -> None:
    c101 = read_solomon(solomon_dir / "C101.txt")
    assert c101.name == "C101"
    assert (c101.fleet_size, c101.capacity) == (25, 200)
    assert c101.n_customers == 100
    assert (c101.x[0], c101.y[0], c101.due[0]) == (40, 50, 1236)
    assert (c101.demand[1], c101.ready[1], c101.due[1], c101.service[1]) == (10, 912, 967, 90)


def test_reader_accepts_gehring_homberger_files(solomon_dir: Path) -> None:
    instance = read_solomon(solomon_dir.parents[1] / "homberger" / "instances" / "c1_2_1.txt")
    assert instance.n_customers == 200
    assert instance.fleet_size == 50


def test_a_file_without_customers_is_refused_with_a_clear_error() -> None:
    with pytest.raises(InstanceFormatError, match="VEHICLE/CUSTOMER"):
        parse_solomon("X1\n\nVEHICLE\nNUMBER CAPACITY\n 3 10\n")
