"""Live-stream fan-out: publisher -> Redis -> server -> N websocket clients, app against a baseline.

    .venv/bin/python bench/realtime.py [--clients 100,500,1000] [--duration 20]
                                      [--vehicles 10000] [--event-rate 50] [--keep]

For each client count N, two servers are measured side by side, in the same run:

* **app**: ``web.app:create_app`` under one uvicorn process (``--ws-per-message-deflate false``,
  uvicorn's default websocket implementation, websockets-sansio), ``REDIS_URL`` set and a Redis
  prefix of its own, on a fresh PostgreSQL database ``dispatch_rtbench_<pid>`` (migrated and
  seeded with the demo scenario, dropped afterwards unless ``--keep``);
* **baseline**: a minimal raw stack in its own process -- one redis-py pub/sub subscriber, the
  latest position per vehicle kept in a dict, one frame serialized per tick (250 ms, like the app's
  hub) and written to every socket with ``websockets.broadcast`` (position frames skip a socket
  with more than 1 MiB unsent); events are forwarded at once. No app logic.

Loads (each ``--duration`` seconds, one after the other on the same connected clients):

1. **positions**: a publisher process sends ``--vehicles`` vehicles reporting once a second, as
   20 batches a second, each item carrying ``at`` = send time. The batches are already-enriched
   position items in the hub's wire format (``{"kind":"positions","items":[...]}``) published
   DIRECTLY on ``<prefix>:positions``: this bypasses GeoTab ingest and validation
   (``PositionPipeline.ingest``) and measures the fan-out path (bus -> hub -> sessions -> sockets).
   The vehicle ids are synthetic (``veh-00001``...); the hub does not check them.
2. **events**: ``--event-rate`` work orders a second created through ``POST /api/work-orders``
   (open loop) for the app -- outbox -> relay -> Redis -> hub -> sessions; for the baseline the
   publisher sends event messages of a similar size on the baseline's events channel.
   Latency = receipt - the event's ``at``; every client must see every event exactly once, in
   ``seq`` order.

Clients: N websocket clients (``websockets`` asyncio client, no compression) spread over up to 4
client processes, all with the one dispatcher token from a single ``POST /api/auth/login``; each
sends ``auth``, then ``subscribe`` ``["board"]`` with ``since`` = the ``seq`` of ``ready`` (so no
snapshot is built per client), then counts. Position frames are not JSON-parsed (500 clients x
~0.5 MB frames would need more CPU than the server): items are counted with ``bytes.count`` and
the latency of one item per 500 (stratified random positions in the frame) is read from its
``at``. Latency is wall clock to wall clock on the same machine.

Server CPU is read from ``/proc/<pid>/stat`` (utime + stime) over each load window, in % of one
core; the machine's busy cores (``/proc/stat``) and load average are printed with it, because this
2-core machine may be shared. Every loop is bounded in count and in time; only 127.0.0.1 is
contacted; every process started here is stopped here.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import itertools
import json
import math
import os
import random
import resource
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

ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
CLK_TCK = os.sysconf("SC_CLK_TCK")
MAX_PROCS = 4
ITEMS_PER_SAMPLE = 500          # one latency sample per 500 position items received
MAX_SAMPLES = 200_000           # per client process and phase (reservoir)
BASELINE_TICK = 0.25            # the app's hub flushes every 250 ms
BASELINE_SOFT_LIMIT = 1 << 20   # baseline: skip position frames for a socket this far behind


# -- small helpers -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    return port if port != 8000 else free_port()


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc/<pid>/stat (psutil is not installed)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return float("nan")


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine."""
    with open("/proc/stat") as f:
        parts = [int(x) for x in f.readline().split()[1:]]
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0)
    return float(sum(parts) - idle), float(sum(parts))


def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def iso_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def parse_iso(raw: bytes | str) -> float:
    return dt.datetime.fromisoformat(raw.decode() if isinstance(raw, bytes) else raw).timestamp()


# -- publisher process -----------------------------------------------------------------------------


