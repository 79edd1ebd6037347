"""Keeping the customer informed, end to end over HTTP on SQLite and PostgreSQL, with the Genesys
simulator on a loopback port: texts only with consent (counted at the simulator), a STOP reply
opts out, every notification listed on the job, the tracking link for dispatchers and customer
service only, and the public tracking JSON that shows one job and nothing once expired."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from realtime.notify import GenesysSimulator
from storage.notifications import SqlCustomerNotifications
from tests.browser.conftest import run_server
from tests.web.api_helpers import assert_problem, auth, seeded_client

CLIENT, SECRET, FROM = "dispatch-customers", "s3cret-value", "+13175550100"
INBOUND = "inbound-shared-secret-for-tests"
STORE = "store-0001"
KINDS = ["booked", "assigned", "en_route", "arrived", "completed"]


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


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def customer_with_phone(client: TestClient, service: dict[str, str], skip: int = 0) -> dict[str, Any]:
    items = ok(client.get("/api/customers", params={"limit": 50}, headers=service))["items"]
    return [c for c in items if c["phone"].startswith("+1")][skip]


def set_consent(client: TestClient, service: dict[str, str], customer_id: str,
                granted: bool) -> None:
    ok(client.post(f"/api/customers/{customer_id}/consents", headers=service,
                   json={"granted": granted, "source": "phone_call", "note": "asked on the call"}),
       201)


def book(client: TestClient, headers: dict[str, str], customer_id: str) -> dict[str, Any]:
    start = (client.app.state.runtime.now() + dt.timedelta(hours=2)).replace(  # type: ignore[attr-defined]
        second=0, microsecond=0)
    window = {"start": start.isoformat(), "end": (start + dt.timedelta(hours=2)).isoformat()}
    return ok(client.post("/api/work-orders", headers=headers, json={
        "store_id": STORE, "priority": "normal", "location": {"lat": 32.78, "lon": -96.8},
        "description": "Dishwasher not draining", "customer_id": customer_id,
        "time_window": window}), 201)


def step(client: TestClient, dispatcher: dict[str, str], order_id: str, name: str) -> None:
    ok(client.post(f"/api/work-orders/{order_id}/status", headers=dispatcher,
                   json={"step": name, "technician_id": "tech-0001"}))


def run_job(client: TestClient, dispatcher: dict[str, str], order_id: str) -> None:
    ok(client.post(f"/api/work-orders/{order_id}/assign", headers=dispatcher,
                   json={"technician_id": "tech-0001", "allow_missing_skills": True}))
    for name in ("accept", "en_route", "on_site", "complete"):
        step(client, dispatcher, order_id, name)


def notifications(client: TestClient, headers: dict[str, str], order_id: str,
                  until: Any = None) -> list[dict[str, Any]]:
    """The job's notifications, once ``until(items)`` holds (the worker runs off the request)."""
    deadline = time.monotonic() + 20
    while True:
        items: list[dict[str, Any]] = ok(client.get(
            f"/api/work-orders/{order_id}/notifications", headers=headers))["items"]
        if until is None or until(items) or time.monotonic() > deadline:
            return items
        time.sleep(0.1)


def settled(kinds: list[str]) -> Any:
    """Every kind posted to the page, and no text still waiting to go."""
    def check(items: list[dict[str, Any]]) -> bool:
        posted = [i["kind"] for i in items if i["channel"] == "web"]
        waiting = [i for i in items if i["status"] in {"pending", "sending"}]
        return posted == kinds and not waiting
    return check


def texts_to(sim: GenesysSimulator, phone: str) -> list[str]:
    return [m["textBody"] for m in sim.messages if m["toAddress"] == phone]


