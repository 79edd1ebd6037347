"""The processes of ``bench/realtime.py`` other than the orchestrator: the publisher, the raw
baseline server and the board clients (``bench/realtime_clients.py``), each started as ``python
bench/realtime_load.py <role>``.

The clients speak the websocket protocol themselves (RFC 6455 over an ``asyncio.Protocol``: the
handshake, unmasked server frames parsed in ``data_received``, masked client frames, pings
answered) rather than through a client library: a library's per-message machinery (a task wake-up
and a queue per frame) would make the load generator, not the server, the bottleneck at 25,000
frames a second. Positions frames are counted with ``bytes.count`` and one item in
``ITEMS_PER_SAMPLE`` is timed from its ``at``; events are read with ``bytes.find`` (``seq`` and
``at``), never JSON-parsed. ``--deflate`` offers permessage-deflate as browsers do.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import resource
import sys
import time
from collections.abc import Iterator
from typing import Any

ITEMS_PER_SAMPLE = 500          # one latency sample per 500 position items received
MAX_SAMPLES = 200_000           # per client process and phase (reservoir)
BASELINE_SOFT_LIMIT = 1 << 20   # baseline: skip position frames for a socket this far behind
TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA


def iso_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def parse_iso(raw: bytes) -> float:
    return dt.datetime.fromisoformat(raw.decode()).timestamp()


def self_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


# -- publisher -------------------------------------------------------------------------------------


class Pacer:
    """Open-loop ticks at a fixed rate: never waits for the work of the last one; counts the ticks
    that started more than 50 ms late and stops ``cap`` seconds after it was made."""

    def __init__(self, cap: float) -> None:
        self.deadline = time.monotonic() + cap
        self.late = 0

    def ticks(self, total: int, rate: float) -> Iterator[int]:
        start = time.monotonic()
        for k in range(total):
            delay = start + k / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            elif delay < -0.05:
                self.late += 1
            if time.monotonic() > self.deadline:
                return
            yield k


async def outbox_events(args: argparse.Namespace) -> dict[str, Any]:
    """Events written by another process, as the background worker's feeds do: one outbox row a
    transaction at ``--rate`` a second (open loop), each followed by the relay's wake-up on the
    bus (``--channel``), so the app's relay publishes it and its hub fans it out; no API request
    in the app's process."""
    import redis.asyncio as aioredis
    from sqlalchemy import insert

    from storage import tables as t
    from storage.engine import create_engine

    engine = create_engine(args.database)
    bus = aioredis.from_url(args.redis)
    payload = {"work_order": {"id": "wo-bench", "store_id": "store-0001", "status": "new",
                              "priority": "normal", "description": "x" * 400,
                              "location": {"lat": 32.7, "lon": -97.1}, "comments": []}}
    failed = 0

    async def one(k: int) -> None:
        nonlocal failed
        try:
            async with engine.begin() as conn:
                await conn.execute(insert(t.outbox).values(
                    event_id=f"bench-{os.getpid()}-{k}", name="WorkOrderUpdated",
                    aggregate_type="work_order", aggregate_id="wo-bench", store_id="store-0001",
                    technician_id=None, payload=payload, occurred_at=dt.datetime.now(dt.UTC)))
            await bus.publish(args.channel, "commit")
        except Exception:  # counted: the orchestrator prints it
            failed += 1

    total = int(args.duration * args.rate)
    tasks = []
    start = time.monotonic()
    for k in range(total):
        delay = start + k / args.rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(k)))
    await asyncio.wait(tasks, timeout=30)
    await bus.aclose()
    await engine.dispose()
    return {"sent": total, "published": total - failed, "late_ticks": 0}


def run_publisher(args: argparse.Namespace) -> int:
    """Positions: ``--vehicles`` vans once a second as 20 batches a second, already enriched, in
    the hub's wire format; events: baseline event messages; outbox: see ``outbox_events``."""
    if args.mode == "outbox":
        print(json.dumps(asyncio.run(outbox_events(args))), flush=True)
        return 0
    import redis

    client = redis.Redis.from_url(args.redis)
    pacer = Pacer(cap=args.duration + 10)  # a hard bound even if the loop falls behind
    sent = published = 0
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
        for k in pacer.ticks(int(args.duration * per_second), per_second):
            at = iso_now()
            items = ",".join(heads[i] + at + tails[i] for i in groups[k % per_second])
            client.publish(args.channel, '{"kind":"positions","items":[' + items + "]}")
            sent += len(groups[k % per_second])
            published += 1
    else:
        pad = {"work_order": {"id": "wo-bench", "store_id": "store-0001", "status": "new",
                              "priority": "normal", "description": "x" * 400,
                              "location": {"lat": 32.7, "lon": -97.1}, "comments": []}}
        for k in pacer.ticks(int(args.duration * args.rate), args.rate):
            message = json.dumps({"type": "event", "seq": k + 1, "event": "WorkOrderCreated",
                                  "at": iso_now(), "data": pad}, separators=(",", ":"))
            client.publish(args.channel, message)
            sent += 1
            published += 1
    client.close()
    print(json.dumps({"sent": sent, "published": published, "late_ticks": pacer.late}),
          flush=True)
    return 0


# -- baseline server -------------------------------------------------------------------------------


def run_baseline(args: argparse.Namespace) -> int:
    """A minimal raw stack: one redis-py subscriber, the latest position per vehicle in a dict,
    one frame serialized per tick and written to every socket with ``websockets.broadcast``;
    events forwarded at once. No app logic."""
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
            while True:  # stdin closes (or "quit") when the orchestrator is done
                line = await loop.run_in_executor(None, sys.stdin.readline)
                if not line or line.strip() == "quit":
                    break
                print(json.dumps(stats), flush=True)
            for t in tasks:
                t.cancel()

    import logging
    logging.getLogger("websockets").setLevel(logging.CRITICAL)  # sends to closed sockets at the end
    asyncio.run(main())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="role", required=True)
    p = sub.add_parser("publish")
    p.add_argument("--mode", choices=("positions", "events", "outbox"), required=True)
    p.add_argument("--database", help="outbox mode: the app's database URL")
    p.add_argument("--channel", required=True)
    p.add_argument("--redis", required=True)
    p.add_argument("--duration", type=float, required=True)
    p.add_argument("--vehicles", type=int, default=2_000)
    p.add_argument("--rate", type=float, default=50)
    p = sub.add_parser("baseline")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--redis", required=True)
    p.add_argument("--channel-prefix", required=True)
    p.add_argument("--tick", type=float, default=0.25)
    p = sub.add_parser("clients")
    p.add_argument("--url", required=True)
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--first", type=int, default=0)
    p.add_argument("--token", required=True)
    p.add_argument("--deflate", action="store_true", help="offer permessage-deflate")
    p.add_argument("--batch", action="store_true", help="ask for queued events as one frame")
    args = parser.parse_args(argv)
    if args.role == "clients":
        from realtime_clients import run_clients  # beside this script; it imports this module

        return run_clients(args)
    return {"publish": run_publisher, "baseline": run_baseline}[args.role](args)


if __name__ == "__main__":
    raise SystemExit(main())
