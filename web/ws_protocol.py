"""The websocket protocol ``dispatch serve`` runs: uvicorn's, with two changes for the fan-out.

**One socket write per session pass.** A message sent is framed at once but written on the next
turn of the event loop, with whatever else the same task sent in that turn: a board's pass (its
batch of events, a heartbeat) costs one ``send`` system call, not one a message. A large message
(``WRITE_AT_ONCE``: the positions of hundreds of vans) is written at once.
Under load the system call dominated the fan-out (a profile of 500 boards with events and 2,000
vans: most of the writers' time was in the socket write, little in the framing). Order is kept:
everything uvicorn writes itself (the close, pings, pongs) takes what is buffered first.

**permessage-deflate where it pays**: large messages compressed, small ones sent as they are.

A board's first frame (the snapshot: ~850 KB of JSON for 1,200 open jobs) deflates to ~90 KB, so
it is compressed. Events (~1 KB) and the positions batches of a normal fleet are sent to every
board several times a second: compressing each per connection would cost the fan-out more CPU
than the bytes it saves on the wire, so messages under ``MIN_SIZE`` go uncompressed (RFC 7692
lets the sender choose per message: RSV1 clear).

The server keeps no compression context between messages (``server_no_context_takeover``): a
connection holds no compressor between large messages, so idle boards cost no memory for it,
and each large message is compressed at level 1 with a full window (fast, and smaller than
uvicorn's default settings). ``dispatch serve`` runs uvicorn with ``WebSocketsProtocol``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from uvicorn._types import ASGISendEvent
from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState
from websockets.extensions.base import Extension
from websockets.extensions.permessage_deflate import (
    PerMessageDeflate,
    ServerPerMessageDeflateFactory,
)
from websockets.frames import CONT, CTRL_OPCODES, Frame
from websockets.typing import ExtensionParameter

#: A message this large is written at once (with what was framed before it), not gathered.
WRITE_AT_ONCE = 16 * 1024
#: Messages smaller than this are sent uncompressed.
MIN_SIZE = 64 * 1024
#: What ``dispatch serve`` hands uvicorn: this module's protocol, with compression offered.
UVICORN_OPTIONS: dict[str, Any] = {"ws": "web.ws_protocol:WebSocketsProtocol",
                                   "ws_per_message_deflate": True}


class LargeMessageDeflate(PerMessageDeflate):
    """Compresses outgoing messages of at least ``min_size`` bytes; decodes as usual."""

    def __init__(self, *args: Any, min_size: int = MIN_SIZE, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.min_size = min_size
        self._compressing = False

    def encode(self, frame: Frame) -> Frame:
        if frame.opcode in CTRL_OPCODES:
            return frame
        if frame.opcode is not CONT:  # a message's first frame decides for the whole message
            self._compressing = len(frame.data) >= self.min_size
        return super().encode(frame) if self._compressing else frame


class LargeMessageDeflateFactory(ServerPerMessageDeflateFactory):
    def __init__(self, min_size: int = MIN_SIZE) -> None:
        super().__init__(server_no_context_takeover=True, server_max_window_bits=15,
                         client_max_window_bits=12, compress_settings={"level": 1})
        self.min_size = min_size

    def process_request_params(
        self, params: Sequence[ExtensionParameter], accepted_extensions: Sequence[Extension],
    ) -> tuple[list[ExtensionParameter], PerMessageDeflate]:
        response, agreed = super().process_request_params(params, accepted_extensions)
        return response, LargeMessageDeflate(
            agreed.remote_no_context_takeover, agreed.local_no_context_takeover,
            agreed.remote_max_window_bits, agreed.local_max_window_bits,
            agreed.compress_settings, min_size=self.min_size)


class WebSocketsProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websockets implementation, writing each loop turn's messages at once and
    offering ``LargeMessageDeflateFactory`` (when ``ws_per_message_deflate`` is on) instead of
    compressing every message."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.config.ws_per_message_deflate:
            self.conn.available_extensions = [LargeMessageDeflateFactory()]
        self._write_due = False

    async def send(self, message: ASGISendEvent) -> None:
        if (message["type"] != "websocket.send" or not self.handshake_complete
                or self.close_sent or self.initial_response is not None):
            await super().send(message)  # the handshake, a close, a refusal: as uvicorn does
            return
        await self.writable.wait()  # the transport's flow control, as uvicorn's send
        if self.disconnected:
            raise ClientDisconnected()
        try:
            if (data := message.get("bytes")) is not None:
                self.conn.send_binary(data)
            elif (text := message.get("text")) is not None:
                data = text.encode()
                self.conn.send_text(data)
        except InvalidState as error:
            raise ClientDisconnected() from error
        if data is not None and len(data) >= WRITE_AT_ONCE:
            self._write()  # large: joined to others it only costs a copy, and may not fit the
            return         # socket's buffer at once (asyncio then buffers and polls for it)
        if not self._write_due:
            self._write_due = True
            self.loop.call_soon(self._write)

    def _write(self) -> None:
        """Writes what was framed since the last write (uvicorn's own writes may have taken it
        already, in order)."""
        self._write_due = False  # a call scheduled meanwhile finds nothing to write
        output = self.conn.data_to_send()
        if output and not self.transport.is_closing():
            self.transport.write(b"".join(output))
