"""RFC 9457 problem documents, and the mapping from domain errors to HTTP statuses."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from starlette.responses import JSONResponse

from domain.errors import (
    Conflict,
    DomainError,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    RuleViolation,
    Unavailable,
    ValidationFailed,
)

PROBLEM_TYPE = "https://dispatch-board.example/problems/"
_TITLES = {
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 409: "Conflict", 413: "Payload Too Large",
    415: "Unsupported Media Type", 422: "Unprocessable Content", 429: "Too Many Requests",
    500: "Internal Server Error", 503: "Service Unavailable",
}


class ApiError(Exception):
    """An HTTP-level error raised by the API layer itself (auth, parsing, rate limits)."""

    def __init__(self, status: int, detail: str, *, code: str | None = None,
                 headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code or _TITLES.get(status, "error").lower().replace(" ", "_")
        self.headers = headers or {}
        self.extra = extra


def problem(status: int, detail: str, *, code: str, instance: str | None = None,
            headers: dict[str, str] | None = None,
            extra: dict[str, Any] | None = None) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE + code,
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
    }
    if instance:
        body["instance"] = instance
    for key, value in (extra or {}).items():
        if value is not None and key not in body:
            body[key] = value
    return JSONResponse(body, status_code=status, headers=headers,
                        media_type="application/problem+json")


def status_for(error: DomainError) -> int:
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, PermissionDenied):
        return 403
    if isinstance(error, Conflict | InvalidTransition):
        return 409
    if isinstance(error, ValidationFailed | RuleViolation):
        return 422
    if isinstance(error, Unavailable):
        return 503
    return 422


def from_domain(error: DomainError, instance: str | None = None) -> JSONResponse:
    extra = {k: v for k, v in error.details.items() if _jsonable(v)}
    retry_after = error.retry_after if isinstance(error, Unavailable) else None
    return problem(status_for(error), error.message, code=error.code, instance=instance,
                   extra=extra,
                   headers={"Retry-After": str(retry_after)} if retry_after is not None else None)


def from_validation(error: ValidationError, where: str, instance: str | None = None) -> JSONResponse:
    errors = [
        {
            "field": ".".join(str(p) for p in e["loc"]) or where,
            "message": e["msg"],
            "type": e["type"],
        }
        for e in error.errors(include_url=False, include_input=False)
    ]
    names = ", ".join(e["field"] for e in errors)
    return problem(422, f"invalid {where}: {names}", code="validation_failed",
                   instance=instance, extra={"errors": errors})


def _jsonable(value: object) -> bool:
    return isinstance(value, str | int | float | bool | list | dict) or value is None