def run_publisher(args: argparse.Namespace) -> int:
    """Positions: vehicles/s as 20 batches a second; events: baseline event messages."""
    import redis

    client = redis.Redis.from_url(args.redis)
    deadline_cap = time.monotonic() + args.duration + 10  # hard bound even if the loop falls behind
    sent = published = late = 0
    if args.mode == "positions":
        rng = random.Random(3)
        per_second = 20
        heads, tails = [], []
        for i in range(args.vehicles):
            lat, lon = 32.5 + rng.random(), -97.5 + rng.random()
            heads.append(
                f'{{"unit_id":"veh-{i + 1:05d}","technician_id":null,'
                f'"store_id":"store-{i % 200 + 1:04d}","lat":{lat:.6f},"lon":{lon:.6f},'
                f'"speed_kmh":{rng.uniform(0, 90):.1f},"bearing":{rng.uniform(0, 359):.1f},"at":"')
            tails.append('","freshness":"moving"}')
        groups = [list(range(g, args.vehicles, per_second)) for g in range(per_second)]
        ticks = int(args.duration * per_second)
        start = time.monotonic()
        for k in range(ticks):
            target = start + k / per_second
            delay = target - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            elif delay < -0.05:
                late += 1
            if time.monotonic() > deadline_cap:
                break
            at = iso_now()
            items = ",".join(heads[i] + at + tails[i] for i in groups[k % per_second])
            client.publish(args.channel, '{"kind":"positions","items":[' + items + "]}")
            sent += len(groups[k % per_second])
            published += 1
    else:
        pad = {"work_order": {"id": "wo-bench", "store_id": "store-0001", "status": "new",
                              "priority": "normal", "description": "x" * 400,
                              "location": {"lat": 32.7, "lon": -97.1}, "comments": []}}
        total = int(args.duration * args.rate)
        start = time.monotonic()
        for k in range(total):
            target = start + k / args.rate
            delay = target - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            elif delay < -0.05:
                late += 1
            if time.monotonic() > deadline_cap:
                break
            message = json.dumps({"type": "event", "seq": k + 1, "event": "WorkOrderCreated",
                                  "at": iso_now(), "data": pad}, separators=(",", ":"))
            client.publish(args.channel, message)
            sent += 1
            published += 1
    client.close()
    print(json.dumps({"sent": sent, "published": published, "late_ticks": late}), flush=True)
    return 0


# -- baseline server process -----------------------------------------------------------------------


def run_baseline(args: argparse.Namespace) -> int:
    async def main() -> None:
        import redis.asyncio as redis
        from websockets.asyncio.server import broadcast, serve

        conns: set[Any] = set()
        latest: dict[str, Any] = {}
        stats = {"frames": 0, "skipped": 0, "events": 0}
        pos_ch, ev_ch = args.channel_prefix + ":positions", args.channel_prefix + ":events"

        async def handler(ws: Any) -> None:
            try:
                await asyncio.wait_for(ws.recv(), 5)  # auth: accepted as is
                await ws.send(json.dumps({"type": "ready", "seq": 0}))
                sub = json.loads(await asyncio.wait_for(ws.recv(), 5))
                await ws.send(json.dumps({"type": "subscribed", "topics": sub.get("topics")}))
                conns.add(ws)
                async for message in ws:
                    if '"ping"' in message:
                        await ws.send('{"type":"pong"}')
            except Exception:
                pass
            finally:
                conns.discard(ws)

        async def listen() -> None:
            client = redis.from_url(args.redis)
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            await pubsub.subscribe(pos_ch, ev_ch)
            ev_b = ev_ch.encode()
            while True:
                m = await pubsub.get_message(timeout=1.0)
                if m is None:
                    continue
                if m["channel"] == ev_b:
                    stats["events"] += 1
                    broadcast(conns, m["data"].decode())  # state events: every socket, at once
                else:
                    for item in json.loads(m["data"])["items"]:
                        latest[item["unit_id"]] = item

        async def ticker() -> None:
            while True:
                await asyncio.sleep(args.tick)
                if not latest:
                    continue
                frame = json.dumps({"type": "positions", "items": list(latest.values())},
                                   separators=(",", ":"))
                latest.clear()
                targets = [c for c in conns
                           if c.transport.get_write_buffer_size() < BASELINE_SOFT_LIMIT]
                stats["skipped"] += len(conns) - len(targets)
                stats["frames"] += 1
                broadcast(targets, frame)

        async with serve(handler, "127.0.0.1", args.port, compression=None, max_size=65536,
                         ping_interval=None):
            tasks = [asyncio.create_task(listen()), asyncio.create_task(ticker())]
            print("listening", flush=True)
            loop = asyncio.get_running_loop()
            while True:  # stdin closes (or "stats") when the orchestrator is done
                line = await loop.run_in_executor(None, sys.stdin.readline)
                if not line or line.strip() == "quit":
                    break
                print(json.dumps(stats), flush=True)
            for t in tasks:
                t.cancel()

    asyncio.run(main())
    return 0


