"""The board clients of ``bench/realtime.py`` (``python bench/realtime_load.py clients``): N raw
websocket clients in one process, counted per load window. Why they speak RFC 6455 themselves, and
how they count: ``bench/realtime_load.py``."""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import json
import os
import random
import sys
import time
import zlib
from typing import Any

from realtime_load import (
    CLOSE,
    ITEMS_PER_SAMPLE,
    MAX_SAMPLES,
    PING,
    PONG,
    TEXT,
    parse_iso,
    self_cpu,
)

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
