"""What the live stream reports as it works, for the metrics.

The relay, the hub and the sessions call these; here they do nothing (tests and tools need no
metrics). The composition root hands in a subclass that records Prometheus metrics
(``web/metrics.py``), so ``realtime`` stays free of any metrics library.
"""

from __future__ import annotations

from realtime.events import LogEvent, PositionUpdate


class Telemetry:
    def published(self, event: LogEvent) -> None:
        """The relay put ``event`` on the bus (the leader only: counted once per cluster)."""

    def delivered(self, event: LogEvent) -> None:
        """This process's hub handed ``event`` to its sessions."""

    def snapshot_sent(self) -> None:
        """A session was sent a snapshot (no ``since``, or one too old to replay)."""

    def replayed(self, events: int) -> None:
        """A session caught up by replaying ``events`` missed events."""

    def positions_sent(self, updates: list[PositionUpdate]) -> None:
        """This process's hub handed a positions frame with ``updates`` to its sessions."""
