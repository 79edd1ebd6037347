"""permessage-deflate where it pays: large websocket messages compressed, small ones sent as they are.

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

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.extensions.base import Extension
from websockets.extensions.permessage_deflate import (
    PerMessageDeflate,
    ServerPerMessageDeflateFactory,
)
from websockets.frames import CONT, CTRL_OPCODES, Frame
from websockets.typing import ExtensionParameter

#: Messages smaller than this are sent uncompressed.
MIN_SIZE = 64 * 1024
#: What ``dispatch serve`` hands uvicorn: this module's protocol, with compression offered.
UVICORN_OPTIONS: dict[str, Any] = {"ws": "web.ws_deflate:WebSocketsProtocol",
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
    """uvicorn's websockets implementation, offering ``LargeMessageDeflateFactory`` (when
    ``ws_per_message_deflate`` is on) instead of compressing every message."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.config.ws_per_message_deflate:
            self.conn.available_extensions = [LargeMessageDeflateFactory()]
