"""The browser pages: login, the dispatcher/store board, the technician view, the screens of the
other roles (dispatch records, customers and jobs, fleet) and their assets.

Everything the browser loads is served here (no CDN): the pages and modules under
``web/static/``, Leaflet and MarkerCluster from the installed ``xstatic`` packages, uPlot (the
report charts) from the installed ``uplot-python`` wheel's browser build, a small
``/config.js`` carrying the settings the pages need (the map tile URL), and the technician
view's service worker and manifest at the root so they may control ``/tech``. The worker is
served with the view's offline shell written into it (``web/tech_shell.py``: the files found from
the pages and the modules' imports, and the hash of their contents), built when the app starts.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from pathlib import Path

import xstatic.pkg.leaflet as xleaflet
import xstatic.pkg.leaflet_markercluster as xcluster
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from web.tech_shell import Served, Shell, build_shell, worker_script

STATIC_DIR = Path(__file__).parent / "static"
#: Pages are small and change with each deploy; the browser revalidates them every time.
NO_CACHE = {"Cache-Control": "no-cache"}
PAGE_HEADERS = {
    **NO_CACHE,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


#: The pages, each at ``/<name>`` (the board at ``/``); js/shared/me.js AREAS says who lands where.
PAGES = ("board.html", "login.html", "tech.html",
         # the screens of the roles that do not dispatch
         "billing.html", "records.html", "service.html", "fleet.html", "reports.html",
         "oncall.html", "alert-rules.html")


def _page_path(name: str) -> str:
    return "/" + name.removesuffix(".html").replace("board", "")


def _page(name: str) -> Route:
    path = STATIC_DIR / name

    async def endpoint(request: Request) -> Response:
        return FileResponse(path, media_type="text/html", headers=PAGE_HEADERS)

    return Route(_page_path(name), endpoint, name=f"page_{name.removesuffix('.html')}")


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


def served(mounts: list[Mount]) -> Served:
    """How the pages and the static ``mounts`` answer paths, for finding the shell's files."""
    pages = {_page_path(name): STATIC_DIR / name for name in PAGES}
    return Served(
        pages={**pages, "/manifest.webmanifest": STATIC_DIR / "manifest.webmanifest"},
        mounts={f"{m.path}/": Path(str(m.app.directory)) for m in mounts
                if isinstance(m.app, StaticFiles) and m.app.directory is not None},
        generated=frozenset({"/config.js"}))


def service_worker_route(shell: Shell) -> Route:
    """``/sw.js``: the worker with this start's shell and version (see ``web/tech_shell.py``)."""
    template = (STATIC_DIR / "sw.js").read_text(encoding="utf-8")

    async def service_worker(request: Request) -> Response:
        extra = (await config_js(request)).body if "/config.js" in shell.paths else b""
        return Response(worker_script(template, shell, bytes(extra)),
                        media_type="text/javascript",
                        headers={**NO_CACHE, "Service-Worker-Allowed": "/"})

    return Route("/sw.js", service_worker, name="page_service_worker")


async def manifest(request: Request) -> Response:
    return FileResponse(STATIC_DIR / "manifest.webmanifest",
                        media_type="application/manifest+json", headers=NO_CACHE)


def _static_mounts() -> list[Mount]:
    return [
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
        Mount("/vendor/leaflet", StaticFiles(directory=xleaflet.BASE_DIR), name="vendor_leaflet"),
        Mount("/vendor/markercluster", StaticFiles(directory=xcluster.BASE_DIR),
              name="vendor_markercluster"),
        Mount("/vendor/uplot", StaticFiles(directory=uplot_dir()), name="vendor_uplot"),
    ]


@functools.cache
def offline_shell() -> Shell:
    """The technician view's offline shell, built once per process (at the first app's start)."""
    return build_shell(served(_static_mounts()))


def page_routes() -> list[BaseRoute]:
    """Routes of the pages and their assets; mount them before any other ``/`` route."""
    return [
        *(_page(name) for name in PAGES),
        Route("/config.js", config_js, name="page_config"),
        service_worker_route(offline_shell()),
        Route("/manifest.webmanifest", manifest, name="page_manifest"),
        *_static_mounts(),
    ]
