"""Escalations by e-mail (through a local SMTP server, aiosmtpd) and by signed webhooks to chat and
incident tools (a local receiver), on SQLite and PostgreSQL: who gets what at which level, the
message on the wire, every attempt recorded, retries with backoff, dead letters, and a receiver
that is down opening its own circuit and raising one system alert."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator
from email import message_from_bytes
from email.message import Message
from typing import Any

import httpx
import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from realtime.intake.webhooks import Webhook
from realtime.notify.simulator import read_body
from storage import tables as t
from tests.realtime.conftest import serve_asgi
from tests.realtime.escalation_world import ALICE, World, escalation_world

SECRET = "whsec_" + "c2VjcmV0LW9mLXRoZS10ZWFtcy1ob29r"  # base64 of the key's bytes
REFUSED = "nobody@example.com"


class Mailbox:
    """An aiosmtpd handler: keeps what it is given; refuses ``REFUSED`` (550)."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        if address == REFUSED:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"


class Receiver:
    """A chat or incident tool's endpoint: records each POST; answers ``status``."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, str], bytes]] = []
        self.status = 200

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = await read_body(receive)
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.posts.append((scope["path"], headers, body))
        await send({"type": "http.response.start", "status": self.status, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [json.loads(b) for p, _, b in self.posts if p == path]


@pytest.fixture
async def mailbox() -> AsyncIterator[tuple[Mailbox, int]]:
    box = Mailbox()
    server = await asyncio.get_running_loop().create_server(
        lambda: SMTP(box, hostname="mail.test"), "127.0.0.1", 0)
    try:
        yield box, server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture
async def world(engine: AsyncEngine, database_url: str, mailbox: tuple[Mailbox, int]
                ) -> AsyncIterator[tuple[World, Mailbox, Receiver]]:
    box, port = mailbox
    receiver = Receiver()
    async with serve_asgi(receiver) as hooks:
        webhooks = [{"name": "teams", "url": f"{hooks}/teams", "format": "teams",
                     "secret": SECRET},
                    {"name": "pagerduty", "url": f"{hooks}/pagerduty", "format": "pagerduty",
                     "routing_key": "R0UTINGKEY", "levels": [2, 3]}]
        async with escalation_world(
                engine, database_url, smtp_host="127.0.0.1", smtp_port=port,
                smtp_security="none", alert_email_from="alerts@dispatch.test",
                alert_emails=f"ops@example.com, 2={REFUSED}",
                alert_webhooks=json.dumps(webhooks)) as made:
            async with engine.begin() as conn:  # Alice has an address of her own
                await conn.execute(insert(t.alert_contacts).values(
                    user_id=made.users["alice"], email="alice@example.com", updated_at=made.now.at))
            yield made, box, receiver


async def rows(world: World, alert_id: str, channel: str) -> list[dict[str, Any]]:
    return [r for r in await world.first.store.for_alert(alert_id) if r["channel"] == channel]


async def test_each_level_mails_and_posts_to_whom_it_should(
        world: tuple[World, Mailbox, Receiver]) -> None:
    w, box, receiver = world
    alert = await w.emergency()
    assert sorted(to[0] for to, _ in box.messages) == ["alice@example.com", "ops@example.com"]
    _, mail = box.messages[0]
    assert mail["Subject"] == f"[CRITICAL L1 store] {alert['title']} (Store 1)"
    assert mail["From"] == "alerts@dispatch.test" and mail["X-Dispatch-Alert"] == alert["id"]
    assert alert["id"] in mail.get_payload()
    [card] = receiver.bodies("/teams")  # level 1: Teams hears every level, PagerDuty 2 and 3
    assert card["@type"] == "MessageCard" and card["summary"] == alert["title"]
    assert receiver.bodies("/pagerduty") == []
    [(_, headers, body)] = receiver.posts
    [teams_row] = await rows(w, alert["id"], "webhook")
    assert headers["webhook-id"] == teams_row["id"]  # the same id on every retry
    Webhook(SECRET).verify(headers, body)  # signed as a Standard Webhook

    await w.sim.campaign.press(w.calls_to(ALICE)[0], "2")  # passed on: level 2
    await w.first.escalations()
    await w.first.worker.run_once()
    [event] = receiver.bodies("/pagerduty")
    assert event["routing_key"] == "R0UTINGKEY" and event["event_action"] == "trigger"
    assert event["dedup_key"] == alert["id"] and event["payload"]["severity"] == "critical"
    refused = [r for r in await rows(w, alert["id"], "email") if r["recipient"] == REFUSED]
    assert [(r["status"], r["attempts"]) for r in refused] == [("failed", 1)]  # 550: dead at once
    assert "550" in refused[0]["error"]


async def test_a_receiver_that_is_down_is_retried_then_dead_lettered_and_its_circuit_opens(
        world: tuple[World, Mailbox, Receiver]) -> None:
    w, _, receiver = world
    receiver.status = 503
    alert = await w.emergency()
    [row] = await rows(w, alert["id"], "webhook")
    assert (row["status"], row["attempts"]) == ("pending", 1) and "HTTP 503" in row["error"]
    assert row["next_attempt_at"] == w.now.at + dt.timedelta(seconds=10)  # then 20 s, 40 s ...
    teams = w.first.worker.channels["webhook:teams"]
    for _ in range(12):  # retries on the clock: backoff, then the circuit's cooldowns
        w.now.advance(minutes=3)
        await w.first.worker.run_once()
    [row] = await rows(w, alert["id"], "webhook")
    assert (row["status"], row["attempts"]) == ("failed", 5)  # dead-lettered after 5 attempts
    assert len(receiver.bodies("/teams")) == 5 and teams.opened >= 1
    assert w.first.worker.channels["sms"].state == "closed"  # one provider's trouble only

    facts = w.facts()
    await w.rules_pass(facts=facts)
    a = t.alerts
    async with w.engine.connect() as conn:
        keys = (await conn.execute(select(a.c.dedup_key).where(
            a.c.kind == "integration_failing", a.c.status == "open"))).scalars().all()
    assert keys == ["integration_failing:notify:webhook-teams"]

    # the dead letter, as admins see it, and sent again once the receiver is back
    async with httpx.AsyncClient(base_url=w.app_url) as client:
        dead = await client.get("/api/alert-deliveries", params={"status": "failed"},
                                headers=w.headers("adam"))
        assert [d["id"] for d in dead.json()["items"]] == [row["id"]]
        listed = await client.get(f"/api/alerts/{alert['id']}/deliveries",
                                  headers=w.headers("alice"))
        assert {d["channel"] for d in listed.json()["items"]} == {"sms", "voice", "email",
                                                                  "webhook"}
        assert (await client.get("/api/alert-deliveries",
                                 headers=w.headers("alice"))).status_code == 403
        receiver.status = 200
        retried = await client.post(f"/api/alert-deliveries/{row['id']}/retry",
                                    headers=w.headers("adam"))
        assert retried.status_code == 200 and retried.json()["status"] == "pending"
        again = await client.post(f"/api/alert-deliveries/{row['id']}/retry",
                                  headers=w.headers("adam"))
        assert again.status_code == 409 and again.json()["code"] == "not_failed"
    w.now.advance(minutes=15)  # past the circuit's cooldown: its trial is this delivery
    await w.first.worker.run_once()
    [row] = [r for r in await rows(w, alert["id"], "webhook") if r["level"] == 1]
    assert (row["status"], row["attempts"]) == ("sent", 1) and teams.state == "closed"
