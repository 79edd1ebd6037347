"""``GC_TUNING``: a served process freezes what start-up made and collects young objects less
often (``web.gc_tuning``); without the setting nothing changes. In a process of its own each time:
the collector's state is the whole process's."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from web.gc_tuning import YOUNG_THRESHOLD

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import gc, json, os
from starlette.testclient import TestClient
from web.app import create_app
from web.settings import Settings
before = gc.get_freeze_count()
with TestClient(create_app(Settings(alerts_enabled=False))) as client:
    assert client.get("/healthz").status_code == 200
    print(json.dumps({"before": before, "frozen": gc.get_freeze_count(),
                      "threshold": gc.get_threshold()[0]}))
"""


def started(database_url: str, tuning: str | None) -> dict[str, int]:
    env = {**os.environ, "DATABASE_URL": database_url, "RUN_FEEDS": "false"}
    env.pop("GC_TUNING", None)
    if tuning is not None:
        env["GC_TUNING"] = tuning
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120, check=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_tuned_process_freezes_its_start_up_and_an_untuned_one_does_not(
        database_url: str) -> None:
    tuned = started(database_url, "true")
    assert tuned["before"] == 0 and tuned["frozen"] > 10_000  # modules, schema, routes ...
    assert tuned["threshold"] == YOUNG_THRESHOLD
    plain = started(database_url, None)
    assert plain["frozen"] == 0 and plain["threshold"] == gc.get_threshold()[0]  # as here
