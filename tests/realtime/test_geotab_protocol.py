"""Reading MyGeotab's wire format: error envelopes, Retry-After, dates, servers, time spans."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from domain.positions import InvalidPosition
from realtime.geotab.protocol import (
    DbUnavailableException,
    GeotabError,
    GeotabTransportError,
    InvalidUserException,
    OverLimitException,
    error_body,
    format_datetime,
    parse_datetime,
    parse_response,
    parse_retry_after,
    result_body,
)
from realtime.geotab.records import (
    device_status_from_entity,
    format_timespan,
    log_record_to_fix,
    parse_timespan,
)
from realtime.geotab.rpc import endpoint_for, redirect_endpoint

NOW = datetime(2026, 7, 14, 15, 0, tzinfo=UTC)


def respond(status: int, payload: object, **headers: str) -> object:
    content = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return parse_response(status, httpx.Headers(headers), content, now=NOW)


def test_a_result_is_returned_as_sent() -> None:
    assert respond(200, result_body({"data": [], "toVersion": "00"})) == {"data": [], "toVersion": "00"}


@pytest.mark.parametrize(
    ("type_name", "error_type"),
    [
        ("InvalidUserException", InvalidUserException),
        ("OverLimitException", OverLimitException),
        ("DbUnavailableException", DbUnavailableException),
        ("MissingMethodException", GeotabError),
    ],
)
def test_errors_are_typed_by_their_exception_name(type_name: str, error_type: type) -> None:
    with pytest.raises(error_type) as caught:
        respond(200, error_body(type_name, "boom"))
    assert caught.value.type_name == type_name
    assert caught.value.message == "boom"


def test_the_errors_list_names_the_type_when_data_is_missing() -> None:
    body = {"error": {"code": -32000, "message": "x", "errors": [{"name": "InvalidUserException"}]}}
    with pytest.raises(InvalidUserException):
        respond(200, body)


def test_over_limit_in_http_200_carries_retry_after() -> None:
    with pytest.raises(OverLimitException) as caught:
        respond(200, error_body("OverLimitException", "quota"), **{"Retry-After": "56"})
    assert caught.value.retry_after == 56


def test_http_429_is_over_limit_even_without_a_json_body() -> None:
    with pytest.raises(OverLimitException) as caught:
        respond(429, b"Too Many Requests", **{"Retry-After": "3"})
    assert caught.value.retry_after == 3


def test_an_html_error_page_is_a_transport_error() -> None:
    with pytest.raises(GeotabTransportError) as caught:
        respond(503, b"<html>503</html>")
    assert caught.value.status_code == 503


def test_retry_after_may_be_an_http_date() -> None:
    assert parse_retry_after("Tue, 14 Jul 2026 15:00:41 GMT", now=NOW) == 41
    assert parse_retry_after("soon", now=NOW) is None
    assert parse_retry_after(None) is None


def test_dates_go_out_as_utc_with_milliseconds_and_come_back_aware() -> None:
    sent = format_datetime(datetime(2026, 7, 14, 11, 2, 11, 269_999, tzinfo=UTC) + timedelta(hours=4))
    assert sent == "2026-07-14T15:02:11.269Z"
    assert parse_datetime("2026-01-27T10:59:54.2691234Z").tzinfo is not None
    assert parse_datetime("2026-01-27T10:59:54") == datetime(2026, 1, 27, 10, 59, 54, tzinfo=UTC)


def test_servers_and_redirects_resolve_to_apiv1_endpoints() -> None:
    assert endpoint_for("my.geotab.com") == "https://my.geotab.com/apiv1"
    assert endpoint_for("http://127.0.0.1:8123") == "http://127.0.0.1:8123/apiv1"
    assert redirect_endpoint("https://my.geotab.com/apiv1", "ThisServer") == "https://my.geotab.com/apiv1"
    assert (
        redirect_endpoint("https://my.geotab.com/apiv1", "my3.geotab.com") == "https://my3.geotab.com/apiv1"
    )


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("00:12:31", timedelta(minutes=12, seconds=31)),
        ("1.02:00:00", timedelta(days=1, hours=2)),
        ("00:00:05.5000000", timedelta(seconds=5.5)),
    ],
)
def test_dotnet_time_spans_are_read(text: str, span: timedelta) -> None:
    assert parse_timespan(text) == span


def test_time_spans_round_trip_and_garbage_is_ignored() -> None:
    assert parse_timespan(format_timespan(timedelta(days=2, minutes=3))) == timedelta(days=2, minutes=3)
    assert parse_timespan("a while") is None


def test_a_device_status_reads_unknown_bearing_and_unknown_driver_as_none() -> None:
    status = device_status_from_entity(
        {
            "bearing": -1,
            "currentStateDuration": "00:12:31",
            "dateTime": "2026-07-14T15:02:11.000Z",
            "device": {"id": "b12"},
            "driver": "UnknownDriverId",
            "isDeviceCommunicating": True,
            "isDriving": True,
            "latitude": 43.4529681,
            "longitude": -79.7014236,
            "speed": 57,
        }
    )

    assert (status.bearing, status.driver_id, status.is_driving) == (None, None, True)
    assert status.to_fix().unit_id == "b12"
    assert status.current_state_duration == timedelta(minutes=12, seconds=31)


def test_a_log_record_becomes_a_fix_in_km_per_hour() -> None:
    fix = log_record_to_fix(
        {
            "id": "b1A2B3C5",
            "dateTime": "2026-07-14T15:02:11.000Z",
            "device": {"id": "b12"},
            "latitude": 43.4529681,
            "longitude": -79.7014236,
            "speed": 57,
        }
    )

    assert (fix.unit_id, fix.record_id, fix.speed_kmh, fix.source) == ("b12", "b1A2B3C5", 57.0, "geotab")
    assert fix.device_time == datetime(2026, 7, 14, 15, 2, 11, tzinfo=UTC)


@pytest.mark.parametrize(
    "record",
    [
        "not an object",
        {"id": "b1", "dateTime": "2026-07-14T15:02:11Z", "latitude": 1.0, "longitude": 1.0},
        {"id": "b1", "device": {"id": "b2"}, "latitude": "43", "longitude": 1.0, "dateTime": "x"},
        {"device": {"id": "b2"}, "latitude": 43.0, "longitude": 1.0, "dateTime": "2026-07-14T15:02:11Z"},
    ],
)
def test_a_malformed_log_record_is_an_invalid_position(record: object) -> None:
    with pytest.raises(InvalidPosition):
        log_record_to_fix(record)
