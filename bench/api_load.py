"""Load generators of ``bench/api.py`` and the CPU they and the server use.

``wrk`` (compiled; far cheaper per request than any Python client) reads its requests from a Lua
script: the bearer token and a rotation over the given paths, stopping after ``max_requests``.
The Python client is the fallback where wrk is not installed. Both answer a ``Run``.
"""

from __future__ import annotations

import asyncio
import os
import re
import resource
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

TICKS = os.sysconf("SC_CLK_TCK")

#: {paths}, {token}, {max_requests}: one rotation over the paths, each thread from its own place.
WRK_SCRIPT = """
local paths = {paths}
local n = 0
local done = 0
wrk.headers["Authorization"] = "Bearer {token}"
function setup(thread)
  thread:set("offset", math.random(#paths))
end
function request()
  n = n + 1
  return wrk.format("GET", paths[(n + offset) % #paths + 1])
end
function response(status, headers, body)
  done = done + 1
  if done >= {max_requests} then wrk.thread:stop() end
end
"""


@dataclass
class Run:
    requests: int
    errors: int
    seconds: float
    p50: float
    p99: float
    generator_cpu: float
    server_cpu: float = 0.0
    machine_cpu: float = 0.0

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        """The figures, CPU as cores busy on average over the run (and the generator's share
        of the machine's busy time)."""
        def cores(cpu: float) -> float:
            return cpu / self.seconds if self.seconds else 0.0

        share = self.generator_cpu / self.machine_cpu if self.machine_cpu else 0.0
        return (f"n={self.requests:<6} {self.rate:6.0f} req/s  p50={self.p50:6.2f} ms  "
                f"p99={self.p99:7.2f} ms  err={self.errors}  server CPU "
                f"{self.server_cpu_per_request:5.2f} ms/req  cores: server "
                f"{cores(self.server_cpu):.2f} generator {cores(self.generator_cpu):.2f} "
                f"machine {cores(self.machine_cpu):.2f} (generator {share:.0%})")

    @property
    def server_cpu_per_request(self) -> float:
        """The server's CPU per request (ms): what the app costs, whatever else runs."""
        return self.server_cpu * 1000 / self.requests if self.requests else 0.0


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes so far."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def machine_busy() -> float:
    """CPU seconds the whole machine spent busy so far (all cores)."""
    cells = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = cells[3] + cells[4]  # idle, iowait
    return (sum(cells[:8]) - idle) / TICKS


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def wrk_load(base: str, paths: list[str], token: str, *, clients: int, seconds: float,
             max_requests: int) -> Run:
    threads = min(clients, 2)  # the machine's cores are the server's, mostly
    lua = "{" + ", ".join(f'"{p}"' for p in paths) + "}"
    script = WRK_SCRIPT.replace("{paths}", lua).replace("{token}", token).replace(
        "{max_requests}", str(max(1, max_requests // threads)))
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as file:
        file.write(script)
    try:
        with tempfile.TemporaryFile("w+") as out:
            proc = subprocess.Popen(
                ["wrk", f"-t{threads}", f"-c{clients}", f"-d{max(1, round(seconds))}s",
                 "--latency", "--timeout", "30s", "-s", file.name, base],
                stdout=out, stderr=subprocess.STDOUT)
            _, status, usage = os.wait4(proc.pid, 0)  # its own CPU use, as it ends
            proc.returncode = os.waitstatus_to_exitcode(status)
            out.seek(0)
            text = out.read()
    finally:
        os.unlink(file.name)
    if proc.returncode != 0 or "Requests/sec" not in text:
        raise SystemExit(f"wrk failed:\n{text}")
    done = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", text)
    assert done is not None
    latency = {float(q): v for q, v in re.findall(
        r"^\s*(\d+(?:\.\d+)?)%\s+([\d.]+(?:us|ms|s|m))\s*$", text, re.M)}
    if 50.0 not in latency or 99.0 not in latency:
        raise SystemExit(f"no latency distribution in wrk's answer:\n{text}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    failed = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                       text)
    return Run(requests=int(done.group(1)),
               errors=(int(errors.group(1)) if errors else 0)
               + (sum(int(x) for x in failed.groups()) if failed else 0),
               seconds=_ms(done.group(2) + done.group(3)) / 1000,
               p50=_ms(latency[50.0]), p99=_ms(latency[99.0]),
               generator_cpu=usage.ru_utime + usage.ru_stime)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def python_load(base: str, paths: list[str], token: str, *, clients: int,
                      seconds: float, max_requests: int) -> Run:
    latencies: list[float] = []
    errors = 0
    counter = iter(range(max_requests))
    deadline = time.perf_counter() + seconds
    before = resource.getrusage(resource.RUSAGE_SELF)

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        for n in counter:
            if time.perf_counter() > deadline:
                return
            started = time.perf_counter()
            response = await client.get(paths[n % len(paths)])
            latencies.append((time.perf_counter() - started) * 1000)
            errors += response.status_code >= 400

    async with httpx.AsyncClient(base_url=base, timeout=30,
                                 headers={"Authorization": f"Bearer {token}"},
                                 limits=httpx.Limits(max_connections=clients)) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(clients)))
        elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run(requests=len(latencies), errors=errors, seconds=elapsed, p50=pct(latencies, 0.5),
               p99=pct(latencies, 0.99), generator_cpu=cpu)
