"""Fault injection for the MyGeotab simulator: the next N calls fail in a chosen way."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Literal

FaultKind = Literal["over_limit", "unavailable", "slow", "db_unavailable"]


@dataclass(frozen=True, slots=True)
class Fault:
    """One planned failure. `method` None matches any call."""

    kind: FaultKind
    method: str | None = None
    retry_after: int = 41
    http_status: int = 200
    seconds: float = 0.0


class Faults:
    """A queue of planned failures, consumed one per matching call, in order."""

    def __init__(self) -> None:
        self._queue: deque[Fault] = deque()

    def rate_limit_next(
        self,
        calls: int = 1,
        *,
        retry_after: int = 41,
        http_status: int = 200,
        method: str | None = "GetFeed",
    ) -> None:
        """OverLimitException with `Retry-After`; as HTTP 200 (what Geotab was seen to send)
        or HTTP 429."""
        if http_status not in (200, 429):
            raise ValueError("an over-limit answer is HTTP 200 or 429")
        self._add(calls, Fault("over_limit", method, retry_after=retry_after, http_status=http_status))

    def unavailable_next(self, calls: int = 1, *, method: str | None = None) -> None:
        """HTTP 503 with an HTML page, like a load balancer in front of a down server."""
        self._add(calls, Fault("unavailable", method))

    def slow_next(self, calls: int = 1, *, seconds: float, method: str | None = None) -> None:
        """Answer only after `seconds`, so a client with a shorter timeout gets a network error."""
        self._add(calls, Fault("slow", method, seconds=seconds))

    def db_unavailable_next(self, calls: int = 1, *, method: str | None = None) -> None:
        """DbUnavailableException ("Initializing"): a temporary database outage."""
        self._add(calls, Fault("db_unavailable", method))

    def clear(self) -> None:
        self._queue.clear()

    def pending(self) -> int:
        return len(self._queue)

    def take(self, method: str) -> Fault | None:
        """The first planned fault that matches `method`, removed from the queue."""
        for fault in self._queue:
            if fault.method is None or fault.method == method:
                self._queue.remove(fault)
                return fault
        return None

    def _add(self, calls: int, fault: Fault) -> None:
        if calls < 1:
            raise ValueError("calls must be at least 1")
        self._queue.extend([fault] * calls)
