"""Server memory while an oversized body is posted before authentication (``/api/auth/login``).

    python bench/body_limit.py [--megabytes 200] [--source DIR]

Starts the app under uvicorn in its own process on a free loopback port (a fresh SQLite file),
posts ``--megabytes`` of body twice (streamed chunked without a length, then with its declared
``Content-Length``) and prints the answer, the seconds it took and how the server process's
memory grew: resident (VmRSS) after the request and peak (VmHWM) against the start. ``--source``
runs another checkout of the code (for a before/after comparison). The body is finite and every
request has a time limit.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024
from app_process import SERVER, free_port, memory  # noqa: E402  (beside this script)


def body(megabytes: int) -> Iterator[bytes]:
    chunk = b"x" * MB
    for _ in range(megabytes):
        yield chunk


def post(url: str, megabytes: int, *, declared: bool) -> str:
    headers = {"Content-Type": "application/json"}
    if declared:
        headers["Content-Length"] = str(megabytes * MB)
    try:
        response = httpx.post(f"{url}/api/auth/login", content=body(megabytes), headers=headers,
                              timeout=httpx.Timeout(120, connect=5))
    except httpx.HTTPError as error:
        return f"no answer ({type(error).__name__})"
    return str(response.status_code)


def measure(source: Path, megabytes: int, *, declared: bool) -> str:
    """One fresh server, one oversized request: what it answered and how memory moved."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        database = f"sqlite+aiosqlite:///{tmp}/bench.db"
        env = {**os.environ, "SECRET_KEY": secrets.token_urlsafe(48)}
        server = subprocess.Popen([sys.executable, "-c", SERVER, str(source), database,
                                   str(port)], env=env)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the server did not start")
                time.sleep(0.2)
            httpx.post(f"{url}/api/auth/login", json={"username": "nobody", "password": "x"},
                       timeout=30)  # warm up: imports and the login path loaded
            before = memory(server.pid)
            started = time.monotonic()
            status = post(url, megabytes, declared=declared)
            took = time.monotonic() - started
            after = memory(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=20)
    how = "declared Content-Length" if declared else "chunked, no length"
    return (f"  {how:24} answer {status:>10}  {took:5.1f} s  "
            f"RSS {before['VmRSS'] / 1024:6.1f} -> {after['VmRSS'] / 1024:6.1f} MB  "
            f"peak {before['VmHWM'] / 1024:6.1f} -> {after['VmHWM'] / 1024:6.1f} MB "
            f"(+{(after['VmHWM'] - before['VmHWM']) / 1024:.1f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--source", type=Path, default=ROOT)
    args = parser.parse_args()
    print(f"source {args.source}, {args.megabytes} MB to /api/auth/login")
    for declared in (False, True):
        print(measure(args.source, args.megabytes, declared=declared))


if __name__ == "__main__":
    main()
