"""A small declarative layer over Starlette routes.

Each endpoint is declared once with its method, path, body/query/response models and the errors
it may answer; the same declaration builds the Starlette route (parsing, auth, error mapping) and
the OpenAPI document, so the two cannot drift apart.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypedDict, TypeVar, Unpack, overload

import structlog
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from domain.errors import DomainError, NotFound, PermissionDenied
from domain.roles import Permission, Principal
from domain.services.context import Context
from storage.engine import is_unavailable, read_connection
from web.api.bodies import MAX_BODY, read_capped
from web.api.problems import ApiError, from_domain, from_validation, problem

if TYPE_CHECKING:
    from storage.uow import SqlUnitOfWork
    from web.runtime import Runtime

log = logging.getLogger("dispatch.api")
#: A client's ``X-Request-ID`` is kept only when it is this safe and short (the audit and outbox
#: columns hold 64 characters; the id is echoed in a header and written to logs).
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
B = TypeVar("B", bound=BaseModel, covariant=True)
Q = TypeVar("Q", bound=BaseModel, covariant=True)
R = TypeVar("R")
#: The models of one route (`Register`).
BodyT = TypeVar("BodyT", bound=BaseModel)
QueryT = TypeVar("QueryT", bound=BaseModel)


@dataclass(frozen=True)
class Call(Generic[B, Q]):
    """What an endpoint handler receives: ``body`` and ``query`` are instances of the models its
    route declares (`Empty` where it declares none)."""

    request: Request
    principal: Principal
    body: B
    query: Q
    path: dict[str, str]
    correlation_id: str

    @property
    def runtime(self) -> Runtime:
        runtime: Runtime = self.request.app.state.runtime
        return runtime

    def context(self) -> Context:
        s = self.runtime
        return Context(principal=self.principal, now=s.now(),
                       dispatch_policy=s.settings.dispatch_policy)

    def uow(self) -> SqlUnitOfWork:
        return self.runtime.uow(actor=self.principal, correlation_id=self.correlation_id)

    def path_id(self, entity: str, name: str = "id") -> str:
        """The path's id; one that cannot exist (too long, a NUL, broken text) is simply not
        found, never a database error."""
        value = self.path[name]
        if len(value) > 64 or "\x00" in value or not value.isprintable():
            raise NotFound(entity, value[:64])
        return value

    def expected_version(self, body_version: int | None = None) -> int | None:
        """The version the client saw: the body's ``expected_version`` when it sends one, else
        ``If-Match``."""
        return body_version if body_version is not None else self.if_match()

    def if_match(self) -> int | None:
        """The version the client saw, from ``If-Match: "<version>"`` (None when absent)."""
        header = self.request.headers.get("if-match")
        if not header:
            return None
        try:
            value = int(header.strip().removeprefix("W/").strip('"'))
        except ValueError as error:
            raise ApiError(400, 'If-Match must carry the version number, e.g. "3"',
                           code="bad_if_match") from error
        if not 0 <= value < 2**31:
            raise ApiError(400, "If-Match carries an impossible version", code="bad_if_match")
        return value


class Empty(BaseModel):
    model_config = {"extra": "forbid"}


#: A handler without a body or query parameters.
NoInput = Call[Empty, Empty]
#: Any call (``Call`` is covariant): for helpers that use neither its body nor its query.
AnyCall = Call[BaseModel, BaseModel]
#: A handler as the framework keeps it: what it returns becomes the answer (`_invoke`).
Handler = Callable[[AnyCall], Awaitable[object]]
#: A read of one record as the caller may see it: None when it does not exist for them.
DetailRead = Callable[[AsyncConnection, Principal, str], Awaitable[dict[str, Any] | None]]


async def detail_or_404(call: AnyCall, entity: str, read: DetailRead,
                        entity_id: str) -> dict[str, Any]:
    """The record as the caller may see it; outside their scope it does not exist (404), so its
    existence does not leak."""
    async with read_connection(call.runtime.engine) as conn:
        found = await read(conn, call.principal, entity_id)
    if found is None:
        raise NotFound(entity, entity_id)
    return found


@dataclass
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    errors: tuple[int, ...] = ()
    auth: bool = True
    idempotent: bool = False
    description: str = ""
    name: str = field(default="")
    #: The caller needs any one of these (checked before the body is read); () = any logged-in user.
    permissions: tuple[Permission, ...] = ()
    #: Media types of a raw (non-JSON) body; the framework leaves it unread for the handler.
    raw_body: tuple[str, ...] = ()
    #: Further documented answers (OpenAPI response objects by status), e.g. a binary one.
    responses: dict[int, dict[str, Any]] = field(default_factory=dict)


class RouteOptions(TypedDict, total=False):
    """The rest of a route's declaration (`Endpoint` says what each means)."""

    response: type[BaseModel] | None
    status: int
    errors: tuple[int, ...]
    auth: bool
    idempotent: bool
    permissions: tuple[Permission, ...]
    raw_body: tuple[str, ...]
    responses: dict[int, dict[str, Any]]


