from __future__ import annotations

from pathlib import Path

import pytest

#: A few public benchmark instances (Solomon C101, Gehring-Homberger C1_2_1 with its best-known
#: solution) kept with the tests, so they run anywhere; bench/routing.py reads the full sets.
BENCH_DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def solomon_dir() -> Path:
    return BENCH_DATA / "solomon" / "instances"
