"""The supervisor: crashed workers come back after a capped, jittered backoff; stop is clean;
once-per-cluster work waits for the leadership. Sleeps and the clock are injected: no waiting."""

from __future__ import annotations

import asyncio
import datetime as dt
import random

import pytest

from realtime.supervisor import STANDBY_RECHECK, After, Supervisor

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


class FakeTime:
    """Sleeps that only record how long they were asked for and advance a clock. After
    ``budget`` sleeps every further sleep blocks until cancelled, so loops stay bounded."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.slept: list[float] = []
        self.now = T0
        self.exhausted = asyncio.Event()

    def clock(self) -> dt.datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        if len(self.slept) >= self.budget:
            self.exhausted.set()
            await asyncio.Event().wait()  # until the supervisor cancels it
        self.slept.append(seconds)
        self.now += dt.timedelta(seconds=seconds)
        await asyncio.sleep(0)


class Recorder:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def succeeded(self, name: str, seconds: float) -> None:
        self.seen.append((name, "ok"))

    def failed(self, name: str, error: BaseException) -> None:
        self.seen.append((name, "failed"))

    def restarting(self, name: str, delay: float) -> None:
        self.seen.append((name, "restart"))

    def state_changed(self, name: str, state: str) -> None:
        self.seen.append((name, f"state:{state}"))


async def test_a_crashing_periodic_worker_backs_off_then_recovers_and_stops_cleanly() -> None:
    time = FakeTime(budget=6)
    observer = Recorder()
    supervisor = Supervisor(clock=time.clock, sleep=time.sleep, rng=random.Random(7),
                            backoff_base=1.0, backoff_cap=60.0, observer=observer)
    calls = 0

    async def step() -> None:
        nonlocal calls
        calls += 1
        if calls <= 3:
            raise ConnectionError(f"database down ({calls})")

    health = supervisor.periodic("retention", step, interval=3600.0)
    supervisor.start()
    await asyncio.wait_for(time.exhausted.wait(), 5)

    # three failures: 1, 2, 4 s nominal, each jittered into [half, full]; then the interval
    backoffs, after = time.slept[:3], time.slept[3]
    for delay, nominal in zip(backoffs, (1.0, 2.0, 4.0), strict=True):
        assert nominal / 2 <= delay <= nominal
    assert after == 3600.0
    record = supervisor.health()["retention"]
    assert record["failures"] == 3 and record["consecutive_failures"] == 0
    assert record["last_error"] == "ConnectionError: database down (3)"
    assert health.last_success is not None and health.last_success > T0
    assert ("retention", "failed") in observer.seen and ("retention", "ok") in observer.seen

    await supervisor.stop()
    assert health.state == "stopped"
    assert all(w.task is None for w in supervisor.workers.values())


async def test_a_service_that_crashes_is_restarted_with_a_capped_backoff() -> None:
    time = FakeTime(budget=8)
    supervisor = Supervisor(clock=time.clock, sleep=time.sleep, rng=random.Random(1),
                            backoff_base=1.0, backoff_cap=10.0)
    starts = 0

    async def run() -> None:
        nonlocal starts
        starts += 1
        raise RuntimeError("feed client crashed")

    health = supervisor.service("feed:geotab", run)
    supervisor.start()
    await asyncio.wait_for(time.exhausted.wait(), 5)

    assert starts == 9  # the first start and eight restarts
    assert health.restarts == 8
    assert all(delay <= 10.0 for delay in time.slept)
    assert time.slept[-1] >= 5.0  # the cap (10 s) times at least half
    assert health.last_error == "RuntimeError: feed client crashed"
    await supervisor.stop()
    assert health.state == "stopped"


async def test_a_provider_asking_to_wait_is_waited_for() -> None:
    time = FakeTime(budget=1)
    supervisor = Supervisor(clock=time.clock, sleep=time.sleep)

    class RateLimited(Exception):
        retry_after = 42.0

    async def step() -> None:
        raise RateLimited("429")

    supervisor.periodic("sms-delivery", step, interval=5.0)
    supervisor.start()
    await asyncio.wait_for(time.exhausted.wait(), 5)
    assert time.slept == [42.0]
    await supervisor.stop()


async def test_stop_lets_a_step_under_way_finish_and_starts_no_other() -> None:
    supervisor = Supervisor()
    entered, release = asyncio.Event(), asyncio.Event()
    steps: list[str] = []

    async def step() -> After:
        steps.append("began")
        entered.set()
        await release.wait()  # e.g. a transaction between two statements
        await asyncio.sleep(0)
        steps.append("ended")
        return After(0.0)  # would step again at once

    health = supervisor.periodic("deliveries", step, interval=15.0)
    supervisor.start()
    await asyncio.wait_for(entered.wait(), 5)
    stopping = asyncio.create_task(supervisor.stop(grace=5.0))
    await asyncio.sleep(0.01)
    assert not stopping.done()  # waiting for the step, not cancelling it
    release.set()
    await asyncio.wait_for(stopping, 5)
    assert steps == ["began", "ended"]
    assert health.state == "stopped" and health.runs == 1 and health.failures == 0


async def test_stop_cancels_a_step_in_progress_and_lets_cancellation_through() -> None:
    """A step that outlasts the grace period is cancelled."""
    supervisor = Supervisor()
    entered = asyncio.Event()
    cancelled = asyncio.Event()

    async def step() -> None:
        entered.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    health = supervisor.periodic("alerts", step, interval=15.0)
    supervisor.start()
    await asyncio.wait_for(entered.wait(), 5)
    await asyncio.wait_for(supervisor.stop(grace=0.05), 5)
    assert cancelled.is_set()
    assert health.state == "stopped" and health.failures == 0  # a cancel is not a failure


async def test_a_leader_only_worker_waits_in_standby_until_the_lock_is_held() -> None:
    time = FakeTime(budget=3)
    supervisor = Supervisor(clock=time.clock, sleep=time.sleep)
    leading = False
    runs = 0

    async def step() -> None:
        nonlocal runs
        runs += 1

    def leader() -> bool:
        nonlocal leading
        was, leading = leading, len(time.slept) >= 2  # becomes leader after two standby waits
        return was

    health = supervisor.periodic("retention", step, interval=3600.0, leader=leader)
    supervisor.start()
    await asyncio.wait_for(time.exhausted.wait(), 5)
    assert time.slept[:2] == [STANDBY_RECHECK] * 2  # standby re-checks, nothing ran
    assert runs == 1 and health.runs == 1
    await supervisor.stop()


async def test_a_wake_ends_the_wait_at_once() -> None:
    supervisor = Supervisor()
    wake = asyncio.Event()
    ran = asyncio.Queue[int]()
    count = 0

    async def step() -> None:
        nonlocal count
        count += 1
        ran.put_nowait(count)

    supervisor.periodic("relay", step, interval=3600.0, wake=wake)
    supervisor.start()
    assert await asyncio.wait_for(ran.get(), 5) == 1
    wake.set()
    assert await asyncio.wait_for(ran.get(), 5) == 2  # not an hour later
    await supervisor.stop()


async def test_a_step_chooses_its_next_wait_only_with_after() -> None:
    """A step that answers what it did (a count: nothing was due, 0; one was sent, 1) waits the
    interval: only ``After`` sets the wait. (Two workers once answered their counts, so a quiet
    one, 0, ran again at once, dozens of passes of database statements a second, for ever.)"""
    time = FakeTime(budget=6)
    supervisor = Supervisor(clock=time.clock, sleep=time.sleep)
    answers = iter([0, 1, True, After(0.25), None, 2.5, 0])

    async def step() -> object:
        return next(answers)

    supervisor.periodic("alert-delivery", step, interval=5.0)
    supervisor.start()
    await asyncio.wait_for(time.exhausted.wait(), 5)
    assert time.slept == [5.0, 5.0, 5.0, 0.25, 5.0, 5.0]
    await supervisor.stop()


def test_two_workers_may_not_share_a_name() -> None:
    supervisor = Supervisor()

    async def step() -> None:
        return None

    supervisor.periodic("relay", step, interval=1.0)
    supervisor.workers["relay"].task = object()  # type: ignore[assignment]
    with pytest.raises(ValueError, match="already supervised"):
        supervisor.periodic("relay", step, interval=1.0)
