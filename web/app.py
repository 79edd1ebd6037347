"""The Starlette application factory: the composition root that picks every adapter."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from web.services import Services, build_services
from web.settings import Settings


async def health(request: Request) -> Response:
    services: Services = request.app.state.services
    ok = await services.database_ok()
    return JSONResponse({"status": "ok" if ok else "degraded", "database": ok},
                        status_code=200 if ok else 503)


async def home(request: Request) -> Response:
    services: Services = request.app.state.services
    counts = await services.counts()
    rows = "".join(f"<tr><th>{name}</th><td>{n}</td></tr>" for name, n in counts.items())
    return HTMLResponse(
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>Dispatch Board</title>"
        "</head><body><h1>Dispatch Board</h1><p>The service is running.</p>"
        f"<table>{rows}</table></body></html>"
    )


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        services = build_services(settings)
        app.state.services = services
        await services.start()
        try:
            yield
        finally:
            await services.stop()

    routes = [
        Route("/", home),
        Route("/healthz", health),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.settings = settings
    return app
