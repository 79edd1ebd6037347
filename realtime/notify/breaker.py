"""A circuit breaker around a delivery channel: stop calling a provider that is down.

Closed: every delivery goes through. ``threshold`` transient failures in a row (5xx, network
errors; a refusal of one message does not count, the provider answered) open it: deliveries are
refused at once for ``cooldown``, without calling the provider, and the delivery worker
postpones them. When the cooldown has passed, one delivery goes through as a trial (half open): a
success closes the circuit, a failure opens it again for twice as long (up to
``max_cooldown``). A provider's 429 holds the channel until its ``Retry-After`` (not a failure).

Its counters (successes, failures, last error) feed the alert rules' integration health, so a
provider down raises one ``integration_failing`` system alert, resolved at its first success.
Times come from the application's clock.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from domain.alert_delivery import PendingNotification
from realtime.notify.base import Channel, DeliveryFailed, SendReceipt

log = logging.getLogger("dispatch.notify")


@dataclass
class BreakerStats:
    """What the integration health probe reads (``poller_counters``' shape): every call made,
    the transient failures among them, the last one's error."""

    calls: int = 0
    failures: int = 0
    last_error: str = ""


class CircuitBreaker:
    def __init__(self, inner: Channel, *, provider: str,
                 clock: Callable[[], dt.datetime], threshold: int = 3,
                 cooldown: dt.timedelta = dt.timedelta(seconds=60),
                 max_cooldown: dt.timedelta = dt.timedelta(minutes=10)) -> None:
        self.inner = inner
        self.name = inner.name
        self.provider = provider
        self.clock = clock
        self.threshold = threshold
        self.base_cooldown = cooldown
        self.max_cooldown = max_cooldown
        self.state = "closed"
        self.opened = 0          # how many times it opened
        self.in_a_row = 0        # transient failures since the last success
        self.cooldown = cooldown
        self.until: dt.datetime | None = None  # open (or held by a 429) until then
        self.stats = BreakerStats()

    def blocked_until(self, now: dt.datetime) -> dt.datetime | None:
        """When deliveries may go again (None: now)."""
        if self.until is not None and now < self.until:
            return self.until
        return None

    async def deliver(self, item: PendingNotification) -> SendReceipt:
        now = self.clock()
        until = self.blocked_until(now)
        if until is not None:
            raise DeliveryFailed(f"{self.provider}: circuit {self.state} until {until:%H:%M:%S}",
                                 retry_after=(until - now).total_seconds(), attempted=False)
        if self.state == "open":
            self.state = "half_open"  # this delivery is the trial
        self.stats.calls += 1
        try:
            receipt = await self.inner.deliver(item)
        except DeliveryFailed as error:
            self._failed(error)
            raise
        self._succeeded()
        return receipt

    def _succeeded(self) -> None:
        if self.state != "closed":
            log.warning("%s answers again: circuit closed", self.provider)
        self.state, self.in_a_row, self.until = "closed", 0, None
        self.cooldown = self.base_cooldown
        self.stats.last_error = ""

    def _failed(self, error: DeliveryFailed) -> None:
        now = self.clock()
        if error.permanent:  # the provider answered (it is up) and refused this one
            self.in_a_row, self.state, self.until = 0, "closed", None
            return
        if error.retry_after is not None:  # throttled: up, but asks us to wait
            self.until = now + dt.timedelta(seconds=error.retry_after)
            return
        self.in_a_row += 1
        self.stats.failures += 1
        self.stats.last_error = str(error)[:500]
        if self.state == "half_open":
            self.cooldown = min(self.cooldown * 2, self.max_cooldown)
            self._open(now)
        elif self.in_a_row >= self.threshold:
            self._open(now)

    def _open(self, now: dt.datetime) -> None:
        self.state = "open"
        self.opened += 1
        self.until = now + self.cooldown
        log.warning("%s failed %s times in a row: circuit open until %s (%s)", self.provider,
                    self.in_a_row, self.until.isoformat(), self.stats.last_error)

    async def aclose(self) -> None:
        await self.inner.aclose()
