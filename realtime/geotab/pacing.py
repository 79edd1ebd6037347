"""How long a feed waits before its next GetFeed call: fast while data flows, slower when idle.

MyGeotab publishes one GetFeed call a second per entity type (60 a minute); its data-feed guide
asks for adaptive polling: a full page means more is waiting, a short page a short wait, empty
pages progressively longer waits, reset when data returns. After each successful call:

- a full page: the next call `catch_up` seconds after this one started;
- a page with records: `fast` seconds after;
- an empty page: the wait doubles from `fast` with each empty page in a row, up to `idle`; the
  first page with records brings it back to `fast`.

Every wait counts from the start of the call just made, so a slow answer is not waited on twice
and the feed's calls start at most once per interval. Failures are not paced here: the client
waits them out with its backoff (or the server's ``Retry-After``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

#: While data flows: a tenth above the published limit, so network jitter between two calls
#: cannot bring them under a second apart at the server (a rate-limit lockout costs far more).
DEFAULT_FAST_SECONDS: Final = 1.1
#: The longest wait when nothing comes: Geotab's recommended polling interval.
DEFAULT_IDLE_SECONDS: Final = 30.0


@dataclass(slots=True)
class PollPacer:
    """The interval of one feed, from the start of one call to the start of the next."""

    fast: float = DEFAULT_FAST_SECONDS
    idle: float = DEFAULT_IDLE_SECONDS
    catch_up: float = DEFAULT_FAST_SECONDS
    growth: float = 2.0
    empty_in_a_row: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.fast <= self.idle:
            raise ValueError("need 0 < fast interval <= idle interval")
        if self.catch_up < 0:
            raise ValueError("the catch-up interval cannot be negative")
        if self.growth < 1:
            raise ValueError("the growth of idle waits must be at least 1")

    def after(self, *, received: int, full: bool) -> float:
        """The interval after a call that brought ``received`` records (``full``: a whole page)."""
        if full:
            self.empty_in_a_row = 0
            return self.catch_up
        if received:
            self.empty_in_a_row = 0
            return self.fast
        self.empty_in_a_row += 1
        return min(self.idle, self.fast * self.growth ** min(self.empty_in_a_row, 64))

    @staticmethod
    def remaining(interval: float, elapsed: float) -> float:
        """What is left to wait once ``elapsed`` seconds went on the call itself."""
        return max(0.0, interval - elapsed)
