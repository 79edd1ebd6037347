from __future__ import annotations

from pathlib import Path

import pytest

BENCH_DATA = Path(__file__).resolve().parents[3] / "shared" / "bench"


@pytest.fixture(scope="session")
def solomon_dir() -> Path:
    folder = BENCH_DATA / "solomon" / "instances"
    if not folder.is_dir():
        pytest.skip(f"benchmark data not found next to the repository ({BENCH_DATA})")
    return folder