# -- client process --------------------------------------------------------------------------------


class Phase:
    def __init__(self) -> None:
        self.items = 0
        self.frames = 0
        self.samples: list[float] = []
        self.seen = 0
        self.event_lat: list[float] = []
        self.event_seen = 0
        self.per_client_items: dict[int, int] = {}
        self.cpu0 = _self_cpu()
        self.t0 = time.time()

    def sample(self, bucket: list[float], value: float, seen: int) -> None:
        if len(bucket) < MAX_SAMPLES:
            bucket.append(value)
        else:
            j = random.randrange(seen)
            if j < MAX_SAMPLES:
                bucket[j] = value


def _self_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run_clients(args: argparse.Namespace) -> int:
    async def main() -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed

        phase = Phase()
        phases: dict[str, dict[str, Any]] = {}
        name = "connect"
        clients: list[dict[str, Any]] = []
        closes: dict[str, int] = {}
        sem = asyncio.Semaphore(10)

        async def one(index: int) -> None:
            nonlocal phase
            state: dict[str, Any] = {"index": index, "since": None, "seqs": [], "ws": None}
            clients.append(state)
            async with sem:
                ws = await connect(args.url, compression=None, max_size=None, ping_interval=None,
                                   open_timeout=60, close_timeout=2)
                state["ws"] = ws
                await ws.send(json.dumps({"type": "auth", "token": args.token}))
                while True:
                    msg = json.loads(await asyncio.wait_for(ws.recv(), 30))
                    if msg.get("type") == "ready":
                        break
                since = int(msg.get("seq") or 0)
                state["since"] = since
                await ws.send(json.dumps({"type": "subscribe", "topics": ["board"],
                                          "since": since}))
                # the session handles messages one at a time: "pong" means the replay is done
                await ws.send(json.dumps({"type": "ping"}))
                while True:
                    msg = json.loads(await asyncio.wait_for(ws.recv(), 60))
                    if msg.get("type") == "pong":
                        break
                state["synced"] = True
            seqs = state["seqs"]
            try:
                while True:
                    data = await ws.recv(decode=False)
                    now = time.time()
                    ph = phase
                    if data.startswith(b'{"type":"positions"'):
                        count = data.count(b'"unit_id"')
                        ph.items += count
                        ph.frames += 1
                        ph.per_client_items[index] = ph.per_client_items.get(index, 0) + count
                        k = max(1, round(count / ITEMS_PER_SAMPLE))
                        size = len(data)
                        for j in range(k):
                            at = data.find(b'"at":"', int((j + random.random()) * size / k))
                            if at < 0:
                                at = data.find(b'"at":"')
                            end = data.find(b'"', at + 6)
                            ph.seen += 1
                            ph.sample(ph.samples, (now - parse_iso(data[at + 6:end])) * 1000,
                                      ph.seen)
                    elif data.startswith(b'{"type":"event"'):
                        msg = json.loads(data)
                        seqs.append(int(msg["seq"]))
                        ph.event_seen += 1
                        ph.sample(ph.event_lat, (now - parse_iso(msg["at"])) * 1000,
                                  ph.event_seen)
            except ConnectionClosed as error:
                code = str(error.rcvd.code if error.rcvd else "none")
                closes[code] = closes.get(code, 0) + 1
            except Exception as error:  # counted, never silent
                closes[type(error).__name__] = closes.get(type(error).__name__, 0) + 1

        def close_phase() -> dict[str, Any]:
            per = [phase.per_client_items.get(c["index"], 0) for c in clients]
            return {"items": phase.items, "frames": phase.frames, "samples": phase.samples,
                    "event_lat": phase.event_lat, "cpu": _self_cpu() - phase.cpu0,
                    "wall": time.time() - phase.t0,
                    "min_client_items": min(per) if per else 0,
                    "max_client_items": max(per) if per else 0}

        started = time.time()
        tasks = [asyncio.create_task(one(args.first + i)) for i in range(args.n)]
        deadline = started + 180
        while (sum(1 for c in clients if c.get("synced")) < args.n
               and time.time() < deadline):
            failed = [t for t in tasks if t.done() and t.exception() is not None]
            if failed:
                raise SystemExit(f"client failed to connect: {failed[0].exception()!r}")
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # let the "subscribed" replies land
        print(json.dumps({"ready": sum(1 for c in clients if c.get("synced")),
                          "connect_s": time.time() - started}), flush=True)
        loop = asyncio.get_running_loop()
        while True:
            line = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
            if not line or line == "report":
                break
            if line.startswith("phase "):
                phases[name] = close_phase()
                name = line.split(" ", 1)[1]
                phase = Phase()
                for c in clients:
                    c["mark_" + name] = len(c["seqs"])
                print(json.dumps({"ok": name}), flush=True)
        phases[name] = close_phase()
        # event order/exactly-once per client, over the "events" phase
        checks = []
        for c in clients:
            start_mark = c.get("mark_events", 0)
            seqs = c["seqs"][start_mark:c.get("mark_after_events", len(c["seqs"]))]
            before = c["seqs"][:start_mark]
            checks.append({"since": c["since"], "n": len(seqs),
                           "first": seqs[0] if seqs else None, "last": seqs[-1] if seqs else None,
                           "contiguous": all(b == a + 1 for a, b in itertools.pairwise(seqs)),
                           "before": before[-1] if before else None,
                           "dups": len(seqs) - len(set(seqs))})
        print(json.dumps({"phases": phases, "checks": checks, "closes": closes}), flush=True)
        for t in tasks:
            t.cancel()
        await asyncio.wait([asyncio.create_task(asyncio.wait_for(c["ws"].close(), 2))
                            for c in clients if c["ws"] is not None] or [asyncio.sleep(0)],
                           timeout=5)

    asyncio.run(main())
    return 0


