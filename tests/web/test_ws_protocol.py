"""The websocket protocol ``dispatch serve`` runs (``web.ws_protocol``), under real uvicorn and a
real client: the messages a task sends in one turn of the event loop leave in one socket write,
in order, and a close sent after them still comes after them."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.realtime.ws_helpers import serve
from web.ws_protocol import WRITE_AT_ONCE, WebSocketsProtocol

#: Every socket write of the server's connections, in order.
WRITES: list[bytes] = []


class Tap:
    """The asyncio transport of a connection, recording what is written to it."""

    def __init__(self, transport: Any) -> None:
        self._transport = transport

    def write(self, data: bytes) -> None:
        WRITES.append(bytes(data))
        self._transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class TappedProtocol(WebSocketsProtocol):
    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self.transport = Tap(self.transport)  # type: ignore[assignment]


BIG = "x" * WRITE_AT_ONCE


async def bursts(ws: WebSocket) -> None:
    """``burst N``: N messages, each awaited as a session's writer does; ``mixed N``: the same
    with a large third one; ``close N``: N messages, then a close with code 4000."""
    await ws.accept()
    while True:
        verb, count = (await ws.receive_text()).split()
        for n in range(int(count)):
            await ws.send_text(BIG if verb == "mixed" and n == 2 else f"message {n}")
        if verb == "close":
            await ws.close(4000, "done")
            return


def served() -> Any:
    """The app on uvicorn as ``dispatch serve`` runs it, its connections' writes recorded."""
    return serve(Starlette(routes=[WebSocketRoute("/ws", bursts)]), ws=TappedProtocol)


async def test_messages_sent_in_one_turn_leave_in_one_write_in_order() -> None:
    async with served() as host, connect(f"ws://{host}/ws") as ws:
        for count in (20, 3):
            before = len(WRITES)
            await ws.send(f"burst {count}")
            got = [await asyncio.wait_for(ws.recv(), 5) for _ in range(count)]
            assert got == [f"message {n}" for n in range(count)]
            assert len(WRITES) - before == 1  # uvicorn's own protocol: one write a message
            assert WRITES[-1].count(b"message ") == count


async def test_a_large_message_is_written_at_once_with_what_came_before_it() -> None:
    async with served() as host, connect(f"ws://{host}/ws") as ws:
        before = len(WRITES)
        await ws.send("mixed 5")
        got = [await asyncio.wait_for(ws.recv(), 5) for _ in range(5)]
        assert got == ["message 0", "message 1", BIG, "message 3", "message 4"]
        assert len(WRITES) - before == 2
        assert WRITES[-2].count(b"message ") == 2 and WRITES[-2].endswith(BIG.encode())
        assert WRITES[-1].count(b"message ") == 2


async def test_a_close_after_messages_comes_after_them() -> None:
    async with served() as host, connect(f"ws://{host}/ws") as ws:
        await ws.send("close 5")
        got = [await asyncio.wait_for(ws.recv(), 5) for _ in range(5)]
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
        assert got == [f"message {n}" for n in range(5)]
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4000
