"""Versioned storage behind the simulator's GetFeed: one version counter, append-only logs.

Versions are integers shown on the wire as 16-hex-digit tokens. A feed read returns entries with
a version strictly after `fromVersion`, in version order (not time order), at most `limit`.
"""

from __future__ import annotations

import bisect
from datetime import datetime
from typing import Any


class VersionCounter:
    """Monotonic versions shared by every feed of one simulated database."""

    def __init__(self, start: int = 0x10000) -> None:
        self.current = start

    def next(self) -> int:
        self.current += 1
        return self.current


class FeedLog:
    """An append-only feed (LogRecord): every append, even a re-send, gets a new version."""

    def __init__(self, versions: VersionCounter, *, retention: int = 500_000) -> None:
        self._counter = versions
        self._retention = retention
        self._versions: list[int] = []
        self._times: list[datetime] = []
        self._records: list[dict[str, Any]] = []
        self.appended = 0

    def append(self, record: dict[str, Any], at: datetime) -> int:
        version = self._counter.next()
        self._versions.append(version)
        self._times.append(at)
        self._records.append(record)
        self.appended += 1
        if len(self._records) > self._retention * 1.1:
            drop = len(self._records) - self._retention
            del self._versions[:drop], self._times[:drop], self._records[:drop]
        return version

    def read(
        self, from_version: int | None, limit: int, *, from_date: datetime | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        """Records after `from_version` (or from the first dated at/after `from_date`)."""
        if from_version is not None:
            start = bisect.bisect_right(self._versions, from_version)
        elif from_date is not None:
            start = next((i for i, at in enumerate(self._times) if at >= from_date), len(self._times))
        else:  # a bare first call: no data, just the current position of the feed
            return [], self._counter.current
        page = self._records[start : start + limit]
        if page:
            return [dict(record) for record in page], self._versions[start + len(page) - 1]
        return [], from_version if from_version is not None else self._counter.current

    def latest(self, count: int) -> list[dict[str, Any]]:
        return [dict(record) for record in self._records[-count:]] if count > 0 else []

    def __len__(self) -> int:
        return len(self._records)


class StatusBoard:
    """The latest DeviceStatusInfo per device, each update with a new version."""

    def __init__(self, versions: VersionCounter) -> None:
        self._counter = versions
        self._latest: dict[str, tuple[int, dict[str, Any]]] = {}

    def put(self, device_id: str, status: dict[str, Any]) -> None:
        self._latest[device_id] = (self._counter.next(), status)

    def read(self, from_version: int | None, limit: int) -> tuple[list[dict[str, Any]], int]:
        if from_version is None:
            return [], self._counter.current
        newer = sorted(
            (item for item in self._latest.values() if item[0] > from_version),
            key=lambda item: item[0],
        )[:limit]
        if not newer:
            return [], from_version
        return [dict(status) for _, status in newer], newer[-1][0]

    def current(self, device_id: str | None = None) -> list[dict[str, Any]]:
        return [
            dict(status) for key, (_, status) in self._latest.items() if device_id is None or key == device_id
        ]
