"""The processes and probes of ``bench/realtime.py``: the machine's CPU and pinning, the board
clients and publishers (``bench/realtime_load.py`` in processes of their own), the open loop of
``POST /api/work-orders``, and a server under test (start, log in, its health and histograms)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.realtime_report import pct  # noqa: E402

LOAD = str(ROOT / "bench" / "realtime_load.py")
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


# -- a server under test ---------------------------------------------------------------------------


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