# -- orchestrator ----------------------------------------------------------------------------------


class ClientProcs:
    def __init__(self, url: str, n: int, token: str) -> None:
        self.procs: list[subprocess.Popen[str]] = []
        per = [n // min(MAX_PROCS, n) + (1 if i < n % min(MAX_PROCS, n) else 0)
               for i in range(min(MAX_PROCS, n))]
        first = 0
        for count in per:
            self.procs.append(subprocess.Popen(
                [sys.executable, __file__, "_clients", "--url", url, "--n", str(count),
                 "--first", str(first), "--token", token],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT))
            first += count

    def read_all(self, timeout: float) -> list[dict[str, Any]]:
        out = []
        deadline = time.monotonic() + timeout
        for p in self.procs:
            assert p.stdout is not None
            line = _readline(p, max(1.0, deadline - time.monotonic()))
            out.append(json.loads(line))
        return out

    def command(self, text: str) -> None:
        for p in self.procs:
            assert p.stdin is not None
            p.stdin.write(text + "\n")
            p.stdin.flush()

    def cpu(self) -> float:
        return sum(proc_cpu_seconds(p.pid) for p in self.procs)

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=10)
            if p.poll() is None:
                p.kill()
                p.wait(timeout=5)


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


def start_publisher(mode: str, channel: str, args: argparse.Namespace) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, __file__, "_publish", "--mode", mode, "--channel", channel,
         "--redis", REDIS_URL, "--duration", str(args.duration), "--vehicles", str(args.vehicles),
         "--rate", str(args.event_rate)], stdout=subprocess.PIPE, text=True, cwd=ROOT)


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


def healthz_seq(base: str) -> int:
    import httpx

    return int(httpx.get(f"{base}/healthz", timeout=10).json()["live"]["hub"]["seq"])


