"""The demo's local stand-ins (GeoTab, partner feed) served by uvicorn in threads of their own.

uvicorn logs its start-up lines on the process-wide ``uvicorn.error`` logger; without a filter the
board's own "Started server process" line would show once per embedded server.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from typing import Any

_THREAD_SUFFIX = "-simulator"


class _QuietEmbedded(logging.Filter):
    """Drops uvicorn's records that come from an embedded simulator's thread."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.threadName or "").endswith(_THREAD_SUFFIX)


_FILTER = _QuietEmbedded()


def serve_in_thread(app: Any, sock: socket.socket, name: str) -> tuple[Any, threading.Thread]:
    """Serve ``app`` on the bound ``sock`` in a daemon thread named ``<name>-simulator``; answers
    the uvicorn server (set ``should_exit`` to stop it) and the thread."""
    import uvicorn

    logger = logging.getLogger("uvicorn.error")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", ws="none", log_config=None,
                                           access_log=False))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])),
                              name=f"{name}{_THREAD_SUFFIX}", daemon=True)
    thread.start()
    return server, thread
