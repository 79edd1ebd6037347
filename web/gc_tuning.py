"""Garbage collection for a long-running web process (``GC_TUNING``; ``dispatch serve`` turns
it on).

Measured on one worker with 500 boards, 2,000 vans and 50 new jobs a second: the collector took
20-45 ms of every second, and its full passes, every few seconds, stopped the event loop for
130-210 ms each, scanning objects that start-up made and that live as long as the process
(modules, the schema, compiled statements, the routing tables). Each such pause delays every
event and request in flight by as much. So, once the app has started:

* what start-up made is collected once and then frozen (``gc.freeze``): full passes no longer
  scan it (it is never freed, and never was going to be);
* young objects are collected every ``YOUNG_THRESHOLD`` allocations instead of 700: a request's
  and a fan-out's short-lived objects are mostly freed by reference counting before then.

Not in tests: a test process starts many apps, and freezing each one's objects would keep them.
"""

from __future__ import annotations

import gc

#: Allocations (minus deallocations) between two collections of the youngest generation.
YOUNG_THRESHOLD = 20_000


def tune_gc() -> None:
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
