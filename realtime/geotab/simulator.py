"""A local MyGeotab server: JSON-RPC over HTTP POST at `/apiv1`, as a plain ASGI application.

It speaks the wire format of `protocol` (same envelopes and error shapes as the real server) for
the calls the feed client needs: Authenticate, GetFeed (LogRecord, DeviceStatusInfo), Get
(Device, DeviceStatusInfo). The data comes from a `Fleet`. Tests steer it through `faults`
(rate limits, outages, slow answers), `expire_sessions()` and the fleet's injection helpers;
the demo drives vans with `fleet.send_to(...)`.

Run it under any ASGI server, e.g. ``uvicorn.Server(uvicorn.Config(simulator, ...))``.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .protocol import (
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    RESULTS_LIMIT_MAX,
    THIS_SERVER,
    error_body,
    format_datetime,
    parse_datetime,
    parse_version,
    result_body,
)
from .simulator_faults import Fault, Faults
from .simulator_fleet import Fleet

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MAX_BODY_BYTES = 1_000_000
DEVICE_RESULTS_MAX = 5_000
# Published limits per (method, entity type, user, database), per minute.
RATE_LIMITS = {"Authenticate": 10, "GetFeed": 60, "Get": 900}


class RpcFailure(Exception):
    """Raised inside a handler to answer with a MyGeotab error envelope."""

    def __init__(
        self, type_name: str, message: str, *, code: int = -32000, retry_after: int | None = None
    ) -> None:
        super().__init__(message)
        self.type_name = type_name
        self.message = message
        self.code = code
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str = "application/json; charset=utf-8"

    @classmethod
    def json(cls, payload: Any, status: int = 200, *, headers: Mapping[str, str] | None = None) -> Reply:
        return cls(status, json.dumps(payload).encode(), dict(headers or {}))


@dataclass(frozen=True, slots=True)
class Request:
    """One call the simulator answered (or refused): for assertions in tests."""

    method: str
    type_name: str | None
    port: int | None
    outcome: str


class GeotabSimulator:
    """The ASGI app. `users` maps user name → password for the single `database`."""

    def __init__(
        self,
        fleet: Fleet,
        *,
        database: str = "demo",
        users: Mapping[str, str] | None = None,
        redirect_to: str | None = None,
        enforce_rate_limits: bool = False,
    ) -> None:
        self.fleet = fleet
        self.database = database
        self.users = dict(users or {"dispatch-service": "demo"})
        self.redirect_to = redirect_to
        self.enforce_rate_limits = enforce_rate_limits
        self.faults = Faults()
        self.sessions: dict[str, str] = {}  # session id -> user name
        self.requests: list[Request] = []
        self._windows: dict[tuple[str, str, str], deque[float]] = defaultdict(deque)

    # --- knobs ----------------------------------------------------------------------------

    def expire_sessions(self) -> int:
        """End every session: the next data call of each client gets InvalidUserException."""
        count = len(self.sessions)
        self.sessions.clear()
        return count

    def count(self, method: str, type_name: str | None = None, *, outcome: str = "ok") -> int:
        return sum(
            1
            for r in self.requests
            if r.method == method and (type_name is None or r.type_name == type_name) and r.outcome == outcome
        )

    # --- ASGI -----------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if scope["path"].rstrip("/") != "/apiv1":
            await _respond(send, Reply(404, b"Not Found", content_type="text/plain"))
            return
        if scope["method"] != "POST":
            await _respond(send, Reply(405, b"Method Not Allowed", content_type="text/plain"))
            return
        body = await _read_body(receive)
        server = scope.get("server")
        port = server[1] if server else None
        await _respond(send, await self._handle(body, port))

    async def _handle(self, body: bytes | None, port: int | None) -> Reply:
        if body is None:
            return Reply.json(error_body("JsonSerializerException", "Request too large"), 413)
        try:
            call = json.loads(body)
            method = call["method"]
            params = call.get("params") or {}
            if not isinstance(method, str) or not isinstance(params, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            message = "Incorrect JSON-RPC request"
            return Reply.json(error_body("JsonSerializerException", message, code=PARSE_ERROR))
        type_name = params.get("typeName") if isinstance(params.get("typeName"), str) else None
        fault = self.faults.take(method)
        if fault is not None:
            self.requests.append(Request(method, type_name, port, fault.kind))
            if fault.kind != "slow":
                return _fault_reply(fault)
            await asyncio.sleep(fault.seconds)
        try:
            user = self._user_for(method, params)
            headers = self._rate_limit(method, type_name or "", user)
            result = self._dispatch(method, params)
        except RpcFailure as failure:
            self.requests.append(Request(method, type_name, port, failure.type_name))
            envelope = error_body(failure.type_name, failure.message, code=failure.code)
            retry = {} if failure.retry_after is None else {"Retry-After": str(failure.retry_after)}
            return Reply.json(envelope, headers=retry)
        self.requests.append(Request(method, type_name, port, "ok"))
        return Reply.json(result_body(result), headers=headers)

    # --- calls ----------------------------------------------------------------------------

    def _user_for(self, method: str, params: dict[str, Any]) -> str:
        if method == "Authenticate":
            return str(params.get("userName", ""))
        credentials = params.get("credentials")
        if not isinstance(credentials, dict):
            raise RpcFailure("InvalidUserException", f"Invalid session @ '{self.database}'")
        if credentials.get("database") != self.database:
            raise RpcFailure("DbUnavailableException", "Database not found: UnknownDatabase")
        user = self.sessions.get(str(credentials.get("sessionId")))
        if user is None or user != credentials.get("userName"):
            raise RpcFailure("InvalidUserException", f"Invalid session @ '{self.database}'")
        return user

    def _dispatch(self, method: str, params: dict[str, Any]) -> Any:
        if method == "Authenticate":
            return self._authenticate(params)
        if method == "GetVersion":
            return "12.0.0.0"
        self.fleet.advance()
        if method == "GetFeed":
            return self._get_feed(params)
        if method == "Get":
            return self._get(params)
        raise RpcFailure(
            "MissingMethodException",
            f"The method '{method}' could not be found.",
            code=METHOD_NOT_FOUND,
        )

    def _authenticate(self, params: dict[str, Any]) -> dict[str, Any]:
        user = params.get("userName")
        if params.get("database") != self.database:
            raise RpcFailure("DbUnavailableException", "Database not found: UnknownDatabase")
        if not isinstance(user, str) or self.users.get(user) != params.get("password"):
            raise RpcFailure("InvalidUserException", "Incorrect login credentials")
        session_id = secrets.token_urlsafe(16)
        self.sessions[session_id] = user
        credentials = {"database": self.database, "sessionId": session_id, "userName": user}
        return {"credentials": credentials, "path": self.redirect_to or THIS_SERVER}

    def _get_feed(self, params: dict[str, Any]) -> dict[str, Any]:
        type_name = params.get("typeName")
        limit = _results_limit(params.get("resultsLimit"), RESULTS_LIMIT_MAX)
        try:
            from_version = parse_version(params.get("fromVersion"))
        except (ValueError, TypeError):
            raise RpcFailure("ArgumentException", "Invalid fromVersion") from None
        search = params.get("search") or {}
        if type_name == "LogRecord":
            from_date = None
            if isinstance(search, dict) and search.get("fromDate") is not None:
                from_date = _date_param(search["fromDate"])
            data, to_version = self.fleet.log_records.read(from_version, limit, from_date=from_date)
        elif type_name == "DeviceStatusInfo":
            if search:
                raise RpcFailure("ArgumentException", "Search is not supported on this feed")
            data, to_version = self.fleet.statuses.read(from_version, limit)
        else:
            raise RpcFailure(
                "MissingMethodException",
                "The method 'GetFeed' could not be found.",
                code=METHOD_NOT_FOUND,
            )
        return {"data": data, "toVersion": f"{to_version:016x}"}

    def _get(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        type_name = params.get("typeName")
        search = params.get("search") or {}
        if type_name == "Device":
            limit = _results_limit(params.get("resultsLimit"), DEVICE_RESULTS_MAX)
            wanted = search.get("id") if isinstance(search, dict) else None
            devices = self.fleet.device_entities()
            return [d for d in devices if wanted is None or d["id"] == wanted][:limit]
        if type_name == "DeviceStatusInfo":
            limit = _results_limit(params.get("resultsLimit"), RESULTS_LIMIT_MAX)
            device_search = search.get("deviceSearch") if isinstance(search, dict) else None
            wanted = device_search.get("id") if isinstance(device_search, dict) else None
            return self.fleet.statuses.current(wanted)[:limit]
        raise RpcFailure(
            "MissingMethodException", "The method 'Get' could not be found.", code=METHOD_NOT_FOUND
        )

    def _rate_limit(self, method: str, type_name: str, user: str) -> dict[str, str]:
        limit = RATE_LIMITS.get(method)
        if limit is None:
            return {}
        now = time.monotonic()
        window = self._windows[(method, type_name, user)]
        while window and now - window[0] >= 60:
            window.popleft()
        reset = datetime.now(UTC) + timedelta(seconds=60 - (now - window[0]) if window else 60)
        if self.enforce_rate_limits and len(window) >= limit:
            raise RpcFailure(
                "OverLimitException",
                f"API calls quota exceeded. Maximum admitted {limit} per 1m.",
                retry_after=max(1, int(60 - (now - window[0]) + 0.999)),
            )
        window.append(now)
        return {
            "X-Rate-Limit-Limit": "1m",
            "X-Rate-Limit-Remaining": str(max(0, limit - len(window))),
            "X-Rate-Limit-Reset": format_datetime(reset),
        }


def _fault_reply(fault: Fault) -> Reply:
    if fault.kind == "db_unavailable":
        return Reply.json(error_body("DbUnavailableException", "Database is Initializing"))
    if fault.kind == "unavailable":
        page = b"<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>"
        return Reply(503, page, content_type="text/html")
    message = "API calls quota exceeded. Maximum admitted 60 per 1m."
    headers = {"Retry-After": str(fault.retry_after)}
    return Reply.json(error_body("OverLimitException", message), fault.http_status, headers=headers)


def _results_limit(value: Any, maximum: int) -> int:
    if value is None:
        return maximum
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise RpcFailure("ArgumentException", f"Invalid resultsLimit {value!r}")
    return min(value, maximum)  # the real server clamps silently


def _date_param(value: Any) -> datetime:
    try:
        return parse_datetime(str(value))
    except ValueError:
        raise RpcFailure("JsonSerializerException", f"Invalid date {value!r}", code=PARSE_ERROR) from None


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b""
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _respond(send: Send, reply: Reply) -> None:
    headers = [
        (b"content-type", reply.content_type.encode()),
        (b"content-length", str(len(reply.body)).encode()),
        *((k.lower().encode(), v.encode()) for k, v in reply.headers.items()),
    ]
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": reply.body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
