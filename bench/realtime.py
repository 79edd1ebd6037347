"""Live-stream fan-out: publisher -> Redis -> server -> N boards, the app against a raw baseline.

    .venv/bin/python bench/realtime.py [--clients 500] [--workers 1,2] [--duration 20]
                                      [--vehicles 2000] [--event-rate 50] [--loads positions,events]
                                      [--no-pin] [--no-deflate] [--no-batch] [--source DIR]
                                      [--keep]

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
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.realtime_report import pct, print_goals, print_table  # noqa: E402

LOAD = str(ROOT / "bench" / "realtime_load.py")
ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
CLK_TCK = os.sysconf("SC_CLK_TCK")
MAX_PROCS = 4


# -- the machine ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    return port if port != 8000 else free_port()


def tree_cpu_seconds(pid: int) -> float:
    """utime + stime of a process and its descendants, from /proc (psutil is not installed)."""
    children: dict[int, list[int]] = {}
    cpu: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rpartition(")")[2].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
        cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / CLK_TCK
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        total += cpu.get(p, 0.0)
        todo.extend(children.get(p, []))
    return total


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine."""
    with open("/proc/stat") as f:
        parts = [int(x) for x in f.readline().split()[1:]]
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0)
    return float(sum(parts) - idle), float(sum(parts))


def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def plan_cpus(pin: bool) -> tuple[set[int] | None, set[int] | None, str]:
    """(server CPUs, load CPUs, how it was said): halves of this process's CPUs, or no pinning."""
    cpus = sorted(os.sched_getaffinity(0))
    if not pin:
        return None, None, "not pinned (--no-pin): servers and load share every CPU"
    if len(cpus) < 2:
        return None, None, "not pinned: this machine gives the benchmark one CPU"
    half = len(cpus) // 2
    server, load = set(cpus[:half]), set(cpus[half:])
    return server, load, (f"servers pinned to CPU {sorted(server)}, load generator (clients, "
                          f"publishers, POSTs) to CPU {sorted(load)}; Redis and PostgreSQL "
                          "unpinned (shared services)")


# -- processes -----------------------------------------------------------------------------------


