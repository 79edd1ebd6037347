"""A tiny partner order feed, as a plain ASGI app, for the demo and the tests.

``GET /orders?cursor=<opaque>&limit=<1..500>`` answers ``{"orders": [...], "next_cursor": "..."}``:
the orders after ``cursor`` in the order they were published, and the cursor to ask with next
time (unchanged when nothing new came). An unknown cursor answers 400; a wrong bearer token 401.

Tests publish orders by hand (`publish`) and inject failures (`fail_next`); the demo gives a
`Trickle`, which publishes a plausible order now and then for the demo stores.

With a ``webhook_secret`` it is also the partner's end of the outbound webhooks:
``POST /webhooks`` verifies the Standard Webhooks signature (401 when it does not hold) and keeps
each message once by its ``webhook-id`` in ``received`` (a redelivery is answered 204 again).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from .webhooks import Webhook, WebhookVerificationError

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

JOBS: tuple[tuple[str, tuple[str, ...], int], ...] = (
    ("No cooling from the rooftop AC unit", ("hvac",), 90),
    ("Water heater leaking in the utility room", ("plumbing",), 75),
    ("Walk-in freezer alarm: temperature rising", ("refrigeration",), 120),
    ("Tripped breaker keeps cutting the kitchen circuit", ("electrical",), 60),
    ("Dishwasher does not drain", ("appliance", "plumbing"), 60),
    ("Gas smell near the furnace", ("gas", "hvac"), 45),
    ("Front door lock jammed", ("locksmith",), 30),
    ("Ice machine not producing ice", ("refrigeration", "appliance"), 90),
    ("Thermostat unresponsive, heating stuck on", ("hvac", "electrical"), 45),
    ("Clogged main drain, water backing up", ("plumbing",), 120),
)
NAMES = ("Maria Lopez", "James Carter", "Priya Patel", "Tom Nguyen", "Aisha Brown",
         "Daniel Kim", "Sofia Rossi", "Marcus Hill")
PRIORITIES = ("normal",) * 6 + ("high",) * 3 + ("low",) * 2 + ("emergency",)


@dataclass(frozen=True, slots=True)
class DemoStore:
    code: str
    lat: float
    lon: float


def make_order(rng: random.Random, store: DemoStore, *, now: dt.datetime | None = None,
               external_id: str | None = None) -> dict[str, Any]:
    """One plausible partner order near ``store``."""
    description, skills, minutes = rng.choice(JOBS)
    start = (now or dt.datetime.now(dt.UTC)).replace(second=0, microsecond=0)
    start += dt.timedelta(minutes=rng.choice((30, 60, 90, 120)))
    order: dict[str, Any] = {
        "external_id": external_id or f"P-{uuid.UUID(int=rng.getrandbits(128)).hex[:12]}",
        "store_code": store.code,
        "priority": rng.choice(PRIORITIES),
        "location": {"lat": round(store.lat + rng.uniform(-0.08, 0.08), 6),
                     "lon": round(store.lon + rng.uniform(-0.08, 0.08), 6)},
        "description": description,
        "required_skills": list(skills),
        "estimated_minutes": minutes,
        "time_window": {"start": start.isoformat(),
                        "end": (start + dt.timedelta(hours=rng.choice((2, 3, 4)))).isoformat()},
    }
    if rng.random() < 0.5:
        order["customer_name"] = rng.choice(NAMES)
        order["customer_phone"] = f"+1214555{rng.randrange(10_000):04d}"
    return order


class Trickle:
    """Publishes one order every ``every`` seconds (jittered) for randomly chosen stores."""

    def __init__(self, stores: Iterable[DemoStore], *, every: float = 60.0, seed: int | None = 11,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stores = list(stores)
        if not self.stores:
            raise ValueError("the trickle needs at least one store")
        self.every = every
        self._rng = random.Random(seed)
        self._clock = clock
        self._next = clock() + self._gap()

    def _gap(self) -> float:
        return self.every * self._rng.uniform(0.5, 1.5)

    def due(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        now = self._clock()
        while now >= self._next and len(out) < 50:
            out.append(make_order(self._rng, self._rng.choice(self.stores)))
            self._next += self._gap()
        if now >= self._next:  # far behind (e.g. a suspended laptop): skip ahead
            self._next = now + self._gap()
        return out


class PartnerFeedSimulator:
    """The feed. Cursors are opaque to clients; here they are ``o<offset>``."""

    def __init__(self, orders: Iterable[dict[str, Any]] = (), *, token: str | None = None,
                 trickle: Trickle | None = None, max_limit: int = 500,
                 webhook_secret: str | None = None,
                 webhook_clock: Callable[[], float] = time.time) -> None:
        self.orders: list[dict[str, Any]] = list(orders)
        self.verifier = Webhook(webhook_secret, clock=webhook_clock) if webhook_secret else None
        #: Outbound webhooks received, in arrival order, once per webhook-id.
        self.received: list[dict[str, Any]] = []
        self.deliveries = 0
        self.token = token
        self.trickle = trickle
        self.max_limit = max_limit
        self.requests = 0
        self._failures: list[tuple[int, dict[str, str]]] = []

    def publish(self, *orders: dict[str, Any]) -> None:
        self.orders.extend(orders)

    def fail_next(self, times: int = 1, *, status: int = 503,
                  headers: dict[str, str] | None = None) -> None:
        """The next ``times`` requests answer ``status`` (e.g. 503, or 429 with Retry-After)."""
        self._failures.extend([(status, dict(headers or {}))] * times)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        self.requests += 1
        if scope["method"] == "POST" and scope["path"] == "/webhooks":
            status, body, headers = self._webhook(scope, await _body(receive))
        else:
            status, body, headers = self._answer(scope)
        raw = b"" if status == 204 else json.dumps(body).encode()
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode()),
            *((k.encode(), v.encode()) for k, v in headers.items())]})
        await send({"type": "http.response.body", "body": raw})

    def _answer(self, scope: Scope) -> tuple[int, Any, dict[str, str]]:
        if self._failures:
            status, headers = self._failures.pop(0)
            return status, {"error": "simulated failure"}, headers
        if scope["method"] != "GET" or scope["path"] != "/orders":
            return 404, {"error": "not found"}, {}
        if self.token is not None:
            sent = dict(scope.get("headers") or []).get(b"authorization", b"").decode()
            if sent != f"Bearer {self.token}":
                return 401, {"error": "bad token"}, {}
        query = parse_qs(scope.get("query_string", b"").decode())
        try:
            offset = _offset(query.get("cursor", ["o0"])[-1])
            limit = int(query.get("limit", ["100"])[-1])
        except ValueError as error:
            return 400, {"error": str(error)}, {}
        if not 1 <= limit <= self.max_limit or offset > len(self.orders):
            return 400, {"error": "bad limit or cursor"}, {}
        if self.trickle is not None:
            self.orders.extend(self.trickle.due())
        page = self.orders[offset:offset + limit]
        return 200, {"orders": page, "next_cursor": f"o{offset + len(page)}"}, {}


    def _webhook(self, scope: Scope, raw: bytes) -> tuple[int, Any, dict[str, str]]:
        self.deliveries += 1
        if self._failures:
            status, headers = self._failures.pop(0)
            return status, {"error": "simulated failure"}, headers
        if self.verifier is None:
            return 404, {"error": "no webhook endpoint"}, {}
        sent = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers") or []}
        try:
            message = self.verifier.verify(sent, raw)
            data = json.loads(raw)
        except (WebhookVerificationError, ValueError) as error:
            return 401, {"error": str(error)}, {}
        if message.id not in {m["webhook_id"] for m in self.received}:
            self.received.append({"webhook_id": message.id, **data})
        return 204, None, {}


async def _body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    more = True
    while more and sum(len(c) for c in chunks) < 1_000_000:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = bool(message.get("more_body"))
    return b"".join(chunks)


def _offset(cursor: str) -> int:
    if not cursor.startswith("o") or not cursor[1:].isdigit():
        raise ValueError(f"unknown cursor {cursor[:40]!r}")
    return int(cursor[1:])
