"""What the dispatch records screen reads: the creator's name beside their id, in the list and the
detail, for every role that may view dispatches (a billing clerk has no way to list users)."""

from __future__ import annotations

import datetime as dt

from tests.web.api_helpers import app_now, auth, seeded_client
from tests.web.test_dispatch_api import free_ticket


def test_the_list_and_the_detail_name_the_creator(database_url: str) -> None:
    with seeded_client(database_url) as client:
        h = auth(client, "dispatcher")
        when = (app_now(client) + dt.timedelta(days=3)).replace(microsecond=0)
        created = client.post("/api/dispatch", headers=h, json={
            "trip_ticket_id": free_ticket(client, h), "datetime": when.isoformat(),
            "unit": "unit-0001"})
        assert created.status_code == 201, created.text
        d = created.json()
        assert d["created_by"] == "user-dispatcher"
        assert d["created_by_name"] == "Dispatcher"
        billing = auth(client, "billing")
        listed = client.get("/api/dispatch?created_by=user-dispatcher&limit=500",
                            headers=billing)
        assert listed.status_code == 200, listed.text
        items = listed.json()["items"]
        assert [i["id"] for i in items] == [d["id"]]
        assert items[0]["created_by_name"] == "Dispatcher"
        assert items[0]["store_id"] and items[0]["unit_name"]
        detail = client.get(f"/api/dispatch/{d['id']}", headers=billing).json()
        assert detail["created_by_name"] == "Dispatcher"


def test_a_creator_who_is_no_user_has_no_name_but_keeps_the_id(database_url: str) -> None:
    with seeded_client(database_url) as client:
        h = auth(client, "operations")
        items = client.get("/api/dispatch?limit=500", headers=h).json()["items"]
        seeded = [i for i in items if i["created_by"] != "user-dispatcher"]
        assert seeded, "the demo's own dispatches are created by the system"
        assert all(i["created_by_name"] is None for i in seeded)
        assert all("created_by_name" in i for i in items)
