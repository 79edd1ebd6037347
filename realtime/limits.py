"""A websocket session's own limits on what its client may ask for: messages per second (a token
bucket) and subscribes per minute (each may read a whole snapshot: a sliding window)."""

from __future__ import annotations

from collections import deque


class SessionLimits:
    """Times are the event loop's clock (seconds, monotonic)."""

    def __init__(self, messages_per_second: float, subscribes_per_minute: int) -> None:
        self.rate = messages_per_second
        self.subscribes_per_minute = subscribes_per_minute
        self._tokens = messages_per_second
        self._last_refill = 0.0
        self._subscribes: deque[float] = deque()

    def take_message(self, now: float) -> bool:
        self._tokens = min(self.rate, self._tokens + (now - self._last_refill) * self.rate)
        self._last_refill = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True

    def take_subscribe(self, now: float) -> bool:
        while self._subscribes and self._subscribes[0] <= now - 60:
            self._subscribes.popleft()
        if len(self._subscribes) >= self.subscribes_per_minute:
            return False
        self._subscribes.append(now)
        return True