def _readline(p: subprocess.Popen[str], timeout: float) -> str:
    import selectors

    assert p.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(p.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            raise TimeoutError(f"process {p.pid} did not answer within {timeout:.0f} s")
    line = p.stdout.readline()
    if not line:
        raise RuntimeError(f"process {p.pid} exited (rc={p.poll()})")
    return line


def stop(proc: subprocess.Popen[Any] | None) -> None:
    """Terminate, and kill what has not ended 20 s later."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=20)
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=5)


class ClientProcs:
    def __init__(self, url: str, n: int, token: str, deflate: bool, batch: bool) -> None:
        self.procs: list[subprocess.Popen[str]] = []
        k = min(MAX_PROCS, n)
        first = 0
        for i in range(k):
            count = n // k + (1 if i < n % k else 0)
            self.procs.append(subprocess.Popen(
                [sys.executable, LOAD, "clients", "--url", url, "--n", str(count),
                 "--first", str(first), "--token", token, *(["--deflate"] if deflate else []),
                 *(["--batch"] if batch else [])],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT))
            first += count

    def read_all(self, timeout: float) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        return [json.loads(_readline(p, max(1.0, deadline - time.monotonic())))
                for p in self.procs]

    def command(self, text: str) -> None:
        for p in self.procs:
            assert p.stdin is not None
            p.stdin.write(text + "\n")
            p.stdin.flush()

    def cpu(self) -> float:
        return sum(tree_cpu_seconds(p.pid) for p in self.procs)

    def drain(self, final_seq: int, within: float) -> float:
        """Waits (bounded) until every board has the events up to ``final_seq``: a board still
        catching up when the window closes would count as missing events it is about to get.
        Returns the seconds it took."""
        started = time.monotonic()
        while time.monotonic() - started < within:
            self.command("progress")
            if min(r["min_seq"] for r in self.read_all(timeout=30)) >= final_seq:
                break
            time.sleep(0.5)
        return time.monotonic() - started

    def stop(self) -> None:
        for p in self.procs:
            stop(p)


def start_publisher(mode: str, channel: str, duration: float,
                    args: argparse.Namespace) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, LOAD, "publish", "--mode", mode, "--channel", channel,
         "--redis", REDIS_URL, "--duration", str(duration), "--vehicles", str(args.vehicles),
         "--rate", str(args.event_rate), "--database", args.database_url],
        stdout=subprocess.PIPE, text=True, cwd=ROOT)


async def post_work_orders(base: str, token: str, rate: float, duration: float) -> dict[str, Any]:
    """Open loop: one POST /api/work-orders every 1/rate s, not waiting for the previous one."""
    import httpx

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    async with httpx.AsyncClient(base_url=base, timeout=10,
                                 headers={"Authorization": f"Bearer {token}"},
                                 limits=httpx.Limits(max_connections=64)) as client:
        async def one(k: int) -> None:
            body = {"store_id": f"store-{k % 200 + 1:04d}", "priority": "normal",
                    "location": {"lat": 32.7 + (k % 100) / 1000, "lon": -97.1},
                    "description": f"realtime bench order {k}", "customer_name": "Bench Walk-in"}
            t0 = time.perf_counter()
            try:
                r = await client.post("/api/work-orders", json=body)
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
            except httpx.HTTPError:
                statuses[-1] = statuses.get(-1, 0) + 1
            latencies.append((time.perf_counter() - t0) * 1000)

        total = int(rate * duration)
        tasks = []
        start = time.monotonic()
        for k in range(total):
            delay = start + k / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(k)))
        await asyncio.wait(tasks, timeout=15)
    return {"posted": total, "statuses": statuses, "p50": pct(latencies, 0.5),
            "p99": pct(latencies, 0.99)}


def healthz(base: str) -> dict[str, Any]:
    import httpx

    return dict(httpx.get(f"{base}/healthz", timeout=10).json())


def event_delays(base: str) -> str:
    """Where an event's time went, as the app's own histograms saw it since it started: commit ->
    the relay's publication, commit -> the hub's hand-off to the sessions (bucket bounds)."""
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"{base}/metrics", timeout=10).text
    parts = []
    for family in text_string_to_metric_families(text):
        if family.name not in {"dispatch_event_publish_delay_seconds",
                               "dispatch_event_fanout_delay_seconds"}:
            continue
        buckets = sorted((float(s.labels["le"]), s.value) for s in family.samples
                         if s.name.endswith("_bucket"))
        total = buckets[-1][1] if buckets else 0
        if not total:
            continue
        def bound(q: float, buckets: list[tuple[float, float]] = buckets,
                  total: float = total) -> str:
            return next(f"<= {le * 1000:g} ms" for le, n in buckets if n >= q * total)
        what = "commit -> publish" if "publish" in family.name else "commit -> hand-off"
        parts.append(f"{what} p50 {bound(0.5)}, p99 {bound(0.99)} ({total:.0f})")
    return "; ".join(parts) or "no events"


# -- one measurement -----------------------------------------------------------------------------


class Server:
    """A server under test: its label, websocket URL, root process and channels."""

    def __init__(self, label: str, url: str, proc: subprocess.Popen[Any],
                 channels: dict[str, str], base: str | None) -> None:
        self.label, self.url, self.proc, self.channels, self.base = (label, url, proc, channels,
                                                                     base)

    def final_seq(self, published: int | None) -> int:
        if self.base is None:
            return int(published or 0)
        # several workers: each hub reports the seq it delivered last; every one must reach it
        return max(int(healthz(self.base)["live"]["hub"]["seq"]) for _ in range(4))


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
            ok, problems, expected_total = 0, [], 0
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
        for label, w, source in [*servers, ("baseline", 0, ROOT)]:
            if time.monotonic() - started > args.time_cap:
                print(f"time cap of {args.time_cap:.0f} s reached; stopping", flush=True)
                break
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
                    rows += measure(server, n, token, args)
                    say_step(rows, label, n)
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


def start_server(label: str, workers: int, port: int, proc: subprocess.Popen[Any],
                 prefix: str) -> Server:
    import httpx

    if not workers:
        _readline(proc, 60)  # "listening"
        return Server(label, f"ws://127.0.0.1:{port}/", proc,
                      {"positions": f"{prefix}:base:positions", "events": f"{prefix}:base:events"},
                      None)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{label} exited with {proc.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/healthz", timeout=5).status_code == 200:
                break
        time.sleep(0.2)
    time.sleep(1.0 * workers)  # every worker up, not only the first that answered
    return Server(label, f"ws://127.0.0.1:{port}/ws", proc,
                  {"positions": f"{prefix}:positions", "wake": f"{prefix}:events:wake"}, base)


def login(server: Server) -> str:
    import httpx

    r = httpx.post(f"{server.base}/api/auth/login", timeout=10,
                   json={"username": "dispatcher", "password": "demo"})
    r.raise_for_status()
    return str(r.json()["access_token"])


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
    parser.add_argument("--keep", action="store_true", help="keep the database")
    return orchestrate(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
