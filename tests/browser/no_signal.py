"""A phone's signal, for browser tests: a loopback TCP relay in front of the test server that can
drop everything, like a phone that lost its network.

Chromium's offline emulation (``context.set_offline``) fails the page's own requests and flips
``navigator.onLine``, but a service worker's requests still reach the server, so a page opened
"offline" would be served from the network, never from the worker's cache. The browser reaches
the app only through this relay: with the signal gone, every connection, new or open (the
websocket too), is reset, for the worker as for the page.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Iterator

#: Connections held open at once; more are refused (the test's browser opens a handful).
MAX_CONNECTIONS = 64


def _reset(sock: socket.socket) -> None:
    """Close with a reset (RST), as a dropped network looks to the other end."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


class Signal:
    """``url`` is what the browser opens; ``lose()`` and ``restore()`` switch the network."""

    def __init__(self, upstream: str) -> None:
        host, _, port = upstream.removeprefix("http://").partition(":")
        self.upstream = (host, int(port))
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.online = True
        self.lock = threading.Lock()
        self.open: set[socket.socket] = set()
        self.closed = False
        self.accepting = threading.Thread(target=self._accept, daemon=True)
        self.accepting.start()

    def lose(self) -> None:
        """No network: every open connection is reset, new ones are reset at once."""
        with self.lock:
            self.online = False
            doomed, self.open = self.open, set()
        for sock in doomed:
            _reset(sock)

    def restore(self) -> None:
        with self.lock:
            self.online = True

    def close(self) -> None:
        self.closed = True
        self.lose()
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() below
        with contextlib.suppress(OSError):
            self.listener.close()
        self.accepting.join(timeout=5)

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                refuse = not self.online or len(self.open) >= MAX_CONNECTIONS
            if refuse:
                _reset(client)
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
                server.settimeout(None)
            except OSError:
                _reset(client)
                continue
            with self.lock:
                if not self.online:
                    _reset(client)
                    _reset(server)
                    continue
                self.open |= {client, server}
            pair = _Pair(client, server)
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(pair, a, b), daemon=True).start()

    def _pump(self, pair: _Pair, source: socket.socket, target: socket.socket) -> None:
        failed = False
        try:
            while data := source.recv(65536):
                target.sendall(data)
            target.shutdown(socket.SHUT_WR)  # an orderly end, passed on
        except OSError:
            failed = True
        with self.lock:
            pair.left -= 1
            finished = failed or pair.left == 0
            if finished:
                self.open -= {pair.client, pair.server}
        if finished:
            for sock in (pair.client, pair.server):
                if failed:
                    _reset(sock)
                else:
                    with contextlib.suppress(OSError):
                        sock.close()


class _Pair:
    def __init__(self, client: socket.socket, server: socket.socket) -> None:
        self.client = client
        self.server = server
        self.left = 2  # directions still open


@contextlib.contextmanager
def signal_for(upstream: str) -> Iterator[Signal]:
    signal = Signal(upstream)
    try:
        yield signal
    finally:
        signal.close()
