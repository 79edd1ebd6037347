"""Unhandled errors of every process, for the ``system_error`` alert.

Each process (web workers and ``dispatch worker`` alike) keeps a logging handler that notes every
error logged with a traceback (a request answered 500, a supervised worker that crashed, a bus
handler that failed) and publishes a short line about it on the bus (``<prefix>:system-errors``,
at most ``FLUSH_BATCH`` every ``FLUSH_SECONDS``; what cannot be published is dropped, bounded).
The process that runs the alert rules listens to that channel and keeps the last day's errors
(bounded too), which the rule counts within its window. The bus is at-most-once: a lost line
only makes the count lower; Redis being down is an alert of its own.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from web.runtime import Runtime

CHANNEL = "system-errors"
FLUSH_SECONDS = 2.0
FLUSH_BATCH = 50
#: How many reports wait to be published, and how many received ones are kept.
PENDING_MAX = 200
KEPT_MAX = 2000
KEPT_FOR = dt.timedelta(hours=24)
log = logging.getLogger("dispatch.alerts")


class ErrorReports(logging.Handler):
    """Notes the errors logged with a traceback, publishes them, and keeps what is received."""

    def __init__(self, publish: Callable[[str], Any], clock: Callable[[], dt.datetime],
                 process: str) -> None:
        super().__init__(level=logging.ERROR)
        self.publish = publish
        self.clock = clock
        self.process = process
        self.pending: collections.deque[str] = collections.deque(maxlen=PENDING_MAX)
        self.received: collections.deque[tuple[dt.datetime, str]] = collections.deque(
            maxlen=KEPT_MAX)

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info is None or record.exc_info[0] is None:
            return
        error = record.exc_info[1]
        what = f"{record.name}: {record.getMessage()}"
        if error is not None:
            what += f" ({type(error).__name__}: {error})"
        self.pending.append(json.dumps({"at": self.clock().isoformat(), "what": what[:300],
                                        "process": self.process}))

    async def flush_pending(self) -> None:
        """Publish what was noted since the last flush (a supervised worker's step). When the
        bus refuses, the batch is dropped (a warning without a traceback, so a bus outage does
        not report itself over and over)."""
        for _ in range(min(FLUSH_BATCH, len(self.pending))):
            message = self.pending.popleft()
            try:
                await self.publish(message)
            except Exception as error:  # the bus is down: Redis's own alert says so
                log.warning("error reports dropped: the bus refused them (%s)",
                            type(error).__name__)
                self.pending.clear()
                return

    async def on_bus_message(self, raw: str) -> None:
        try:
            message = json.loads(raw)
            at = dt.datetime.fromisoformat(message["at"])
            what = str(message["what"])[:300]
        except (ValueError, KeyError, TypeError):
            return
        if at.tzinfo is None:
            return
        self.received.append((at, what))

    def recent(self, now: dt.datetime) -> tuple[tuple[dt.datetime, str], ...]:
        """The errors received within the last day, oldest first."""
        since = now - KEPT_FOR
        return tuple(sorted((e for e in self.received if e[0] >= since), key=lambda e: e[0]))


def start_error_reports(runtime: Runtime) -> ErrorReports:
    """Every process: note its errors and publish them; listen for everyone's (kept for the
    alert rules where they run). The handler leaves the root logger when the process stops."""
    live, settings = runtime.live, runtime.settings
    channel = f"{settings.redis_prefix}:{CHANNEL}"

    async def publish(message: str) -> None:
        await live.bus.publish(channel, message)

    reports = ErrorReports(publish, runtime.now, str(getattr(runtime, "_process_mark", "")))
    root = logging.getLogger()
    root.addHandler(reports)
    live.bus.subscribe(channel, reports.on_bus_message)
    live.supervisor.periodic("error-reports", reports.flush_pending, interval=FLUSH_SECONDS)

    async def detach() -> None:
        root.removeHandler(reports)

    live.demo_tasks.append(detach)
    runtime.error_reports = reports
    return reports
