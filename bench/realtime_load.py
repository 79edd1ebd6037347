"""The processes of ``bench/realtime.py`` other than the orchestrator: the publisher, the raw
baseline server and the board clients, each started as ``python bench/realtime_load.py <role>``.

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
import base64
import datetime as dt
import itertools
import json
import os
import random
import resource
import sys
import time
import zlib
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


# -- board clients ---------------------------------------------------------------------------------


class Phase:
    """What the clients of one process received during one load window."""

    def __init__(self) -> None:
        self.items = 0
        self.frames = 0
        self.samples: list[float] = []
        self.seen = 0
        self.event_lat: list[float] = []
        self.event_seen = 0
        self.per_client_items: dict[int, int] = {}
        self.cpu0 = self_cpu()
        self.t0 = time.time()

    def sample(self, bucket: list[float], value: float, seen: int) -> None:
        if len(bucket) < MAX_SAMPLES:
            bucket.append(value)
        else:
            j = random.randrange(seen)
            if j < MAX_SAMPLES:
                bucket[j] = value


def client_frame(opcode: int, payload: bytes) -> bytes:
    """A masked client frame (RFC 6455 section 5.2)."""
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = bytes([0x80 | opcode, 0x80 | n])
    elif n < 1 << 16:
        head = bytes([0x80 | opcode, 0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([0x80 | opcode, 0x80 | 127]) + n.to_bytes(8, "big")
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + body


class Board(asyncio.Protocol):
    """One board's websocket, counted in the current ``Phase`` of its process."""

    def __init__(self, index: int, host: str, path: str, deflate: bool,
                 clients: Clients) -> None:
        self.index = index
        self.host, self.path, self.deflate = host, path, deflate
        self.clients = clients
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.open = False
        self.inflate_each = True
        self.inflater: Any = None
        self.partial: list[bytes] = []
        self.partial_deflated = False
        self.setup: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.synced = False
        self.since: int | None = None
        self.seqs: list[int] = []
        #: Where each phase began in ``seqs``.
        self.marks: dict[str, int] = {}
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[str] = loop.create_future()
        self.key = base64.b64encode(os.urandom(16)).decode()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        extra = ("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
                 if self.deflate else "")
        transport.write((f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\n"
                         "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                         f"Sec-WebSocket-Key: {self.key}\r\nSec-WebSocket-Version: 13\r\n"
                         f"{extra}\r\n").encode())

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result("lost")

    def send_text(self, text: str) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(client_frame(TEXT, text.encode()))

    def data_received(self, data: bytes) -> None:
        now = time.time()
        buf = self.buffer
        buf += data
        if not self.open:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buf[:end]).decode("latin-1")
            del buf[:end + 4]
            if " 101 " not in head.split("\r\n", 1)[0]:
                self._finish("refused " + head.split("\r\n", 1)[0])
                return
            self.open = True
            self.opened.set_result(None)
            lowered = head.lower()
            if "permessage-deflate" in lowered:
                self.inflate_each = "server_no_context_takeover" in lowered
                self.inflater = zlib.decompressobj(-15)
        pos, size = 0, len(buf)
        while size - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            length, head_len = b1 & 0x7F, 2
            if length == 126:
                if size - pos < 4:
                    break
                length, head_len = int.from_bytes(buf[pos + 2:pos + 4], "big"), 4
            elif length == 127:
                if size - pos < 10:
                    break
                length, head_len = int.from_bytes(buf[pos + 2:pos + 10], "big"), 10
            if size - pos < head_len + length:
                break
            payload = bytes(buf[pos + head_len:pos + head_len + length])
            pos += head_len + length
            self._frame(b0, payload, now)
        if pos:
            del buf[:pos]

    def _frame(self, b0: int, payload: bytes, now: float) -> None:
        opcode = b0 & 0x0F
        if opcode == PING:
            if self.transport is not None and not self.transport.is_closing():
                self.transport.write(client_frame(PONG, payload))
            return
        if opcode == CLOSE:
            code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
            self._finish(str(code))
            return
        if opcode in (TEXT, 0x2):
            self.partial = [payload]
            self.partial_deflated = bool(b0 & 0x40)
        elif opcode == 0x0:
            self.partial.append(payload)
        if not b0 & 0x80:
            return  # more fragments follow
        message = b"".join(self.partial)
        self.partial = []
        if self.partial_deflated:
            if self.inflate_each:
                self.inflater = zlib.decompressobj(-15)
            message = self.inflater.decompress(message + b"\x00\x00\xff\xff")
        if self.synced:
            self.clients.count(self, message, now)
        else:
            self.setup.put_nowait(json.loads(message))

    def _finish(self, how: str) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(how))
        if not self.closed.done():
            self.closed.set_result(how)
        if self.transport is not None:
            self.transport.close()

    async def expect(self, kind: str, within: float) -> dict[str, Any]:
        while True:
            message = await asyncio.wait_for(self.setup.get(), within)
            if message.get("type") == kind:
                return message


