"""Shared by the benchmarks that start the app in a process of its own and watch its memory:
the server's start-up code (run with ``python -c``), a free loopback port, and the process's memory.

The server runs the code of the checkout given as its first argument, so a benchmark can measure
an older checkout beside this one (``--source``)."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import httpx

#: ``python -c SERVER <source dir> <database url> <port>``: migrate, then serve on 127.0.0.1.
SERVER = """
import sys
sys.path.insert(0, sys.argv[1])
import uvicorn
from storage.migrate import upgrade
from web.app import create_app
from web.settings import Settings
upgrade(sys.argv[2])
uvicorn.run(create_app(Settings(database_url=sys.argv[2])), host="127.0.0.1",
            port=int(sys.argv[3]), log_level="warning")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(server: subprocess.Popen[bytes], base: str, *, seconds: float) -> None:
    """Until ``base`` answers ``/healthz`` with 200; a server that exits or takes longer than
    ``seconds`` is killed and the benchmark ends."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            server.kill()
            raise SystemExit("the app did not start")
        time.sleep(0.2)


def memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in kB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in {"VmRSS", "VmHWM"}:
            fields[name] = int(value.split()[0])
    return fields
