"""The MyGeotab simulator speaks the real server's wire format, and its fleet drives plausibly."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from realtime.geotab import Fleet, ManualClock
from realtime.geotab.simulator_fleet import METRES_PER_DEGREE

SIM_START = datetime(2026, 7, 14, 15, 0, tzinfo=UTC)  # the geotab_sim fixture's start


@pytest.fixture
async def rpc(geotab_sim):
    """Post one raw JSON-RPC call; returns the httpx response."""
    async with httpx.AsyncClient(base_url=geotab_sim.url) as http:

        async def call(method, **params):
            body = {"method": method, "params": params, "id": -1}
            return await http.post("/apiv1", json=body)

        yield call


@pytest.fixture
def account(geotab_sim) -> dict:
    """Authenticate parameters that the simulator accepts."""
    login = geotab_sim.login()
    return {"database": login.database, "userName": login.username, "password": login.password}


@pytest.fixture
async def credentials(rpc, account) -> dict:
    response = await rpc("Authenticate", **account)
    return response.json()["result"]["credentials"]


async def test_authenticate_answers_credentials_and_this_server(rpc, credentials, account):
    response = await rpc("Authenticate", **account)

    body = response.json()
    assert response.status_code == 200
    assert body["jsonrpc"] == "2.0"
    assert body["result"]["path"] == "ThisServer"
    assert set(body["result"]["credentials"]) == {"database", "sessionId", "userName"}


async def test_errors_come_in_http_200_with_the_exception_type_in_data_and_errors(rpc, credentials, account):
    response = await rpc("Authenticate", **{**account, "password": "nope"})

    error = response.json()["error"]
    assert response.status_code == 200
    assert error["code"] == -32000
    assert error["data"]["type"] == "InvalidUserException"
    assert error["errors"] == [{"name": "InvalidUserException", "message": "Incorrect login credentials"}]
    assert error["name"] == "JSONRPCError"


async def test_an_expired_session_is_an_invalid_user_error_naming_the_database(geotab_sim, rpc, credentials):
    geotab_sim.simulator.expire_sessions()

    response = await rpc("GetFeed", typeName="LogRecord", credentials=credentials)

    assert response.json()["error"]["message"] == f"Invalid session @ '{credentials['database']}'"


async def test_a_bare_first_feed_call_returns_no_data_and_a_hex_token(geotab_sim, rpc, credentials):
    geotab_sim.advance(120)

    result = (await rpc("GetFeed", typeName="LogRecord", credentials=credentials)).json()["result"]

    assert result["data"] == []
    assert len(result["toVersion"]) == 16
    int(result["toVersion"], 16)


async def test_feed_pages_follow_version_tokens_and_accept_explicit_nulls(geotab_sim, rpc, credentials):
    token = (await rpc("GetFeed", typeName="LogRecord", credentials=credentials)).json()
    geotab_sim.advance(60)

    first = (
        await rpc(
            "GetFeed",
            typeName="LogRecord",
            credentials=credentials,
            fromVersion=token["result"]["toVersion"],
            resultsLimit=10,
            search=None,
        )
    ).json()["result"]
    second = (
        await rpc(
            "GetFeed",
            typeName="LogRecord",
            credentials=credentials,
            fromVersion=first["toVersion"],
            resultsLimit=10,
        )
    ).json()["result"]

    assert len(first["data"]) == len(second["data"]) == 10
    assert not {r["id"] for r in first["data"]} & {r["id"] for r in second["data"]}
    assert int(second["toVersion"], 16) > int(first["toVersion"], 16)
    assert set(first["data"][0]) == {"id", "dateTime", "device", "latitude", "longitude", "speed"}


async def test_a_feed_can_be_seeded_from_a_date(geotab_sim, rpc, credentials):
    geotab_sim.advance(30)
    geotab_sim.fleet.advance()

    result = (
        await rpc(
            "GetFeed",
            typeName="LogRecord",
            credentials=credentials,
            search={"fromDate": "2026-07-14T15:00:20.000Z"},
        )
    ).json()["result"]

    assert result["data"]
    assert result["data"][0]["dateTime"] == "2026-07-14T15:00:20.000Z"


async def test_over_limit_carries_retry_after_in_both_forms(geotab_sim, rpc, credentials):
    faults = geotab_sim.simulator.faults
    faults.rate_limit_next(retry_after=12)
    faults.rate_limit_next(retry_after=13, http_status=429)

    first = await rpc("GetFeed", typeName="LogRecord", credentials=credentials)
    second = await rpc("GetFeed", typeName="LogRecord", credentials=credentials)

    assert (first.status_code, first.headers["retry-after"]) == (200, "12")
    assert (second.status_code, second.headers["retry-after"]) == (429, "13")
    assert first.json()["error"]["data"]["type"] == "OverLimitException"


async def test_enforced_rate_limits_refuse_the_eleventh_login_in_a_minute(geotab_sim, rpc, account):
    geotab_sim.simulator.enforce_rate_limits = True
    for _ in range(10):
        await rpc("Authenticate", **account)

    response = await rpc("Authenticate", **account)

    assert response.json()["error"]["data"]["type"] == "OverLimitException"
    assert int(response.headers["retry-after"]) > 0


@pytest.mark.parametrize(
    ("method", "params", "code", "type_name"),
    [
        ("Explode", {}, -32601, "MissingMethodException"),
        ("GetFeed", {"typeName": "Nonsense"}, -32601, "MissingMethodException"),
        (
            "GetFeed",
            {"typeName": "DeviceStatusInfo", "search": {"deviceSearch": {"id": "b1"}}},
            -32000,
            "ArgumentException",
        ),
        (
            "GetFeed",
            {"typeName": "LogRecord", "search": {"fromDate": "2023-02-06 16:00 UTC"}},
            -32700,
            "JsonSerializerException",
        ),
    ],
)
async def test_bad_calls_get_the_servers_error_types(rpc, method, params, code, type_name, credentials):

    error = (await rpc(method, credentials=credentials, **params)).json()["error"]

    assert (error["code"], error["data"]["type"]) == (code, type_name)


async def test_a_malformed_body_is_a_json_serializer_error(geotab_sim):
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{geotab_sim.url}/apiv1", content=b"{not json")

    assert response.json()["error"]["code"] == -32700


async def test_get_device_and_device_status(geotab_sim, rpc, credentials):

    devices = (await rpc("Get", typeName="Device", credentials=credentials)).json()["result"]
    status = (
        await rpc(
            "Get",
            typeName="DeviceStatusInfo",
            credentials=credentials,
            search={"deviceSearch": {"id": "b3"}},
        )
    ).json()["result"]

    assert [d["id"] for d in devices] == ["b1", "b2", "b3", "b4", "b5"]
    assert [s["device"] for s in status] == [{"id": "b3"}]
    assert {"bearing", "isDriving", "isDeviceCommunicating", "currentStateDuration"} <= set(status[0])


def test_the_same_seed_drives_the_same_fleet():
    def records(seed):
        fleet = Fleet(vans=4, seed=seed, clock=ManualClock(SIM_START))
        fleet.advance(SIM_START + timedelta(minutes=20))
        return fleet.log_records.latest(100_000)

    assert records(3) == records(3)
    assert records(3) != records(4)


def test_vans_drive_at_road_speeds_logging_every_second_and_stop_at_sites():
    clock = ManualClock(SIM_START)
    fleet = Fleet(vans=3, seed=1, clock=clock, dwell_range=(timedelta(minutes=2),) * 2)
    fleet.advance(SIM_START + timedelta(minutes=15))
    records = [r for r in fleet.log_records.latest(100_000) if r["device"]["id"] == "b1"]

    moving = [r for r in records if r["speed"] > 0]
    stopped = [r for r in records if r["speed"] == 0]
    assert moving
    assert stopped
    assert all(25 <= r["speed"] <= 80 for r in moving)
    for before, after in itertools.pairwise(records):
        metres = _distance_m(before, after)
        assert metres <= 80 / 3.6 + 1, "no jumps"
    assert len(moving) > 5 * len(stopped), "stopped vans log far less often"


def test_a_van_sent_to_a_job_drives_there_and_waits():
    clock = ManualClock(SIM_START)
    fleet = Fleet(vans=2, seed=5, clock=clock)
    job = fleet.random_site()

    fleet.send_to("b2", *job)
    for _ in range(12):  # two hours, in steps the fleet simulates in full
        clock.advance(600)
        fleet.advance()

    van = fleet.vans["b2"]
    assert (van.lat, van.lon) == job
    assert not van.driving
    assert van.speed_kmh == 0
    fleet.resume("b2")
    clock.advance(600)
    fleet.advance()
    assert (van.lat, van.lon) != job


def test_vans_can_be_added_where_the_board_wants_them():
    fleet = Fleet(vans=0, seed=1, clock=ManualClock(SIM_START))

    fleet.add_van("unit-17", 43.65, -79.38, name="Unit 17", roaming=False)

    assert fleet.statuses.current("unit-17")[0]["latitude"] == 43.65
    assert fleet.device_entities()[0]["name"] == "Unit 17"


def _distance_m(a, b) -> float:
    north = (b["latitude"] - a["latitude"]) * METRES_PER_DEGREE
    east = (b["longitude"] - a["longitude"]) * METRES_PER_DEGREE * math.cos(math.radians(a["latitude"]))
    return math.hypot(north, east)
