"""Routing benchmark: Solomon / Gehring-Homberger VRPTW against best-known solutions and PyVRP,
plus a field-service dispatch scenario (200 technicians, 1,000 jobs).

    .venv/bin/python bench/routing.py                       # 10 instances at 5 s + scenario
    .venv/bin/python bench/routing.py --time-limit 30
    .venv/bin/python bench/routing.py --instances C101 R101 --no-pyvrp --no-scenario --json

Data is looked up next to the repository (``../shared/bench``) unless ``--data`` says otherwise.
Every VRPTW solution (ours and PyVRP's) is re-checked by ``routing.vrptw.validator`` with exact
distances; every dispatch plan by ``check_plan``.
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import math
import random
import statistics
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from routing.candidates import CandidateState, candidates
from routing.dispatch_model import plan
from routing.matrix import GreatCircleProvider
from routing.problem import (
    PRIORITIES,
    CurrentAssignment,
    DispatchProblem,
    DispatchSettings,
    Job,
    Location,
    Priority,
    Vehicle,
)
from routing.validator import check_plan
from routing.vrptw.solomon import VrptwInstance, read_solomon
from routing.vrptw.solver import SCALE, VEHICLE_FIXED_COST, solve
from routing.vrptw.validator import check_vrptw

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "bench"
INSTANCES = ["C101", "C201", "R101", "R112", "R201", "R211", "RC101", "RC208", "R1_2_1", "RC2_2_1"]


def find_instance(data: Path, name: str) -> Path:
    for path in (
        data / "solomon" / "instances" / f"{name.upper()}.txt",
        data / "homberger" / "instances" / f"{name.lower()}.txt",
    ):
        if path.exists():
            return path
    raise SystemExit(f"instance {name} not found under {data}")


def best_known(data: Path) -> dict[str, tuple[int, float]]:
    bks: dict[str, tuple[int, float]] = {}
    with (data / "solomon" / "solomon_bks.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            bks[row["instance"].upper()] = (int(row["bks_vehicles"]), float(row["bks_distance"]))
    with (data / "homberger" / "bks_200.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            bks[row["instance"].upper()] = (int(row["routes"]), float(row["distance"]))
    return bks


def solve_pyvrp(instance: VrptwInstance, seconds: float, seed: int = 0) -> list[list[int]] | None:
    """PyVRP with the same integer scaling and the same fixed cost per vehicle as ours."""
    try:
        from pyvrp import Model
        from pyvrp.stop import MaxRuntime
    except ImportError:
        return None
    model = Model()
    points = [model.add_location(x, y) for x, y in zip(instance.x, instance.y, strict=True)]
    model.add_depot(points[0], tw_early=instance.ready[0] * SCALE, tw_late=instance.due[0] * SCALE)
    model.add_vehicle_type(
        num_available=instance.fleet_size,
        capacity=instance.capacity,
        fixed_cost=VEHICLE_FIXED_COST,
        tw_early=instance.ready[0] * SCALE,
        tw_late=instance.due[0] * SCALE,
    )
    for k in range(1, len(points)):
        model.add_client(
            points[k],
            delivery=instance.demand[k],
            service_duration=instance.service[k] * SCALE,
            tw_early=instance.ready[k] * SCALE,
            tw_late=instance.due[k] * SCALE,
        )
    for i, a in enumerate(points):
        for j, b in enumerate(points):
            d = instance.distance(i, j) * SCALE
            model.add_edge(a, b, distance=round(d), duration=math.ceil(d))
    result = model.solve(stop=MaxRuntime(seconds), seed=seed, display=False)
    if not result.best.is_feasible():
        return None
    # A route is a list of scheduled activities; a client's idx counts clients from 0.
    routes: list[Any] = result.best.routes()
    return [[a.idx + 1 for a in route if a.is_client()] for route in routes]


def gap(distance: float, bks: float) -> float:
    return (distance - bks) / bks * 100.0


def run_vrptw(data: Path, names: list[str], seconds: float, with_pyvrp: bool,
              seed: int = 0) -> list[dict[str, Any]]:
    bks = best_known(data)
    rows: list[dict[str, Any]] = []
    for name in names:
        instance = read_solomon(find_instance(data, name))
        bks_v, bks_d = bks[name.upper()]
        row: dict[str, Any] = {"instance": name, "bks_vehicles": bks_v, "bks_distance": bks_d}
        started = time.monotonic()
        ours = solve(instance, seconds, seed=seed)
        row["ours_wall_s"] = round(time.monotonic() - started, 2)
        check = check_vrptw(instance, ours.routes)
        row.update(
            ours_vehicles=check.vehicles,
            ours_distance=round(check.distance, 2),
            ours_gap=round(gap(check.distance, bks_d), 2),
            ours_valid=check.ok,
            ours_errors=list(check.errors[:3]),
        )
        if with_pyvrp:
            started = time.monotonic()
            routes = solve_pyvrp(instance, seconds, seed)
            row["pyvrp_wall_s"] = round(time.monotonic() - started, 2)
            if routes is not None:
                pcheck = check_vrptw(instance, routes)
                row.update(
                    pyvrp_vehicles=pcheck.vehicles,
                    pyvrp_distance=round(pcheck.distance, 2),
                    pyvrp_gap=round(gap(pcheck.distance, bks_d), 2),
                    pyvrp_valid=pcheck.ok,
                )
        rows.append(row)
        print(_vrptw_line(row), file=sys.stderr, flush=True)
    return rows


def _vrptw_line(row: dict[str, Any]) -> str:
    ours = (
        f"{row['ours_vehicles']:>3} {row['ours_distance']:>9.2f} {row['ours_gap']:>+6.2f}"
        f" {'ok' if row['ours_valid'] else 'INVALID'}"
    )
    if "pyvrp_vehicles" in row:
        theirs = (
            f"{row['pyvrp_vehicles']:>3} {row['pyvrp_distance']:>9.2f}"
            f" {row['pyvrp_gap']:>+6.2f} {'ok' if row['pyvrp_valid'] else 'INVALID'}"
        )
    else:
        theirs = "-"
    return f"{row['instance']:<8} {row['bks_vehicles']:>3} {row['bks_distance']:>9.2f} | {ours} | {theirs}"


def _summary(rows: list[dict[str, Any]], who: str) -> str:
    have = [r for r in rows if f"{who}_vehicles" in r]
    at_bks = [r for r in have if r[f"{who}_vehicles"] == r["bks_vehicles"]]
    extra = sum(r[f"{who}_vehicles"] - r["bks_vehicles"] for r in have)
    mean_all = statistics.fmean(r[f"{who}_gap"] for r in have) if have else float("nan")
    mean_bks = statistics.fmean(r[f"{who}_gap"] for r in at_bks) if at_bks else float("nan")
    return (
        f"{who}: BKS fleet on {len(at_bks)}/{len(have)}, extra vehicles {extra:+d}, "
        f"mean gap {mean_all:+.2f} % (all), {mean_bks:+.2f} % (at BKS fleet)"
    )


# --- dispatch scenario -------------------------------------------------------------------------

SKILLS = ("hvac", "electrical", "plumbing", "refrigeration", "gas", "controls")
PRIORITY_MIX: tuple[Priority, ...] = ("emergency",) + ("high",) * 3 + ("normal",) * 12 + ("low",) * 4
HOUR = 3600


def scenario(n_techs: int = 200, n_jobs: int = 1000, seed: int = 7) -> DispatchProblem:
    """Stores spread over 10 metro areas; every technician starts at a store at 08:00, shifts of
    9 hours; jobs within ~15 km of a store, 2-4 hour windows between 08:00 and 17:00."""
    rng = random.Random(seed)
    metros = [(41.88 + rng.uniform(-4, 4), -87.63 + rng.uniform(-8, 8)) for _ in range(10)]
    stores = []
    for k in range(n_techs):
        lat, lon = metros[k % len(metros)]
        stores.append(Location(lat + rng.gauss(0, 0.12), lon + rng.gauss(0, 0.16)))
    techs = tuple(
        Vehicle(
            technician_id=f"tech{k + 1}",
            start=stores[k],
            end=stores[k],
            shift_start=8 * HOUR,
            shift_end=17 * HOUR,
            skills=frozenset(rng.sample(SKILLS, rng.randint(2, 4))),
        )
        for k in range(n_techs)
    )
    jobs = []
    for k in range(n_jobs):
        base = stores[rng.randrange(n_techs)]
        where = Location(base.lat + rng.uniform(-0.13, 0.13), base.lon + rng.uniform(-0.18, 0.18))
        width = rng.choice((2, 3, 4)) * HOUR
        start = 8 * HOUR + rng.randrange(0, 9 * HOUR - width + 1, 15 * 60)
        jobs.append(
            Job(
                id=f"wo{k + 1}",
                location=where,
                window_start=start,
                window_end=start + width - HOUR // 2,
                service_s=rng.choice((30, 45, 60, 90)) * 60,
                priority=rng.choice(PRIORITY_MIX),
                required_skills=frozenset(rng.sample(SKILLS, 1)) if rng.random() < 0.8 else frozenset(),
            )
        )
    return DispatchProblem(now=8 * HOUR, vehicles=techs, jobs=tuple(jobs))


def run_scenario(seconds: float, queries: int = 2000) -> dict[str, Any]:
    provider = GreatCircleProvider()
    problem = scenario()
    problem = replace(problem, settings=DispatchSettings(time_limit_s=seconds))
    started = time.monotonic()
    first = plan(problem, provider=provider)
    wall = time.monotonic() - started
    errors = check_plan(problem, first.plan, provider)
    out: dict[str, Any] = {
        "technicians": len(problem.vehicles),
        "jobs": len(problem.jobs),
        "time_limit_s": seconds,
        "plan_wall_s": round(wall, 2),
        "valid": not errors,
        "served": first.kpis_after.jobs_served,
        "unassigned": dict(Counter(u.reason for u in first.plan.dropped)),
        "unassigned_by_priority": dict(
            Counter(next(j.priority for j in problem.jobs if j.id == u.job_id) for u in first.plan.dropped)
        ),
        "lateness_min": first.kpis_after.lateness_minutes,
        "drive_km": first.kpis_after.drive_km,
    }
    # One-job change: the plan becomes the current assignment, one new job arrives.
    where = first.plan.assignment()
    current = tuple(
        replace(j, current=CurrentAssignment(*where[j.id]) if j.id in where else None) for j in problem.jobs
    )
    rng = random.Random(11)
    anchor = problem.vehicles[rng.randrange(len(problem.vehicles))].start
    new = Job(
        "wo-new",
        Location(anchor.lat + 0.03, anchor.lon - 0.04),
        11 * HOUR,
        14 * HOUR,
        45 * 60,
        "high",
        frozenset({SKILLS[0]}),
    )
    changed = replace(problem, jobs=(*current, new))
    started = time.monotonic()
    second = plan(changed, provider=provider)
    out["replan_wall_s"] = round(time.monotonic() - started, 2)
    out["replan_valid"] = not check_plan(changed, second.plan, provider)
    out["replan_new_job_served"] = "wo-new" in second.plan.assignment()
    out["replan_jobs_moved"] = second.kpis_after.jobs_moved
    out["replan_served"] = second.kpis_after.jobs_served
    # Candidate latency on the current plan (state built once, then one query per new job).
    started = time.monotonic()
    state = CandidateState.build(changed, provider)
    out["candidate_state_build_ms"] = round((time.monotonic() - started) * 1000, 1)
    # Twice: as is, then after gc.freeze() (what a long-lived web worker should do after start-up:
    # the cyclic GC then no longer rescans the board's objects, which is most of the p99).
    for label in ("", "_gc_frozen"):
        if label:
            gc.freeze()
        latencies = []
        for q in range(queries):
            base = problem.vehicles[rng.randrange(len(problem.vehicles))].start
            ws = 9 * HOUR + rng.randrange(0, 6 * HOUR, 900)
            job = Job(
                f"q{q}",
                Location(base.lat + rng.uniform(-0.1, 0.1), base.lon + rng.uniform(-0.1, 0.1)),
                ws,
                ws + 2 * HOUR,
                3600,
                PRIORITIES[q % 4],
                frozenset({rng.choice(SKILLS)}),
            )
            t0 = time.perf_counter()
            candidates(job, state, 5)
            latencies.append((time.perf_counter() - t0) * 1000)
        gc.unfreeze()
        latencies.sort()
        out[f"candidates_p50_ms{label}"] = round(latencies[len(latencies) // 2], 3)
        out[f"candidates_p99_ms{label}"] = round(latencies[int(len(latencies) * 0.99) - 1], 3)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--time-limit", type=float, default=5.0)
    parser.add_argument("--instances", nargs="*", default=INSTANCES)
    parser.add_argument("--no-pyvrp", action="store_true")
    parser.add_argument("--seed", type=int, default=0,
                        help="both solvers' random seed (results spread across seeds: run several)")
    parser.add_argument("--no-scenario", action="store_true")
    parser.add_argument("--scenario-time-limit", type=float, default=7.0)
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)

    report: dict[str, Any] = {"time_limit_s": args.time_limit, "seed": args.seed}
    if args.instances:
        print(
            f"{'instance':<8} BKS veh/dist    | ours veh/dist/gap%      | PyVRP veh/dist/gap%",
            file=sys.stderr,
        )
        rows = run_vrptw(args.data, args.instances, args.time_limit, not args.no_pyvrp,
                         args.seed)
        report["vrptw"] = rows
        report["summary"] = [_summary(rows, "ours")]
        if not args.no_pyvrp:
            report["summary"].append(_summary(rows, "pyvrp"))
        for line in report["summary"]:
            print(line, file=sys.stderr)
    if not args.no_scenario:
        report["scenario"] = run_scenario(args.scenario_time_limit)
        for key, value in report["scenario"].items():
            print(f"scenario {key}: {value}", file=sys.stderr)
    if args.json:
        print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
