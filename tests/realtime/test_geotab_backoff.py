"""How the supervised GeoTab feed waits out rate limits, outages and slow answers."""

from __future__ import annotations

import asyncio

import pytest

from realtime.geotab import LOG_RECORD, GeotabFeedClient, InMemoryFeedCursorStore, MyGeotabApi


def no_time() -> float:
    """The client's timer here: calls take no time, so each wait is the whole interval."""
    return 0.0


@pytest.fixture
async def feed(geotab_sim, cursor_store, collected, recording_sleep):
    """A client already holding a feed token, with waits recorded instead of slept."""
    api = MyGeotabApi(geotab_sim.login(), timeout=0.3)
    client = GeotabFeedClient(
        api,
        cursor_store=cursor_store,
        on_fixes=collected,
        clock=geotab_sim.clock.now,
        poll_interval=3600,
        fast_interval=3600,
        catch_up_interval=0,
        timer=no_time,
        backoff_base=1.0,
        backoff_cap=60.0,
        sleep=recording_sleep,
    )
    await client.poll_once()
    geotab_sim.advance(30)
    yield client
    await api.aclose()


async def run_until_idle(client: GeotabFeedClient, recording_sleep) -> None:
    """Run the feed until it is caught up and parked on its poll interval, then stop it."""
    task = asyncio.create_task(client.run())
    try:
        await asyncio.wait_for(recording_sleep.idle.wait(), 10)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


@pytest.mark.parametrize("http_status", [200, 429])
async def test_an_over_limit_answer_waits_exactly_retry_after_then_carries_on(
    geotab_sim, feed, collected, recording_sleep, http_status
):
    geotab_sim.simulator.faults.rate_limit_next(2, retry_after=7, http_status=http_status)

    await run_until_idle(feed, recording_sleep)

    assert recording_sleep.waits == [7, 7, 3600]
    assert feed.stats[LOG_RECORD].rate_limited == 2
    assert "OverLimitException" in (feed.stats[LOG_RECORD].last_error or "")
    assert len(collected.items) > 0


async def test_an_unavailable_server_is_retried_with_growing_jittered_waits(
    geotab_sim, feed, collected, recording_sleep
):
    geotab_sim.simulator.faults.unavailable_next(4)

    await run_until_idle(feed, recording_sleep)

    *backoffs, idle = recording_sleep.waits
    assert idle == 3600
    assert len(backoffs) == 4
    for attempt, wait in enumerate(backoffs):
        nominal = 2.0**attempt
        assert nominal / 2 <= wait <= nominal
    assert feed.stats[LOG_RECORD].transient_errors == 4
    assert len(collected.items) > 0


async def test_backoff_is_capped(geotab_sim, feed, recording_sleep):
    geotab_sim.simulator.faults.unavailable_next(9)

    await run_until_idle(feed, recording_sleep)

    assert max(recording_sleep.waits[:-1]) <= 60.0
    assert recording_sleep.waits[-2] >= 30.0


async def test_a_timed_out_call_counts_as_a_network_error_and_is_retried(
    geotab_sim, feed, collected, recording_sleep
):
    geotab_sim.simulator.faults.slow_next(1, seconds=0.6, method="GetFeed")

    await run_until_idle(feed, recording_sleep)

    assert feed.stats[LOG_RECORD].transient_errors == 1
    assert "Timeout" in (feed.stats[LOG_RECORD].last_error or "")
    assert len(collected.items) > 0


async def test_a_database_outage_is_waited_out(geotab_sim, feed, collected, recording_sleep):
    geotab_sim.simulator.faults.db_unavailable_next(2)

    await run_until_idle(feed, recording_sleep)

    assert feed.stats[LOG_RECORD].transient_errors == 2
    assert len(collected.items) > 0


async def test_a_failing_hand_off_is_retried_without_losing_or_skipping_records(
    geotab_sim, cursor_store, recording_sleep
):
    received: list = []
    attempts = 0

    async def hand_off(fixes):
        nonlocal attempts
        attempts += 1
        if attempts <= 2:
            raise RuntimeError("position store unavailable")
        received.extend(fixes)

    api = MyGeotabApi(geotab_sim.login())
    client = GeotabFeedClient(
        api,
        cursor_store=cursor_store,
        on_fixes=hand_off,
        clock=geotab_sim.clock.now,
        poll_interval=3600,
        fast_interval=3600,
        timer=no_time,
        sleep=recording_sleep,
    )
    await client.poll_once()
    start = int(await cursor_store.get(client.cursor_key(LOG_RECORD)), 16)
    geotab_sim.advance(30)

    await run_until_idle(client, recording_sleep)
    await api.aclose()

    expected, _ = geotab_sim.fleet.log_records.read(start, 50_000)
    assert [fix.record_id for fix in received] == [record["id"] for record in expected]
    assert client.stats[LOG_RECORD].handoff_failures == 2


async def test_an_unexpected_failure_is_logged_and_the_feed_carries_on(
    geotab_sim, collected, recording_sleep, caplog
):
    class FlakyStore(InMemoryFeedCursorStore):
        failures = 1

        async def get(self, feed):
            if self.failures:
                self.failures -= 1
                raise RuntimeError("cursor table locked")
            return await super().get(feed)

    api = MyGeotabApi(geotab_sim.login())
    client = GeotabFeedClient(
        api,
        cursor_store=FlakyStore(),
        on_fixes=collected,
        clock=geotab_sim.clock.now,
        poll_interval=3600,
        fast_interval=3600,
        timer=no_time,
        sleep=recording_sleep,
    )

    await run_until_idle(client, recording_sleep)
    await api.aclose()

    assert client.stats[LOG_RECORD].transient_errors == 1
    assert "cursor table locked" in caplog.text
    assert len(recording_sleep.waits) == 2
