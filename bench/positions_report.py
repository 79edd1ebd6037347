"""What ``bench/positions.py`` records and prints: a board's results, a way of polling, the app's
lag histograms read from ``/metrics``, and each way's report."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import re
from dataclasses import dataclass, field
from typing import Any

from storm import pct

BOARD_LAG = "dispatch_position_board_lag_seconds"
INGEST_LAG = "dispatch_position_ingest_lag_seconds"
SAMPLE = re.compile(r'^(\w+?)(_bucket|_sum|_count)(?:\{(.*)\})? (\S+)$', re.MULTILINE)


@dataclass
class Way:
    name: str
    fast: float
    idle: float


@dataclass
class BoardResult:
    lags: list[float] = field(default_factory=list)  # each item of each frame
    report_lags: list[float] = field(default_factory=list)  # each device report (each second)
    shown: dict[str, float] = field(default_factory=dict)  # unit -> device time on the board
    seen: set[str] = field(default_factory=set)  # units in the window's frames
    frames: int = 0
    snapshot: bool = False
    ended: str = ""


@dataclass
class Window:
    start: float = float("inf")  # wall-clock seconds: lags are device time -> arrival
    end: float = float("inf")
    ready: asyncio.Event = field(default_factory=asyncio.Event)


def histograms(text: str) -> dict[str, dict[str, float]]:
    """The lag histograms of a /metrics text: name -> {le bucket or _sum/_count: value}."""
    out: dict[str, dict[str, float]] = {BOARD_LAG: {}, INGEST_LAG: {}}
    for name, part, labels, value in SAMPLE.findall(text):
        if name in out:
            le = re.search(r'le="([^"]+)"', labels or "")
            out[name][le.group(1) if le else part] = out[name].get(
                le.group(1) if le else part, 0.0) + float(value)
    return out


def histogram_line(before: dict[str, float], after: dict[str, float]) -> str:
    """p50/p99 bounds and the mean of what a histogram gained between two scrapes."""
    count = after.get("_count", 0.0) - before.get("_count", 0.0)
    if count <= 0:
        return "no observations"
    mean = (after.get("_sum", 0.0) - before.get("_sum", 0.0)) / count
    bounds = sorted((float(le), after[le] - before.get(le, 0.0)) for le in after
                    if not le.startswith("_") and le != "+Inf")

    def quantile(q: float) -> str:
        for bound, cumulative in bounds:
            if cumulative >= q * count:
                return f"<= {bound:g} s"
        return f"> {bounds[-1][0]:g} s"

    return f"p50 {quantile(.5)}, p99 {quantile(.99)}, mean {mean:.2f} s ({count:.0f} fixes)"


def report(args: argparse.Namespace, way: Way, run: dict[str, Any], sim: dict[str, Any]
           ) -> float:
    results: list[BoardResult] = run["results"]
    reports = [lag for r in results for lag in r.report_lags]
    lags = [lag for r in results for lag in r.lags]
    seen = set().union(*(r.seen for r in results)) if results else set()
    ended = sorted({r.ended for r in results if r.ended != "ok"})
    p99 = pct(reports, .99)
    print(f"  {way.name} (GEOTAB_POLL_FAST_SECONDS={way.fast:g}, GEOTAB_POLL_SECONDS="
          f"{way.idle:g}), {len(results)} boards, vans seen {len(seen)}/{args.vans} "
          f"({100 * len(seen) / args.vans:.1f}%)"
          + (f"; boards that ended early: {', '.join(ended)}" if ended else ""), flush=True)
    print(f"    device report -> on the board: p50 {pct(reports, .5):.2f} s, p99 {p99:.2f} s, "
          f"max {max(reports, default=float('nan')):.2f} s ({len(reports)} reports)", flush=True)
    print(f"    fix shown -> its frame at the board: p50 {pct(lags, .5):.2f} s, p99 "
          f"{pct(lags, .99):.2f} s, max {max(lags, default=float('nan')):.2f} s ({len(lags)} items "
          f"in {sum(r.frames for r in results)} frames)", flush=True)
    for label, name in (("device -> frame handed to the sessions", BOARD_LAG),
                        ("device -> ingestion", INGEST_LAG)):
        print(f"    app's histogram, {label}: "
              f"{histogram_line(run['before'][name], run['after'][name])}", flush=True)
    start, end = run["window"]
    for feed in ("LogRecord", "DeviceStatusInfo"):
        answered = [at for at, method, type_name, outcome in sim.get("calls", [])
                    if method == "GetFeed" and type_name == feed and outcome == "ok"]
        inside = [at for at in answered if start <= at <= end]
        gaps = [b - a for a, b in itertools.pairwise(inside)]
        refused = sum(1 for _, method, type_name, outcome in sim.get("calls", [])
                      if method == "GetFeed" and type_name == feed and outcome != "ok")
        print(f"    GetFeed {feed}: {len(inside)} calls in the window (apart: mean "
              f"{sum(gaps) / max(1, len(gaps)):.2f} s, shortest {min(gaps, default=0):.2f} s, "
              f"longest {max(gaps, default=0):.2f} s); {refused} refused over the whole run "
              f"({len(answered)} answered)", flush=True)
    cpu = run["cpu"]
    print(f"    CPU over the {args.seconds:.0f} s window: app {cpu['app']:.1f} s, simulator "
          f"{cpu['simulator']:.1f} s, boards {run['own']:.1f} s (2 cores shared; load "
          f"{run['load']})", flush=True)
    return p99
