"""The alert catalogue over HTTP on SQLite and PostgreSQL: everyone who sees alerts reads it,
only admins change it (audited), a bad number, setting or placeholder is a 422 naming it and
changes nothing, an edit applies to the next pass of the rules, the preview, and the weekly
figure per kind."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from sqlalchemy import select
from starlette.testclient import TestClient

from domain.alerts import AlertKind
from domain.services.alerts import PassResult, evaluate_alerts
from storage import tables as t
from storage.alerts import SqlAlertFacts
from storage.engine import create_engine
from storage.uow import SqlUnitOfWork
from tests.web.api_helpers import assert_problem, auth, seeded_client

STORE = "store-0001"


def evaluate(database_url: str, at: dt.datetime) -> PassResult:
    """One pass of the rules at ``at`` (the app's own loop is off here)."""
    async def run() -> PassResult:
        engine = create_engine(database_url)
        try:
            return await evaluate_alerts(lambda: SqlUnitOfWork(engine), SqlAlertFacts(engine), at)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def audit_rows(database_url: str) -> list[dict[str, Any]]:
    async def read() -> list[dict[str, Any]]:
        engine = create_engine(database_url)
        try:
            async with engine.connect() as conn:
                rows = (await conn.execute(select(t.audit_log).where(
                    t.audit_log.c.entity_type == "alert_rule").order_by(t.audit_log.c.id)
                )).mappings().all()
                return [dict(r) for r in rows]
        finally:
            await engine.dispose()

    return asyncio.run(read())


def now_of(client: TestClient) -> dt.datetime:
    return client.app.state.runtime.now()  # type: ignore[attr-defined,no-any-return]


def rules(client: TestClient, user: str = "admin") -> dict[str, dict[str, Any]]:
    response = client.get("/api/alert-rules", headers=auth(client, user))
    assert response.status_code == 200, response.text
    return {item["kind"]: item for item in response.json()["items"]}


def test_the_catalogue_lists_every_kind_with_its_numbers_and_template(database_url: str) -> None:
    with seeded_client(database_url, alerts_enabled=False) as client:
        items = rules(client)
        assert list(items) == [k.value for k in AlertKind]
        urgent = items["urgent_order"]
        assert urgent["severity"] == "warning" and urgent["enabled"] is True
        assert urgent["settings"] == {"after_minutes": 10}
        assert urgent["template"] == "{job}; unassigned for {waited}."
        assert urgent["version"] == 0 and urgent["customized"] is False
        assert {"name": "after_minutes", "min": 1, "max": 240} .items() <= \
            urgent["setting_specs"][0].items()
        assert items["technician_status"]["settings"]["statuses"] == ["unavailable"]
        assert rules(client, "dispatcher") == items  # who sees alerts may read the catalogue
        assert_problem(client.get("/api/alert-rules", headers=auth(client, "billing")), 403)


def test_an_admin_changes_a_kind_audited_and_the_next_pass_applies_it(database_url: str) -> None:
    with seeded_client(database_url, alerts_enabled=False) as client:
        admin = auth(client, "admin")
        created = client.post("/api/work-orders", headers=auth(client, "dispatcher"), json={
            "store_id": STORE, "priority": "high", "location": {"lat": 32.78, "lon": -96.8},
            "description": "Walk-in freezer warm"})
        assert created.status_code == 201, created.text
        order_id = created.json()["id"]
        later = now_of(client) + dt.timedelta(minutes=3)

        def urgent(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [a for a in alerts if a["kind"] == "urgent_order"
                    and a["work_order_id"] == order_id]

        assert urgent(evaluate(database_url, later).raised) == []

        changed = client.patch("/api/alert-rules/urgent_order", headers=admin, json={
            "settings": {"after_minutes": 2}, "severity": "critical",
            "template": "{store}: {description} waits ({waited})"})
        assert changed.status_code == 200, changed.text
        body = changed.json()
        assert body["settings"] == {"after_minutes": 2} and body["severity"] == "critical"
        assert body["version"] == 1 and body["customized"] and body["updated_by"]
        assert rules(client)["urgent_order"] == body

        [raised] = urgent(evaluate(database_url, later).raised)
        assert raised["severity"] == "critical"
        assert raised["message"].endswith(": Walk-in freezer warm waits (3 min)")

        [row] = audit_rows(database_url)
        assert row["action"] == "alert_rule.change" and row["entity_id"] == "urgent_order"
        assert row["actor"] == "admin"
        assert row["before"]["settings"] == {"after_minutes": 10}
        assert row["after"]["settings"] == {"after_minutes": 2}

        back = client.patch("/api/alert-rules/urgent_order", headers={
            **admin, "If-Match": '"1"'}, json={"settings": None, "template": None,
                                               "severity": None, "enabled": False})
        assert back.status_code == 200, back.text
        assert back.json()["settings"] == {"after_minutes": 10}
        assert back.json()["enabled"] is False and back.json()["version"] == 2
        cleared = evaluate(database_url, later + dt.timedelta(seconds=15))
        assert urgent(cleared.resolved) != []  # switched off: its alerts go


def test_only_admins_change_the_catalogue_and_bad_input_changes_nothing(
        database_url: str) -> None:
    with seeded_client(database_url, alerts_enabled=False) as client:
        admin = auth(client, "admin")
        before = rules(client)
        for user in ("dispatcher", "manager", "operations", "tech1"):
            assert_problem(client.patch("/api/alert-rules/urgent_order", headers=auth(
                client, user), json={"enabled": False}), 403)
            assert_problem(client.get("/api/alert-figures", headers=auth(client, user)), 403)
        refused = [
            ({"settings": {"after_minutes": 0}}, 422, "settings.after_minutes"),
            ({"settings": {"after_minutes": 10_000}}, 422, "settings.after_minutes"),
            ({"settings": {"minutes": 3}}, 422, "settings.minutes"),
            ({"settings": {"after_minutes": "ten"}}, 422, None),
            ({"template": "Job {order_id} at {shop}"}, 422, "template"),
            ({"template": "{order_id.__class__.__mro__}"}, 422, "template"),
            ({"template": "x" * 1001}, 422, None),
            ({"severity": "loud"}, 422, None),
            ({"colour": "red"}, 422, None),
            ({}, 422, "body"),
        ]
        for body, status, field in refused:
            problem = assert_problem(client.patch("/api/alert-rules/urgent_order",
                                                  headers=admin, json=body), status)
            if field is not None:
                assert problem["field"] == field, problem
        shop = assert_problem(client.patch("/api/alert-rules/urgent_order", headers=admin,
                                           json={"template": "{shop} {order_id}"}), 422)
        assert shop["placeholder"] == "shop" and "{shop}" in shop["detail"]
        assert_problem(client.patch("/api/alert-rules/no_such_kind", headers=admin,
                                    json={"enabled": False}), 404, "not_found")
        assert_problem(client.patch("/api/alert-rules/urgent_order", headers={
            **admin, "If-Match": '"7"'}, json={"enabled": False}), 409, "stale_version")
        assert rules(client) == before
        assert audit_rows(database_url) == []


def test_the_preview_renders_an_example_alert(database_url: str) -> None:
    with seeded_client(database_url, alerts_enabled=False) as client:
        admin = auth(client, "admin")
        shown = client.post("/api/alert-rules/no_show/preview", headers=admin,
                            json={"template": "{technician} ({store}) is {since} late"})
        assert shown.status_code == 200, shown.text
        assert shown.json()["message"] == "Maria Lopez (Dallas Downtown) is 25 min late"
        assert shown.json()["title"] == "Maria Lopez has not started the shift"
        current = client.post("/api/alert-rules/no_show/preview", headers=admin, json={})
        assert current.json()["message"].startswith("The shift began 25 min ago")
        bad = assert_problem(client.post("/api/alert-rules/no_show/preview", headers=admin,
                                         json={"template": "{order_id}"}), 422)
        assert bad["placeholder"] == "order_id"
        assert_problem(client.post("/api/alert-rules/no_show/preview",
                                   headers=auth(client, "dispatcher"), json={}), 403)


def test_the_weekly_figure_counts_each_kind(database_url: str) -> None:
    with seeded_client(database_url, alerts_enabled=False) as client:
        dispatcher = auth(client, "dispatcher")
        for _ in range(2):
            response = client.post("/api/work-orders", headers=dispatcher, json={
                "store_id": STORE, "priority": "emergency", "description": "Gas smell",
                "location": {"lat": 32.78, "lon": -96.8}})
            assert response.status_code == 201, response.text
        now = now_of(client)
        raised = [a for a in evaluate(database_url, now).raised
                  if a["kind"] == "emergency_order"]
        assert len(raised) == 2
        taken = client.post(f"/api/alerts/{raised[0]['id']}/acknowledge", headers=dispatcher,
                            json={})
        assert taken.status_code == 200, taken.text
        evaluate(database_url, now + dt.timedelta(minutes=6))  # the other climbs a rung

        answer = client.get("/api/alert-figures", headers=auth(client, "admin"),
                            params={"weeks": 2})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert len(body["weeks"]) == 2
        [row] = [r for r in body["items"] if r["kind"] == "emergency_order"]
        assert row["week"] == body["weeks"][-1]
        assert (row["raised"], row["acknowledged"], row["escalated"]) == (2, 1, 1)
        assert row["median_minutes_to_acknowledge"] is not None
        assert_problem(client.get("/api/alert-figures", headers=auth(client, "admin"),
                                  params={"weeks": 0}), 422)
