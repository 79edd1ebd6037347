"""The Starlette application factory: the composition root that picks every adapter."""

from __future__ import annotations

import contextlib
import functools
import html
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute

from web.api import (
    alert_callbacks,
    alert_deliveries,
    alert_rules,
    alerts,
    attachments,
    audit,
    auth,
    billing,
    billing_records,
    delegations,
    dispatches,
    geocode,
    intake,
    logout,
    notifications,
    oncall,
    proposals,
    reports,
    resources,
    tracking,
    tracks,
    webhook_deliveries,
    work_orders,
)
from web.api.framework import Api
from web.api.openapi import build_openapi
from web.api.problems import problem
from web.clock import Clock, system_clock
from web.gc_tuning import tune_gc
from web.health import livez, readyz
from web.live import websocket_endpoint
from web.metrics import HttpMetrics, Metrics, metrics_endpoint
from web.middleware import SecurityHeaders
from web.pages import page_routes
from web.runtime import Runtime, build_runtime
from web.settings import Settings

log = logging.getLogger("dispatch.web")
API_MODULES = (auth, logout, dispatches, work_orders, attachments, resources, billing_records,
               tracks, audit, delegations, proposals, intake, alerts, notifications, tracking,
               webhook_deliveries, geocode, reports, billing, oncall, alert_rules,
               alert_callbacks, alert_deliveries)


def build_api() -> Api:
    """Every endpoint of every API module, in one declaration list (routes and OpenAPI)."""
    api = Api()
    for module in API_MODULES:
        api.include(module.api)
    return api


def openapi_document(api: Api | None = None) -> dict[str, Any]:
    """The API's OpenAPI document (served at /api/openapi.json; docs/openapi.json holds a copy
    that a test compares, so a change to the contract is always a deliberate one)."""
    return build_openapi(api or build_api(), title="Dispatch Board API", version="0.1.0")


@functools.cache
def served_document() -> dict[str, Any]:
    """The document ``/api/openapi.json`` and ``/api/docs`` serve: built on the first request for
    it, once per process (a tenth of a second of schema generation, which every app made in a
    process paid at its creation). The API is declared by its modules, so it is the same for
    every app; nothing may change the dict."""
    return openapi_document()


async def health(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    ok = await runtime.database_ok()
    return JSONResponse({"status": "ok" if ok else "degraded", "database": ok,
                         "live": runtime.live.stats()},
                        status_code=200 if ok else 503)


async def status_page(request: Request) -> Response:
    """Public, so it says only that the service runs (no table counts: they are business data)."""
    return HTMLResponse(
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>Dispatch Board</title>"
        "</head><body><h1>Dispatch Board</h1><p>The service is running. "
        "API: <a href='/api/docs'>/api/docs</a>.</p></body></html>"
    )


def _docs_page(document: dict[str, Any]) -> str:
    items = []
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            items.append(f"<tr><td><code>{method.upper()}</code></td><td><code>"
                         f"{html.escape(path)}</code></td><td>{html.escape(op['summary'])}</td>"
                         f"<td>{', '.join(sorted(op['responses']))}</td></tr>")
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>Dispatch Board API</title>"
        "<link rel=stylesheet href='/static/css/docs.css'></head><body><h1>Dispatch Board API</h1>"
        "<p>Log in with <code>POST /api/auth/login</code>, then send "
        "<code>Authorization: Bearer &lt;token&gt;</code>. Errors are RFC 9457 problem documents. "
        "Machine-readable: <a href='/api/openapi.json'>/api/openapi.json</a>.</p>"
        "<table><tr><th>method</th><th>path</th><th>what</th><th>answers</th></tr>"
        + "".join(items) + "</table></body></html>"
    )


def create_app(settings: Settings | None = None, *, clock: Clock = system_clock) -> Starlette:
    """The application. ``clock`` is the one clock every rule reads (tests pin the day).

    Raises ``InsecureSettings`` at once (before serving anything) without a strong
    ``SECRET_KEY`` outside the demo: every way of starting the web process goes through here."""
    settings = settings or Settings()
    signing_key = settings.signing_key()
    api = build_api()
    metrics = Metrics(clock)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        runtime = build_runtime(settings, clock, signing_key, metrics)
        app.state.runtime = runtime
        await runtime.start()
        if settings.gc_tuning:
            tune_gc()
        try:
            yield
        finally:
            await runtime.stop()

    async def openapi_json(request: Request) -> Response:
        return JSONResponse(served_document())

    async def docs(request: Request) -> Response:
        return HTMLResponse(_docs_page(served_document()))

    routes: list[BaseRoute] = [
        *page_routes(),
        *tracking.tracking_routes(),
        Route("/status", status_page),
        Route("/healthz", health),  # kept as it was; probes should use /livez and /readyz
        Route("/livez", livez),
        Route("/readyz", readyz),
        Route("/metrics", metrics_endpoint),
        Route("/api/openapi.json", openapi_json),
        Route("/api/docs", docs),
        WebSocketRoute("/ws", websocket_endpoint),
        *api.routes(),
    ]

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return problem(exc.status_code, str(exc.detail), code=code, instance=request.url.path,
                       headers=dict(exc.headers or {}))

    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "an unexpected error occurred; it has been logged",
                       code="internal_error", instance=request.url.path)

    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={HTTPException: http_error, 500: server_error})
    app.state.settings = settings
    app.state.api = api
    app.add_middleware(SecurityHeaders, tile_url=settings.tile_url)
    app.add_middleware(HttpMetrics, metrics=metrics)
    return app