def test_texts_go_only_to_customers_who_consented_and_stop_opts_out(
        client: TestClient, genesys: tuple[GenesysSimulator, str]) -> None:
    sim, _ = genesys
    service, dispatcher = auth(client, "service"), auth(client, "dispatcher")
    yes, no = customer_with_phone(client, service, 0), customer_with_phone(client, service, 1)
    set_consent(client, service, yes["id"], True)
    set_consent(client, service, no["id"], False)

    jobs = {}
    for customer in (yes, no):
        order = book(client, dispatcher, customer["id"])
        run_job(client, dispatcher, order["id"])
        jobs[customer["id"]] = order["id"]
    listed = notifications(client, dispatcher, jobs[yes["id"]], settled(KINDS))
    assert [(i["kind"], i["channel"]) for i in listed] == [
        (kind, channel) for kind in KINDS for channel in ("sms", "web")]
    assert {i["status"] for i in listed if i["channel"] == "sms"} == {"sent"}
    assert all(i["sent_at"] and i["provider_id"] for i in listed if i["channel"] == "sms")
    texts = texts_to(sim, yes["phone"])
    assert len(texts) == len(KINDS)
    assert "/t/" in texts[0] and "between" in texts[0]  # the link and the window
    assert "should arrive" in texts[1]  # the ETA
    assert "on the way" in texts[2] and "/t/" in texts[2]  # the live tracking link

    unconsented = notifications(client, dispatcher, jobs[no["id"]], settled(KINDS))
    assert {i["channel"] for i in unconsented} == {"web"}
    assert texts_to(sim, no["phone"]) == []

    # The customer answers STOP: opted out, recorded as their own reply; no text after that.
    body, headers = sim.reply(yes["phone"], "STOP", secret=INBOUND)
    forged = {**headers, "X-Hub-Signature-256": "sha256=" + "0" * 64}
    assert_problem(client.post("/api/sms/inbound", content=body, headers=forged), 401)
    assert ok(client.post("/api/sms/inbound", content=body, headers=headers)) == {"changed": 1}
    history = ok(client.get(f"/api/customers/{yes['id']}/consents", headers=service))
    assert history["sms_opt_in"] is False
    assert [(h["granted"], h["source"], h["recorded_by"]) for h in history["items"]] == [
        (True, "phone_call", "service"), (False, "sms_reply", f"sms:{yes['phone']}")]
    later = book(client, dispatcher, yes["id"])
    after_stop = notifications(client, dispatcher, later["id"], settled(["booked"]))
    assert [i["channel"] for i in after_stop] == ["web"]
    assert len(texts_to(sim, yes["phone"])) == len(KINDS)


def test_the_tracking_link_is_for_dispatchers_and_customer_service_only(
        client: TestClient) -> None:
    dispatcher = auth(client, "dispatcher")
    order = book(client, dispatcher, "cust-00001")
    url = f"/api/work-orders/{order['id']}"
    link = ok(client.get(url, headers=dispatcher))["tracking_url"]
    assert link.startswith("http") and "/t/" in link
    assert order["tracking_url"] == link  # made as the job was created, found afterwards
    assert ok(client.get(url, headers=auth(client, "service")))["tracking_url"] == link
    ok(client.post(f"{url}/assign", headers=dispatcher,
                   json={"technician_id": "tech-0001", "allow_missing_skills": True}))
    for login in ("manager", "operations", "coordinator", "fleet", "tech1"):
        assert ok(client.get(url, headers=auth(client, login)))["tracking_url"] is None, login
    for login in ("billing", "tech1", "manager"):
        assert_problem(client.get(f"{url}/notifications", headers=auth(client, login)), 403)


def test_a_link_made_first_for_a_new_job_keeps_one_made_meanwhile(client: TestClient) -> None:
    """The create path inserts the link without reading first; had another maker been first, it
    answers that link, as the read-first way does."""
    order = book(client, auth(client, "dispatcher"), "cust-00001")
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    links = SqlCustomerNotifications(runtime.engine)
    assert client.portal is not None
    again = client.portal.call(lambda: links.link_for(order["id"], runtime.now(), new=True))
    found = client.portal.call(lambda: links.link_for(order["id"], runtime.now()))
    assert order["tracking_url"].endswith(f"/t/{again}") and found == again


def test_the_tracking_json_shows_one_job_and_nothing_once_expired_or_forged(
        client: TestClient) -> None:
    dispatcher = auth(client, "dispatcher")
    order = book(client, dispatcher, "cust-00001")
    link = ok(client.get(f"/api/work-orders/{order['id']}", headers=dispatcher))["tracking_url"]
    token = link.rsplit("/t/", 1)[1]
    view = ok(client.get(f"/api/track/{token}"))  # no login
    assert view["status"] == "new" and view["status_text"] == "Booked"
    assert set(view) == {"status", "status_text", "technician", "eta", "eta_text", "window_text",
                         "destination", "van", "updated_at", "expires_at", "poll_seconds",
                         "messages"}
    page = client.get(f"/t/{token}")
    assert page.status_code == 200 and "tracking.js" in page.text
    assert page.headers["cache-control"] == "no-store"

    run_job(client, dispatcher, order["id"])
    done = ok(client.get(f"/api/track/{token}"))
    assert done["status_text"] == "Completed" and done["technician"]
    assert " " not in done["technician"]  # the first name only

    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for bad in (forged, "x", "A" * 64):
        assert_problem(client.get(f"/api/track/{bad}"), 404)
        response = client.get(f"/t/{bad}")
        assert response.status_code == 404 and "Completed" not in response.text

    client.app.state.runtime.clock.advance(dt.timedelta(hours=3))  # type: ignore[attr-defined]
    assert_problem(client.get(f"/api/track/{token}"), 404)
    expired = client.get(f"/t/{token}")
    assert expired.status_code == 404 and "not available" in expired.text
    assert "Completed" not in expired.text and "tracking.js" not in expired.text
