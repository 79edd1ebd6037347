"""Concurrent logins against one server: throttling and the memory of password checks.

    python bench/login_load.py [--source DIR] [--wrong 25] [--unknown 16]

Starts the app under uvicorn in its own process on a free loopback port (a fresh SQLite file),
then (1) sends ``--unknown`` logins of distinct unknown users at once and prints how the server
process's peak resident memory (VmHWM) grew: each argon2 check takes 64 MiB; (2) sends
``--wrong`` wrong passwords for one username at once and prints the answers (401 checked,
429 throttled). ``--source`` runs another checkout of the code (a before/after comparison).
Every request has a time limit; nothing leaves the loopback interface.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
from app_process import SERVER, free_port, memory  # noqa: E402  (beside this script)


async def logins(url: str, names: list[str]) -> Counter[int]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(120, connect=5),
                                 limits=httpx.Limits(max_connections=100)) as http:
        answers = await asyncio.gather(*(
            http.post(f"{url}/api/auth/login", json={"username": n, "password": "wrong"})
            for n in names))
    return Counter(a.status_code for a in answers)


def run(source: Path, wrong: int, unknown: int) -> None:
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
            asyncio.run(logins(url, ["warm-up"]))  # imports and the login path loaded
            before = memory(server.pid)
            started = time.monotonic()
            statuses = asyncio.run(logins(url, [f"ghost{i}" for i in range(unknown)]))
            took = time.monotonic() - started
            after = memory(server.pid)
            print(f"  {unknown} concurrent unknown users: {dict(statuses)} in {took:.1f} s; "
                  f"peak RSS {before['VmHWM'] / 1024:.1f} -> {after['VmHWM'] / 1024:.1f} MB "
                  f"(+{(after['VmHWM'] - before['VmHWM']) / 1024:.1f})")
            statuses = asyncio.run(logins(url, ["dispatcher"] * wrong))
            print(f"  {wrong} concurrent wrong passwords for one username: {dict(statuses)}")
        finally:
            server.terminate()
            server.wait(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=ROOT)
    parser.add_argument("--wrong", type=int, default=25)
    parser.add_argument("--unknown", type=int, default=16)
    args = parser.parse_args()
    print(f"source {args.source}")
    run(args.source, args.wrong, args.unknown)


if __name__ == "__main__":
    main()
