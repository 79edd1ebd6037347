"""Live-stream fan-out: publisher -> Redis -> server -> N boards, the app against a raw baseline.

    .venv/bin/python bench/realtime.py [--clients 500] [--workers 1,2] [--duration 20]
                                      [--vehicles 2000] [--event-rate 50] [--loads positions,events]
                                      [--no-pin] [--no-deflate] [--no-batch] [--source DIR]
                                      [--repeat 3] [--keep]

For each client count N, the servers are measured one after the other, in the same run:

* **app** (once per ``--workers`` count): ``dispatch serve --workers W`` as production runs it
  (``RUN_FEEDS=false`` as in the Procfile's web line; uvicorn with the project's websocket
  protocol, permessage-deflate for large messages when a client offers it -- the boards offer it
  as browsers do, unless ``--no-deflate``), ``REDIS_URL`` set and a Redis prefix of its own, on a
  fresh PostgreSQL database ``dispatch_rtbench_<pid>`` (migrated and seeded with the demo
  scenario, dropped afterwards unless ``--keep``);
* **before** (with ``--source DIR``): the same for the code of another checkout (one worker), so
  a change is measured beside the code it replaces, in the same run;
* **baseline**: a minimal raw stack in its own process (``bench/realtime_load.py baseline``): one
  redis-py subscriber, one positions frame serialized per 250 ms tick and written to every socket
  with ``websockets.broadcast``; events forwarded at once. No app logic.

Loads (each ``--duration`` seconds, one after the other on the same connected boards):

1. **positions**: ``--vehicles`` vans reporting once a second, as 20 batches a second of
   already-enriched items in the hub's wire format published straight on ``<prefix>:positions``
   (bypassing GeoTab ingest: this measures the fan-out), each item's ``at`` = send time.
2. **events**: ``--event-rate`` work orders a second created through ``POST /api/work-orders``
   (open loop) for the app -- commit -> outbox -> relay -> Redis -> hub -> sessions (with
   ``--events-via outbox``: outbox rows written by another process, which wakes the relay over
   the bus, as the background worker's feeds do -- the same path without the API request); for
   the baseline, event messages of a similar size published on its channel. **The vans keep
   reporting meanwhile** (the board's normal day). Latency = receipt - the event's ``at`` (the
   commit's instant for the app, the publish for the baseline); every board must see every event
   exactly once, in ``seq`` order.

**Pinning** (unless ``--no-pin``, where the machine has two CPUs or more): the servers (every app
worker, the baseline) run on the first half of this process's CPUs, everything that makes load
(the board clients, the publishers, this process and its POSTs) on the other half, with
``os.sched_setaffinity``; Redis and PostgreSQL are shared services and stay unpinned. On a 2-CPU
machine: servers on CPU 0, load on CPU 1 -- so two app workers share CPU 0 there.

Boards: N raw websocket clients in up to 4 processes (see ``bench/realtime_load.py``), all with the
one dispatcher token (the app's per-user session limit is raised for the run); each sends ``auth``,
``subscribe ["board"]`` with ``since`` = the ``seq`` of ``ready`` (no snapshot) and ``batch`` as
the board asks (events that queued come as one ``events`` frame; ``--no-batch``: one frame an
event), then ``ping`` and waits for ``pong``, then counts. CPU: each server's process tree (utime +
stime from ``/proc``) over each load window in % of one core, the clients' the same way, and the
machine's busy cores and load average beside them, because the machine may be shared. Every loop is
bounded in count and time; only 127.0.0.1 is contacted; every process started here is stopped here.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.realtime_procs import (  # noqa: E402
    LOAD,
    REDIS_URL,
    ClientProcs,
    Server,
    event_delays,
    free_port,
    healthz,
    loadavg,
    login,
    machine_cpu,
    plan_cpus,
    post_work_orders,
    start_publisher,
    start_server,
    stop,
    tree_cpu_seconds,
)
from bench.realtime_report import pct, print_goals, print_table  # noqa: E402

ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def measure(server: Server, n: int, token: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    clients = ClientProcs(server.url, n, token, args.deflate, args.batch)
    windows: dict[str, dict[str, Any]] = {}
    extra: dict[str, Any] = {}
    loads = args.loads.split(",")
    try:
        ready = clients.read_all(timeout=200)
        print(f"  [{server.label} N={n}] {sum(r['ready'] for r in ready)} boards connected and "
              f"subscribed in {max(r['connect_s'] for r in ready):.1f} s (load {loadavg()})",
              flush=True)
        time.sleep(1.0)
        for load in loads:
            clients.command(f"phase {load}")
            clients.read_all(timeout=30)
            cpu0, mc0, cc0, w0 = (tree_cpu_seconds(server.proc.pid), machine_cpu(),
                                  clients.cpu(), time.time())
            if load == "positions":
                pub = start_publisher("positions", server.channels["positions"], args.duration,
                                      args)
                out, _ = pub.communicate(timeout=args.duration + 30)
                extra["publisher"] = json.loads(out)
                time.sleep(1.5)  # drain: the last flush and the sockets
            else:
                vans = (start_publisher("positions", server.channels["positions"],
                                        args.duration + 4, args) if args.vehicles else None)
                if server.base is not None and args.events_via == "outbox":
                    pub = start_publisher("outbox", server.channels["wake"], args.duration, args)
                    out, _ = pub.communicate(timeout=args.duration + 60)
                    extra["outbox"] = json.loads(out)
                    time.sleep(3.0)  # relay poll + heartbeat repair window
                    extra["final_seq"] = server.final_seq(None)
                elif server.base is not None:
                    extra["posts"] = asyncio.run(post_work_orders(
                        server.base, token, args.event_rate, args.duration))
                    time.sleep(3.0)  # relay poll + heartbeat repair window
                    extra["final_seq"] = server.final_seq(None)
                else:
                    pub = start_publisher("events", server.channels["events"], args.duration,
                                          args)
                    out, _ = pub.communicate(timeout=args.duration + 30)
                    extra["final_seq"] = server.final_seq(json.loads(out)["published"])
                extra["drain_s"] = clients.drain(extra["final_seq"], within=30.0)
                if vans is not None:
                    vans.communicate(timeout=30)
            wall = time.time() - w0
            mc1 = machine_cpu()
            windows[load] = {
                "server_cpu": 100 * (tree_cpu_seconds(server.proc.pid) - cpu0) / wall,
                "clients_cpu": 100 * (clients.cpu() - cc0) / wall, "load": loadavg(),
                "machine": (mc1[0] - mc0[0]) / (mc1[1] - mc0[1]) * (os.cpu_count() or 1)}
            clients.command("phase after_" + load)
            clients.read_all(timeout=30)
        clients.command("report")
        reports = clients.read_all(timeout=120)
    finally:
        clients.stop()
    return rows_of(server.label, n, reports, windows, extra, args)


def rows_of(label: str, n: int, reports: list[dict[str, Any]], windows: dict[str, Any],
            extra: dict[str, Any], args: argparse.Namespace) -> list[dict[str, Any]]:
    def merged(phase: str, key: str) -> list[float]:
        return [v for r in reports for v in r["phases"][phase][key]]

    rows: list[dict[str, Any]] = []
    closes = {k: v for r in reports for k, v in r["closes"].items()}
    for load, w in windows.items():
        items = sum(r["phases"][load]["items"] for r in reports)
        samples = merged(load, "samples")
        row = {"load": load, "server": label, "n": n, "server_cpu": w["server_cpu"],
               "clients_cpu": w["clients_cpu"], "machine": w["machine"], "loadavg": w["load"],
               "closes": closes, "positions_rate": items / args.duration,
               "positions_ideal": args.vehicles * n, "positions_p50": pct(samples, 0.5),
               "positions_p99": pct(samples, 0.99),
               "min_client_share": min(r["phases"][load]["min_client_items"] for r in reports)
               / max(1, args.vehicles * args.duration)}
        if load == "events":
            final = int(extra["final_seq"])
            ok, expected_total = 0, 0
            problems: list[str] = []
            checks = [c for r in reports for c in r["checks"]]
            for c in checks:
                start = c["before"] if c["before"] is not None else c["since"]
                expected = final - start
                expected_total += expected
                if (c["n"] == expected and c["dups"] == 0 and c["contiguous"]
                        and (expected == 0 or (c["first"] == start + 1 and c["last"] == final))):
                    ok += 1
                elif len(problems) < 3:
                    problems.append(json.dumps(c))
            lat = merged("events", "event_lat")
            row.update({"rate": sum(c["n"] for c in checks) / args.duration,
                        "ideal": args.event_rate * n, "p50": pct(lat, 0.5),
                        "p99": pct(lat, 0.99), "clients_ok": ok, "clients_bad": len(checks) - ok,
                        "events_per_client": expected_total / max(1, len(checks)),
                        "problems": problems, "posts": extra.get("posts")})
        else:
            row.update({"rate": row["positions_rate"], "ideal": row["positions_ideal"],
                        "p50": row["positions_p50"], "p99": row["positions_p99"],
                        "publisher": extra.get("publisher")})
        rows.append(row)
    return rows


# -- the run -------------------------------------------------------------------------------------


def orchestrate(args: argparse.Namespace) -> int:
    import asyncpg
    import httpx

    from storage.engine import create_engine
    from storage.migrate import upgrade
    from web.demo.seed import seed

    counts = [int(x) for x in args.clients.split(",")]
    workers = [int(x) for x in args.workers.split(",")]
    server_cpus, load_cpus, pinning = plan_cpus(not args.no_pin)
    if load_cpus is not None:
        os.sched_setaffinity(0, load_cpus)  # clients and publishers inherit it
    pid = os.getpid()
    prefix = f"rtbench{pid}"
    name = f"dispatch_rtbench_{pid}"
    url = args.database_url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    print(f"realtime bench: boards {counts}, app workers {workers}, {args.vehicles:,} vans at "
          f"1 Hz, {args.event_rate:g} events/s via {args.events_via}, {args.duration:g} s per "
          f"load, loads "
          f"{args.loads}, deflate {'offered' if args.deflate else 'not offered'}; "
          f"{os.cpu_count()} CPUs, load average {loadavg()}\n  {pinning}", flush=True)

    def pinned() -> None:  # runs in the server's child before exec
        if server_cpus is not None:
            os.sched_setaffinity(0, server_cpus)

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(ADMIN_URL)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def seed_db() -> None:
        engine = create_engine(url)
        try:
            await seed(engine, stores=200, technicians=200, orders=300, seed=7, progress=False)
        finally:
            await engine.dispose()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    rows: list[dict[str, Any]] = []
    started = time.monotonic()
    log_path = Path(tempfile.gettempdir()) / f"rtbench_{pid}_app.log"
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": REDIS_URL, "REDIS_PREFIX": prefix,
           "SECRET_KEY": secrets.token_hex(32), "LOG_LEVEL": "warning", "RUN_FEEDS": "false",
           "WS_MAX_SESSIONS_PER_USER": "100000",  # every board uses the one dispatcher token
           "METRICS_ENABLED": "true"}  # where an event's time went: the app's own histograms
    try:
        upgrade(url)
        asyncio.run(seed_db())
        servers = [(f"app/{w}w" if len(workers) > 1 or w > 1 else "app", w, ROOT)
                   for w in workers]
        if args.source is not None:
            servers.insert(0, ("before", workers[0], Path(args.source).resolve()))
        order = [*servers, ("baseline", 0, ROOT)]
        # Each round measures every server; the order turns round by round, so that neither is
        # always the one that runs on a machine warmed (or loaded) by the other.
        plan = [(rnd, entry) for rnd in range(args.repeat)
                for entry in (order if rnd % 2 == 0 else order[::-1])]
        for rnd, (label, w, source) in plan:
            if time.monotonic() - started > args.time_cap:
                print(f"time cap of {args.time_cap:.0f} s reached; stopping", flush=True)
                break
            if args.repeat > 1:
                print(f"  -- round {rnd + 1} of {args.repeat}: {label}", flush=True)
            port = free_port()
            with open(log_path, "a") as log:
                if w:
                    proc: subprocess.Popen[Any] = subprocess.Popen(
                        [sys.executable, "-m", "web.cli", "serve", "--host", "127.0.0.1",
                         "--port", str(port), "--workers", str(w)], cwd=source, env=env,
                        stdout=log, stderr=subprocess.STDOUT, preexec_fn=pinned)
                else:
                    proc = subprocess.Popen(
                        [sys.executable, LOAD, "baseline", "--port", str(port), "--redis",
                         REDIS_URL, "--channel-prefix", f"{prefix}:base"], cwd=ROOT,
                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                        preexec_fn=pinned)
            try:
                server = start_server(label, w, port, proc, prefix)
                token = login(server) if w else "baseline"
                for n in counts:
                    measured = [{**r, "round": rnd} for r in measure(server, n, token, args)]
                    say_step(measured, label, n)
                    rows += measured
                if w and server.base is not None:
                    with contextlib.suppress(Exception):
                        print(f"  [{label}] /healthz live: {json.dumps(healthz(server.base)['live'])}")
                    try:
                        print(f"  [{label}] its own histograms: {event_delays(server.base)}")
                    except Exception as error:
                        print(f"  [{label}] its own histograms: not read ({error!r})")
            finally:
                stop(proc)
        with contextlib.suppress(OSError):
            text = log_path.read_text(errors="replace")
            marks = {m: text.count(m) for m in ("redis listener lost", "websocket session failed",
                                                "QueuePool limit", "unhandled error on")}
            print(f"app log {log_path}: {json.dumps(marks)}")
        print(f"\nresults ({time.monotonic() - started:.0f} s, load average now {loadavg()}; "
              f"{pinning})\n")
        print_table(rows)
        print_goals(rows, args)
    finally:
        if not args.keep:
            asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    del httpx
    return 0


def say_step(rows: list[dict[str, Any]], label: str, n: int) -> None:
    for r in rows:
        if r["server"] != label or r["n"] != n:
            continue
        text = (f"  [{label} N={n}] {r['load']}: p50 {r['p50']:.0f} ms p99 {r['p99']:.0f} ms, "
                f"server CPU {r['server_cpu']:.0f}%, clients CPU {r['clients_cpu']:.0f}%")
        if r["load"] == "events":
            text += (f", {r['clients_ok']} boards ok {r['clients_bad']} not; vans meanwhile p99 "
                     f"{r['positions_p99']:.0f} ms")
            if r.get("posts"):
                text += f"; POSTs {r['posts']['statuses']} p99 {r['posts']['p99']:.0f} ms"
        if r["closes"]:
            text += f"; closes {r['closes']}"
        print(text, flush=True)
        for p in r.get("problems", []):
            print(f"    event check: {p}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", default="500", help="comma-separated board counts")
    parser.add_argument("--workers", default="1", help="comma-separated app worker counts, each "
                                                       "measured beside the others (e.g. 1,2)")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per load")
    parser.add_argument("--vehicles", type=int, default=2_000, help="vans reporting at 1 Hz")
    parser.add_argument("--event-rate", type=float, default=50.0)
    parser.add_argument("--events-via", choices=("api", "outbox"), default="api",
                        help="the app's events: POST /api/work-orders, or outbox rows written by "
                             "another process (as the feeds do) that wakes the relay")
    parser.add_argument("--loads", default="positions,events",
                        help="positions, events or both (events always carry the vans too)")
    parser.add_argument("--no-pin", action="store_true",
                        help="let servers and load generator share every CPU")
    parser.add_argument("--no-deflate", dest="deflate", action="store_false",
                        help="boards do not offer permessage-deflate (browsers do)")
    parser.add_argument("--no-batch", dest="batch", action="store_false",
                        help="boards do not ask for queued events as one frame (the board does)")
    parser.add_argument("--time-cap", type=float, default=1200.0,
                        help="no new server starts after this many seconds")
    parser.add_argument("--source", help="also measure the app of another checkout (its code, "
                                         "this database), labelled 'before', e.g. an older commit")
    parser.add_argument("--repeat", type=int, default=1,
                        help="rounds of every server (the order turning each round); the goal's "
                             "verdict is on the median of the rounds' app/baseline ratios")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    return orchestrate(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