class Register(Protocol[BodyT, QueryT]):
    """The decorator `Api.route` returns: it keeps the handler as it is, whose ``Call`` carries
    the route's models."""

    def __call__(self, handler: Callable[[Call[BodyT, QueryT]], Awaitable[R]], /
                 ) -> Callable[[Call[BodyT, QueryT]], Awaitable[R]]: ...


class Api:
    def __init__(self) -> None:
        self.endpoints: list[Endpoint] = []

    # The handler's ``Call`` is typed by the route's body and query models (mypy checks that they
    # agree); a route without one hands it `Empty`.
    @overload
    def route(self, method: str, path: str, *, summary: str, tag: str, body: type[BodyT],
              query: type[QueryT], **options: Unpack[RouteOptions]) -> Register[BodyT, QueryT]: ...

    @overload
    def route(self, method: str, path: str, *, summary: str, tag: str, body: type[BodyT],
              query: None = None, **options: Unpack[RouteOptions]) -> Register[BodyT, Empty]: ...

    @overload
    def route(self, method: str, path: str, *, summary: str, tag: str, body: None = None,
              query: type[QueryT], **options: Unpack[RouteOptions]) -> Register[Empty, QueryT]: ...

    @overload
    def route(self, method: str, path: str, *, summary: str, tag: str, body: None = None,
              query: None = None, **options: Unpack[RouteOptions]) -> Register[Empty, Empty]: ...

    def route(
        self, method: str, path: str, *, summary: str, tag: str,
        body: type[BaseModel] | None = None, query: type[BaseModel] | None = None,
        **options: Unpack[RouteOptions],
    ) -> Callable[[Callable[..., Awaitable[R]]], Callable[..., Awaitable[R]]]:
        # The overloads above type the handler; the endpoint keeps it as a `Handler`, called with
        # the Call built from the route's own models (`_answer`).
        def register(handler: Callable[..., Awaitable[R]]) -> Callable[..., Awaitable[R]]:
            self.endpoints.append(Endpoint(
                method=method, path=path, handler=handler, summary=summary, tag=tag, body=body,
                query=query, description=(handler.__doc__ or "").strip(), name=handler.__name__,
                **options,
            ))
            return handler
        return register

    def include(self, other: Api) -> None:
        self.endpoints.extend(other.endpoints)

    def routes(self) -> list[Route]:
        by_path: dict[str, dict[str, Endpoint]] = {}
        for ep in self.endpoints:
            by_path.setdefault(ep.path, {})[ep.method] = ep
        return [Route(path, _dispatcher(methods), methods=list(methods))
                for path, methods in by_path.items()]


def _dispatcher(methods: dict[str, Endpoint]) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        ep = methods[request.method if request.method != "HEAD" else "GET"]
        return await run_endpoint(ep, request)
    return endpoint


def authenticate(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "send 'Authorization: Bearer <token>' (log in at /api/auth/login)",
                       code="unauthenticated", headers={"WWW-Authenticate": "Bearer"})
    from web.security import InvalidToken

    try:
        principal: Principal = request.app.state.runtime.tokens.verify(token.strip())
    except InvalidToken as error:
        raise ApiError(401, "the access token is invalid or expired", code="invalid_token",
                       headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}) from error
    return principal


async def _parse_body(request: Request, model: type[BaseModel] | None) -> BaseModel:
    if model is None:
        return Empty()
    raw = await read_capped(request, MAX_BODY)
    content_type = request.headers.get("content-type", "application/json").split(";")[0].strip()
    if raw and content_type not in {"application/json", "application/merge-patch+json"}:
        raise ApiError(415, "send the body as application/json", code="unsupported_media_type")
    try:
        data = json.loads(raw) if raw else {}
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ApiError(400, f"the body is not valid JSON: {error}", code="malformed_json") from error
    _refuse_nul(data, "text")
    return model.model_validate(data)


def _nul_fields(value: object, path: str = "") -> list[str]:
    """Where text holds NUL characters, which cannot be stored (PostgreSQL refuses them)."""
    if isinstance(value, str):
        return [path or "body"] if "\x00" in value else []
    if isinstance(value, dict):
        found = []
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            found += [name] if "\x00" in str(key) else _nul_fields(item, name)
        return found
    if isinstance(value, list):
        return [f for i, item in enumerate(value) for f in _nul_fields(item, f"{path}.{i}")]
    return []


