"""The one clock the application reads.

Every rule that depends on the time of day takes its ``now`` from the clock handed to
``create_app`` (``Runtime.now``); the default is the system's UTC clock. Tests and the demo's
proof-of-every-hour hand it a ``ShiftedClock``: real seconds pass, but the day starts at an instant
of their choosing, so timers, token lifetimes and escalations behave as they would then.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

#: A clock: returns an aware UTC datetime.
Clock = Callable[[], dt.datetime]


def system_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class ShiftedClock:
    """Wall-clock seconds counted from ``start``: ``clock()`` is ``start`` plus the time elapsed
    since the clock was made. ``advance`` moves it forward (a test's "an hour later")."""

    def __init__(self, start: dt.datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("the clock's start must be an aware datetime")
        self.start = start.astimezone(dt.UTC)
        self._origin = time.monotonic()
        self._extra = dt.timedelta()

    def __call__(self) -> dt.datetime:
        return self.start + self._extra + dt.timedelta(seconds=time.monotonic() - self._origin)

    def advance(self, delta: dt.timedelta) -> None:
        self._extra += delta