def measure(server: str, n: int, url: str, pid: int, token: str, args: argparse.Namespace,
            channels: dict[str, str], base: str | None) -> list[dict[str, Any]]:
    clients = ClientProcs(url, n, token)
    rows: list[dict[str, Any]] = []
    try:
        ready = clients.read_all(timeout=200)
        connected = sum(r["ready"] for r in ready)
        connect_s = max(r["connect_s"] for r in ready)
        print(f"  [{server} N={n}] {connected} clients connected and subscribed in "
              f"{connect_s:.1f} s (load {loadavg()})", flush=True)
        time.sleep(1.0)
        windows: dict[str, dict[str, Any]] = {}
        extra: dict[str, Any] = {}
        for load in ("positions", "events"):
            clients.command(f"phase {load}")
            clients.read_all(timeout=30)
            cpu0, mc0, cc0, w0 = proc_cpu_seconds(pid), machine_cpu(), clients.cpu(), time.time()
            if load == "positions":
                pub = start_publisher("positions", channels["positions"], args)
                out, _ = pub.communicate(timeout=args.duration + 30)
                extra["publisher"] = json.loads(out)
                time.sleep(1.5)  # drain: the last flush and the sockets
            elif base is not None:
                extra["posts"] = asyncio.run(post_work_orders(base, token, args.event_rate,
                                                              args.duration))
                time.sleep(3.0)  # relay poll + heartbeat repair window
                extra["final_seq"] = healthz_seq(base)
            else:
                pub = start_publisher("events", channels["events"], args)
                out, _ = pub.communicate(timeout=args.duration + 30)
                extra["final_seq"] = json.loads(out)["published"]
                time.sleep(1.0)
            cpu1, mc1, cc1, w1 = proc_cpu_seconds(pid), machine_cpu(), clients.cpu(), time.time()
            wall = w1 - w0
            windows[load] = {"server_cpu": 100 * (cpu1 - cpu0) / wall,
                             "machine_busy_cores": (mc1[0] - mc0[0]) / (mc1[1] - mc0[1])
                             * (os.cpu_count() or 1),
                             "clients_cpu": 100 * (cc1 - cc0) / wall, "load": loadavg()}
            clients.command("phase after_" + load)
            clients.read_all(timeout=30)
        clients.command("report")
        reports = clients.read_all(timeout=120)
    finally:
        clients.stop()

    def merged(phase: str, key: str) -> list[float]:
        return [v for r in reports for v in r["phases"][phase][key]]

    items = sum(r["phases"]["positions"]["items"] for r in reports)
    samples = merged("positions", "samples")
    w = windows["positions"]
    min_client = min(r["phases"]["positions"]["min_client_items"] for r in reports)
    rows.append({"load": "positions", "server": server, "n": n,
                 "rate": items / args.duration, "ideal": args.vehicles * n,
                 "p50": pct(samples, 0.5), "p99": pct(samples, 0.99),
                 "max": max(samples, default=float("nan")),
                 "server_cpu": w["server_cpu"], "clients_cpu": w["clients_cpu"],
                 "machine": w["machine_busy_cores"], "loadavg": w["load"], "connect_s": connect_s,
                 "min_client_share": min_client / (args.vehicles * args.duration),
                 "publisher": extra.get("publisher"),
                 "closes": {k: v for r in reports for k, v in r["closes"].items()}})
    # events: exactly once, in order, per client
    final = int(extra["final_seq"])
    ok = bad = 0
    expected_total = 0
    problems: list[str] = []
    for r in reports:
        for c in r["checks"]:
            start = c["before"] if c["before"] is not None else c["since"]
            expected = final - start
            expected_total += expected
            good = (c["n"] == expected and c["dups"] == 0 and c["contiguous"]
                    and (expected == 0 or (c["first"] == start + 1 and c["last"] == final)))
            if good:
                ok += 1
            else:
                bad += 1
                if len(problems) < 3:
                    problems.append(json.dumps(c))
    lat = merged("events", "event_lat")
    w = windows["events"]
    received = sum(c["n"] for r in reports for c in r["checks"])
    rows.append({"load": "events", "server": server, "n": n,
                 "rate": received / args.duration, "ideal": args.event_rate * n,
                 "p50": pct(lat, 0.5), "p99": pct(lat, 0.99), "max": max(lat, default=float("nan")),
                 "server_cpu": w["server_cpu"], "clients_cpu": w["clients_cpu"],
                 "machine": w["machine_busy_cores"], "loadavg": w["load"], "connect_s": connect_s,
                 "clients_ok": ok, "clients_bad": bad, "events_per_client":
                 expected_total / max(1, ok + bad), "problems": problems,
                 "posts": extra.get("posts")})
    return rows


