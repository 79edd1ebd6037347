"""The customer's tracking page: ``/t/{token}`` (HTML, no login) and the small public JSON it
polls, ``GET /api/track/{token}``.

The token is random (``secrets.token_urlsafe``, 192 bits), one per job, stored in
``tracking_links``. The JSON carries only that job's status, the technician's first name, the
ETA, the van's position while on the way, the messages posted to the page and the job's
customer-visible comments (never the internal ones); an unknown token,
or one whose job has been closed longer than ``TRACKING_HOURS_AFTER_CLOSE`` (or open long past its
window), answers the same 404 as a forged one, page and JSON alike.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from domain.errors import NotFound
from domain.notifications import TrackingPolicy, link_alive, public_view
from storage.engine import read_connection
from storage.notifications import SqlCustomerNotifications
from storage.queries.work_orders import customer_notes
from web.api.framework import Api, NoInput
from web.api.tracking_schemas import TrackOut
from web.pages import STATIC_DIR
from web.settings import Settings

if TYPE_CHECKING:
    from web.runtime import Runtime

api = Api()
TAG = "tracking"
#: No caching anywhere, no referrer to the tile server, not for search engines.
PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
           "X-Robots-Tag": "noindex, nofollow"}
NOT_FOUND_PAGE = (
    "<!doctype html><html lang=en><head><meta charset=utf-8><title>Link not available</title>"
    "<meta name=viewport content='width=device-width, initial-scale=1'>"
    "<link rel=stylesheet href='/static/css/tracking.css'></head><body><main class=track>"
    "<h1>This link is not available</h1><p>It may have expired. Call us if you have a question "
    "about your visit.</p></main></body></html>")


def policy(settings: Settings) -> TrackingPolicy:
    return TrackingPolicy(after_close=dt.timedelta(
        hours=float(getattr(settings, "tracking_hours_after_close", 2.0))))


async def tracked_view(runtime: Runtime, token: str) -> dict[str, Any] | None:
    """The page's data for a live link; None for a token that does not (or no longer) show."""
    store = SqlCustomerNotifications(runtime.engine)
    work_order_id = await store.order_for_token(token)
    if work_order_id is None:
        return None
    job = await store.job_facts(work_order_id)
    now = runtime.now()
    rules = policy(runtime.settings)
    if job is None or not link_alive(job, now, rules):
        return None
    return public_view(job, now, rules, await _messages(runtime, store, work_order_id))


async def _messages(runtime: Runtime, store: SqlCustomerNotifications,
                    work_order_id: str) -> list[dict[str, Any]]:
    """What the customer was told (the web notifications) and the job's customer-visible
    comments (kind ``note``, without their author), newest first. Internal comments never."""
    async with read_connection(runtime.engine) as conn:
        notes = await customer_notes(conn, work_order_id)
    messages = [*await store.posted(work_order_id),
                *({"kind": "note", "text": n["text"], "at": n["at"]} for n in notes)]
    return sorted(messages, key=lambda m: dt.datetime.fromisoformat(m["at"]), reverse=True)


@api.route("GET", "/api/track/{token}", summary="A job as its customer's tracking page shows it",
           tag=TAG, response=TrackOut, auth=False, errors=(404,))
async def customer_tracking(call: NoInput) -> Response:
    """Public (the token is the key). 404 for an unknown, forged or expired token."""
    view = await tracked_view(call.runtime, call.path["token"])
    if view is None:
        raise NotFound("tracking link", "given")
    return Response(TrackOut.model_validate(view).model_dump_json(),
                    media_type="application/json", headers=PRIVATE)


async def tracking_page(request: Request) -> Response:
    token = str(request.path_params["token"])
    if await tracked_view(request.app.state.runtime, token) is None:
        return HTMLResponse(NOT_FOUND_PAGE, status_code=404, headers=PRIVATE)
    return FileResponse(STATIC_DIR / "tracking.html", media_type="text/html", headers=PRIVATE)


def tracking_routes() -> list[BaseRoute]:
    return [Route("/t/{token}", tracking_page, name="page_tracking")]
