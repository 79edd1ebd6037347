"""Exponential backoff with jitter, capped, for network errors and outages."""

from __future__ import annotations

import random


class Backoff:
    """Delays `base * 2**n`, capped at `cap`, each scaled by a random factor in [0.5, 1].

    The jitter keeps many workers (or many restarts) from retrying in lock-step; the floor of
    half the nominal delay keeps a run of failures from retrying almost at once.
    """

    def __init__(self, *, base: float = 1.0, cap: float = 60.0, rng: random.Random | None = None) -> None:
        if base <= 0 or cap < base:
            raise ValueError("need 0 < base <= cap")
        self.base = base
        self.cap = cap
        self._rng = rng or random.Random()
        self._failures = 0

    @property
    def failures(self) -> int:
        return self._failures

    def next_delay(self) -> float:
        nominal = min(self.cap, self.base * 2.0 ** min(self._failures, 30))
        self._failures += 1
        return nominal * self._rng.uniform(0.5, 1.0)

    def reset(self) -> None:
        self._failures = 0
