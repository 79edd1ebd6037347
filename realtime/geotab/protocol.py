"""MyGeotab JSON-RPC wire format: request envelopes, error shapes, dates and version tokens.

Shared by the client (which parses what the server says) and the simulator (which says it).
MyGeotab answers errors inside HTTP 200 as a JSON-RPC error whose `error.data.type` names the
exception (`InvalidUserException`, `OverLimitException`, ...); we switch on that name, never on
the message text. An over-limit answer may also come as HTTP 429; both carry `Retry-After`.
"""

from __future__ import annotations

import email.utils
import functools
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

JSONRPC_VERSION = "2.0"
APPLICATION_ERROR = -32000
METHOD_NOT_FOUND = -32601
PARSE_ERROR = -32700
RESULTS_LIMIT_MAX = 50_000
#: MyGeotab's published GetFeed rate: one call a second per entity type (60 a minute, per user
#: and database). Two calls of one feed never start closer than this.
GETFEED_MIN_SECONDS = 1.0
THIS_SERVER = "ThisServer"


class GeotabError(Exception):
    """A JSON-RPC error answered by a MyGeotab server (or the simulator)."""

    type_name = "JSONRPCError"

    def __init__(self, message: str, *, code: int = APPLICATION_ERROR, type_name: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        if type_name:
            self.type_name = type_name


class InvalidUserException(GeotabError):
    """Bad login credentials on Authenticate, or an expired/invalid session on a data call."""

    type_name = "InvalidUserException"


class OverLimitException(GeotabError):
    """A rate or result limit was exceeded; `retry_after`: seconds to wait, if the server said."""

    type_name = "OverLimitException"

    def __init__(
        self,
        message: str,
        *,
        code: int = APPLICATION_ERROR,
        type_name: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, code=code, type_name=type_name)
        self.retry_after = retry_after


class DbUnavailableException(GeotabError):
    """The database is moving, initialising or unknown: a temporary outage."""

    type_name = "DbUnavailableException"


class GeotabTransportError(Exception):
    """The server answered something that is not a JSON-RPC response (HTML error page, 5xx)."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


_ERROR_TYPES: dict[str, type[GeotabError]] = {
    cls.type_name: cls for cls in (InvalidUserException, OverLimitException, DbUnavailableException)
}


def build_request(method: str, params: Mapping[str, Any], *, request_id: int = -1) -> dict[str, Any]:
    """The JSON-RPC body for one call."""
    return {"method": method, "params": dict(params), "id": request_id}


def result_body(result: Any) -> dict[str, Any]:
    return {"result": result, "jsonrpc": JSONRPC_VERSION}


def error_body(
    type_name: str, message: str, *, code: int = APPLICATION_ERROR, request_index: int = 0
) -> dict[str, Any]:
    """An error envelope shaped like the live server's, including the `errors[]` list."""
    return {
        "error": {
            "code": code,
            "message": message,
            "data": {"id": str(uuid.uuid4()), "type": type_name, "requestIndex": request_index},
            "name": "JSONRPCError",
            "errors": [{"name": type_name, "message": message}],
        },
        "jsonrpc": JSONRPC_VERSION,
        "requestIndex": request_index,
    }


def parse_response(
    status_code: int, headers: Mapping[str, str], content: bytes, *, now: datetime | None = None
) -> Any:
    """Return the `result` of a response, or raise the matching typed error.

    `headers` must be case-insensitive (httpx's are). HTTP 429 is an over-limit answer whatever
    the body says; any other non-JSON answer is a `GeotabTransportError`.
    """
    retry_after = parse_retry_after(headers.get("retry-after"), now=now)
    try:
        body = json.loads(content) if content else None
    except ValueError:
        body = None
    if status_code == 429:
        message = _error_message(body) or "HTTP 429 Too Many Requests"
        raise OverLimitException(message, retry_after=retry_after)
    if not isinstance(body, dict):
        raise GeotabTransportError(f"HTTP {status_code}: not a JSON-RPC response", status_code=status_code)
    if "error" in body and body["error"] is not None:
        raise error_from_body(body["error"], retry_after=retry_after)
    if status_code >= 400 or "result" not in body:
        raise GeotabTransportError(f"HTTP {status_code}: no result", status_code=status_code)
    return body["result"]


def error_from_body(error: Any, *, retry_after: float | None = None) -> GeotabError:
    """Map a JSON-RPC `error` to a typed exception (by `data.type`, else `errors[0].name`)."""
    if not isinstance(error, dict):
        return GeotabError(f"malformed error: {error!r}")
    type_name = ""
    data = error.get("data")
    if isinstance(data, dict) and isinstance(data.get("type"), str):
        type_name = data["type"]
    errors = error.get("errors")
    if not type_name and isinstance(errors, list) and errors and isinstance(errors[0], dict):
        type_name = str(errors[0].get("name", ""))
    message = str(error.get("message", "")) or type_name or "unknown error"
    code = error.get("code", APPLICATION_ERROR)
    code = code if isinstance(code, int) else APPLICATION_ERROR
    cls = _ERROR_TYPES.get(type_name, GeotabError)
    if cls is OverLimitException:
        return OverLimitException(message, code=code, retry_after=retry_after)
    return cls(message, code=code, type_name=type_name)


def _error_message(body: Any) -> str:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("message", ""))
    return ""


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """`Retry-After` as seconds: delta-seconds or an HTTP date; None when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def format_datetime(value: datetime) -> str:
    """ISO-8601 UTC with milliseconds and `Z`, the only date format MyGeotab accepts."""
    if value.tzinfo is None:
        raise ValueError("datetime must be timezone-aware")
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


@functools.lru_cache(maxsize=4096)
def parse_datetime(value: str) -> datetime:
    """Parse a MyGeotab date (ISO-8601, `Z` or offset); a naive value is taken as UTC.

    Cached: a feed page holds thousands of records logged in the same few seconds."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:  # a lower-case `z`
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed if parsed.tzinfo is UTC else parsed.astimezone(UTC)


def parse_version(token: str | None) -> int | None:
    """The simulator's reading of a token; None when absent. Raises ValueError when garbled."""
    if token is None:
        return None
    return int(token, 16)
