"""What the live stream needs from storage, as Protocols (storage implements them structurally)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from domain.roles import Principal
from realtime.events import LogEvent, StoredFix


class EventLog(Protocol):
    async def publish_pending(self, limit: int) -> list[LogEvent]:
        """Give the next sequence numbers to unpublished events (in insert order) and return them.

        Only the relay's leader calls it. Insert order is not commit order: an event committed
        late simply gets a later sequence number, so the published sequence has no holes.
        """
        ...

    async def read_since(self, seq: int, limit: int) -> list[LogEvent]:
        """Published events with a sequence above ``seq``, in order."""
        ...

    async def latest_seq(self) -> int: ...

    async def oldest_seq(self) -> int:
        """The oldest sequence still in the log (older ones were pruned)."""
        ...


class LeaderLock(Protocol):
    async def acquire(self) -> bool:
        """True when this process holds (or just took) leadership."""
        ...

    async def release(self) -> None: ...


class SnapshotSource(Protocol):
    async def snapshot(self, principal: Principal, topics: frozenset[str]) -> dict[str, Any]:
        """Technicians (status, latest position), open work orders, proposals, alerts, stores."""
        ...


class PositionStore(Protocol):
    async def save(self, fixes: list[StoredFix]) -> None:
        """Upsert the latest fix per unit (never backwards) and append the breadcrumb history."""
        ...

    async def prune(self, older_than: dt.datetime) -> int:
        """Drop breadcrumbs older than the retention window."""
        ...
