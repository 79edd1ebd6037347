"""Security headers on every HTTP answer: pages, API answers (problems included) and static files.

A pure ASGI middleware: it adds its headers to ``http.response.start`` and leaves the body alone
(streamed files stay streamed). Websocket connections pass through untouched.

- ``Content-Security-Policy``: everything from this origin only, no inline script or style, no
  ``eval``; images also from ``data:``/``blob:`` (proof photos and signatures before upload) and
  from the map tile server (the ``TILE_URL`` setting); ``frame-ancestors 'none'``. An answer that
  sets its own policy (an attachment's ``sandbox``) keeps it, and this one is enforced as well.
- ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: same-origin``, ``X-Frame-Options: DENY``
  (for browsers older than ``frame-ancestors``).
- ``Strict-Transport-Security`` only on requests that came over HTTPS (the ASGI scheme; behind a
  proxy, run uvicorn with ``--proxy-headers`` so it reflects ``X-Forwarded-Proto``): over plain
  HTTP the header is meaningless and a mistake would pin a development host to HTTPS.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: One year; no ``includeSubDomains``: other hosts of the operator's domain are not ours to pin.
HSTS = "max-age=31536000"
_HOST = re.compile(r"[A-Za-z0-9.*-]+(:[0-9]+)?")


def tile_source(tile_url: str) -> str | None:
    """The CSP source for a Leaflet tile URL template, e.g. ``https://*.tile.example.org``
    for ``https://{s}.tile.example.org/{z}/{x}/{y}.png``; None when the tiles are same-origin
    (a relative URL), absent, or not a plain http(s) host (never copied into the header)."""
    if not tile_url or tile_url.startswith("/"):
        return None
    parts = urlsplit(tile_url.replace("{s}", "*"))
    host = parts.netloc.rpartition("@")[2]
    if parts.scheme not in {"http", "https"} or not _HOST.fullmatch(host):
        return None
    return f"{parts.scheme}://{host}"


def content_security_policy(tile_url: str = "") -> str:
    images = ["'self'", "data:", "blob:"]
    tiles = tile_source(tile_url)
    if tiles:
        images.append(tiles)
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": images,
        "connect-src": ["'self'"],  # fetch and the /ws websocket (CSP3: 'self' covers ws/wss)
        "font-src": ["'self'"],
        "worker-src": ["'self'"],  # the technician view's service worker
        "manifest-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


class SecurityHeaders:
    """Adds the security headers to every HTTP answer of ``app``."""

    def __init__(self, app: ASGIApp, *, tile_url: str = "") -> None:
        self.app = app
        self.policy = content_security_policy(tile_url)
        self.defaults = {
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
            "X-Frame-Options": "DENY",
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.append("Content-Security-Policy", self.policy)
                for name, value in self.defaults.items():
                    headers.setdefault(name, value)
                if https:
                    headers.setdefault("Strict-Transport-Security", HSTS)
            await send(message)

        await self.app(scope, receive, send_with_headers)
