"""The address look-up of the booking form, against a stand-in Nominatim server on a loopback port
(the edge we cannot run here; the demo has no internet): places come back as label and location,
the look-up introduces itself with GEOCODER_USER_AGENT, and whatever the geocoder does wrong
(an error, a refusal, what is not JSON, impossible coordinates, being down) is a 503 problem,
never a 500. Without GEOCODER the endpoint is a 404 problem and the pages are told so."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from tests.browser.conftest import run_server
from tests.conftest import free_port
from tests.web.api_helpers import assert_problem, auth, seeded_client

AGENT = "dispatch-board-tests (ops@example.com)"
PLACES = [
    {"place_id": 1, "lat": "32.7767", "lon": "-96.7970", "display_name": "Main Street, Dallas, TX",
     "class": "highway", "type": "residential", "importance": 0.5},
    {"place_id": 2, "lat": "32.7555", "lon": "-97.3308", "display_name": "Main Street, Fort Worth, TX",
     "class": "highway", "type": "residential", "importance": 0.4},
]


class FakeNominatim:
    """Speaks Nominatim's /search JSON; ``mode`` says how to misbehave."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.seen: list[dict[str, Any]] = []
        self.app = Starlette(routes=[Route("/search", self.search)])

    async def search(self, request: Request) -> Response:
        self.seen.append({"params": dict(request.query_params),
                          "agent": request.headers.get("user-agent")})
        if self.mode == "error":
            return PlainTextResponse("database is down", status_code=500)
        if self.mode == "busy":
            return PlainTextResponse("slow down", status_code=429, headers={"Retry-After": "7"})
        if self.mode == "garbage":
            return PlainTextResponse("<html>not json</html>")
        if self.mode == "odd":
            return JSONResponse([{"lat": "123.0", "lon": "5", "display_name": "Nowhere"},
                                 {"lat": "not a number", "lon": "x"}, "a string"])
        if self.mode == "empty":
            return JSONResponse([])
        return JSONResponse(PLACES[: int(request.query_params.get("limit", "10"))])


@pytest.fixture
def fake() -> Iterator[tuple[FakeNominatim, str]]:
    nominatim = FakeNominatim()
    with run_server(nominatim.app) as live:
        yield nominatim, live.url


def look_up(client: TestClient, headers: dict[str, str], q: str, **params: Any) -> Any:
    return client.get("/api/geocode", params={"q": q, **params}, headers=headers)


def test_without_a_geocoder_the_look_up_is_a_404_and_the_pages_are_told(
        database_url: str) -> None:
    with seeded_client(database_url) as client:
        service = auth(client, "service")
        assert client.get("/api/geocoder", headers=service).json() == {
            "configured": False, "provider": None}
        assert_problem(look_up(client, service, "1 Main St"), 404, "geocoder_not_configured")
        assert_problem(look_up(client, auth(client, "billing"), "1 Main St"), 403)


def test_the_look_up_answers_the_geocoders_places(
        database_url: str, fake: tuple[FakeNominatim, str]) -> None:
    nominatim, url = fake
    with seeded_client(database_url, geocoder="nominatim", geocoder_url=url,
                       geocoder_user_agent=AGENT) as client:
        dispatcher = auth(client, "dispatcher")
        assert client.get("/api/geocoder", headers=dispatcher).json() == {
            "configured": True, "provider": "nominatim"}
        response = look_up(client, dispatcher, "  Main Street  ", limit=2)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["items"] == [
            {"label": "Main Street, Dallas, TX", "location": {"lat": 32.7767, "lon": -96.797}},
            {"label": "Main Street, Fort Worth, TX", "location": {"lat": 32.7555, "lon": -97.3308}}]
        assert body["provider"] == "nominatim" and "OpenStreetMap" in body["attribution"]
        [asked] = nominatim.seen
        assert asked["agent"] == AGENT
        assert asked["params"]["q"] == "Main Street" and asked["params"]["format"] == "json"
        assert asked["params"]["limit"] == "2"

        nominatim.mode = "empty"
        assert look_up(client, dispatcher, "Nowhere Lane").json()["items"] == []
        # only those who book jobs; a query too short or too long changes nothing upstream
        assert_problem(look_up(client, auth(client, "fleet"), "Main Street"), 403)
        assert_problem(look_up(client, dispatcher, "ab"), 422)
        assert_problem(look_up(client, dispatcher, "x" * 201), 422)
        assert_problem(look_up(client, dispatcher, "Main Street", limit=0), 422)
        assert len(nominatim.seen) == 2


@pytest.mark.parametrize("mode", ["error", "busy", "garbage", "odd"])
def test_a_geocoder_that_misbehaves_is_a_503_never_a_500(
        database_url: str, fake: tuple[FakeNominatim, str], mode: str) -> None:
    nominatim, url = fake
    nominatim.mode = mode
    with seeded_client(database_url, geocoder="nominatim", geocoder_url=url,
                       geocoder_user_agent=AGENT) as client:
        response = look_up(client, auth(client, "service"), "1 Main St")
        assert_problem(response, 503, "geocoder_unavailable")
        if mode == "busy":
            assert response.headers["retry-after"] == "7"


def test_a_geocoder_that_cannot_be_reached_is_a_503(database_url: str) -> None:
    down = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with seeded_client(database_url, geocoder="nominatim", geocoder_url=down,
                       geocoder_user_agent=AGENT) as client:
        assert_problem(look_up(client, auth(client, "service"), "1 Main St"), 503,
                       "geocoder_unavailable")
