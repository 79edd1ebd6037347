"""The reports over HTTP, on SQLite and on PostgreSQL: numbers that add up.

Each report's numbers are compared with a hand count over the same stored rows
(``tests/web/report_history.py``), on a known history placed on the days before the app
clock's today, with rows just outside the range on either side of a local midnight.
"""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import ValidationError
from starlette.testclient import TestClient

from tests.conftest import empty_postgres
from tests.web.api_helpers import app_now, assert_problem, auth, seeded_client
from tests.web.report_history import (
    MINE,
    ODD_NAME,
    OTHER,
    T1,
    T2,
    T3,
    ZONE,
    Span,
    hand_revenue,
    hand_sla,
    hand_technicians,
    hand_volume,
    plant,
    span_before,
    stored,
)
from web.app import create_app
from web.settings import Settings


@dataclass
class World:
    client: TestClient
    span: Span
    rows: dict[str, list[Any]]
    operations: dict[str, str]
    url: str

    def get(self, kind: str, headers: dict[str, str] | None = None, **params: str) -> Any:
        return self.client.get(f"/api/reports/{kind}", params={**self.span.query, **params},
                               headers=headers or self.operations)

    def report(self, kind: str, headers: dict[str, str] | None = None,
               **params: str) -> dict[str, Any]:
        response = self.get(kind, headers, **params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[World]:
    """One history per backend for the whole module: reading reports changes nothing."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("reports") / "dispatch.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite+aiosqlite:///{path}"
    else:
        url = request.getfixturevalue("postgres_url")
        empty_postgres(url)
    with seeded_client(url) as client:
        span = span_before(app_now(client))
        plant(url, span)
        yield World(client, span, stored(url), auth(client, "operations"), url)


def by_key(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["key"]: item for item in items}


def test_revenue_is_the_sum_of_the_invoices_processed_on_the_local_days_of_the_range(
        world: World) -> None:
    body = world.report("revenue")
    assert (body["report"], body["group"], body["timezone"]) == ("revenue", "day", ZONE.key)
    assert (body["from"], body["to"]) == (world.span.start.isoformat(), world.span.end.isoformat())
    hand = hand_revenue(world.rows["invoices"], world.span)
    assert body["total"] == {"invoices": sum(n for n, _ in hand.values()),
                             "revenue_cents": sum(c for _, c in hand.values())}
    days = by_key(body["items"])
    assert len(days) == 10 and list(days) == sorted(days)
    for key, item in days.items():
        assert (item["invoices"], item["revenue_cents"]) == hand.get(key, (0, 0)), key
    # the history's own store: 50000 + 7500 (23:30 on the last day) + 1 (00:00 on the first);
    # not the unprocessed one, nor those processed at 23:30 the evening before or 00:30 the
    # morning after
    ours = world.report("revenue", store_id=OTHER)
    assert ours["total"] == {"invoices": 3, "revenue_cents": 57_501}
    days = by_key(ours["items"])
    assert days[world.span.end.isoformat()]["revenue_cents"] == 7_500
    assert days[world.span.start.isoformat()]["revenue_cents"] == 1


@pytest.mark.parametrize("group", ["week", "month", "store", "customer", "service_line"])
def test_every_revenue_grouping_adds_up_to_the_same_total(world: World, group: str) -> None:
    body = world.report("revenue", group=group)
    assert body["total"] == world.report("revenue")["total"]
    assert sum(i["revenue_cents"] for i in body["items"]) == body["total"]["revenue_cents"]
    assert sum(i["invoices"] for i in body["items"]) == body["total"]["invoices"]
    if group in {"week", "month"}:
        assert [i["key"] for i in body["items"]] == sorted(i["key"] for i in body["items"])
        return
    revenues = [i["revenue_cents"] for i in body["items"]]
    assert revenues == sorted(revenues, reverse=True)
    field = {"store": "store_id", "customer": None, "service_line": "service_line"}[group]
    if field is not None:
        hand = hand_revenue(world.rows["invoices"], world.span, key=lambda r: r[field])
        assert {i["key"]: (i["invoices"], i["revenue_cents"]) for i in body["items"]} == hand
    if group == "customer":
        assert by_key(body["items"])["rpt-c1"]["label"] == ODD_NAME
    if group == "store":
        assert by_key(body["items"])[OTHER]["revenue_cents"] == 57_501


def test_the_sla_report_matches_a_hand_count_of_the_same_jobs(world: World) -> None:
    body = world.report("sla")
    hand = hand_sla(world.rows["jobs"], world.span)
    for key, item in by_key(body["items"]).items():
        if key in hand:
            assert {k: v for k, v in item.items() if k not in {"key", "label"}} == hand[key], key
        else:
            assert item["jobs"] == 0 and item["on_time_rate"] is None
    everything = hand_sla(world.rows["jobs"], world.span, key=lambda r: "all")["all"]
    assert body["total"] == everything
    # the history's own store: j2 (late), its follow-up, j3 (emergency, 35 minutes to site) and
    # j9 (12:59 for a window to 13:00: on time); not j4 (cancelled) nor j8 (the evening before)
    ours = world.report("sla", store_id=OTHER)["total"]
    assert (ours["jobs"], ours["arrived"], ours["with_window"], ours["on_time"]) == (4, 4, 2, 1)
    assert ours["on_time_rate"] == 0.5 and ours["emergencies"] == 1
    assert ours["emergency_avg_minutes_to_site"] == 35.0
    assert ours["avg_minutes_to_assign"] == 15.0  # 20, 30 (the follow-up), 5 and 5
    stores = world.report("sla", group="store")
    assert stores["total"] == body["total"]
    hand_stores = hand_sla(world.rows["jobs"], world.span, key=lambda r: r["store_id"])
    assert {i["key"]: {k: v for k, v in i.items() if k not in {"key", "label"}}
            for i in stores["items"]} == hand_stores


def test_the_technician_report_matches_a_hand_count(world: World) -> None:
    body = world.report("technicians")
    assert body["group"] == "technician"
    hand = hand_technicians(world.rows, world.span)
    got = {i["key"]: {k: v for k, v in i.items() if k not in {"key", "label", "store_id"}}
           for i in body["items"]}
    assert got == hand
    ours = by_key(world.report("technicians", store_id=OTHER)["items"])
    # T1 finished j2's follow-up (not a first time), T2 failed j2, T3 did j3 and j9; T3's
    # decline was the evening before
    assert (ours[T1]["jobs_completed"], ours[T1]["first_time_completions"]) == (1, 0)
    assert (ours[T2]["jobs_failed"], ours[T2]["first_time_rate"]) == (1, 0.0)
    assert (ours[T3]["jobs_completed"], ours[T3]["first_time_rate"], ours[T3]["declined"]) == (
        2, 1.0, 0)
    assert by_key(body["items"])[T2]["declined"] >= 1  # j6, declined on the last evening
    assert all(i["store_id"] and i["label"] != i["key"] for i in body["items"])
    completed = [i["jobs_completed"] for i in body["items"]]
    assert completed == sorted(completed, reverse=True)
    assert body["total"]["jobs_completed"] == sum(completed)
    assert body["total"]["declined"] == sum(i["declined"] for i in body["items"])


@pytest.mark.parametrize("group", ["hour", "weekday", "day", "week", "month", "store"])
def test_volume_per_channel_matches_a_hand_count(world: World, group: str) -> None:
    body = world.report("volume", group=group)
    local = {
        "hour": lambda r: f"{r['created_at'].astimezone(ZONE).hour:02d}",
        "weekday": lambda r: str(r["created_at"].astimezone(ZONE).isoweekday()),
        "day": lambda r: r["created_at"].astimezone(ZONE).date().isoformat(),
        "week": lambda r: "{}-W{:02d}".format(*r["created_at"].astimezone(ZONE).isocalendar()[:2]),
        "month": lambda r: r["created_at"].astimezone(ZONE).strftime("%Y-%m"),
        "store": lambda r: r["store_id"],
    }[group]
    hand = hand_volume(world.rows["jobs"], world.span, local)
    items = {i["key"]: {k: v for k, v in i.items() if k not in {"key", "label"}}
             for i in body["items"] if i["total"] or group == "store"}
    assert items == hand
    assert body["total"] == hand_volume(world.rows["jobs"], world.span, lambda r: "all")["all"]
    # the history's own store: j2 and its follow-up, j9 (partner), j3 (emergency) and j4
    # (webhook, cancelled but booked); not j8 (the evening before)
    ours = world.report("volume", group=group, store_id=OTHER)["total"]
    assert ours == {"phone": 0, "partner": 3, "webhook": 1, "emergency": 1, "total": 5}


def test_a_store_manager_reads_only_their_stores_and_naming_another_is_403(world: World) -> None:
    manager = auth(world.client, "manager")
    mine = {"store-0001", "store-0002"}
    revenue = world.report("revenue", manager, group="store")
    assert {i["key"] for i in revenue["items"]} <= mine
    hand = hand_revenue(world.rows["invoices"], world.span, key=lambda r: r["store_id"],
                        stores=mine)
    assert {i["key"]: (i["invoices"], i["revenue_cents"]) for i in revenue["items"]} == hand
    assert hand[MINE][1] >= 12_345 + 3_300
    sla = world.report("sla", manager)
    everything = hand_sla(world.rows["jobs"], world.span, key=lambda r: "all", stores=mine)
    assert sla["total"] == everything["all"]
    techs = world.report("technicians", manager)
    assert {i["key"]: {k: v for k, v in i.items() if k not in {"key", "label", "store_id"}}
            for i in techs["items"]} == hand_technicians(world.rows, world.span, stores=mine)
    volume = world.report("volume", manager, group="store")
    assert {i["key"] for i in volume["items"]} <= mine
    for kind in ("revenue", "sla", "technicians", "volume"):
        assert_problem(world.get(kind, manager, store_id=OTHER), 403)
        assert_problem(world.get(kind, manager, store_id="store-0003"), 403)
    one = world.report("revenue", manager, store_id=MINE)
    assert one["store_id"] == MINE and one["total"]["revenue_cents"] == hand[MINE][1]


@pytest.mark.parametrize(("kind", "group"), [
    ("revenue", "day"), ("revenue", "customer"), ("sla", "week"), ("technicians", "technician"),
    ("volume", "hour"), ("volume", "store")])
def test_the_csv_is_the_json_items_row_for_row(world: World, kind: str, group: str) -> None:
    body = world.report(kind, group=group)
    response = world.get(kind, {**world.operations, "Accept": "text/csv"}, group=group)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    s = world.span
    assert response.headers["content-disposition"] == (
        f'attachment; filename="{kind}-{s.start.isoformat()}-{s.end.isoformat()}-{group}.csv"')
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == list(body["items"][0]) if body["items"] else rows[0]
    assert rows[1:] == [["" if v is None else str(v) for v in item.values()]
                        for item in body["items"]]
    if group == "customer":
        assert ODD_NAME in [row[1] for row in rows]  # the comma and quotes survive


def test_missing_dates_mean_the_last_30_days_ending_today(world: World) -> None:
    response = world.client.get("/api/reports/volume", headers=world.operations)
    body = response.json()
    today = app_now(world.client).astimezone(ZONE).date()
    assert body["to"] == today.isoformat()
    assert body["from"] == (today.fromordinal(today.toordinal() - 29)).isoformat()
    assert [i["key"] for i in body["items"]] == [f"{h:02d}" for h in range(24)]


@pytest.mark.parametrize("params", [
    {"group": "customer", "kind": "sla"}, {"group": "hour", "kind": "revenue"},
    {"group": "store", "kind": "technicians"}, {"group": "nope"},
    {"from": "2026-13-01"}, {"from": "yesterday"}, {"from": "2026-1-5"},
    {"from": "2026-11-05T00:00:00"}, {"to": "20261105"},
    {"from": "2026-11-05", "to": "2026-11-04"}, {"from": "2024-01-01", "to": "2026-01-02"},
    {"from": "1900-01-01", "to": "1900-01-02"}, {"limit": "10"}, {"store_id": "no-such-store"},
    {"store_id": ""},
])
def test_a_bad_query_is_422_with_a_problem(world: World, params: dict[str, str]) -> None:
    query = dict(params)
    kind = query.pop("kind", "revenue")
    response = world.client.get(f"/api/reports/{kind}", params=query, headers=world.operations)
    assert_problem(response, 422)


def test_who_may_read_reports(world: World) -> None:
    for login, status in (("billing", 200), ("fleet", 200), ("admin", 200), ("dispatcher", 403),
                          ("service", 403), ("tech1", 403)):
        response = world.get("volume", auth(world.client, login))
        assert response.status_code == status, (login, response.text)
    assert world.client.get("/api/reports/volume").status_code == 401
    assert world.client.get("/api/reports/profit", headers=world.operations).status_code == 404


def test_report_timezone_sets_the_calendar_and_refuses_a_zone_it_cannot_count_in(
        world: World) -> None:
    with pytest.raises(ValidationError):
        Settings(database_url=world.url, report_timezone="Asia/Kolkata")  # UTC+05:30
    with pytest.raises(ValidationError):
        Settings(database_url=world.url, report_timezone="Nowhere/Special")
    assert Settings(database_url=world.url, report_timezone="").report_timezone is None
    app = create_app(Settings(database_url=world.url, report_timezone="UTC"),
                     clock=world.client.app.state.runtime.clock)  # type: ignore[attr-defined]
    with TestClient(app, raise_server_exceptions=False) as utc:
        body = utc.get("/api/reports/revenue", params={**world.span.query, "store_id": OTHER},
                       headers=world.operations).json()
    assert body["timezone"] == "UTC"
    # on UTC days: in, 23:30 the evening before (05:30Z on the first day) and 00:00 local
    # (06:00Z); out, 23:30 local on the last day (05:30Z the day after)
    assert body["total"] == {"invoices": 3, "revenue_cents": 50_000 + 11_100 + 1}