def _refuse_nul(value: object, where: str) -> None:
    fields = _nul_fields(value)
    if fields:
        raise ApiError(422, f"{where} may not contain NUL characters: {', '.join(fields)}",
                       code="validation_failed",
                       errors=[{"field": f, "message": "NUL characters are not allowed",
                                "type": "nul_character"} for f in fields])


def _has_nul(value: object) -> bool:
    return bool(_nul_fields(value))


def _parse_query(request: Request, model: type[BaseModel] | None) -> BaseModel:
    _refuse_nul(dict(request.query_params), "query parameters")
    if model is None:
        return Empty()
    data: dict[str, Any] = {}
    for key in request.query_params:
        values = request.query_params.getlist(key)
        annotation = model.model_fields.get(key)
        is_list = annotation is not None and "list" in str(annotation.annotation)
        data[key] = values if is_list else values[-1]
    return model.model_validate(data)


def request_id(request: Request) -> str:
    """The client's ``X-Request-ID`` when it is safe (`REQUEST_ID`), else a fresh one."""
    given = request.headers.get("x-request-id", "")
    return given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


async def run_endpoint(ep: Endpoint, request: Request) -> Response:
    """Answer one call; every log line meanwhile (and the events it commits) carries its
    ``correlation_id``, and one line at the end says how it went."""
    correlation_id = request_id(request)
    started = time.perf_counter()
    with structlog.contextvars.bound_contextvars(correlation_id=correlation_id):
        fields: dict[str, Any] = {"method": request.method, "route": ep.path}
        try:
            response = await _answer(ep, request, correlation_id)
        except Exception as error:  # the server error middleware logs the traceback
            log.error("request failed", extra={
                **fields, "status": 500, "error": type(error).__name__,
                "ms": round((time.perf_counter() - started) * 1000, 1)})
            raise
        log.info("request finished", extra={
            **fields, "status": response.status_code,
            "ms": round((time.perf_counter() - started) * 1000, 1)})
    return response


async def _answer(ep: Endpoint, request: Request, correlation_id: str) -> Response:
    instance = request.url.path
    try:
        if any(_has_nul(v) or len(v) > 200 for v in request.path_params.values()):
            raise ApiError(404, "no such resource", code="not_found")
        principal = authenticate(request) if ep.auth else _anonymous()
        if ep.permissions and not any(principal.can(p) for p in ep.permissions):
            needed = " or ".join(p.value for p in ep.permissions)
            raise PermissionDenied(f"{principal.username} may not do this (needs {needed})")
        try:
            query = _parse_query(request, ep.query)
        except ValidationError as error:
            return from_validation(error, "query parameters", instance)
        try:
            body = await _parse_body(request, ep.body)
        except ValidationError as error:
            return from_validation(error, "body", instance)
        call = Call(request=request, principal=principal, body=body, query=query,
                    path=dict(request.path_params), correlation_id=correlation_id)
        if ep.idempotent and request.headers.get("idempotency-key"):
            from web.api.idempotency import run_idempotent

            response = await run_idempotent(ep, call, lambda: _invoke(ep, call))
        else:
            response = await _invoke(ep, call)
    except ApiError as error:
        response = problem(error.status, error.detail, code=error.code, instance=instance,
                           headers=error.headers, extra=error.extra)
    except DomainError as error:
        response = from_domain(error, instance)
    except ClientDisconnect:
        return Response(status_code=400)  # the client left before its body arrived
    except Exception as error:
        if not is_unavailable(error):
            raise
        log.warning("database unavailable on %s %s: %s", request.method, instance, error)
        response = problem(503, "the database is unavailable right now; try again shortly",
                           code="database_unavailable", instance=instance,
                           headers={"Retry-After": "5"})
    response.headers["X-Request-ID"] = correlation_id
    return response


async def _invoke(ep: Endpoint, call: AnyCall) -> Response:
    result = await ep.handler(call)
    if isinstance(result, Response):
        return result
    if result is None:
        return Response(status_code=204 if ep.status == 200 else ep.status)
    if ep.response is not None:  # validated, then encoded by the model's own serializer
        body = ep.response.model_validate(result).model_dump_json()
        return Response(body, status_code=ep.status, media_type="application/json")
    return JSONResponse(result, status_code=ep.status)


def _anonymous() -> Principal:
    return Principal(user_id="", username="anonymous", roles=frozenset())
