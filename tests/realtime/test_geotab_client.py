"""The GeoTab feed client against the MyGeotab simulator, over real HTTP on loopback."""

from __future__ import annotations

import asyncio
import math
from datetime import timedelta

import pytest

from realtime.geotab import (
    DEVICE_STATUS_INFO,
    LOG_RECORD,
    GeotabFeedClient,
    InMemoryFeedCursorStore,
    InvalidUserException,
    MyGeotabApi,
)
from realtime.geotab.client import HandoffFailed


@pytest.fixture
async def new_client(geotab_sim):
    """Build feed clients on the simulator (its clock, its login); all closed after the test."""
    apis: list[MyGeotabApi] = []

    def build(store, on_fixes, *, password=None, **options) -> GeotabFeedClient:
        options.setdefault("clock", geotab_sim.clock.now)
        login = geotab_sim.login(**({"password": password} if password else {}))
        apis.append(MyGeotabApi(login))
        return GeotabFeedClient(apis[-1], cursor_store=store, on_fixes=on_fixes, **options)

    yield build
    for api in apis:
        await api.aclose()


def record_ids(fixes) -> list[str]:
    return [fix.record_id for fix in fixes]


async def test_first_call_only_takes_the_feed_position_and_later_calls_bring_new_records(
    new_client, geotab_sim, cursor_store, collected
):
    client = new_client(cursor_store, collected)
    geotab_sim.advance(30)
    geotab_sim.fleet.advance()

    [first] = await client.poll_once()
    assert first.received == 0  # a bare first GetFeed starts at "now", it does not replay
    assert len(first.to_version) == 16

    geotab_sim.advance(30)
    [second] = await client.poll_once()

    assert second.received > 0
    assert second.handed_off == second.received
    first_token_time = geotab_sim.clock.now() - timedelta(seconds=30)
    assert all(fix.device_time > first_token_time for fix in collected.items)


async def test_a_restarted_client_continues_from_the_persisted_token_without_duplicates(
    new_client, geotab_sim, cursor_store, collected
):
    first_client = new_client(cursor_store, collected)
    await first_client.poll_once()
    start_version = int(await cursor_store.get(first_client.cursor_key(LOG_RECORD)), 16)
    geotab_sim.advance(40)
    await first_client.poll_once()
    before_restart = len(collected.items)

    geotab_sim.advance(40)
    restarted = new_client(cursor_store, collected)
    await restarted.poll_once()

    ids = record_ids(collected.items)
    assert 0 < before_restart < len(ids)
    assert len(ids) == len(set(ids)), "no record is handed off twice"
    expected, _ = geotab_sim.fleet.log_records.read(start_version, 50_000)
    assert ids == [record["id"] for record in expected], "nothing is skipped either"


async def test_the_token_is_kept_back_until_the_batch_was_handed_off(new_client, geotab_sim, cursor_store):
    handed: list = []
    failures = iter([RuntimeError("board database is down")])

    async def flaky_hand_off(fixes):
        failure = next(failures, None)
        if failure is not None:
            raise failure
        handed.extend(fixes)

    client = new_client(cursor_store, flaky_hand_off)
    await client.poll_once()
    token = await cursor_store.get(client.cursor_key(LOG_RECORD))
    geotab_sim.advance(20)

    with pytest.raises(HandoffFailed):
        await client.poll_once()
    assert await cursor_store.get(client.cursor_key(LOG_RECORD)) == token

    [page] = await client.poll_once()
    assert page.received == len(handed) > 0
    assert await cursor_store.get(client.cursor_key(LOG_RECORD)) == page.to_version