class Clients:
    """The boards of one client process and what they received, phase by phase."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.phase = Phase()
        self.boards: list[Board] = []

    def count(self, board: Board, data: bytes, now: float) -> None:
        ph = self.phase
        if data.startswith(b'{"type":"positions"'):
            count = data.count(b'"unit_id"')
            ph.items += count
            ph.frames += 1
            ph.per_client_items[board.index] = ph.per_client_items.get(board.index, 0) + count
            k = max(1, round(count / ITEMS_PER_SAMPLE))
            size = len(data)
            for j in range(k):
                at = data.find(b'"at":"', int((j + random.random()) * size / k))
                if at < 0:
                    at = data.find(b'"at":"')
                end = data.find(b'"', at + 6)
                ph.seen += 1
                ph.sample(ph.samples, (now - parse_iso(data[at + 6:end])) * 1000, ph.seen)
        elif data.startswith(b'{"type":"events"'):  # several that queued, as browsers ask
            for item in json.loads(data)["items"]:
                board.seqs.append(item["seq"])
                ph.event_seen += 1
                ph.sample(ph.event_lat, (now - parse_iso(item["at"].encode())) * 1000,
                          ph.event_seen)
        elif data.startswith(b'{"type":"event"'):
            start = data.find(b'"seq":') + 6
            seq = int(data[start:data.find(b",", start)])
            at = data.find(b'"at":"') + 6
            board.seqs.append(seq)
            ph.event_seen += 1
            ph.sample(ph.event_lat, (now - parse_iso(data[at:data.find(b'"', at)])) * 1000,
                      ph.event_seen)

    async def connect(self, index: int, sem: asyncio.Semaphore) -> None:
        host, _, rest = self.args.url.removeprefix("ws://").partition("/")
        hostname, _, port = host.partition(":")
        loop = asyncio.get_running_loop()
        async with sem:
            _, board = await loop.create_connection(
                lambda: Board(index, host, "/" + rest, self.args.deflate, self), hostname,
                int(port))
            self.boards.append(board)
            await asyncio.wait_for(board.opened, 60)
            board.send_text(json.dumps({"type": "auth", "token": self.args.token}))
            ready = await board.expect("ready", 60)
            board.since = int(ready.get("seq") or 0)
            board.send_text(json.dumps({"type": "subscribe", "topics": ["board"],
                                        "since": board.since, "batch": self.args.batch}))
            # the session handles messages one at a time: "pong" means the replay is done
            board.send_text(json.dumps({"type": "ping"}))
            await board.expect("pong", 60)
            board.synced = True

    def close_phase(self) -> dict[str, Any]:
        ph = self.phase
        per = [ph.per_client_items.get(b.index, 0) for b in self.boards]
        return {"items": ph.items, "frames": ph.frames, "samples": ph.samples,
                "event_lat": ph.event_lat, "cpu": self_cpu() - ph.cpu0,
                "wall": time.time() - ph.t0, "min_client_items": min(per) if per else 0,
                "max_client_items": max(per) if per else 0}

    def checks(self) -> list[dict[str, Any]]:
        """Per board, over the events window: exactly once and in order?"""
        out = []
        for b in self.boards:
            start_mark = b.marks.get("events", 0)
            seqs = b.seqs[start_mark:b.marks.get("after_events", len(b.seqs))]
            before = b.seqs[:start_mark]
            out.append({"since": b.since, "n": len(seqs),
                        "first": seqs[0] if seqs else None, "last": seqs[-1] if seqs else None,
                        "contiguous": all(y == x + 1 for x, y in itertools.pairwise(seqs)),
                        "before": before[-1] if before else None,
                        "dups": len(seqs) - len(set(seqs))})
        return out


def run_clients(args: argparse.Namespace) -> int:
    """Connects ``--n`` boards, says ``ready``, then obeys ``phase <name>``, ``progress`` and
    ``report`` lines."""
    async def main() -> None:
        clients = Clients(args)
        phases: dict[str, dict[str, Any]] = {}
        name = "connect"
        sem = asyncio.Semaphore(10)
        started = time.time()
        tasks = [asyncio.create_task(clients.connect(args.first + i, sem)) for i in range(args.n)]
        done, pending = await asyncio.wait(tasks, timeout=180)
        failed = [t for t in done if t.exception() is not None]
        if failed or pending:
            raise SystemExit(f"{len(failed)} clients failed, {len(pending)} timed out: "
                             f"{failed[0].exception()!r}" if failed else "connect timed out")
        await asyncio.sleep(0.3)  # let the "subscribed" replies land
        print(json.dumps({"ready": sum(1 for b in clients.boards if b.synced),
                          "connect_s": time.time() - started}), flush=True)
        loop = asyncio.get_running_loop()
        while True:
            line = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
            if not line or line == "report":
                break
            if line == "progress":  # the lowest seq every board has reached
                print(json.dumps({"min_seq": min((b.seqs[-1] if b.seqs else 0)
                                                 for b in clients.boards)}), flush=True)
            elif line.startswith("phase "):
                phases[name] = clients.close_phase()
                name = line.split(" ", 1)[1]
                clients.phase = Phase()
                for b in clients.boards:
                    b.marks[name] = len(b.seqs)
                print(json.dumps({"ok": name}), flush=True)
        phases[name] = clients.close_phase()
        closes: dict[str, int] = {}
        for b in clients.boards:
            if b.closed.done():
                closes[b.closed.result()] = closes.get(b.closed.result(), 0) + 1
        print(json.dumps({"phases": phases, "checks": clients.checks(), "closes": closes}),
              flush=True)
        for b in clients.boards:
            if b.transport is not None:
                b.transport.close()

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
    return {"publish": run_publisher, "baseline": run_baseline,
            "clients": run_clients}[args.role](args)


if __name__ == "__main__":
    raise SystemExit(main())
