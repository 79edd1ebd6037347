"""The GeoTab feed polls fast while positions flow and slows down when nothing comes, never
faster than MyGeotab's published GetFeed rate; its intervals are settings.

The client runs against the simulator over real HTTP; its sleep and timer are a simulated time
that also moves the simulator's clock, so no test sleeps and every wait is exact."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from realtime.geotab import (
    DEVICE_STATUS_INFO,
    LOG_RECORD,
    GeotabFeedClient,
    InMemoryFeedCursorStore,
    MyGeotabApi,
    PollPacer,
)
from realtime.geotab.protocol import GETFEED_MIN_SECONDS
from tests.realtime.conftest import SIM_START
from web.settings import Settings

FAST = 1.1
IDLE = 10.0


@dataclass
class SimulatedTime:
    """The client's ``sleep`` and ``timer``: a wait moves this time and the simulator's clock by
    exactly that much; after ``waits_wanted`` waits the feed is parked (the test ends it)."""

    sim: Any
    waits_wanted: int
    now: float = 0.0
    waits: list[float] = field(default_factory=list)
    enough: asyncio.Event = field(default_factory=asyncio.Event)

    def timer(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        if len(self.waits) >= self.waits_wanted:
            self.enough.set()
            await asyncio.Event().wait()
        self.now += seconds
        self.sim.advance(seconds)
        await asyncio.sleep(0)

    def spend(self, seconds: float) -> None:
        """Time that goes on the call itself (a slow answer or hand-off)."""
        self.now += seconds
        self.sim.advance(seconds)


async def run_feed(geotab_sim: Any, time: SimulatedTime, on_fixes: Any, **options: Any) -> Any:
    api = MyGeotabApi(geotab_sim.login())
    client = GeotabFeedClient(api, cursor_store=InMemoryFeedCursorStore(), on_fixes=on_fixes,
                              clock=geotab_sim.clock.now, sleep=time.sleep, timer=time.timer,
                              fast_interval=FAST, poll_interval=IDLE, **options)
    task = asyncio.create_task(client.run())
    try:
        await asyncio.wait_for(time.enough.wait(), 20)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await api.aclose()
    return client


def drive_every_van(fleet: Any) -> None:
    """Every van sets off now: each logs a record every second."""
    for device in list(fleet.vans):
        fleet.resume(device)


def park_every_van(fleet: Any) -> None:
    """Vans parked where they are: each logs once per ``stopped_interval`` (60 s)."""
    for device, van in list(fleet.vans.items()):
        fleet.add_van(device, van.lat, van.lon, roaming=False)


# -- the rules ------------------------------------------------------------------------------------


def test_records_keep_the_fast_interval_and_a_full_page_is_followed_at_the_catch_up_interval(
) -> None:
    pacer = PollPacer(fast=FAST, idle=IDLE, catch_up=1.0)

    assert pacer.after(received=12, full=False) == FAST
    assert pacer.after(received=50_000, full=True) == 1.0
    assert pacer.after(received=3, full=False) == FAST


def test_empty_pages_double_the_wait_up_to_the_idle_interval_and_records_reset_it() -> None:
    pacer = PollPacer(fast=FAST, idle=IDLE)

    waits = [pacer.after(received=0, full=False) for _ in range(6)]
    assert waits == pytest.approx([2.2, 4.4, 8.8, IDLE, IDLE, IDLE])
    assert pacer.after(received=1, full=False) == FAST
    assert pacer.after(received=0, full=False) == pytest.approx(2.2)


def test_the_time_a_call_took_counts_towards_its_interval() -> None:
    assert PollPacer.remaining(FAST, 0.4) == pytest.approx(0.7)
    assert PollPacer.remaining(FAST, 3.0) == 0.0


@pytest.mark.parametrize(("fast", "idle", "catch_up", "why"), [
    (0.0, 1.0, 1.0, "fast interval"), (2.0, 1.0, 1.0, "fast interval"),
    (1.0, 2.0, -1.0, "catch-up interval")])
def test_intervals_that_make_no_sense_are_refused(fast: float, idle: float, catch_up: float,
                                                  why: str) -> None:
    with pytest.raises(ValueError, match=why):
        PollPacer(fast=fast, idle=idle, catch_up=catch_up)


# -- the client against the simulator -------------------------------------------------------------


async def test_a_feed_with_moving_vans_is_polled_at_the_fast_interval(geotab_sim, collected
                                                                      ) -> None:
    drive_every_van(geotab_sim.fleet)
    time = SimulatedTime(geotab_sim, waits_wanted=8)

    client = await run_feed(geotab_sim, time, collected)

    # The bare first call only takes the feed's place (an empty page); then records every time.
    assert time.waits == pytest.approx([2 * FAST] + [FAST] * 7)
    assert all(batch for batch in collected.batches)
    assert len(collected.batches) == 7
    assert client.stats[LOG_RECORD].interval == FAST


async def test_an_idle_feed_slows_down_and_speeds_up_when_a_van_reports(geotab_sim, collected
                                                                       ) -> None:
    park_every_van(geotab_sim.fleet)  # they log again 60 s from now
    time = SimulatedTime(geotab_sim, waits_wanted=11)

    await run_feed(geotab_sim, time, collected)

    # Calls at 0, 2.2, 6.6, 15.4, 25.4 ... 65.4 s: that one brings the records of 60 s.
    assert time.waits == pytest.approx([2.2, 4.4, 8.8] + [IDLE] * 5 + [FAST, 2.2, 4.4])
    assert len(collected.batches) == 1
    assert {fix.device_time for fix in collected.items} == {SIM_START + timedelta(seconds=60)}


async def test_the_next_call_starts_an_interval_after_the_last_one_started_or_at_once_if_late(
        geotab_sim) -> None:
    drive_every_van(geotab_sim.fleet)
    time = SimulatedTime(geotab_sim, waits_wanted=9)
    planned = iter([0.4, 0.0, 1.5, 0.9, 3.0, 0.05, 1.1, 0.7])
    spent: list[float] = []

    async def slow_hand_off(fixes: list[Any]) -> None:
        spent.append(next(planned))
        time.spend(spent[-1])  # writing the batch took that much of the interval

    await run_feed(geotab_sim, time, slow_hand_off)

    assert len(spent) == 8  # every call after the bare first one brought records
    from_start_to_start = [took + wait for took, wait in zip(spent, time.waits[1:], strict=True)]
    assert from_start_to_start == pytest.approx([max(FAST, took) for took in spent])
    assert min(from_start_to_start) >= GETFEED_MIN_SECONDS


async def test_the_status_feed_keeps_the_idle_interval_while_positions_flow(geotab_sim,
                                                                           collected) -> None:
    """DeviceStatusInfo restates the newest positions: polled as fast, it would double the work."""
    drive_every_van(geotab_sim.fleet)
    waits: dict[str, list[float]] = {LOG_RECORD: [], DEVICE_STATUS_INFO: []}
    enough = asyncio.Event()

    async def sleep(seconds: float) -> None:
        task = asyncio.current_task()
        waits[task.get_name().removeprefix("geotab-feed-") if task else ""].append(seconds)
        if len(waits[DEVICE_STATUS_INFO]) >= 3:
            enough.set()
            await asyncio.Event().wait()
        geotab_sim.advance(seconds)
        await asyncio.sleep(0)

    api = MyGeotabApi(geotab_sim.login())
    client = GeotabFeedClient(api, cursor_store=InMemoryFeedCursorStore(), on_fixes=collected,
                              on_status=collected, clock=geotab_sim.clock.now, sleep=sleep,
                              timer=lambda: 0.0, fast_interval=FAST, poll_interval=IDLE)
    task = asyncio.create_task(client.run())
    try:
        await asyncio.wait_for(enough.wait(), 20)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await api.aclose()

    assert waits[DEVICE_STATUS_INFO] == [IDLE] * 3  # each page brought statuses
    assert waits[LOG_RECORD][0] == pytest.approx(2 * FAST)  # the bare first call
    assert set(waits[LOG_RECORD][1:]) == {FAST}


# -- the settings ---------------------------------------------------------------------------------


def test_the_default_settings_poll_fast_while_data_flows_and_every_30_s_when_idle() -> None:
    settings = Settings()
    assert settings.geotab_poll_fast_seconds == FAST
    assert settings.geotab_poll_seconds == 30.0


def test_a_fast_interval_under_mygeotabs_published_rate_is_refused(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEOTAB_POLL_FAST_SECONDS", "0.5")
    with pytest.raises(ValidationError, match="geotab_poll_fast_seconds"):
        Settings()
    with pytest.raises(ValidationError, match="geotab_poll_seconds"):
        Settings(geotab_poll_fast_seconds=1.0, geotab_poll_seconds=0.2)


def test_an_idle_interval_shorter_than_the_fast_one_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"GEOTAB_POLL_SECONDS .* must be at least"):
        Settings(geotab_poll_fast_seconds=5.0, geotab_poll_seconds=2.0)


def test_the_same_value_for_both_is_fixed_polling() -> None:
    settings = Settings(geotab_poll_fast_seconds=30.0, geotab_poll_seconds=30.0)
    pacer = PollPacer(fast=settings.geotab_poll_fast_seconds, idle=settings.geotab_poll_seconds)
    assert {pacer.after(received=n, full=False) for n in (5, 0, 0, 7, 0)} == {30.0}
