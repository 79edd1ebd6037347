"""Texts back to escalation texts, through the simulated inbound message flow's data action into
the real app, on SQLite and PostgreSQL: ``ACK <code>`` or ``1`` from the number a text went to
acknowledges as its person; an unknown number, a wrong code or a wrong secret changes nothing."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from realtime.notify.data_actions import SMS_REPLY, render
from tests.realtime.escalation_world import ALICE, FROM, OLGA, World, escalation_world


@pytest.fixture
async def world(engine: AsyncEngine, database_url: str) -> AsyncIterator[World]:
    async with escalation_world(engine, database_url) as made:
        yield made


def code_in(text: str) -> str:
    match = re.search(r"Reply ACK (\d{6}) to acknowledge\.$", text)
    assert match, text
    return match.group(1)


async def test_ack_with_the_alerts_code_from_the_number_texted_acknowledges(world: World) -> None:
    alert = await world.emergency()
    [text] = world.sim.messages
    assert text["toAddress"] == ALICE
    answer = await world.sim.campaign.text_back(ALICE, FROM, f"ack {code_in(text['textBody'])}")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"accepted": True, "outcome": "acknowledged",
                             "say": "Thank you. The alert is acknowledged."}
    done = await world.alert(alert["id"])
    assert done["status"] == "acknowledged" and done["acknowledged_by"] == world.users["alice"]
    assert ("alert.acknowledge", world.users["alice"]) in await world.audit(alert["id"])
    [row] = [r for r in await world.first.store.for_alert(alert["id"]) if r["channel"] == "sms"]
    assert row["response"] == "reply"


async def test_a_bare_1_acknowledges_the_latest_alert_texted_to_that_number(world: World) -> None:
    first = await world.emergency()
    world.now.advance(seconds=30)
    second = await world.emergency()
    answer = await world.sim.campaign.text_back(ALICE, FROM, "1")
    assert answer.json()["outcome"] == "acknowledged"
    assert (await world.alert(second["id"]))["status"] == "acknowledged"
    assert (await world.alert(first["id"]))["status"] == "open"


async def test_unknown_numbers_wrong_codes_and_wrong_secrets_change_nothing(
        world: World, caplog: pytest.LogCaptureFixture) -> None:
    alert = await world.emergency()
    code = code_in(world.sim.messages[0]["textBody"])
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    with caplog.at_level(logging.WARNING, logger="dispatch.alerts"):
        stranger = await world.sim.campaign.text_back("+13175550999", FROM, f"ACK {code}")
        olga = await world.sim.campaign.text_back(OLGA, FROM, f"ACK {code}")  # not texted yet
        guess = await world.sim.campaign.text_back(ALICE, FROM, f"ACK {wrong}")
        chatter = await world.sim.campaign.text_back(ALICE, FROM, "on my way")
        elsewhere = await world.sim.campaign.text_back(ALICE, "+13175550777", f"ACK {code}")
    for answer in (stranger, olga, guess, chatter, elsewhere):
        assert answer.status_code == 200 and answer.json()["outcome"] == "unknown"
        assert answer.json()["say"] == ""  # nothing said to whoever it is
    assert "matches no alert texted to it" in caplog.text
    assert "+13175550999" not in caplog.text  # numbers are masked in the log

    path, headers, body = render(SMS_REPLY, {"from": ALICE, "to": FROM, "text": f"ACK {code}"},
                                 {"callbackSecret": "not-the-secret"})
    async with httpx.AsyncClient() as client:
        forged = await client.post(world.app_url + path, content=body, headers=headers)
        bare = await client.post(world.app_url + path, content=body,
                                 headers={"Content-Type": "application/json"})
    assert forged.status_code == 401 and bare.status_code == 401
    assert forged.headers["content-type"].startswith("application/problem+json")
    assert (await world.alert(alert["id"]))["status"] == "open"
    rows = await world.first.store.for_alert(alert["id"])
    assert all(r["response"] is None for r in rows)


async def test_a_keypress_without_a_known_call_token_changes_nothing(world: World) -> None:
    alert = await world.emergency()
    [call] = world.calls_to(ALICE)
    call.data["callToken"] = "forged-token-of-sufficient-length"
    answer = await world.sim.campaign.press(call, "1")
    assert answer.json()["outcome"] == "unknown"
    assert (await world.alert(alert["id"]))["status"] == "open"
