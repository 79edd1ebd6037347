"""How soon an ended token stops working, measured the way an operator meets it.

    python bench/revocation.py [--rounds 3] [--refresh-seconds 5]

Starts two web processes (uvicorn, each its own process, free loopback ports) on one SQLite file
seeded with the small demo company. For each round: the dispatcher logs in on the first process
and opens a board websocket on the second; then ``dispatch users deactivate dispatcher`` runs as a
third process. Printed: the seconds from that command's end until the second process answers the
token with 401, and until the websocket is closed (with its close code). Then the same for a
sign-out (``POST /api/auth/logout`` on the first process). Every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import websockets

ROOT = Path(__file__).resolve().parents[1]
LIMIT_S = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(url: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "web.app:create_app", "--factory", "--host",
         "127.0.0.1", "--port", str(port), "--log-level", "warning"], cwd=ROOT, env=env)


def wait_up(base: str) -> None:
    deadline = time.monotonic() + LIMIT_S
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{base}/healthz", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"{base} did not start")


def login(base: str) -> str:
    r = httpx.post(f"{base}/api/auth/login", json={"username": "dispatcher", "password": "demo"},
                   timeout=10)
    r.raise_for_status()
    return str(r.json()["access_token"])


async def measure(first: str, second: str, end: list[str] | None, env: dict[str, str]
                  ) -> tuple[float, float, int | None]:
    """Seconds until the second process refuses the token and until its socket closes."""
    held = login(first)
    ws_url = second.replace("http://", "ws://") + "/ws"
    async with websockets.connect(ws_url, max_size=None) as ws:
        await ws.send(json.dumps({"type": "auth", "token": held}))
        await ws.recv()
        await ws.send(json.dumps({"type": "subscribe", "topics": ["alerts"], "since": None}))
        if end is not None:
            await asyncio.to_thread(subprocess.run, end, cwd=ROOT, env=env, check=True,
                                    capture_output=True)
        else:
            async with httpx.AsyncClient(timeout=10) as client:
                (await client.post(f"{first}/api/auth/logout",
                                   headers={"Authorization": f"Bearer {held}"})).raise_for_status()
        ended = time.monotonic()
        refused = closed = float("nan")
        code = None

        async def watch_socket() -> None:
            nonlocal closed, code
            try:
                while True:
                    await ws.recv()
            except websockets.ConnectionClosed as gone:
                closed, code = time.monotonic() - ended, gone.rcvd.code if gone.rcvd else None

        watcher = asyncio.create_task(watch_socket())
        async with httpx.AsyncClient(timeout=5) as client:
            while time.monotonic() - ended < LIMIT_S:
                r = await client.get(f"{second}/api/alerts",
                                     headers={"Authorization": f"Bearer {held}"})
                if r.status_code == 401:
                    refused = time.monotonic() - ended
                    break
                await asyncio.sleep(0.05)
        await asyncio.wait_for(watcher, LIMIT_S)
    return refused, closed, code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--refresh-seconds", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": secrets.token_urlsafe(48),
               "DELEGATION_REFRESH_SECONDS": str(args.refresh_seconds), "ALERTS_ENABLED": "false",
               "RUN_FEEDS": "false"}
        dispatch = [str(Path(sys.executable).with_name("dispatch"))]
        subprocess.run([*dispatch, "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
        subprocess.run([*dispatch, "seed", "--stores", "4", "--technicians", "6", "--orders", "20",
                        "--quiet"], cwd=ROOT, env=env, check=True, capture_output=True)
        ports = free_port(), free_port()
        servers = [start(url, port, env) for port in ports]
        first, second = (f"http://127.0.0.1:{port}" for port in ports)
        try:
            for base in (first, second):
                wait_up(base)
            print(f"refresh every {args.refresh_seconds:g} s (DELEGATION_REFRESH_SECONDS)")
            for n in range(args.rounds):
                for name, end in (
                        ("deactivation", [*dispatch, "users", "deactivate", "dispatcher"]),
                        ("sign-out", None)):
                    refused, closed, code = asyncio.run(measure(first, second, end, env))
                    print(f"round {n + 1} {name:12}: token refused after {refused:.2f} s, "
                          f"socket closed after {closed:.2f} s (code {code})", flush=True)
                    if end is not None:  # let every process see the account active again
                        subprocess.run([*dispatch, "users", "activate", "dispatcher"], cwd=ROOT,
                                       env=env, check=True, capture_output=True)
                        time.sleep(args.refresh_seconds + 1)
        finally:
            for server in servers:
                server.terminate()
                server.wait(10)


if __name__ == "__main__":
    main()
