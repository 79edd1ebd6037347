"""The browser pages: login, the dispatcher/store board, the technician view, the screens of the
other roles (dispatch records, customers and jobs, fleet) and their assets.

Everything the browser loads is served here (no CDN): the pages and modules under
``web/static/``, Leaflet and MarkerCluster from the installed ``xstatic`` packages, uPlot (the
report charts) from the installed ``uplot-python`` wheel's browser build, a small
``/config.js`` carrying the settings the pages need (the map tile URL), and the technician
view's service worker and manifest at the root so they may control ``/tech``.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import xstatic.pkg.leaflet as xleaflet
import xstatic.pkg.leaflet_markercluster as xcluster
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"
#: Pages are small and change with each deploy; the browser revalidates them every time.
NO_CACHE = {"Cache-Control": "no-cache"}
PAGE_HEADERS = {
    **NO_CACHE,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def _page(name: str) -> Route:
    path = STATIC_DIR / name

    async def endpoint(request: Request) -> Response:
        return FileResponse(path, media_type="text/html", headers=PAGE_HEADERS)

    return Route("/" + name.removesuffix(".html").replace("board", ""), endpoint,
                 name=f"page_{name.removesuffix('.html')}")


def uplot_dir() -> Path:
    """The directory of uPlot's browser build (``uPlot.iife.js``, ``uPlot.min.css``) in the
    installed ``uplot`` package, found without importing it (its Python side imports IPython)."""
    spec = importlib.util.find_spec("uplot")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the uplot-python package (uPlot's browser build) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def _tile_url(request: Request) -> str:
    settings = getattr(request.app.state, "settings", None)
    url = getattr(settings, "tile_url", "") if settings is not None else ""
    return str(url or "")


async def config_js(request: Request) -> Response:
    """Settings for the pages, as a module: ``import config from "/config.js"``."""
    config = {"tileUrl": _tile_url(request)}
    body = f"export default Object.freeze({json.dumps(config)});\n"
    return Response(body, media_type="text/javascript", headers=NO_CACHE)


async def service_worker(request: Request) -> Response:
    return FileResponse(STATIC_DIR / "sw.js", media_type="text/javascript",
                        headers={**NO_CACHE, "Service-Worker-Allowed": "/"})


async def manifest(request: Request) -> Response:
    return FileResponse(STATIC_DIR / "manifest.webmanifest",
                        media_type="application/manifest+json", headers=NO_CACHE)


def page_routes() -> list[BaseRoute]:
    """Routes of the pages and their assets; mount them before any other ``/`` route."""
    return [
        _page("board.html"),
        _page("login.html"),
        _page("tech.html"),
        # the screens of the roles that do not dispatch (me.js AREAS says who lands where)
        _page("billing.html"),
        _page("records.html"),
        _page("service.html"),
        _page("fleet.html"),
        _page("reports.html"),
        Route("/config.js", config_js, name="page_config"),
        Route("/sw.js", service_worker, name="page_service_worker"),
        Route("/manifest.webmanifest", manifest, name="page_manifest"),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
        Mount("/vendor/leaflet", StaticFiles(directory=xleaflet.BASE_DIR), name="vendor_leaflet"),
        Mount("/vendor/markercluster", StaticFiles(directory=xcluster.BASE_DIR),
              name="vendor_markercluster"),
        Mount("/vendor/uplot", StaticFiles(directory=uplot_dir()), name="vendor_uplot"),
    ]
