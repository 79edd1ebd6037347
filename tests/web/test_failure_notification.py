"""A job that could not be finished tells its customer, over HTTP on SQLite and PostgreSQL with the
Genesys simulator on a loopback port: the failure is posted to the job's tracking page and texted
only to a customer who consented, the text leading to the follow-up's own tracking page; the
follow-up's booking is posted to its page without a second text; the technician's reason (an
internal note) is never passed on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from realtime.notify import GenesysSimulator
from tests.browser.conftest import run_server
from tests.web.api_helpers import auth, seeded_client
from tests.web.test_customer_notifications import (
    CLIENT,
    FROM,
    INBOUND,
    SECRET,
    book,
    customer_with_phone,
    notifications,
    ok,
    set_consent,
    settled,
    texts_to,
)

BEFORE = ["booked", "assigned", "en_route", "arrived"]
REASON = "compressor part not in the van, customer was rude"


@pytest.fixture
def genesys() -> Iterator[tuple[GenesysSimulator, str]]:
    sim = GenesysSimulator(client_id=CLIENT, client_secret=SECRET, from_numbers=frozenset({FROM}))
    with run_server(sim) as live:
        yield sim, live.url


@pytest.fixture
def client(database_url: str, genesys: tuple[GenesysSimulator, str]) -> Iterator[TestClient]:
    _, url = genesys
    with seeded_client(database_url, genesys_base_url=url, genesys_login_url=url,
                       genesys_client_id=CLIENT, genesys_client_secret=SECRET,
                       genesys_from_number=FROM, genesys_inbound_secret=INBOUND) as c:
        yield c


def fail_job(client: TestClient, dispatcher: dict[str, str], order_id: str) -> str:
    """tech1 takes the job to the door and cannot finish it; answers the follow-up's id."""
    url = f"/api/work-orders/{order_id}"
    ok(client.post(f"{url}/assign", headers=dispatcher,
                   json={"technician_id": "tech-0001", "allow_missing_skills": True}))
    tech = auth(client, "tech1")
    for step in ("accept", "en_route", "on_site"):
        ok(client.post(f"{url}/status", headers=tech, json={"step": step}))
    failed = ok(client.post(f"{url}/status", headers=tech, json={"step": "fail", "reason": REASON}))
    [follow_id] = failed["follow_ups"]
    return str(follow_id)


def token_of(client: TestClient, headers: dict[str, str], order_id: str) -> str:
    link = ok(client.get(f"/api/work-orders/{order_id}", headers=headers))["tracking_url"]
    return str(link.rsplit("/t/", 1)[1])


def test_the_customer_is_told_the_job_could_not_be_finished_and_follows_the_follow_up(
        client: TestClient, genesys: tuple[GenesysSimulator, str]) -> None:
    sim, _ = genesys
    service, dispatcher = auth(client, "service"), auth(client, "dispatcher")
    yes, no = customer_with_phone(client, service, 0), customer_with_phone(client, service, 1)
    set_consent(client, service, yes["id"], True)
    set_consent(client, service, no["id"], False)
    jobs = {}
    for customer in (yes, no):
        order = book(client, dispatcher, customer["id"])
        jobs[customer["id"]] = (order["id"], fail_job(client, dispatcher, order["id"]))

    original, follow = jobs[yes["id"]]
    listed = notifications(client, dispatcher, original, settled([*BEFORE, "failed"]))
    assert [(i["kind"], i["channel"]) for i in listed][-2:] == [("failed", "sms"), ("failed", "web")]
    [failed_text] = [i for i in listed if i["kind"] == "failed" and i["channel"] == "sms"]
    assert failed_text["status"] == "sent"
    follow_token = token_of(client, dispatcher, follow)
    texts = texts_to(sim, yes["phone"])
    assert len(texts) == len(BEFORE) + 1
    assert "could not finish" in texts[-1] and f"/t/{follow_token}" in texts[-1]
    # the follow-up's booking is on its page, not texted a second time
    assert [(i["kind"], i["channel"]) for i in notifications(
        client, dispatcher, follow, settled(["booked"]))] == [("booked", "web")]

    # the page the customer has open says so; the follow-up's page is there for them
    page = ok(client.get(f"/api/track/{token_of(client, dispatcher, original)}"))
    assert (page["status"], page["status_text"]) == ("failed", "Could not be finished")
    assert page["messages"][0]["kind"] == "failed"
    assert "follow-up" in page["messages"][0]["text"]
    follow_page = ok(client.get(f"/api/track/{follow_token}"))
    assert follow_page["status"] == "new" and follow_page["messages"][0]["kind"] == "booked"

    # no consent: the pages only
    unconsented, _ = jobs[no["id"]]
    assert {i["channel"] for i in notifications(
        client, dispatcher, unconsented, settled([*BEFORE, "failed"]))} == {"web"}
    assert texts_to(sim, no["phone"]) == []
    # the technician's reason stays inside the company
    everything = [i["text"] for order in (original, follow, unconsented)
                  for i in notifications(client, dispatcher, order)]
    assert everything and not any("rude" in text or "compressor" in text for text in everything)
