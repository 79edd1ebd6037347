"""The on-call rota over HTTP on SQLite and PostgreSQL: admins add, change and remove shifts and
overrides (audited), those who dispatch read them, and ``/api/oncall/now`` answers who an
escalation reaches, in the store's local time."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update
from starlette.testclient import TestClient

from storage import tables as t
from storage.engine import create_engine
from tests.web.api_helpers import app_now, assert_problem, auth, seeded_client

PHONES = {"dispatcher": "+12145550101", "operations": "+12145550102", "admin": "+12145550103",
          "manager": "+12145550104", "billing": "+12145550105"}


def set_phones(database_url: str, phones: dict[str, str]) -> dict[str, str]:
    """Give demo users phone numbers; answers their ids by username."""
    async def run() -> dict[str, str]:
        engine = create_engine(database_url)
        try:
            async with engine.begin() as conn:
                for username, phone in phones.items():
                    await conn.execute(update(t.users).where(t.users.c.username == username)
                                       .values(phone=phone))
                rows = (await conn.execute(select(t.users.c.username, t.users.c.id))).all()
            return {r[0]: r[1] for r in rows}
        finally:
            await engine.dispose()

    return asyncio.run(run())


@pytest.fixture
def world(database_url: str) -> Iterator[tuple[TestClient, dict[str, str]]]:
    with seeded_client(database_url, alert_oncall_phones="3=+12145550199") as client:
        yield client, set_phones(database_url, PHONES)


def shift(client: TestClient, body: dict[str, Any], user: str = "admin") -> Any:
    return client.post("/api/oncall/shifts", headers=auth(client, user), json=body)


def local_now(client: TestClient) -> dt.datetime:
    return app_now(client).astimezone(ZoneInfo("America/Chicago"))


def all_day(level: int, user_id: str, **extra: Any) -> dict[str, Any]:
    return {"level": level, "user_id": user_id, "starts": "00:00", "ends": "00:00",
            "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], **extra}


def test_admins_build_the_rota_and_escalations_see_it_now(
        world: tuple[TestClient, dict[str, str]]) -> None:
    client, ids = world
    admin = auth(client, "admin")
    made = shift(client, all_day(1, ids["dispatcher"], note="front desk"))
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["weekdays"] == ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    assert body["version"] == 1 and body["note"] == "front desk"
    assert shift(client, all_day(2, ids["operations"])).status_code == 201

    now = client.get("/api/oncall/now", headers=auth(client, "dispatcher"),
                     params={"store_id": "store-0001"}).json()
    levels = {item["level"]: item for item in now["items"]}
    assert [p["username"] for p in levels[1]["people"]] == ["dispatcher"]
    assert levels[1]["source"] == "rota" and levels[1]["fallback_numbers"] == []
    assert [p["username"] for p in levels[2]["people"]] == ["operations"]
    assert levels[3]["source"] == "none" and levels[3]["fallback_numbers"] == ["+12145550199"]

    # an override: the admin covers level 1 for the next hour, in place of the dispatcher
    start = app_now(client) - dt.timedelta(minutes=1)
    cover = client.post("/api/oncall/overrides", headers=admin, json={
        "level": 1, "user_id": ids["admin"], "replaces_user_id": ids["dispatcher"],
        "starts_at": start.isoformat(), "ends_at": (start + dt.timedelta(hours=1)).isoformat(),
        "note": "dentist"})
    assert cover.status_code == 201, cover.text
    now = client.get("/api/oncall/now", headers=admin, params={"store_id": "store-0001"}).json()
    assert [p["username"] for p in now["items"][0]["people"]] == ["admin"]
    assert now["items"][0]["source"] == "override"
    later = client.get("/api/oncall/now", headers=admin, params={
        "store_id": "store-0001", "at": (start + dt.timedelta(hours=2)).isoformat()}).json()
    assert [p["username"] for p in later["items"][0]["people"]] == ["dispatcher"]

    listed = client.get("/api/oncall/overrides", headers=auth(client, "dispatcher")).json()
    assert [o["id"] for o in listed["items"]] == [cover.json()["id"]]
    assert client.delete(f"/api/oncall/overrides/{cover.json()['id']}",
                         headers=admin).status_code == 204
    audit = client.get("/api/audit", headers=admin, params={"limit": 20}).json()["items"]
    actions = {a["action"] for a in audit}
    assert {"oncall.shift.create", "oncall.override.create", "oncall.override.remove"} <= actions


def test_a_shift_is_changed_with_the_version_seen_and_removed(
        world: tuple[TestClient, dict[str, str]]) -> None:
    client, ids = world
    admin = auth(client, "admin")
    made = shift(client, {"level": 1, "user_id": ids["dispatcher"], "weekdays": ["mon"],
                          "starts": "08:00", "ends": "17:00"}).json()
    url = f"/api/oncall/shifts/{made['id']}"
    changed = client.patch(url, headers=admin, json={"ends": "18:30", "version": 1})
    assert changed.status_code == 200, changed.text
    assert changed.json()["ends"] == "18:30" and changed.json()["starts"] == "08:00"
    assert changed.json()["version"] == 2
    assert_problem(client.patch(url, headers=admin, json={"ends": "19:00", "version": 1}), 409,
                   "stale_version")
    rows = client.get("/api/oncall/shifts", headers=auth(client, "operations")).json()["items"]
    assert [(r["username"], r["ends"]) for r in rows] == [("dispatcher", "18:30")]
    assert client.delete(url, headers=admin).status_code == 204
    assert_problem(client.delete(url, headers=admin), 404)
    assert client.get("/api/oncall/shifts", headers=admin).json()["total"] == 0


def test_who_may_be_on_call_is_checked_and_bad_input_changes_nothing(
        world: tuple[TestClient, dict[str, str]]) -> None:
    client, ids = world
    assert_problem(shift(client, all_day(1, ids["coordinator"])), 422, "no_phone")
    assert_problem(shift(client, all_day(1, ids["billing"])), 422, "may_not_acknowledge")
    assert_problem(shift(client, all_day(1, ids["manager"])), 422, "outside_scope")
    assert_problem(shift(client, all_day(1, "nobody")), 422, "invalid_user")
    assert_problem(shift(client, all_day(1, ids["dispatcher"], store_ids=["store-9999"])), 422,
                   "invalid_store")
    assert shift(client, all_day(1, ids["manager"], store_ids=["store-0001"])).status_code == 201
    for bad in ({"starts": "24:00"}, {"weekdays": ["someday"]}, {"level": 4}, {"weekdays": []},
                {"extra": 1}):
        assert_problem(shift(client, {**all_day(1, ids["dispatcher"]), **bad}), 422)
    start = app_now(client)
    assert_problem(client.post("/api/oncall/overrides", headers=auth(client, "admin"), json={
        "level": 1, "user_id": ids["dispatcher"], "starts_at": start.isoformat(),
        "ends_at": (start - dt.timedelta(hours=1)).isoformat()}), 422)
    assert_problem(shift(client, all_day(1, ids["dispatcher"]), user="dispatcher"), 403)
    assert client.get("/api/oncall/shifts", headers=auth(client, "admin")).json()["total"] == 1


def test_a_store_manager_reads_the_lines_of_their_stores(
        world: tuple[TestClient, dict[str, str]]) -> None:
    client, ids = world
    assert shift(client, all_day(1, ids["dispatcher"], store_ids=["store-0003"])).status_code \
        == 201
    assert shift(client, all_day(2, ids["operations"])).status_code == 201
    manager = auth(client, "manager")
    rows = client.get("/api/oncall/shifts", headers=manager).json()["items"]
    assert [r["level"] for r in rows] == [2]
    assert_problem(client.get("/api/oncall/now", headers=manager,
                              params={"store_id": "store-0003"}), 404)
    assert client.get("/api/oncall/now", headers=manager,
                      params={"store_id": "store-0001"}).status_code == 200
    assert_problem(client.get("/api/oncall/shifts", headers=auth(client, "billing")), 403)


def test_admins_set_a_persons_alert_email_and_quiet_hours(
        world: tuple[TestClient, dict[str, str]]) -> None:
    client, ids = world
    admin = auth(client, "admin")
    url = f"/api/oncall/contacts/{ids['dispatcher']}"
    done = client.put(url, headers=admin, json={
        "email": "dispatch@example.com", "quiet_starts": "22:00", "quiet_ends": "07:00",
        "timezone": "America/Chicago"})
    assert done.status_code == 200, done.text
    listed = {c["username"]: c for c in client.get("/api/oncall/contacts",
                                                   headers=admin).json()["items"]}
    assert listed["dispatcher"]["email"] == "dispatch@example.com"
    assert (listed["dispatcher"]["quiet_starts"], listed["dispatcher"]["quiet_ends"]) \
        == ("22:00", "07:00")
    assert listed["operations"]["email"] == "" and listed["operations"]["quiet_starts"] is None
    for bad in ({"email": "not-an-address"}, {"quiet_starts": "22:00"},
                {"timezone": "Mars/Olympus"}, {"quiet_starts": "22:00", "quiet_ends": "7"}):
        assert_problem(client.put(url, headers=admin, json=bad), 422)
    assert_problem(client.put("/api/oncall/contacts/nobody", headers=admin, json={}), 404)
    assert_problem(client.put(url, headers=auth(client, "dispatcher"), json={}), 403)
    cleared = client.put(url, headers=admin, json={})
    assert cleared.json()["quiet_starts"] is None and cleared.json()["email"] == ""
    audit = client.get("/api/audit", headers=admin, params={"limit": 10}).json()["items"]
    assert sum(a["action"] == "oncall.contact.set" for a in audit) == 2