async def test_a_full_page_is_followed_at_once_by_another_call_until_caught_up(
    new_client, geotab_sim, cursor_store, collected, recording_sleep
):
    client = new_client(
        cursor_store,
        collected,
        results_limit=40,
        poll_interval=3600,
        fast_interval=3600,
        catch_up_interval=0,
        sleep=recording_sleep,
        timer=lambda: 0.0,
    )
    await client.poll_once()
    geotab_sim.advance(60)
    geotab_sim.fleet.advance()
    waiting = len(
        geotab_sim.fleet.log_records.read(
            int(await cursor_store.get(client.cursor_key(LOG_RECORD)), 16), 50_000
        )[0]
    )
    assert waiting > 3 * 40

    task = asyncio.create_task(client.run())
    await asyncio.wait_for(recording_sleep.idle.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    full_pages = waiting // 40
    assert len(collected.items) == waiting
    assert client.stats[LOG_RECORD].full_pages == full_pages
    # One call per full page plus the short one that showed the feed was caught up.
    assert geotab_sim.simulator.count("GetFeed", LOG_RECORD) == 1 + full_pages + 1
    assert recording_sleep.waits == [0] * full_pages + [3600]
    assert math.isclose(client.stats[LOG_RECORD].received, waiting)


async def test_an_expired_session_is_renewed_and_the_call_retried(
    new_client, geotab_sim, cursor_store, collected
):
    client = new_client(cursor_store, collected)
    await client.poll_once()
    geotab_sim.simulator.expire_sessions()
    geotab_sim.advance(20)

    [page] = await client.poll_once()

    assert page.received > 0
    assert client.api.authentications == 2
    assert geotab_sim.simulator.count("GetFeed", outcome="InvalidUserException") == 1


async def test_a_wrong_password_is_reported_and_retried_only_slowly(
    new_client, geotab_sim, cursor_store, collected, recording_sleep
):
    client = new_client(cursor_store, collected, password="wrong", backoff_cap=3600, sleep=recording_sleep)
    with pytest.raises(InvalidUserException):
        await client.poll_once()

    task = asyncio.create_task(client.run())
    await asyncio.wait_for(recording_sleep.idle.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert client.stats[LOG_RECORD].auth_failures == 1
    assert "Incorrect login credentials" in (client.stats[LOG_RECORD].last_error or "")


async def test_authenticate_sends_later_calls_to_the_server_it_names(
    new_client, geotab_sim, cursor_store, collected, serve
):
    async with serve(geotab_sim.simulator) as other_url:
        other_host = other_url.removeprefix("http://")
        geotab_sim.simulator.redirect_to = other_host
        client = new_client(cursor_store, collected)
        await client.poll_once()

    assert client.api.endpoint == f"{other_url}/apiv1"
    feed_calls = [r for r in geotab_sim.simulator.requests if r.method == "GetFeed"]
    assert [r.port for r in feed_calls] == [int(other_host.rsplit(":", 1)[1])]


async def test_device_status_starts_from_the_current_state_then_follows_the_feed(
    new_client, geotab_sim, cursor_store, collected
):
    statuses: list = []

    async def on_status(items):
        statuses.extend(items)

    client = new_client(cursor_store, collected, on_status=on_status)
    geotab_sim.fleet.advance()
    pages = await client.poll_once()
    assert {status.device_id for status in statuses} == set(geotab_sim.fleet.vans)

    statuses.clear()
    geotab_sim.advance(30)
    pages = await client.poll_once([DEVICE_STATUS_INFO])

    assert pages[0].received == len(statuses) > 0
    assert all(status.device_time <= geotab_sim.clock.now() for status in statuses)
    assert await cursor_store.get(client.cursor_key(DEVICE_STATUS_INFO)) == pages[0].to_version


async def test_two_feeds_share_one_session(new_client, geotab_sim, collected):
    statuses: list = []

    async def on_status(items):
        statuses.extend(items)

    store = InMemoryFeedCursorStore()
    client = new_client(store, collected, on_status=on_status)
    await client.poll_once()
    geotab_sim.simulator.expire_sessions()
    geotab_sim.advance(5)
    await asyncio.gather(client.poll_once([LOG_RECORD]), client.poll_once([DEVICE_STATUS_INFO]))

    assert client.api.authentications == 2
    assert geotab_sim.simulator.count("Authenticate") == 2