def wait_port(port: int, proc: subprocess.Popen[Any], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {port}")


def print_table(rows: list[dict[str, Any]]) -> None:
    head = (f"{'load':<10}{'N':>6} {'server':<9}{'delivered/s':>13}{'of ideal':>9}"
            f"{'p50 ms':>9}{'p99 ms':>9}{'srv CPU%':>9}{'cli CPU%':>9}{'busy cores':>11}  check")
    print(head)
    print("-" * len(head))
    for r in rows:
        if r["load"] == "positions":
            check = f"min client got {100 * r['min_client_share']:.0f}% of its positions"
        else:
            check = (f"{r['clients_ok']}/{r['clients_ok'] + r['clients_bad']} clients exactly "
                     f"once in order ({r['events_per_client']:.0f} events each)")
        print(f"{r['load']:<10}{r['n']:>6} {r['server']:<9}{r['rate']:>13,.0f}"
              f"{100 * r['rate'] / r['ideal']:>8.0f}%{r['p50']:>9.1f}{r['p99']:>9.1f}"
              f"{r['server_cpu']:>9.0f}{r['clients_cpu']:>9.0f}{r['machine']:>11.2f}  {check}")


def print_ratios(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    print("\napp / baseline (same run, same N)")
    by = {(r["load"], r["n"], r["server"]): r for r in rows}
    for (load, n, server), app in sorted(by.items()):
        base = by.get((load, n, "baseline"))
        if server != "app" or base is None:
            continue
        thr = app["rate"] / base["rate"] if base["rate"] else float("nan")
        cpu_per = ((app["server_cpu"] / max(app["rate"], 1)) /
                   (base["server_cpu"] / max(base["rate"], 1))) if base["server_cpu"] else math.nan
        print(f"  {load:<10} N={n:<5} throughput x{thr:.2f}   p50 {app['p50']:.0f} vs "
              f"{base['p50']:.0f} ms   p99 {app['p99']:.0f} vs {base['p99']:.0f} ms   "
              f"server CPU per delivery x{cpu_per:.2f}")
    print("\ngoals (issue 4)")
    for n in (500,):
        app, base = by.get(("positions", n, "app")), by.get(("positions", n, "baseline"))
        if app and base:
            ok = (app["p99"] < 250 and app["rate"] >= 0.5 * base["rate"]
                  and app["rate"] >= 0.9 * app["ideal"])
            print(f"  positions: {args.vehicles:,} vehicles/s to {n} boards, p99 < 250 ms, >= half"
                  f" the baseline: p99 {app['p99']:.0f} ms, {app['rate']:,.0f}/s = "
                  f"{app['rate'] / base['rate']:.2f} x baseline -> {'PASS' if ok else 'FAIL'}")
        ev = by.get(("events", n, "app"))
        if ev:
            ok = ev["p99"] < 100 and ev["clients_bad"] == 0
            print(f"  events: {args.event_rate:g}/s to {n} boards, p99 < 100 ms, exactly once in "
                  f"order: p99 {ev['p99']:.0f} ms, {ev['clients_ok']} clients ok, "
                  f"{ev['clients_bad']} not -> {'PASS' if ok else 'FAIL'}")
    if not any(r["n"] == 500 for r in rows):
        print("  (N = 500 was not run: the goals are stated for 500 boards)")


def orchestrate(args: argparse.Namespace) -> int:
    import asyncpg
    import httpx

    from storage.engine import create_engine
    from storage.migrate import upgrade
    from web.demo.seed import seed

    counts = [int(x) for x in args.clients.split(",")]
    pid = os.getpid()
    prefix = f"rtbench{pid}"
    name = f"dispatch_rtbench_{pid}"
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    print(f"realtime bench: clients {counts}, {args.vehicles:,} vehicles/s, "
          f"{args.event_rate:g} events/s, {args.duration:g} s per load; "
          f"{os.cpu_count()} CPUs, load average {loadavg()}", flush=True)

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
    app = baseline = None
    app_log = None
    log_path = Path(tempfile.gettempdir()) / f"rtbench_{pid}_app.log"
    rows: list[dict[str, Any]] = []
    started = time.monotonic()
    try:
        upgrade(url)
        asyncio.run(seed_db())
        app_port, base_port = free_port(), free_port()
        app_log = open(log_path, "w")  # noqa: SIM115 -- closed in the finally below
        env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": REDIS_URL,
               "REDIS_PREFIX": prefix, "SECRET_KEY": secrets.token_hex(32),
               "LOG_LEVEL": "warning"}
        app = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "web.app:create_app", "--factory", "--host",
             "127.0.0.1", "--port", str(app_port), "--ws-per-message-deflate", "false",
             "--log-level", "warning", "--no-access-log"], cwd=ROOT, env=env,
            stdout=app_log, stderr=subprocess.STDOUT)
        baseline = subprocess.Popen(
            [sys.executable, __file__, "_baseline", "--port", str(base_port), "--redis", REDIS_URL,
             "--channel-prefix", f"{prefix}:base", "--tick", str(BASELINE_TICK)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        _readline(baseline, 60)  # "listening"
        wait_port(app_port, app)
        wait_port(base_port, baseline)
        base = f"http://127.0.0.1:{app_port}"
        for _ in range(100):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/healthz", timeout=5).status_code == 200:
                    break
            time.sleep(0.1)
        login = httpx.post(f"{base}/api/auth/login", timeout=10,
                           json={"username": "dispatcher", "password": "demo"})
        login.raise_for_status()
        token = login.json()["access_token"]
        for n in counts:
            if time.monotonic() - started > args.time_cap:
                break
            for server in ("app", "baseline"):
                if time.monotonic() - started > args.time_cap:
                    print(f"time cap of {args.time_cap:.0f} s reached; stopping", flush=True)
                    break
                if server == "app":
                    rows += measure("app", n, f"ws://127.0.0.1:{app_port}/ws", app.pid, token,
                                    args, {"positions": f"{prefix}:positions"}, base)
                else:
                    rows += measure("baseline", n, f"ws://127.0.0.1:{base_port}/", baseline.pid,
                                    token, args, {"positions": f"{prefix}:base:positions",
                                                  "events": f"{prefix}:base:events"}, None)
                r = rows[-2]
                e = rows[-1]
                print(f"  [{server} N={n}] positions {r['rate']:,.0f}/s p50 {r['p50']:.0f} ms "
                      f"p99 {r['p99']:.0f} ms CPU {r['server_cpu']:.0f}% | events p50 "
                      f"{e['p50']:.0f} ms p99 {e['p99']:.0f} ms, {e['clients_ok']} ok "
                      f"{e['clients_bad']} bad"
                      + (f" posts {e['posts']['statuses']} p99 {e['posts']['p99']:.0f} ms"
                         if e.get("posts") else "")
                      + (f" closes {r['closes']}" if r["closes"] else ""), flush=True)
                for p in e["problems"]:
                    print(f"    event check: {p}", flush=True)
        with contextlib.suppress(Exception):
            health = httpx.get(f"{base}/healthz", timeout=10).json()["live"]
            print(f"\napp /healthz live stats at the end: {json.dumps(health)}")
        if baseline.stdin is not None:
            baseline.stdin.write("stats\n")
            baseline.stdin.flush()
            with contextlib.suppress(Exception):
                print(f"baseline stats: {_readline(baseline, 5).strip()}")
        with contextlib.suppress(OSError):
            text = log_path.read_text(errors="replace")
            marks = {m: text.count(m) for m in ("redis listener lost", "websocket session failed",
                                                "QueuePool limit", "unhandled error on")}
            print(f"app log {log_path}: {json.dumps(marks)}")
        print(f"\nresults ({time.monotonic() - started:.0f} s, load average now {loadavg()})\n")
        print_table(rows)
        print_ratios(rows, args)
    finally:
        for proc in (app, baseline):
            if proc is not None and proc.poll() is None:
                proc.terminate()
        for proc in (app, baseline):
            if proc is not None:
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
        if app_log is not None:
            app_log.close()
        if not args.keep:
            asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="role")
    p = sub.add_parser("_publish")
    p.add_argument("--mode", choices=("positions", "events"), required=True)
    p.add_argument("--channel", required=True)
    p.add_argument("--redis", required=True)
    p.add_argument("--duration", type=float, required=True)
    p.add_argument("--vehicles", type=int, default=10_000)
    p.add_argument("--rate", type=float, default=50)
    p = sub.add_parser("_baseline")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--redis", required=True)
    p.add_argument("--channel-prefix", required=True)
    p.add_argument("--tick", type=float, default=BASELINE_TICK)
    p = sub.add_parser("_clients")
    p.add_argument("--url", required=True)
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--first", type=int, default=0)
    p.add_argument("--token", required=True)
    parser.add_argument("--clients", default="100,500,1000", help="comma-separated client counts")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per load")
    parser.add_argument("--vehicles", type=int, default=10_000)
    parser.add_argument("--event-rate", type=float, default=50.0)
    parser.add_argument("--time-cap", type=float, default=900.0,
                        help="no new step starts after this many seconds")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args(argv)
    if args.role == "_publish":
        return run_publisher(args)
    if args.role == "_baseline":
        return run_baseline(args)
    if args.role == "_clients":
        return run_clients(args)
    return orchestrate(args)


if __name__ == "__main__":
    raise SystemExit(main())
